"""Speed of the statistics core against R's survey package (and balance's raking), side by side.

    python benchmarks/bench_core.py [--sizes 1e3 1e4 1e5 1e6] [--no-r] [--balance-python PATH]

For each size the same synthetic survey (seeded) is written once to a temporary Parquet file (read by Python) and
CSV file (read by R and balance), then every kernel is timed in Python (this library), in R (benchmarks/bench_core.R, R's
survey package) and, for raking, in balance (benchmarks/bench_balance.py, run with ``--balance-python``, an
interpreter of a separate virtualenv because balance pins numpy < 2). Timings are medians of repeated runs;
the machine is shared, so read the ratios rather than the seconds. Numbers R and Python both compute are
compared, so the two sides are known to do the same work.

The data: G = max(20, n/500) clusters in 2 strata, log-normal weights, a 4-level cohort, a 6-level method, a
yes/no outcome. "floor" is one weighted ``np.bincount`` pass over the rows (the PSU totals of the weights). BLAS
runs on one thread (``OPENBLAS_NUM_THREADS``, unless set), as in the workflow's jobs and in R.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# BLAS on one thread, as the workflow's jobs run it (Snakemake sets OPENBLAS_NUM_THREADS to a job's threads) and as
# R's reference BLAS does: on a shared machine OpenBLAS's idle worker threads spin and take the core a kernel needs.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "workflow"))

from survey_audit.stats import estimates, significance, weighting  # noqa: E402
from survey_audit.stats.design import svydesign  # noqa: E402

KERNELS = [
    ("design", "svydesign / design setup"),
    ("prop_se", "svymean(~online): proportion + SE"),
    ("ciprop_kg", "svyciprop beta (Korn–Graubard)"),
    ("svyby_logit", "svyby(~online, ~cohort, svyciprop, logit)"),
    ("svytable", "svytable(~method + cohort)"),
    ("svychisq_F", "svychisq F (Rao–Scott 2nd order)"),
    ("rake", "rake 2 margins, epsilon 1e-8"),
    ("svymean_raked", "svymean(~online) on the raked design"),
]


def make_data(n: int, seed: int = 20240501) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clusters = max(20, n // 500)
    cluster = rng.integers(0, clusters, n)
    cohort = rng.choice(np.array(["c1", "c2", "c3", "c4"]), n, p=[0.4, 0.3, 0.2, 0.1])
    method = rng.choice(np.array(list("abcdef")), n)
    logit = -0.5 + 0.3 * (cohort == "c2") + 0.6 * (cohort == "c3") + rng.normal(0, 0.3, clusters)[cluster]
    online = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame(
        {
            "cluster": cluster,
            "stratum": cluster % 2,
            "w": rng.lognormal(0, 0.5, n),
            "cohort": pd.Categorical(cohort, categories=["c1", "c2", "c3", "c4"]),
            "method": pd.Categorical(method, categories=list("abcdef")),
            "online": online,
        }
    )


def repeats_for(n: int) -> int:
    return {1_000: 51, 10_000: 31, 100_000: 21}.get(n, 7)


def timed(fn, repeats: int, fresh=None):
    """Median time of ``repeats`` calls, with the garbage collector off while timing (as ``timeit`` does).

    With ``fresh``, a factory of design objects (raked ones too), each call gets a design of its own, built before the clock
    starts: nothing a call caches on its design (PSU indices, strata counts) helps the next one, as in R, where
    every call recomputes from the design's data."""
    designs = [fresh() for _ in range(repeats)] if fresh else [None] * repeats
    times, value = [], None
    gc.collect()
    gc.disable()
    try:
        for design in designs:
            t0 = time.perf_counter()
            value = fn(design) if fresh else fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return statistics.median(times), value


def python_times(path: Path, repeats: int) -> tuple[dict, dict]:
    frame = pd.read_parquet(path)
    total = float(frame["w"].sum())
    margins = {
        "cohort": dict(zip(["c1", "c2", "c3", "c4"], [total * p for p in (0.3, 0.3, 0.2, 0.2)])),
        "method": {m: total / 6 for m in "abcdef"},
    }
    t, checks = {}, {}
    t["design"], design = timed(
        lambda: svydesign(frame, weights="w", cluster="cluster", strata="stratum", nest=True), repeats
    )
    def fresh():
        return svydesign(frame, weights="w", cluster="cluster", strata="stratum", nest=True)

    t["floor"], _ = timed(lambda: np.bincount(design.psu, weights=design.weights, minlength=design.n_psus), repeats)
    t["prop_se"], (labels, est, se) = timed(lambda d: estimates.proportion_se(d, "online"), repeats, fresh)
    t["ciprop_kg"], kg = timed(lambda d: estimates.proportions(d, "online", ci="kg"), repeats, fresh)
    t["svyby_logit"], _ = timed(
        lambda d: estimates.proportions(d, "online", by="cohort", ci="logit"), repeats, fresh
    )
    t["svytable"], _ = timed(lambda d: estimates.svytable(d, "method", "cohort"), repeats, fresh)
    t["svychisq_F"], chisq = timed(lambda d: significance.svychisq(d, "method", "cohort"), repeats, fresh)
    t["rao_scott_kernel"], _ = timed(
        lambda d: significance.association_statistics(d, "method", "cohort", statistics=("F",)), repeats, fresh
    )
    t["rake"], raked = timed(lambda d: weighting.rake(d, margins, maxit=100, epsilon=1e-8), repeats, fresh)
    def fresh_raked():
        return weighting.rake(fresh(), margins, maxit=100, epsilon=1e-8).design

    t["svymean_raked"], (_, _, raked_se) = timed(lambda d: estimates.proportion_se(d, "online"), repeats, fresh_raked)
    yes = kg[kg["category"] == 1].iloc[0]
    checks.update(
        prop=est[1], prop_se=se[1], kg_low=yes["ci_low"], kg_high=yes["ci_high"], chisq_F=chisq["statistic"].iloc[0]
    )
    checks["raked_se"] = raked_se[1]
    checks["rake_w0"], checks["rake_wmax"] = raked.design.weights[0], raked.design.weights.max()
    return t, checks


def parse(text: str) -> tuple[dict, dict]:
    times, checks = {}, {}
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) == 2:
            times[parts[0]] = float(parts[1])
        elif len(parts) == 3 and parts[0] == "check":
            checks[parts[1]] = float(parts[2])
    return times, checks


def run_r(csv: Path, repeats: int) -> tuple[dict, dict]:
    done = subprocess.run(
        ["Rscript", str(HERE / "bench_core.R"), str(csv), str(max(3, repeats // 2))],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse(done.stdout)


def run_balance(python: str, csv: Path, repeats: int) -> tuple[dict, dict]:
    done = subprocess.run(
        [python, str(HERE / "bench_balance.py"), str(csv), str(max(3, repeats // 2))],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument("--no-r", action="store_true", help="time Python only")
    parser.add_argument("--balance-python", default=os.environ.get("BALANCE_PYTHON", "/tmp/venv-balance/bin/python"))
    parser.add_argument("--no-balance", action="store_true", help="leave out balance's raking")
    parser.add_argument(
        "--require-faster-than-r",
        action="store_true",
        help="exit with status 1 if a kernel is slower than R on the same data in this run (CI's regression check)",
    )
    args = parser.parse_args(argv)
    use_r = not args.no_r
    use_balance = not args.no_balance
    if use_r and shutil.which("Rscript") is None:
        raise SystemExit("Rscript is not on PATH: install R with the survey package, or pass --no-r")
    if use_balance and not Path(args.balance_python).is_file():
        raise SystemExit(
            f"no interpreter with balance at {args.balance_python}: create it (python3 -m venv DIR && DIR/bin/pip"
            " install balance) and pass --balance-python DIR/bin/python, or pass --no-balance"
        )
    slower: list[str] = []
    rows, summary = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            n = int(size)
            data = make_data(n)
            parquet, csv = Path(scratch) / f"d{n}.parquet", Path(scratch) / f"d{n}.csv"
            data.to_parquet(parquet)
            data.to_csv(csv, index=False)
            reps = repeats_for(n)
            py, py_checks = python_times(parquet, reps)
            r, r_checks = run_r(csv, reps) if use_r else ({}, {})
            bal, bal_checks = run_balance(args.balance_python, csv, reps) if use_balance else ({}, {})
            for key, _label in KERNELS:
                rows.append((n, key, r.get(key), py[key]))
                if key in r and r[key] < py[key]:
                    slower.append(f"n={n:.0e} {key}: R {r[key]:.4g} s, survey-audit {py[key]:.4g} s")
            r_sum = sum(r.get(k, np.nan) for k, _ in KERNELS)
            py_sum = sum(py[k] for k, _ in KERNELS)
            rows.append((n, "sum", r_sum if r else None, py_sum))
            for name in ("prop", "prop_se", "kg_low", "kg_high", "chisq_F", "raked_se"):
                if name in r_checks:
                    rel = abs(py_checks[name] - r_checks[name]) / abs(r_checks[name])
                    summary.append(
                        f"n={n:.0e} {name}: Python {py_checks[name]:.12g}, R {r_checks[name]:.12g}, rel. diff {rel:.1e}"
                    )
            balance = None
            if bal:
                balance = (bal["balance_rake_tight"], bal["balance_rake_default"], "measured here")
                rel = abs(bal_checks["balance_rake_tight_wmax"] - py_checks["rake_wmax"]) / py_checks["rake_wmax"]
                summary.append(f"n={n:.0e} balance tight rake max weight vs ours: rel. diff {rel:.1e}")
            py["balance"] = balance
            py["prop_floor"] = py["prop_se"] / py["floor"]
            py["chisq_floor"] = py["rao_scott_kernel"] / py["floor"]
            py["chisq_tidy_floor"] = py["svychisq_F"] / py["floor"]
            rows.append((n, "_extra", None, dict(py)))
    print(render(rows))
    print()
    print("\n".join(summary))
    if args.require_faster_than_r and slower:
        print("\nslower than R on the same data in this run:\n" + "\n".join(slower), file=sys.stderr)
        return 1
    return 0


def render(rows) -> str:
    labels = dict(KERNELS) | {"sum": "**design + all kernels**"}
    out = ["| n | kernel | R survey (s) | survey-audit (s) | R / survey-audit |", "|---|---|---|---|---|"]
    extras = []
    for n, key, r, py in rows:
        if key == "_extra":
            extras.append((n, py))
            continue
        ratio = f"{r / py:.0f}×" if r else "—"
        r_text = f"{r:.4g}" if r else "—"
        out.append(f"| {n:.0e} | {labels[key]} | {r_text} | {py:.3g} | {ratio} |")
    out += [
        "",
        "| n | floor: 1 weighted bincount (s) | proportion+SE / floor | Rao–Scott F kernel / floor (tidy frame) | balance rake tight / default (s) | ours rake (s) | balance tight / ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, py in extras:
        bal = py["balance"]
        bal_text = f"{bal[0]:.3g} / {bal[1]:.3g} ({bal[2]})" if bal else "—"
        bal_ratio = f"{bal[0] / py['rake']:.0f}×" if bal else "—"
        out.append(
            f"| {n:.0e} | {py['floor']:.3g} | {py['prop_floor']:.2f}× | {py['chisq_floor']:.2f}× ({py['chisq_tidy_floor']:.2f}×) | {bal_text} | {py['rake']:.3g} | {bal_ratio} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
