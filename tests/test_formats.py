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


def test_columns_written_by_kernels_read_as_cell_by_cell_text():
    # Oracle: each cell written on its own by the rule of _scalar_text (missing as ''); the columnar paths
    # (booleans, integers, floats and categories per distinct value, strings) must give the same text.
    import math

    from survey_audit.formats import _column_text, _scalar_text

    def by_cell(series):
        return [
            "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else _scalar_text(v)
            for v in series.astype(object)
        ]

    columns = {
        "bool": pd.Series([True, False, True]),
        "boolean": pd.array([True, None, False], dtype="boolean"),
        "int": pd.Series([0, -7, 2**62]),
        "uint": pd.Series(np.array([0, 2**64 - 1, 5], dtype=np.uint64)),
        "Int64": pd.array([None, -3, 10**15], dtype="Int64"),
        "float": pd.Series([0.1 + 0.2, -0.0, np.nan]),
        "float_ties": pd.Series([1 / 3, 1 / 3, 2.5e-12]),
        "Float64": pd.array([1.5, None, float("inf")], dtype="Float64"),
        "str": pd.Series(["=1+1", None, "-1.5"], dtype="str"),
        "object_str": pd.Series(["plain", "+x", "@y"], dtype=object),
        "object_mixed": pd.Series([True, 1, 1.0], dtype=object),
        "object_missing": pd.Series(["a", None, np.nan], dtype=object),
        "categorical": pd.Categorical(["b", None, "-a"], categories=["b", "-a"]),
        "int_categories": pd.Categorical([2, 1, None]),
    }
    for name, values in columns.items():
        series = pd.Series(values, index=[10, 11, 12])
        text = _column_text(series)
        assert list(text) == by_cell(series), name
        assert list(text.index) == [10, 11, 12] and text.dtype == object, name
