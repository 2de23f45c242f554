"""Canonical output files: the same frame always gives the same bytes, and failures leave nothing behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survey_audit.formats import atomic_path, csv_text, format_float


def test_float_format_is_fixed_and_round_trips_twelve_digits():
    assert format_float(62.60869565217391) == "62.6086956522"
    assert format_float(100.0) == "100"
    assert format_float(0.1 + 0.2) == "0.3"
    assert format_float(-0.0) == "0"
    assert format_float(float("nan")) == ""
    assert format_float(9.71822468e-07) == "9.71822468e-07"


def test_csv_text_is_canonical():
    frame = pd.DataFrame(
        {
            "a": pd.array([1, None], dtype="Int64"),
            "b": [0.5, np.nan],
            "c": pd.array([True, None], dtype="boolean"),
            "d": ["x", None],
        }
    )
    assert csv_text(frame) == "a,b,c,d\n1,0.5,true,x\n,,,\n"


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_text_a_spreadsheet_would_run_as_a_formula_is_neutralised_and_numbers_are_not():
    # OWASP "CSV injection": a cell beginning with = + - @ (or a tab or carriage return) is a formula to Excel
    frame = pd.DataFrame(
        {
            "wording": ['=HYPERLINK("http://x","y")', "+1 called", "-x", "@SUM(A1)", "\tx", "plain"],
            "as_text": ["-1.5", "+2", "-inf", "1e-3", "wave1-wave2", ""],
            "number": [-1.5, 2.0, -3.0, 0.001, 4.0, 5.0],
        }
    )
    assert csv_text(frame).splitlines()[1:] == [
        '"\'=HYPERLINK(""http://x"",""y"")",-1.5,-1.5',
        "'+1 called,+2,2",
        "'-x,-inf,-3",
        "'@SUM(A1),1e-3,0.001",
        "'\tx,wave1-wave2,4",
        "plain,,5",
    ]
