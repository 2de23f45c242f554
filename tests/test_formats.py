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
