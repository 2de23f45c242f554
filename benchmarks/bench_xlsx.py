"""XLSX intake at scale: the reader of workbooks, calamine's columnar reading against openpyxl's row by row.

The export is wave 2's bundled platform export drawn to ``n`` respondents by :func:`scale.scale_wave` (new ids,
300 organisations, seeded), written with openpyxl's write-only mode as a survey platform writes a workbook: the
three header rows as text; a value as a whole number when it is one (below 2**53), as a decimal number when its
text is the number to 15 significant digits, as a date-time when it reads ``YYYY-MM-DD HH:MM:SS``, as text
otherwise; blank cells left empty. Read back, the workbook gives the text of the CSV export it came from.

Each reading runs in a fresh interpreter (``read_raw``, as the ingest job calls it): calamine's (the reader as it
chooses) and openpyxl's alone (the reader with calamine's path turned off, as before calamine). CPU seconds (user
and system) of the read alone and the process's peak resident memory (``getrusage``, exact; it includes about 100
MB of imported libraries) are reported, and the two tables must be equal (a hash of every value, of the rows'
numbers and of the column names)::

    python benchmarks/bench_xlsx.py --sizes 1e5 1e6
    python benchmarks/bench_xlsx.py --sizes 1e6 --keep xlsx-work     # keep the generated workbooks
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import scale_wave  # noqa: E402

from survey_audit.config.loading import load_yaml  # noqa: E402

WAVE = "wave2"
READ = """
import hashlib, json, resource, sys, time
from pathlib import Path
from unittest import mock
import pandas as pd
from survey_audit.intake import readers
path, reader = Path(sys.argv[1]), sys.argv[2]
started = time.process_time()
if reader == "openpyxl":
    with mock.patch.object(readers, "_calamine_columns", lambda *args: None):
        table = readers.read_raw(path)
else:
    table = readers.read_raw(path)
cpu = time.process_time() - started
digest = hashlib.sha256(pd.util.hash_pandas_object(table.frame, index=False).to_numpy().tobytes())
digest.update(table.source_rows.tobytes())
digest.update("\\x00".join(table.columns).encode())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu_s": cpu, "peak_mb": peak, "rows": len(table), "hash": digest.hexdigest()}))
"""


def typed(text: pd.Series) -> np.ndarray:
    """A column of the export as the values a platform writes into a workbook (see the module documentation)."""
    values = text.to_numpy(dtype=object).copy()
    whole = text.str.fullmatch(r"-?(?:0|[1-9]\d{0,14})").to_numpy()
    values[whole] = text[whole].astype(np.int64).to_numpy().astype(object)
    decimal = text.str.fullmatch(r"-?\d+\.\d*[1-9]").to_numpy()
    numbers = pd.to_numeric(text[decimal]).to_numpy()
    shown = np.array([f"{x:.15g}" for x in numbers], dtype=object) == text[decimal].to_numpy()
    values[np.flatnonzero(decimal)[shown]] = numbers[shown].astype(object)
    moments = text.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").to_numpy()
    if moments.any():
        values[moments] = list(pd.to_datetime(text[moments]).dt.to_pydatetime())
    values[(text == "").to_numpy()] = None
    return values


def write_export(n: int, path: Path, seed: int = 1) -> Path:
    """Wave 2's export drawn to ``n`` respondents, written as a workbook (see the module documentation)."""
    import openpyxl

    sheet = pd.read_csv(ROOT / "config" / "waves.tsv", sep="\t", dtype=str, keep_default_na=False)
    model = sheet.set_index("wave").loc[WAVE]
    codebook = load_yaml(ROOT / model["codebook"]).data
    header, data, _, _ = scale_wave(ROOT / model["raw"], codebook, n, 300, np.random.default_rng(seed))
    columns = [typed(data[name].astype(str)) for name in data.columns]
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("Responses")
    for _, row in header.iterrows():
        ws.append(list(row))
    for row in zip(*columns):
        ws.append(row)
    book.save(path)
    return path


def read(path: Path, reader: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READ, str(path), reader],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")},
    )
    if done.returncode != 0:
        raise SystemExit(f"reading {path} with {reader} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5], help="respondents in the export")
    parser.add_argument("--keep", type=Path, help="write the workbooks here and keep them")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="survey-audit-xlsx-"))
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [
        "| respondents | workbook (MB) | calamine: CPU (s) | peak (MB) | openpyxl: CPU (s) | peak (MB) | CPU ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    try:
        for n in map(int, args.sizes):
            path = workdir / f"{WAVE}-{n:g}.xlsx"
            if not path.exists():
                write_export(n, path)
            new, old = read(path, "calamine"), read(path, "openpyxl")
            if new["hash"] != old["hash"] or new["rows"] != n:
                raise SystemExit(f"the two readings of {path} differ")
            lines.append(
                f"| {n:,} | {path.stat().st_size / 1e6:.0f} | {new['cpu_s']:.1f} | {new['peak_mb']:,.0f} |"
                f" {old['cpu_s']:.1f} | {old['peak_mb']:,.0f} | {old['cpu_s'] / new['cpu_s']:.1f}× |"
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
