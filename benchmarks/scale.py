"""The whole pipeline at scale: large synthetic waves through the real codebooks, timed stage by stage.

The generator replicates the bundled synthetic exports (``resources/synthetic/wave1.csv``, ``wave2.csv``) to
``n`` respondents per wave, in a copy of the project:

* rows are drawn with replacement from the bundled export (seeded), so the defects it carries (previews and
  tests, refusals, stray text, out-of-range ages, skip violations, duplicate ids) keep their rates;
* every response gets a new respondent id and response id; ``organisations`` new organisation codes (log-normal
  sizes, as unequal as the real waves') are added to a copy of the wave's codebook, regions in turn;
* the three ages of a clean row (age at the survey, age on entering the life, the year entered) are redrawn
  consistently, so that copies of one bundled row are not duplicate answers of each other (a row with a defect
  in them keeps it);
* wave 2's weighting spec says ``missing: keep_share``: its bundled duplicate-id rows (excluded in the bundled
  run) carry a missing gender; drawn again under new ids they are analysed, and wave 1 has no missing gender to
  give that category a target (with the default ``missing: target`` the weight job stops, naming the key);
* with ``--waves 3`` a third wave is wave 2's export four years later, under a copy of wave 2's codebook, and
  no report (as an analyst adds one: a raw file, a codebook and a row in the sheet).

The runner times, per size: a cold run, a no-op rerun and a rerun after one table specification changes
(medians of ``--repeat`` runs), and reads each job's wall time and peak memory from the line the adapter writes
at the end of its log (:func:`survey_audit.adapter.run`). ::

    python benchmarks/scale.py --sizes 1e4 1e5 --repeat 3
    python benchmarks/scale.py --sizes 1e4 --keep scale-work      # keep the generated project

Each job's peak memory is its process's maximum resident set size (``getrusage``), so it is exact, not sampled.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from survey_audit.config.loading import load_yaml  # noqa: E402  (the project's strict YAML 1.2 reader)
from survey_audit.provenance import CODE_PATHS  # noqa: E402

REGIONS = [("west", "CA"), ("south", "TX"), ("midwest", "IL"), ("northeast", "NY")]
DATE_COLUMNS = ["StartDate", "EndDate", "RecordedDate"]
RESOURCES = re.compile(r"job resources: wall ([\d.]+) s, cpu ([\d.]+) s, peak memory ([\d.]+) MB")


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for part in CODE_PATHS:  # what a run reads of the project
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    (target / "results" / "releases").mkdir(parents=True)
    return target


def _read_export(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The platform export's three header rows and its data rows, every value as text."""
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, header=None, encoding=encoding)
    return frame.iloc[:3], frame.iloc[3:].reset_index(drop=True), encoding


def _column(codebook: dict, variable: str) -> str:
    return codebook["variables"][variable]["column"]


def scale_wave(
    source: Path, codebook: dict, n: int, organisations: int, rng: np.random.Generator, years_later: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, str, dict]:
    """``n`` rows drawn from ``source`` with new ids and organisations, and the codebook that reads them."""
    header, rows, encoding = _read_export(source)
    columns = list(header.iloc[0])
    data = rows.iloc[rng.integers(0, len(rows), n)].reset_index(drop=True)
    data.columns = columns
    data[codebook["respondent_id"]] = [f"S{i:08d}" for i in range(n)]
    data["ResponseId"] = [f"R_{i:015d}" for i in range(n)]
    sizes = rng.lognormal(0.0, 1.0, organisations)
    codes = np.array([f"{9000 + g}" for g in range(organisations)], dtype=object)
    data[codebook["organisation"]["column"]] = codes[rng.choice(organisations, n, p=sizes / sizes.sum())]
    if years_later:
        for column in DATE_COLUMNS:
            year = pd.to_numeric(data[column].str[:4], errors="coerce")
            shifted = (year + years_later).astype("Int64").astype("string")
            data[column] = (shifted + data[column].str[4:]).fillna(data[column])
    age, entered, year = (_column(codebook, v) for v in ("age_at_survey", "age_entered", "year_entered"))
    values = data[[age, entered, year]].apply(pd.to_numeric, errors="coerce")
    survey_year = pd.to_numeric(data["RecordedDate"].str[:4], errors="coerce")
    clean = (
        values.notna().all(axis=1)
        & (values[entered] < 18)
        & (values[entered] <= values[age])
        & (values[age] <= 60)
        & survey_year.notna()
    ).to_numpy()
    k = int(clean.sum())
    new_entered = rng.integers(8, 18, k)
    new_age = np.minimum(new_entered + rng.integers(1, 30, k), 60)
    new_year = survey_year[clean].to_numpy().astype(int) - new_age + new_entered
    data.loc[clean, entered] = new_entered.astype(str)
    data.loc[clean, age] = new_age.astype(str)
    data.loc[clean, year] = new_year.astype(str)
    scaled = dict(codebook)
    scaled["organisation"] = {
        **codebook["organisation"],
        "codes": {str(code): dict(zip(("region", "state"), REGIONS[g % 4])) for g, code in enumerate(codes)},
    }
    return header, data, encoding, scaled


def make_project(target: Path, n: int, waves: int = 3, organisations: int = 300, seed: int = 1) -> Path:
    """A copy of the project whose waves have ``n`` respondents each (written to ``data/``)."""
    project = copy_project(target)
    rng = np.random.default_rng(seed)
    sheet = pd.read_csv(project / "config" / "waves.tsv", sep="\t", dtype=str, keep_default_na=False)
    plan = [(row.wave, row.wave, 0) for row in sheet.itertuples()]
    if waves == 3:
        plan.append(("wave3", "wave2", 4))
    rows = []
    for wave, like, years in plan[:waves]:
        model = sheet.set_index("wave").loc[like]
        codebook = load_yaml(project / model["codebook"]).data
        header, data, encoding, scaled = scale_wave(
            ROOT / model["raw"], codebook, n, organisations, rng, years_later=years
        )
        scaled["wave"] = wave
        raw = Path("data") / f"{wave}.csv"
        (project / "data").mkdir(exist_ok=True)
        pd.concat([header.set_axis(data.columns, axis=1), data]).to_csv(
            project / raw, header=False, index=False, encoding=encoding
        )
        book = Path("config") / "codebooks" / f"{wave}.yaml"
        (project / book).write_text(yaml.safe_dump(scaled, sort_keys=False, allow_unicode=True), encoding="utf-8")
        row = dict(model) | {"wave": wave, "raw": raw.as_posix(), "codebook": book.as_posix()}
        if years:
            row |= {
                "label": "Wave 3 (scale benchmark)",
                "fielded_from": str(int(model["fielded_from"]) + years),
                "fielded_to": str(int(model["fielded_to"]) + years),
                "report": "",
                "weighting": "",
            }
        rows.append(row)
    pd.DataFrame(rows, columns=sheet.columns).to_csv(project / "config" / "waves.tsv", sep="\t", index=False)
    for spec_path in sorted((project / "config" / "weighting").glob("*.yaml")):
        spec = load_yaml(spec_path).data
        spec["missing"] = "keep_share"  # see the module docstring
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return project


def snakemake(project: Path, *args: str) -> float:
    """Run the workflow on ``project``; the wall time in seconds (a failed run stops the benchmark)."""
    started = time.perf_counter()
    done = _snakemake(project, *args)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the run failed in {project}:\n{done.stderr[-4000:]}")
    return elapsed


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default", "--cores", "2", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project / "workflow")},
    )


def job_resources(project: Path) -> pd.DataFrame:
    """Each job's wall time, CPU time and peak memory, from the last line its adapter wrote to its log."""
    records = []
    for log in sorted((project / "results" / "logs").rglob("*.log")):
        found = RESOURCES.findall(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            wall, cpu, peak = map(float, found[-1])
            rule = log.relative_to(project / "results" / "logs").parts[0].removesuffix(".log")
            records.append({"rule": rule, "job": log.stem, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak})
    return pd.DataFrame(records, columns=["rule", "job", "wall_s", "cpu_s", "peak_mb"])


def change_a_table_spec(project: Path) -> None:
    """Retitle the first table of the exit chapter (its specification changes; no other table's does)."""
    spec = project / "config" / "tables" / "exit.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(re.sub(r"(title: )(.*)", r"\1\2 (retitled)", text, count=1), encoding="utf-8")


def measure(n: int, waves: int, organisations: int, repeat: int, workdir: Path) -> dict:
    cold, noop, changed, jobs = [], [], [], None
    for attempt in range(repeat):
        target = workdir / f"n{n:g}-{attempt}"
        project = make_project(target, n, waves=waves, organisations=organisations, seed=attempt + 1)
        cold.append(snakemake(project))
        jobs = job_resources(project) if jobs is None else jobs
        noop.append(snakemake(project))
        change_a_table_spec(project)
        planned = _snakemake(project, "-n")
        rerun_jobs = sorted(set(re.findall(r"^rule (\w+):", planned.stdout + planned.stderr, flags=re.M)) - {"all"})
        changed.append(snakemake(project))
        if attempt < repeat - 1:
            shutil.rmtree(target)
    return {
        "n": n,
        "waves": waves,
        "cold_s": statistics.median(cold),
        "noop_s": statistics.median(noop),
        "spec_change_s": statistics.median(changed),
        "spec_change_rules": ", ".join(rerun_jobs),
        "jobs": jobs,
    }


def table(results: list[dict]) -> str:
    lines = [
        "| respondents per wave | waves | cold run (s) | no-op (s) | after a table spec changes (s) | rules rerun |"
        " largest peak memory (MB, job) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        top = r["jobs"].sort_values("peak_mb").iloc[-1]
        lines.append(
            f"| {r['n']:,} | {r['waves']} | {r['cold_s']:.1f} | {r['noop_s']:.1f} | {r['spec_change_s']:.1f} |"
            f" {r['spec_change_rules']} | {top.peak_mb:.0f} ({top.rule} {top.job}) |"
        )
    lines += ["", "Per stage (the largest size): total wall time of its jobs, and their largest peak memory", ""]
    jobs = results[-1]["jobs"].groupby("rule", sort=False).agg(
        jobs=("job", "size"), wall_s=("wall_s", "sum"), peak_mb=("peak_mb", "max")
    )
    lines += ["| rule | jobs | wall (s) | peak memory (MB) |", "|---|---|---|---|"]
    lines += [f"| {rule} | {int(r.jobs)} | {r.wall_s:.1f} | {r.peak_mb:.0f} |" for rule, r in jobs.iterrows()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5], help="respondents per wave")
    parser.add_argument("--waves", type=int, choices=(2, 3), default=3)
    parser.add_argument("--organisations", type=int, default=300, help="organisations per wave")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (medians are reported)")
    parser.add_argument("--keep", type=Path, help="generate the projects here and keep the last one")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="survey-audit-scale-", dir=Path.cwd()))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [measure(int(n), args.waves, args.organisations, args.repeat, workdir) for n in args.sizes]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))


if __name__ == "__main__":
    main()
