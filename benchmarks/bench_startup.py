"""Fixed cost of starting the workflow: a no-op ``survey-audit run`` and a dry run, against Snakemake alone.

    python benchmarks/bench_startup.py [--repeats 5] [--project .]

Runs from a project whose results are up to date (it brings them up to date first). Each command is timed
``--repeats`` times as a whole process, wall clock, and the median is reported beside its target:

* ``survey-audit run`` with nothing to do: at most 2 s;
* ``survey-audit run -n`` (a dry run after a change that reruns every job): at most 3 s;
* ``snakemake -n`` on an empty one-rule workflow: what Snakemake itself costs, for reference.

It also checks that parsing the workflow imports none of scipy.stats, statsmodels and matplotlib (python
``-X importtime``). It prints a table and exits 1 when a target is missed. A benchmark, not a timed test: the
machine is shared, so run it on a quiet machine and read the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("scipy.stats", "statsmodels", "matplotlib")
TARGETS = {"no-op run": 2.0, "dry run": 3.0}


def timed(command: list[str], cwd: Path, repeats: int) -> float:
    """Median wall-clock seconds of a command run ``repeats`` times (after one untimed warm-up run)."""
    subprocess.run(command, cwd=cwd, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports_at_parse(project: Path) -> list[str]:
    """The heavy modules that parsing the workflow imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    return sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    project = args.project.resolve()
    cli = [sys.executable, "-m", "survey_audit.cli"]
    env_ok = subprocess.run([*cli, "run", "-q"], cwd=project, capture_output=True, text=True)
    if env_ok.returncode != 0:
        print(env_ok.stderr[-2000:], file=sys.stderr)
        return 1
    results = {
        "no-op run": timed([*cli, "run", "-q"], project, args.repeats),
        "dry run": timed([*cli, "run", "-n", "-q", "--forceall"], project, args.repeats),
    }
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch)
        (empty / "Snakefile").write_text("rule all:\n    output: 'x'\n    shell: 'touch {output}'\n")
        results["snakemake alone (dry run)"] = timed(
            [sys.executable, "-m", "snakemake", "-n", "-q", "--cores", "1"], empty, args.repeats
        )
        shutil.rmtree(empty / ".snakemake", ignore_errors=True)
    heavy = heavy_imports_at_parse(project)
    missed = [name for name, target in TARGETS.items() if results[name] > target]
    print(f"{'command':<28} {'median (s)':>10} {'target (s)':>10}")
    for name, seconds in results.items():
        target = TARGETS.get(name)
        print(f"{name:<28} {seconds:>10.2f} {'' if target is None else f'{target:.1f}':>10}")
    print(f"heavy modules imported while parsing the workflow: {', '.join(heavy) or 'none'}")
    print(f"{args.repeats} repeats each; {os.cpu_count()} cores")
    if missed or heavy:
        print("MISSED: " + ", ".join(missed + [f"{m} imported at parse" for m in heavy]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
