"""Coverage of the pipeline's confidence intervals for proportions with as few organisations as the surveys have.

    python validation/coverage.py [--samples 20000] [--seed 20261207] [--out validation]

Every interval of a default run rests on the organisations as clusters: 14 in wave 1 and 24 in wave 2, so 13
and 23 degrees of freedom, fewer in a domain. Agreeing with R's survey package says the intervals are computed
as R computes them, not that they cover the truth. This study measures how often they do.

**Populations.** Each wave keeps its own shape: the same number of organisations with the same numbers of
respondents as the bundled (synthetic) wave after cleaning, taken from the pipeline's own ingest and clean
stages run on ``resources/synthetic/``. The answer of a respondent is a yes/no variable with a true proportion
``p`` and intra-organisation correlation ``icc``: each organisation draws its own proportion from a beta
distribution with mean ``p`` and ``1/(a + b + 1) = icc`` (``a = p (1 - icc)/icc``, ``b = (1 - p)(1 - icc)/icc``),
and its respondents answer yes independently with that proportion, so the number of yes answers of an
organisation is beta-binomial. ``icc = 0`` is simple random sampling within fixed organisations. A domain is a
share ``domain`` of the respondents, each in it independently (a by-group or a domain of a table: the tables'
bases are a quarter to a third of a wave in the median by-group, a sixth of it at their 5th percentile); the
estimate is the domain's proportion, whose truth is ``p`` too. The grid: true proportions from 1% to 50% (the
intervals are symmetric under ``p -> 1 - p``), ``icc`` 0, 0.02, 0.05, 0.1 and 0.2, with the data's own added
unless it is within 0.005 of one of them (the anchor: the median ICC over the yes/no answers of both waves,
:func:`icc_anchor`; the synthetic waves assign respondents to organisations at random, so theirs is about 0 and
the grid is the anchor for real data, whose ICC the same run estimates), and domains of 100%, 50%, 30% and 15%.

**Samples.** For every scenario ``--samples`` samples are drawn at once (numpy, one seeded generator per
scenario from ``--seed`` and the scenario's values, so any scenario can be rerun alone). Only organisation
totals are drawn (domain members ~ binomial(size, domain), yes answers ~ binomial(members, organisation's
proportion)): a proportion and its Taylor variance depend on the respondents only through them.

**Estimates and intervals.** Each sample is estimated as the pipeline estimates a table cell (unweighted, the
organisation as PSU sampled with replacement, a domain keeping the whole design): the ratio estimate, its
variance from the pipeline's variance engine (:func:`survey_audit.stats.design.vcov_psu`, R ``svyrecvar``)
applied to the organisation totals of every sample at once, and the intervals of every method the pipeline
offers from its own :func:`survey_audit.stats.estimates.proportion_ci` (kg, kg_nchs, logit, xlogit, wilson,
wald; 0% and 100% get the pipeline's NCHS rule, the exact one-sided interval), each on both degrees-of-freedom
conventions: ``domain`` (R ``degf(subset(design, ...))``, the organisations with a member in the domain minus
one, the default) and ``design`` (the whole design's, as Stata). ``tests/test_coverage.py`` checks the
estimates, SEs and df against the pipeline's ``proportions`` on single samples.

**Output.** ``coverage.csv``: one row per wave, icc, p, domain, CI method and df convention, with the share of
samples whose interval holds ``p`` (``coverage``), lies wholly below it (``miss_below``: upper bound < p) or
above it (``miss_above``: lower bound > p), that got no interval (``no_interval``: a domain in a single
organisation has df 0), the mean width of the intervals (``mean_width``, in proportion units), the mean df and
the share of samples at 0% or 100% (``boundary``). Their Monte Carlo standard error is about
``sqrt(0.95 * 0.05 / samples)`` (0.0015 at the default 20,000 samples). ``coverage_summary.csv`` sums it up per method and
df convention; ``coverage.svg`` plots coverage against ``p``. All three are deterministic at a given
``--samples`` and ``--seed`` (same bytes on every rerun).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "workflow") not in sys.path:
    sys.path.insert(0, str(ROOT / "workflow"))

from survey_audit import formats  # noqa: E402
from survey_audit.stats.design import Design, svydesign, vcov_psu  # noqa: E402
from survey_audit.stats.estimates import CI_METHODS, proportion_ci  # noqa: E402

SEED = 20261207
SAMPLES = 20_000
LEVEL = 0.95
PROPORTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
ICCS = (0.0, 0.02, 0.05, 0.1, 0.2)
DOMAINS = (1.0, 0.5, 0.3, 0.15)
DF_CONVENTIONS = ("domain", "design")
BATCH = 5_000  # samples drawn and estimated together (bounds memory; part of what the seed reproduces)
DESIGN_COLUMNS = {"respondent_id", "wave", "source_row", "org", "region", "response_type", "consent", "survey_year"}
DIGITS = 6  # the CSV's rounding: shares of samples are exact at up to 10^6 samples

COLUMNS = [
    "wave",
    "organisations",
    "respondents",
    "icc",
    "p",
    "domain",
    "method",
    "df_convention",
    "samples",
    "coverage",
    "miss_below",
    "miss_above",
    "no_interval",
    "mean_width",
    "mean_df",
    "boundary",
]


@dataclass(frozen=True)
class Scenario:
    wave: str
    icc: float
    p: float
    domain: float

    def seed(self, seed: int) -> np.random.SeedSequence:
        """The scenario's own seed sequence: the study's seed and the scenario's values (not its place in the
        grid), so a scenario draws the same samples in any grid."""
        wave_no = int("".join(c for c in self.wave if c.isdigit()) or 0)
        return np.random.SeedSequence(
            [seed, wave_no, round(self.icc * 1e6), round(self.p * 1e6), round(self.domain * 1e6)]
        )


# --------------------------------------------------------------------------------------------------------------
# The bundled waves: organisation sizes and the intra-organisation correlation of their yes/no answers.
# --------------------------------------------------------------------------------------------------------------


def bundled_waves(root: Path = ROOT) -> dict[str, pd.DataFrame]:
    """The analysed respondents of every wave of the bundled configuration, from the pipeline's own ingest and
    clean stages (run in a scratch directory, as the workflow runs them)."""
    from survey_audit.config.plan import build_plan, write_plan
    from survey_audit.config.settings import load_config
    from survey_audit.stages.clean import clean_wave
    from survey_audit.stages.ingest import ingest_wave

    config = load_config(root / "config" / "config.yaml")
    plan = build_plan(config, root)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        write_plan(plan, tmp)
        for wave, row in plan.waves.items():
            common = {
                "codebook": str(root / row.codebook),
                "variables": str(tmp / f"{wave}.variables.yaml"),
                "wave": wave,
                "cleaning_defaults": config["cleaning"],
            }
            ingest_wave(
                raw=str(root / row.raw),
                respondents_out=str(tmp / "ingest.parquet"),
                findings_out=str(tmp / "findings.csv"),
                summary_out=str(tmp / "summary.json"),
                **common,
            )
            clean_wave(
                respondents=str(tmp / "ingest.parquet"),
                findings=str(tmp / "findings.csv"),
                analysed_out=str(tmp / "analysed.parquet"),
                log_out=str(tmp / "log.csv"),
                quarantine_out=str(tmp / "quarantine.csv"),
                flow_out=str(tmp / "flow.csv"),
                actions_out=str(tmp / "actions.csv"),
                **common,
            )
            out[wave] = formats.read_parquet(tmp / "analysed.parquet")
    return out


def org_sizes(frame: pd.DataFrame) -> np.ndarray:
    """Respondents per organisation, largest first."""
    return np.sort(frame["org"].value_counts().to_numpy())[::-1].astype(np.int64)


def icc_anova(y: np.ndarray, groups: np.ndarray) -> float:
    """The one-way ANOVA estimator of the intra-class correlation of ``y`` within ``groups`` (unequal sizes:
    ``n0 = (N - sum m_j^2 / N)/(G - 1)``); negative when groups differ less than chance would make them."""
    codes, _ = pd.factorize(groups)
    m = np.bincount(codes).astype(float)
    G, N = len(m), float(len(y))
    means = np.bincount(codes, weights=y) / m
    ssb = float((m * (means - y.mean()) ** 2).sum())
    ssw = float(((y - means[codes]) ** 2).sum())
    msb, msw = ssb / (G - 1), ssw / (N - G)
    n0 = (N - (m**2).sum() / N) / (G - 1)
    denom = msb + (n0 - 1) * msw
    return (msb - msw) / denom if denom > 0 else np.nan


def icc_table(waves: dict[str, pd.DataFrame], min_share: float = 0.05) -> pd.DataFrame:
    """The ICC of every yes/no indicator of the answers (each multi-select option, each category of a single
    choice over the valid answers) held by 5% to 95% of the respondents who answered, per wave."""
    rows = []
    for wave, frame in waves.items():
        for column in frame.columns:
            if column in DESIGN_COLUMNS or column.endswith("__missing"):
                continue
            values = frame[column]
            if isinstance(values.dtype, pd.BooleanDtype) or values.dtype == bool:
                indicators = {column: values}
            elif isinstance(values.dtype, pd.CategoricalDtype):
                indicators = {f"{column}={c}": (values == c).where(values.notna()) for c in values.cat.categories}
            else:
                continue
            for name, ind in indicators.items():
                ok = ind.notna().to_numpy()
                y = ind[ok].astype(float).to_numpy()
                if len(y) < 30 or not min_share <= y.mean() <= 1 - min_share:
                    continue
                org = frame["org"].to_numpy()[ok]
                rows.append({"wave": wave, "indicator": name, "n": len(y), "share": y.mean(), "icc": icc_anova(y, org)})
    return pd.DataFrame(rows, columns=["wave", "indicator", "n", "share", "icc"])


def icc_anchor(table: pd.DataFrame) -> float:
    """The bundled data's intra-organisation correlation: the median ICC over its yes/no indicators (floored at
    0, rounded to 3 decimals)."""
    return round(max(0.0, float(table["icc"].median())), 3)


def icc_grid(anchor: float, grid=ICCS, within: float = 0.005) -> tuple[float, ...]:
    """The grid of intra-organisation correlations, with the data's anchor added unless a grid value is within
    ``within`` of it."""
    return tuple(sorted(grid)) if min(abs(anchor - g) for g in grid) <= within else tuple(sorted({*grid, anchor}))


# --------------------------------------------------------------------------------------------------------------
# Simulation and estimation.
# --------------------------------------------------------------------------------------------------------------


def wave_design(sizes: np.ndarray) -> Design:
    """The design of a wave of these organisation sizes, as the tabulate stage builds it: organisations as PSUs
    sampled with replacement, unit weights."""
    org = np.repeat(np.arange(len(sizes)), sizes)
    return svydesign(pd.DataFrame({"org": org}), weights=np.ones(len(org)), cluster="org", lonely_psu="adjust")


def draw(sizes: np.ndarray, icc: float, p: float, domain: float, samples: int, rng: np.random.Generator):
    """Organisation totals of ``samples`` samples (G x samples): domain members and their yes answers."""
    G = len(sizes)
    if icc > 0:
        a, b = p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc
        p_org = rng.beta(a, b, size=(G, samples))
    else:
        p_org = np.full((G, samples), p)
    members = (
        np.repeat(sizes[:, None], samples, axis=1)
        if domain >= 1
        else rng.binomial(sizes[:, None], domain, (G, samples))
    )
    yes = rng.binomial(members, p_org)
    return members, yes


def estimate(design: Design, members: np.ndarray, yes: np.ndarray) -> dict[str, np.ndarray]:
    """The domain proportion of every sample (columns), its Taylor SE (influence values ``(y - p)/N`` in the
    domain, 0 outside; the whole design's PSUs in the variance, as R's ``svyby``/``subset``), the domain's
    respondents and both df conventions."""
    N = members.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = yes.sum(axis=0) / N
        T = (yes - p[None, :] * members) / N[None, :]
    T = np.where(np.isfinite(T), T, 0.0)
    var = vcov_psu(design, T, None, diagonal=True)
    se = np.sqrt(np.maximum(var, 0.0))
    se = np.where(N > 0, se, np.nan)
    return {
        "p": p,
        "se": se,
        "n": N,
        "df_domain": (members > 0).sum(axis=0).astype(float) - 1.0,
        "df_design": np.full(p.shape, float(design.degf)),
    }


def run_scenario(scenario: Scenario, sizes: np.ndarray, samples: int, seed: int) -> pd.DataFrame:
    """Coverage, one-sided misses and mean width of every CI method on both df conventions in one scenario."""
    design = wave_design(sizes)
    rng = np.random.default_rng(scenario.seed(seed))
    sums: dict[tuple[str, str], np.ndarray] = {}
    for start in range(0, samples, BATCH):
        size = min(BATCH, samples - start)
        members, yes = draw(sizes, scenario.icc, scenario.p, scenario.domain, size, rng)
        est = estimate(design, members, yes)
        for convention in DF_CONVENTIONS:
            df = est[f"df_{convention}"]
            for method in CI_METHODS:
                ci = proportion_ci(est["p"], est["se"], est["n"], df, method=method, level=LEVEL)
                low, high = ci["ci_low"].to_numpy(), ci["ci_high"].to_numpy()
                has = np.isfinite(low) & np.isfinite(high)
                width = np.where(has, high - low, 0.0)
                tallies = np.array(
                    [
                        (has & (low <= scenario.p) & (scenario.p <= high)).sum(),
                        (has & (high < scenario.p)).sum(),
                        (has & (low > scenario.p)).sum(),
                        (~has).sum(),
                        width.sum(),
                        df.sum(),
                        ((est["p"] <= 0) | (est["p"] >= 1)).sum(),
                    ],
                    dtype=float,
                )
                key = (method, convention)
                sums[key] = sums.get(key, 0.0) + tallies
    rows = []
    for convention in DF_CONVENTIONS:
        for method in CI_METHODS:
            cover, below, above, none, width, df, boundary = sums[(method, convention)]
            given = samples - none
            rows.append(
                {
                    "wave": scenario.wave,
                    "organisations": len(sizes),
                    "respondents": int(sizes.sum()),
                    "icc": scenario.icc,
                    "p": scenario.p,
                    "domain": scenario.domain,
                    "method": method,
                    "df_convention": convention,
                    "samples": samples,
                    "coverage": cover / samples,
                    "miss_below": below / samples,
                    "miss_above": above / samples,
                    "no_interval": none / samples,
                    "mean_width": width / given if given else np.nan,
                    "mean_df": df / samples,
                    "boundary": boundary / samples,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def scenarios(waves: list[str], iccs=ICCS, proportions=PROPORTIONS, domains=DOMAINS) -> list[Scenario]:
    return [Scenario(w, i, p, d) for w in waves for i in iccs for d in domains for p in proportions]


def study(sizes: dict[str, np.ndarray], grid: list[Scenario], samples: int, seed: int) -> pd.DataFrame:
    """Every scenario of the grid, one row per scenario, CI method and df convention, rounded for the CSV."""
    frame = pd.concat([run_scenario(s, sizes[s.wave], samples, seed) for s in grid], ignore_index=True)
    return rounded(frame)


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("coverage", "miss_below", "miss_above", "no_interval", "mean_width", "mean_df", "boundary"):
        out[column] = out[column].round(DIGITS)
    return out


# --------------------------------------------------------------------------------------------------------------
# Summary and figure.
# --------------------------------------------------------------------------------------------------------------


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per CI method and df convention, over all scenarios and over the central ones (p >= 5%, icc <= 0.1): mean
    and lowest coverage, the share of scenarios covering less than 94% (more than six Monte Carlo SEs below the
    nominal at 20,000 samples), the mean one-sided misses (2.5% each, nominally) and the mean width relative to
    Korn–Graubard's on the same df convention."""
    keys = ["wave", "icc", "p", "domain", "df_convention"]
    kg = frame[frame["method"] == "kg"].set_index(keys)["mean_width"].rename("kg_width")
    f = frame.join(kg, on=keys)
    f["width_vs_kg"] = f["mean_width"] / f["kg_width"]
    central = (f["p"] >= 0.05) & (f["icc"] <= 0.1)
    rows = []
    for (method, convention), g in f.groupby(["method", "df_convention"], sort=False):
        for scope, h in (("all", g), ("central", g[central[g.index]])):
            rows.append(
                {
                    "method": method,
                    "df_convention": convention,
                    "scenarios": scope,
                    "n_scenarios": len(h),
                    "mean_coverage": h["coverage"].mean(),
                    "min_coverage": h["coverage"].min(),
                    "share_below_94": (h["coverage"] < 0.94).mean(),
                    "mean_miss_below": h["miss_below"].mean(),
                    "mean_miss_above": h["miss_above"].mean(),
                    "mean_width_vs_kg": h["width_vs_kg"].mean(),
                }
            )
    out = pd.DataFrame(rows)
    numbers = ["mean_coverage", "min_coverage", "share_below_94", "mean_miss_below", "mean_miss_above"]
    out[numbers + ["mean_width_vs_kg"]] = out[numbers + ["mean_width_vs_kg"]].round(4)
    return out


def figure_svg(frame: pd.DataFrame, domains=(1.0, 0.15), convention: str = "domain") -> str:
    """Coverage against the true proportion: one panel per wave and domain (rows) and icc (columns), one line per
    CI method, on one df convention; the band is nominal 95% +/- 2 Monte Carlo SEs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = frame[(frame["df_convention"] == convention) & frame["domain"].isin(domains)]
    waves = list(dict.fromkeys(f["wave"]))
    iccs = sorted(f["icc"].unique())
    rows = [(w, d) for w in waves for d in domains]
    styles = {"kg": "-", "kg_nchs": "--", "logit": "-", "xlogit": ":", "wilson": "-.", "wald": "-"}
    colours = dict(zip(CI_METHODS, ("#1b9e77", "#66a61e", "#7570b3", "#e7298a", "#e6ab02", "#d95f02"), strict=True))
    samples = int(f["samples"].iloc[0])
    mc = 2 * np.sqrt(LEVEL * (1 - LEVEL) / samples)
    with matplotlib.rc_context({"svg.hashsalt": "survey-audit", "svg.fonttype": "none", "font.size": 8}):
        fig, axes = plt.subplots(
            len(rows), len(iccs), figsize=(2.1 * len(iccs), 1.9 * len(rows)), sharex=True, sharey=True, squeeze=False
        )
        for r, (wave, domain) in enumerate(rows):
            for c, icc in enumerate(iccs):
                ax = axes[r][c]
                ax.axhspan(LEVEL - mc, LEVEL + mc, color="#dddddd", lw=0)
                ax.axhline(LEVEL, color="black", lw=0.6)
                cell = f[(f["wave"] == wave) & (f["domain"] == domain) & (f["icc"] == icc)]
                for method in CI_METHODS:
                    m = cell[cell["method"] == method].sort_values("p")
                    ax.plot(
                        m["p"],
                        m["coverage"],
                        styles[method],
                        color=colours[method],
                        lw=1.1,
                        marker=".",
                        ms=3,
                        label=method,
                    )
                ax.set_xscale("log")
                ax.set_xticks([0.01, 0.05, 0.2, 0.5], ["1%", "5%", "20%", "50%"])
                ax.set_ylim(0.8, 1.0)
                if r == 0:
                    ax.set_title(f"icc {icc:g}")
                if c == 0:
                    label = "whole wave" if domain >= 1 else f"{domain:.0%} domain"
                    ax.set_ylabel(f"{wave}, {label}\ncoverage")
                if r == len(rows) - 1:
                    ax.set_xlabel("true proportion")
        axes[0][0].legend(loc="lower right", fontsize=6, ncol=2, frameon=False)
        fig.suptitle(f"Coverage of nominal 95% intervals ({samples:,} samples each; df: {convention})", y=1.0)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
        plt.close(fig)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=SAMPLES, help=f"samples per scenario (default {SAMPLES})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the study's seed (default {SEED})")
    parser.add_argument(
        "--out", default=str(ROOT / "validation"), help="directory of the outputs (default validation/)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    waves = bundled_waves()
    sizes = {wave: org_sizes(frame) for wave, frame in waves.items()}
    iccs = icc_table(waves)
    anchor = icc_anchor(iccs)
    grid_iccs = icc_grid(anchor)
    for wave, s in sizes.items():
        print(f"{wave}: {len(s)} organisations, {s.sum()} respondents, sizes {s.tolist()}")
    print(
        f"ICC of the bundled yes/no indicators ({len(iccs)}): median {iccs['icc'].median():.4f}, "
        f"quartiles {iccs['icc'].quantile(0.25):.4f} to {iccs['icc'].quantile(0.75):.4f}; anchor {anchor}"
    )
    grid = scenarios(list(sizes), grid_iccs)
    frame = study(sizes, grid, args.samples, args.seed)
    out = Path(args.out)
    formats.write_csv(frame, out / "coverage.csv")
    formats.write_csv(summary(frame), out / "coverage_summary.csv")
    formats.write_text(figure_svg(frame), out / "coverage.svg")
    print(summary(frame).to_string(index=False))
    print(f"{len(grid)} scenarios x {args.samples} samples in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
