"""The report's figures: text drawn as written. Oracle: the titles themselves, as the SVG's text elements."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from survey_audit.stages.report import figure_svg

CELLS = pd.DataFrame(
    {
        "wave": ["wave1", "wave1", "wave2", "wave2"],
        "by_value": ["all"] * 4,
        "weighting": ["unweighted"] * 4,
        "category": ["paid_in_cash", "paid_online"] * 2,
        "pct": [40.0, 60.0, 55.0, 45.0],
    }
)


def texts(svg: str) -> list[str]:
    """The text elements of an SVG (matplotlib writes each text as one element when it is not mathtext)."""
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@pytest.mark.parametrize(
    "title",
    [
        "Cost in $ and $$",
        "Paid $5 to $10 a day",  # two dollar signs: mathtext would set '5 to ' in italics and drop both
        r"Earned $\alpha$ or $\notacommand$",  # mathtext would stop on the unknown command (ValueError)
    ],
)
def test_a_title_with_dollar_signs_is_drawn_as_written(title):
    drawn = texts(figure_svg(CELLS, title))
    assert title in drawn
    assert {"paid_in_cash", "paid_online", "wave1", "wave2"} <= set(drawn)  # tick labels and legend as well
