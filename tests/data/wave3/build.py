"""A realistic third wave, built from the bundled synthetic wave 2: an SPSS export fielded 2020–2021 with what a
relaunched questionnaire brings (tests/test_third_wave.py adds it to a copy of the project).

* renamed columns: ``age`` → ``age_now``, ``met_how`` → ``first_contact``, ``year_first`` → ``entered_year`` (and
  the platform's ``Duration (in seconds)`` → ``Duration``: SPSS names have no spaces);
* a yes/no question recoded 1/2 with value labels (``consent``), numeric codes with value labels for gender,
  race and the response type (the platform's labels: 0 = "IP Address" and 2 = "Survey Test" name no category of
  ``response_type``, so the codebook accepts them by mapping them too);
* a new answer option: race 5 = "Asian American" for eight respondents (a category only wave 3 has);
* a question dropped (``phone_monitor``: how often the phone was monitored) and one added (``social``: used
  social media while in the life, 1 = Yes, 2 = No);
* defects: a response submitted twice under the same id, an age of 150, and a blank case;
* the recorded dates four years later (2020–2021).

Nothing here is random: the same wave 2 export always gives the same file. The codebook the analyst would
write for it is :data:`CODEBOOK_CHANGES` applied to wave 2's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "workflow"))

from survey_audit.intake.readers import read_raw  # noqa: E402

RENAMED = {
    "age": "age_now",
    "met_how": "first_contact",
    "year_first": "entered_year",
    "Duration (in seconds)": "Duration",
}
NEW_RACE_ROWS = [3, 17, 40, 66, 91, 130, 175, 220]  # respondents who answer the new race option
LABELS = {
    "Status": {0.0: "IP Address", 1.0: "Survey Preview", 2.0: "Survey Test"},
    "consent": {1.0: "Yes", 2.0: "No"},
    "gender": {1.0: "Female", 2.0: "Male", 3.0: "Other"},
    "race": {
        1.0: "African American",
        2.0: "Caucasian",
        3.0: "Hispanic",
        4.0: "Other",
        5.0: "Asian American",
        99.0: "Refused",
    },
    "social": {1.0: "Yes", 2.0: "No"},
}
# Edits turning wave 2's codebook into wave 3's (old text → new text, each applied once).
CODEBOOK_CHANGES = [
    ("wave: wave2", "wave: wave3"),
    ("description: Wave 2 survivor survey", "description: Wave 3 survivor survey (synthetic SPSS export)"),
    ("  layout: platform\n", "  layout: plain\n"),
    ('"2": test}}', '"2": test, "IP Address": survey, "Survey Test": test}}'),
    (
        '  consent: {column: consent, codes: {"Yes": "yes", "No": "no"}}',
        '  consent: {column: consent, codes: {"1": "yes", "2": "no"}}',
    ),
    ('"4": other}}\n  other_specify', '"4": other, "5": asian_american}}\n  other_specify'),
    ("  age_at_survey: {column: age}", "  age_at_survey: {column: age_now}"),
    ("  year_entered: {column: year_first}", "  year_entered: {column: entered_year}"),
    ("  first_met_method: {column: met_how,", "  first_met_method: {column: first_contact,"),
    (
        '  phone_monitored:\n    column: phone_monitor\n    codes: {"1": always, "2": sometimes, "3": never}\n'
        '    ask_if: {variable: had_cell_phone, in: ["yes"]}\n',
        '  used_social_media: {column: social, codes: {"1": "yes", "2": "no"}}\n',
    ),
    ("  Duration (in seconds): metadata", "  Duration: metadata"),
]
# Edits adding what wave 3 brings to the harmonised variables and the tables.
VARIABLES_CHANGES = [
    (
        "categories: {african_american: African American, caucasian: Caucasian, hispanic: Hispanic, other: Other}",
        "categories:\n      african_american: African American\n      caucasian: Caucasian\n      hispanic: Hispanic\n"
        "      other: Other\n      asian_american: {label: Asian American, waves: [wave3]}",
    ),
    (
        "  had_internet:",
        "  used_social_media:\n    label: Used social media while in the life\n    type: yesno\n    topic: life\n"
        "  had_internet:",
    ),
]
TABLE = """
  - id: used_social_media
    title: Used social media while in the life
    variable: used_social_media
"""


def frame(wave2_csv: Path = ROOT / "resources" / "synthetic" / "wave2.csv") -> tuple[pd.DataFrame, dict[str, str]]:
    """Wave 3's responses as text, and the question text of each column."""
    raw = read_raw(wave2_csv)
    data = raw.frame.copy()
    questions = dict(raw.question_text)
    for column in ("StartDate", "EndDate", "RecordedDate"):
        year = data[column].str[:4]
        data[column] = (
            np.where(year.str.isdigit(), (year.where(year.str.isdigit(), "0").astype(int) + 4).astype(str), "")
            + data[column].str[4:]
        )
    data["consent"] = data["consent"].str.strip().str.lower().map({"yes": "1", "no": "2"}).fillna("")
    race = data["race"].copy()
    race.iloc[NEW_RACE_ROWS] = "5"
    data["race"] = race
    data = data.drop(columns=["phone_monitor"])
    cell_phone = data["phone"].str.strip().str.lower()
    data["social"] = np.where(
        cell_phone == "yes", np.where(np.arange(len(data)) % 3 == 0, "2", "1"), np.where(cell_phone == "no", "2", "")
    )
    questions["social"] = "Used social media while in the life"
    data.loc[data.index[25], "age"] = "150"  # out of range: set to missing by cleaning
    data = pd.concat([data, data.iloc[[60]]], ignore_index=True)  # submitted twice, under the same id
    blank = pd.DataFrame([[""] * data.shape[1]], columns=data.columns)
    data = pd.concat([data.iloc[:100], blank, data.iloc[100:]], ignore_index=True)  # a blank case
    data = data.rename(columns=RENAMED)
    questions = {RENAMED.get(c, c): q for c, q in questions.items()}
    return data, questions


def write_sav(target: Path) -> Path:
    """Write wave 3's SPSS export to ``target``."""
    data, questions = frame()
    numeric = list(LABELS) + ["gender"]
    columns = {}
    for column in data.columns:
        if column in numeric:
            columns[column] = pd.to_numeric(data[column].str.strip(), errors="coerce")
        else:
            columns[column] = data[column]
    out = pd.DataFrame(columns)
    pyreadstat.write_sav(
        out,
        str(target),
        column_labels=[questions.get(c, c) for c in out.columns],
        variable_value_labels=LABELS,
    )
    return target


def edit(text: str, changes: list[tuple[str, str]]) -> str:
    """``text`` with each (old, new) change applied once; an old text that is not there is an error."""
    for old, new in changes:
        if old not in text:
            raise ValueError(f"not found: {old[:60]!r}")
        text = text.replace(old, new, 1)
    return text


def add_wave3(project: Path) -> None:
    """Add wave 3 to a copy of the project as an analyst would: the raw export, its codebook, the variables
    and table it brings, and a row in the wave sheet (no report has published it)."""
    write_sav(project / "resources" / "wave3.sav")
    codebook = (project / "config" / "codebooks" / "wave2.yaml").read_text(encoding="utf-8")
    (project / "config" / "codebooks" / "wave3.yaml").write_text(edit(codebook, CODEBOOK_CHANGES), encoding="utf-8")
    variables = project / "config" / "variables.yaml"
    variables.write_text(edit(variables.read_text(encoding="utf-8"), VARIABLES_CHANGES), encoding="utf-8")
    life = project / "config" / "tables" / "life.yaml"
    life.write_text(life.read_text(encoding="utf-8").rstrip("\n") + "\n" + TABLE.lstrip("\n"), encoding="utf-8")
    with open(project / "config" / "waves.tsv", "a", encoding="utf-8") as sheet:
        sheet.write(
            "wave3\tWave 3 (fielded 2020-2021)\tresources/wave3.sav\tconfig/codebooks/wave3.yaml\t2020\t2021\t\tno\t\n"
        )


if __name__ == "__main__":
    print(write_sav(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("wave3.sav")))
