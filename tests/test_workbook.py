"""The Excel workbook. Oracles: small public CSVs and a variables file written by hand here (what each cell must
show is read off them: a label, a number, ``[c]`` where the CSV leaves a withheld number blank), Excel's rules
for sheet names, and the bytes of a second writing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import write
from survey_audit import __version__
from survey_audit.stages.workbook import SHEET_NAME_LENGTH, sheet_names, write_workbook

VARIABLES = """
missing_codes:
  dont_know: Don't know
variables:
  gender:
    label: Gender identity
    type: single
    categories: {female: Female, male: Male, other: "=HYPERLINK(\\"http://x\\")"}
  period:
    label: Years since recruitment
    type: single
    categories: {recent: Under 5 years, earlier: 5 years or more}
"""

SPECS = """
chapter: participants
title: Survey participants
tables:
  - id: gender
    title: Gender identity of the respondents
    variable: gender
  - id: gender_by_period_of_recruitment_and_more
    title: Gender, by years since recruitment
    variable: gender
    by: period
"""

HEADER = (
    "table_id,wave,domain,by,by_value,variable,category,weighting,n,base_n,excluded_n,weighted_n,weighted_base,"
    "pct,pct_se,pct_ci_low,pct_ci_high,ci_method,level,deff,n_eff,df,flags,synthetic"
)
GENDER = f"""
{HEADER}
gender,wave1,all,,all,gender,female,unweighted,108,115,0,108,115,93.913043,1.545535,89.66292,96.790739,kg,0.95,0.476361,239.314069,13,nchs_complement,true
gender,wave1,all,,all,gender,male,unweighted,,115,0,,115,,,,,kg,0.95,,,13,nchs_suppress;suppressed,true
gender,wave1,all,,all,gender,other,unweighted,,115,0,,115,,,,,kg,0.95,,,13,nchs_suppress;suppressed,true
"""
BY_PERIOD = f"""
{HEADER}
gender_by_period_of_recruitment_and_more,wave1,all,period,recent,gender,female,unweighted,40,40,0,40,40,100,0,91.2,100,kg,0.95,,40,13,zero_or_full;nchs_review,true
gender_by_period_of_recruitment_and_more,wave1,all,period,earlier,gender,dont_know,unweighted,30,75,0,30,75,40,5.5,29.1,51.7,kg,0.95,1.1,68.2,13,,true
"""
TESTS = """
test_id,table_id,wave,family,statistic,ndf,ddf,p,p_adjusted,n,flags
b:wave1,gender_by_period_of_recruitment_and_more,wave1,exploratory,2.5,1.2,14.4,0.12,0.24,115,
a:wave1-wave2:male,gender,wave1-wave2,exploratory,,1,,,,,suppressed
c:wave1,gender_by_period_of_recruitment_and_more,wave1,claims,30.01,1.9,44.6,7.5e-09,7.5e-09,115,
d:wave1:chisq,gender_by_period_of_recruitment_and_more,wave1,exploratory,34.8,1,inf,6.1e-09,6.1e-09,115,
"""
AUDIT = """
entry_id,report,printed,recomputed,recomputed_display,difference,verdict,flags
t15-female,thorn-2015,94%,93.9130434783,93.91% (108/115),-0.0869565217,reproduced,
t15-male,thorn-2015,4%,,,,reproduced,cell suppressed
t15-formula,thorn-2015,=1+1,,,,not computable,
"""
FLOW = """
step,rule,excluded,remaining
0,raw responses,0,129
1,test_responses,,
2,consent,,
3,complete,14,115
"""
LOG = """
order,rule,rows_affected,action,description
1,test_responses,,excluded,"response_type is one of preview, test"
2,complete,14,excluded,too few answers
"""


@pytest.fixture
def public(tmp_path: Path) -> dict:
    """The stage's arguments: hand-written public files."""
    return {
        "tables": [
            str(write(tmp_path / "tables" / "gender.csv", GENDER)),
            str(write(tmp_path / "tables" / "gender_by_period_of_recruitment_and_more.csv", BY_PERIOD)),
        ],
        "specs": [str(write(tmp_path / "participants.yaml", SPECS))],
        "variables": str(write(tmp_path / "variables.yaml", VARIABLES)),
        "tests": str(write(tmp_path / "tests.csv", TESTS)),
        "audit": str(write(tmp_path / "published.csv", AUDIT)),
        "flows": [str(write(tmp_path / "flow" / "wave1.csv", FLOW))],
        "logs": [str(write(tmp_path / "log" / "wave1.csv", LOG))],
        "margins": [],
        "synthetic": True,
    }


@pytest.fixture
def workbook(public, tmp_path: Path) -> Path:
    path = tmp_path / "tables.xlsx"
    write_workbook(**public, workbook_out=str(path))
    return path


def rows(sheet) -> list[tuple]:
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def test_the_same_inputs_give_the_same_bytes(public, workbook, tmp_path):
    again = tmp_path / "again.xlsx"
    write_workbook(**public, workbook_out=str(again))
    assert again.read_bytes() == workbook.read_bytes()
    with zipfile.ZipFile(workbook) as archive:
        entries = archive.infolist()
        core = archive.read("docProps/core.xml").decode()
    assert [e.filename for e in entries] == sorted(e.filename for e in entries)
    assert entries[0].filename == "[Content_Types].xml"
    assert {e.date_time for e in entries} == {(1980, 1, 1, 0, 0, 0)}
    assert "1980-01-01T00:00:00Z" in core and core.count("1980-01-01T00:00:00Z") == 2  # created and modified


def test_contents_lists_every_sheet_with_the_code_version_and_the_synthetic_flag(workbook):
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == [
        "Contents",
        "Audit",
        "gender",
        "gender_by_period_of_recruitment",  # the table id cut to Excel's 31 characters
        "Tests",
        "Cleaning flow",
        "Cleaning log",
    ]
    contents = pd.read_excel(workbook, sheet_name="Contents", header=3)
    assert list(contents["Sheet"]) == book.sheetnames[1:]
    assert list(contents["From"][1:3]) == [
        "results/tables/gender.csv",
        "results/tables/gender_by_period_of_recruitment_and_more.csv",
    ]
    assert list(contents["Rows"]) == [3, 3, 2, 4, 4, 2]
    notes = " ".join(str(r[0]) for r in rows(book["Contents"])[:3])
    assert "SYNTHETIC DATA" in notes and "Synthetic: yes" in notes and f"survey-audit {__version__}" in notes
    link = book["Contents"].cell(row=5, column=1).hyperlink
    assert link.location == "'Audit'!A1" and not link.target  # a link inside the workbook, not to a file


def test_a_table_sheet_shows_labels_numbers_and_withheld_cells_as_the_csv(workbook):
    book = openpyxl.load_workbook(workbook)
    sheet = book["gender"]
    assert sheet["A1"].value == "Gender identity of the respondents"
    assert sheet.freeze_panes == "A4"
    header, female, male, other = rows(sheet)[2:6]
    assert header == (
        "Wave", "Category", "%", "SE", "95% CI low", "95% CI high", "CI method", "n", "Base", "Design effect", "df",
        "Flags", "Category code",
    )  # fmt: skip
    assert female == (
        "wave1", "Female", 93.913043, 1.545535, 89.66292, 96.790739, "kg", 108, 115, 0.476361, 13, "nchs_complement",
        "female",
    )  # fmt: skip
    # the CSV leaves the withheld numbers blank (n, %, interval, design effect); the base it prints stays
    assert male == ("wave1", "Male", *["[c]"] * 4, "kg", "[c]", 115, "[c]", 13, "nchs_suppress;suppressed", "male")
    # a label a spreadsheet would run as a formula is text with the CSVs' apostrophe
    assert other[1] == '\'=HYPERLINK("http://x")' and sheet.cell(row=6, column=2).data_type == "s"
    assert sheet.cell(row=4, column=3).number_format == "0.0"
    assert sheet.cell(row=4, column=8).number_format == "0"
    frame = pd.read_excel(workbook, sheet_name="gender", header=2)
    assert frame["%"].iloc[0] == pytest.approx(93.913043) and frame["n"].iloc[0] == 108


def test_a_by_variable_and_a_missing_code_get_their_labels(workbook):
    frame = pd.read_excel(workbook, sheet_name="gender_by_period_of_recruitment", header=2)
    assert list(frame["Years since recruitment"]) == ["Under 5 years", "5 years or more"]
    assert list(frame["Category"]) == ["Female", "Don't know"]
    assert frame["Design effect"].isna().iloc[0]  # not defined (100%), not withheld: blank, not [c]
    assert frame["%"].tolist() == [100, 40]


def test_audit_and_tests_keep_their_columns_numbers_as_numbers_claims_first(workbook):
    book = openpyxl.load_workbook(workbook)
    audit = pd.read_excel(workbook, sheet_name="Audit", header=1, keep_default_na=False)
    assert list(audit.columns) == AUDIT.split()[0].split(",")
    assert audit["recomputed"].tolist() == [pytest.approx(93.9130434783), "[c]", ""]
    assert audit["difference"].tolist()[1] == "[c]"
    assert audit["printed"].tolist()[2] == "'=1+1"
    assert book["Audit"].cell(row=3, column=4).number_format == "0.00"
    tests = pd.read_excel(workbook, sheet_name="Tests", header=1, keep_default_na=False)
    assert tests["test_id"].tolist() == ["c:wave1", "a:wave1-wave2:male", "b:wave1", "d:wave1:chisq"]
    assert tests["p"].tolist() == [pytest.approx(7.5e-09), "[c]", pytest.approx(0.12), pytest.approx(6.1e-09)]
    assert tests["n"].tolist() == [115, "[c]", 115, 115]
    assert tests["ddf"].tolist() == [pytest.approx(44.6), "[c]", pytest.approx(14.4), "inf"]  # no infinite number
    assert book["Tests"].cell(row=3, column=8).number_format == "[<0.001]0.00E+00;0.000"


def test_cleaning_sheets_stack_the_waves_with_withheld_counts(workbook):
    flow = pd.read_excel(workbook, sheet_name="Cleaning flow", header=1)
    assert flow.columns.tolist() == ["wave", "step", "rule", "excluded", "remaining"]
    assert flow["excluded"].tolist() == [0, "[c]", "[c]", 14]
    assert flow["remaining"].tolist() == [129, "[c]", "[c]", 115]
    log = pd.read_excel(workbook, sheet_name="Cleaning log", header=1)
    assert log["rows_affected"].tolist() == ["[c]", 14]


def test_weighting_margins_are_shares_with_withheld_rows(public, tmp_path):
    margins = write(
        tmp_path / "margins" / "wave2.csv",
        """
        variable,category,n,target_share,target,achieved,difference,unweighted_share
        gender,female,254,0.939130434783,244.173913043,0.939130434784,9.24593734908e-13,0.976923076923
        gender,male,,,,,,
        """,
    )
    path = tmp_path / "with-margins.xlsx"
    write_workbook(**{**public, "margins": [str(margins)]}, workbook_out=str(path))
    sheet = openpyxl.load_workbook(path)["Weighting margins"]
    assert rows(sheet)[1:4] == [
        ("wave", "variable", "category", "n", "target_share", "target", "achieved", "difference", "unweighted_share"),
        ("wave2", "gender", "female", 254, 0.939130434783, 244.173913043, 0.939130434784, 9.24593734908e-13,
         0.976923076923),
        ("wave2", "gender", "male", *["[c]"] * 6),
    ]  # fmt: skip
    assert [sheet.cell(row=3, column=c).number_format for c in (4, 5, 7, 8, 9)] == ["0", *["0.0%"] * 4]


def test_no_cell_holds_a_formula(workbook):
    book = openpyxl.load_workbook(workbook)
    assert not [c.coordinate for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (["Contents", "contents"], ["Contents", "contents~2"]),  # Excel compares names ignoring case
        (["a" * 40, "a" * 35], ["a" * 31, "a" * 29 + "~2"]),
        (["x[1]:y*z?/\\w"], ["x_1__y_z___w"]),
        (["'quoted'"], ["quoted"]),
    ],
)
def test_sheet_names_follow_excels_rules(wanted, expected):
    names = sheet_names(wanted)
    assert names == expected
    assert all(len(n) <= SHEET_NAME_LENGTH for n in names)
    assert len({n.casefold() for n in names}) == len(names)
