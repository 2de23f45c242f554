"""The public tier and its attack check (survey_audit.stages.publish and .disclosure), on a two-wave table
worked by hand: what a naive suppression prints, what subtraction gives back from it (the intruder's
arithmetic is written out in each test), and what the check says about it."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import disclosure_cells
from survey_audit import formats
from survey_audit.errors import SurveyAuditError
from survey_audit.stages.disclosure import check, hidden_rows, model, public_cells, public_log
from survey_audit.stats.disclosure import protect


def publish_table(directory, cells: pd.DataFrame, blank: set[tuple[str, str]]) -> list[str]:
    """The public gender and sample tables, with the (wave, category) cells of ``blank`` not printed."""
    public = cells.copy().astype({"n": "Int64"})
    hide = [(w, c) in blank for w, c in zip(public["wave"], public["category"])]
    public.loc[hide, ["n", "pct"]] = None
    paths = []
    for table_id, part in public.groupby("table_id"):
        formats.write_csv(part, directory / f"{table_id}.csv")
        paths.append(str(directory / f"{table_id}.csv"))
    return paths


def run_check(directory, tables: list[str], audit: str = "audit.csv") -> str:
    report = directory / "disclosure.txt"
    check(
        cells=[str(directory / "cells.parquet")],
        flows=[str(directory / f"{w}.flow.csv") for w in ("wave1", "wave2")],
        margins=[],
        variables=[str(directory / "variables.yaml")],
        tables=str(directory / "tables.json"),
        waves=["wave1", "wave2"],
        weighted=[],
        references={},
        public_tables=tables,
        public_flows=[str(directory / f"{w}.public-flow.csv") for w in ("wave1", "wave2")],
        public_margins=[],
        public_tests=str(directory / "tests.csv"),
        public_audit=str(directory / audit),
        min_count=5,
        report_out=str(report),
    )
    return report.read_text(encoding="utf-8")


def test_the_check_catches_a_small_count_left_to_subtraction(inputs):
    directory, cells, _ = inputs
    # only the 3 is blanked: 50 - 40 - 7 = 3
    tables = publish_table(directory, cells, {("wave1", "male")})
    with pytest.raises(SurveyAuditError) as caught:
        run_check(directory, tables)
    assert "recoverable: n (scope wave1, variable gender, category male) (its possible values: 3 to 3)" in str(
        caught.value
    )
    assert not (directory / "disclosure.txt").exists()


def test_the_check_catches_a_wave_given_back_by_the_pool(inputs):
    directory, cells, _ = inputs
    # wave 1's men and women are blanked, but pooled minus wave 2 gives both back: 23 - 20 = 3, 100 - 60 = 40
    tables = publish_table(directory, cells, {("wave1", "male"), ("wave1", "female")})
    with pytest.raises(SurveyAuditError) as caught:
        run_check(directory, tables)
    assert "recoverable: n (scope wave1, variable gender, category male) (its possible values: 3 to 3)" in str(
        caught.value
    )


def test_the_check_catches_a_small_count_printed_anywhere(inputs):
    directory, cells, _ = inputs
    tables = publish_table(directory, cells, set())
    with pytest.raises(SurveyAuditError) as caught:
        run_check(directory, tables)
    assert "printed: n (scope wave1, variable gender, category male)" in str(caught.value)
    formats.write_csv(
        pd.DataFrame({"entry_id": ["t-men"], "recomputed_display": ["6.00% (3/50)"]}), directory / "a.csv"
    )
    protected = protect_and_publish(directory, cells)
    with pytest.raises(SurveyAuditError, match="printed: the counts in the audit of t-men"):
        run_check(directory, protected, audit="a.csv")


def protect_and_publish(directory, cells) -> list[str]:
    flows = {w: pd.read_csv(directory / f"{w}.flow.csv") for w in ("wave1", "wave2")}
    counts = model(cells, set(), flows, {}, {})
    suppressed = protect(counts.problem, 5)
    public = public_cells(cells, hidden_rows(counts, cells, suppressed))
    blank = {(w, c) for w, c, n in zip(public["wave"], public["category"], public["n"]) if pd.isna(n)}
    return publish_table(directory, cells, blank)


def test_the_protected_tables_pass_the_check(inputs):
    directory, cells, _ = inputs
    report = run_check(directory, protect_and_publish(directory, cells))
    assert "no suppressed count can be recovered" in report
    public = pd.read_csv(directory / "gender.csv", keep_default_na=False)
    blank = public.loc[public["n"] == "", ["wave", "category"]]
    pairs = set(zip(blank["wave"], blank["category"]))
    assert ("wave1", "male") in pairs
    # within wave 1 a second cell goes (else 50 - the rest gives 3 back), and across waves a pooled or wave 2
    # men's count (else pooled - wave 2 gives it back)
    assert len({c for w, c in pairs if w == "wave1"}) >= 2
    assert pairs & {("wave2", "male"), ("wave1+wave2", "male")}


def test_public_cells_blank_every_number_computed_from_a_suppressed_count(inputs):
    _, cells, flows = inputs
    counts = model(cells, set(), flows, {}, {})
    suppressed = protect(counts.problem, 5)
    public = public_cells(cells, hidden_rows(counts, cells, suppressed))
    men = public[(public["wave"] == "wave1") & (public["category"] == "male")].iloc[0]
    assert pd.isna(men["n"]) and pd.isna(men["pct"]) and men["flags"] == "suppressed"
    assert men["base_n"] == 50  # the base is printed: the table's other cells keep their percentages


def test_a_cleaning_rule_that_touched_few_rows_is_not_counted_in_public():
    log = pd.DataFrame({"rule": ["consent", "recode"], "action": ["excluded", "set_missing"], "rows_affected": [3, 2]})
    flow = pd.DataFrame({"rule": ["consent"], "excluded": pd.array([pd.NA], dtype="Int64")})
    public = public_log(log, flow, 5)
    assert public["rows_affected"].isna().all()


def test_the_public_audit_withholds_a_suppressed_cells_numbers_and_says_so():
    """A suppressed cell keeps its verdict, loses every number computed from it (value, counts, interval,
    difference, the check on its base) and is flagged first; another cell is published whole. Oracle: the
    rows written by hand."""
    from survey_audit.stages.publish import _public_audit

    full = disclosure_cells()
    hidden = pd.DataFrame({"n": (full["wave"] == "wave1") & (full["category"] == "male")})
    cell = {"table": "gender", "wave": "wave1", "by_value": "all", "weighting": "unweighted"}
    entries = {"men": {"cell": {**cell, "category": "male"}}, "women": {"cell": {**cell, "category": "female"}}}
    audit = pd.DataFrame(
        {
            "entry_id": ["men", "women"],
            "recomputed": ["6", "80"],
            "recomputed_display": ["6.00% (3/50)", "80.00% (40/50)"],
            "recomputed_as_printed": ["6%", "80%"],
            "ci_low": ["1.1", "66.3"],
            "ci_high": ["17.5", "90.0"],
            "ci_method": ["kg", "kg"],
            "difference": ["0", "0"],
            "verdict": ["reproduced", "reproduced"],
            "flags": ["NCHS: suppress", ""],
            "checks": [
                "GRIM vs printed base 50: consistent (k = 3); GRIM vs recomputed base 50: consistent (k = 3)",
                "",
            ],
        }
    )
    out = _public_audit(audit, entries, full, hidden, 5).set_index("entry_id")
    men = out.loc["men"]
    for column in ("recomputed", "recomputed_display", "recomputed_as_printed", "ci_low", "ci_high", "difference"):
        assert men[column] == ""
    assert men["verdict"] == "reproduced" and men["flags"] == "cell suppressed; NCHS: suppress"
    assert men["checks"] == "GRIM vs printed base 50: consistent (details withheld, they name a count below 5)"
    assert out.loc["women"].to_dict() == audit.set_index("entry_id").loc["women"].to_dict()


def test_a_data_free_check_naming_a_small_count_keeps_only_its_verdict():
    # The counts a printed share implies are arithmetic on printed numbers, but they can equal a withheld count:
    # a check naming a count (or its complement within the base) from 1 to 4 keeps its verdict only.
    from survey_audit.stages.publish import public_check

    assert public_check("counts check ok: of 260, the only counts are 254/4/2 (female/male/other)", 5) == (
        "counts check ok: details withheld, they name a count below 5"
    )
    assert public_check("GRIM vs printed base 260: consistent (k = 4, 5, 6)", 5) == (
        "GRIM vs printed base 260: consistent (details withheld, they name a count below 5)"
    )
    # 256 of 260 leaves 4 outside the category
    assert public_check("GRIM vs printed base 260: consistent (k = 254, 255, 256)", 5).endswith("below 5)")
    for whole in (
        "GRIM vs printed base 260: consistent (k = 64, 65, 66)",
        "sum check ok: sum 101 (100 ± 1.5)",
        "GRIM vs printed base 26: INCONSISTENT (nearest possible: 61.5% (16/26) or 65.4% (17/26))",
    ):
        assert public_check(whole, 5) == whole


def test_a_tests_base_is_withheld_when_it_leaves_out_a_few_respondents():
    # Oracle, by hand: wave w2 has 260 respondents (public in the sample table). A test on 259 of them gives
    # back the one who did not answer; a test on 250 leaves out 10; a test on 3 is small itself.
    from survey_audit.stages.publish import _public_tests

    full = pd.DataFrame(
        {"table_id": ["sample"], "wave": ["w2"], "category": ["respondents"], "weighting": ["unweighted"], "n": [260]}
    )
    tests = pd.DataFrame(
        {
            "test_id": ["a:w2", "b:w2", "c:w2"],
            "table_id": ["a", "b", "c"],
            "wave": ["w2", "w2", "w2"],
            "category": ["", "", ""],
            "test": ["rao_scott", "rao_scott", "model"],
            "n": ["259", "250", "3"],
            "flags": ["", "", ""],
        }
    )
    out = _public_tests(tests, full, set(), 5)
    assert out["n"].tolist() == ["", "250", ""]
