"""Write tests/golden/data/waves.csv: the analysed respondents of the bundled (synthetic) waves, with the
variables the golden blocks 'waves' and 'models' of make_golden.R use, so R and the pipeline estimate from the same rows.

    python tests/golden/export_waves.py

The file is derived from resources/synthetic/ through the project's own ingest and cleaning;
tests/test_golden_waves.py checks that it still is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

from survey_audit.config.plan import build_plan  # noqa: E402
from survey_audit.config.settings import load_config  # noqa: E402
from survey_audit.intake.cleaning import clean  # noqa: E402
from survey_audit.intake.harmonise import harmonise  # noqa: E402
from survey_audit.intake.readers import read_raw  # noqa: E402

COLUMNS = [
    "wave",
    "org",
    "region",
    "gender",
    "race",
    "entry_cohort",
    "recruitment_period",
    "had_cell_phone",
    "advertised_online",
    "buyers_per_day",
]


def analysed_waves(root: Path = ROOT) -> pd.DataFrame:
    """The analysed respondents of every bundled wave, in file order, with the golden block's variables as text
    (a missing answer as NA)."""
    plan = build_plan(load_config(root / "config" / "config.yaml"), root)
    frames = []
    for wave, record in plan.waves.items():
        book, variables = plan.codebooks[wave], plan.view(wave)
        raw = read_raw(root / record.raw, layout=book.layout)
        harmonised = harmonise(raw, book, variables)
        frames.append(clean(harmonised.respondents, harmonised.findings, book, variables).analysed)
    frame = pd.concat(frames, ignore_index=True)
    return frame[COLUMNS].astype(object).where(frame[COLUMNS].notna(), None).astype("string")


if __name__ == "__main__":
    target = ROOT / "tests" / "golden" / "data" / "waves.csv"
    analysed_waves().to_csv(target, index=False, na_rep="NA", lineterminator="\n")
    print(f"wrote {target}")
