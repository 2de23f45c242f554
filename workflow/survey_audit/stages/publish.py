"""The publish stage: the internal cells of every scope → one public CSV per table.

A public table keeps the columns of its kind (a proportion table has no mean columns and the reverse; a sample
table only counts), rows by wave and weighting, then in the declared order of by-values and categories, and
every fractional number rounded to ``tabulation.decimals`` decimals (the unrounded values stay in
``results/internal/cells/``). The columns are described in ``docs/columns.md``.
"""

from __future__ import annotations

import pandas as pd

from .. import formats
from .tabulate import CELL_COLUMNS, MEAN_COLUMNS, PROPORTION_COLUMNS

ESTIMATE_COLUMNS = {"proportions": PROPORTION_COLUMNS, "mean": MEAN_COLUMNS, "sample": []}
# Columns that describe an estimate's uncertainty: absent from a sample table, n_eff absent from a mean's.
UNCERTAINTY_COLUMNS = ["ci_method", "level", "deff", "n_eff", "df"]


def public_columns(kind: str) -> list[str]:
    """The columns of a public table of a kind (proportions, mean or sample)."""
    other = {c for k, cols in ESTIMATE_COLUMNS.items() if k != kind for c in cols}
    dropped = other | (set(UNCERTAINTY_COLUMNS) if kind == "sample" else {"n_eff"} if kind == "mean" else set())
    return [c for c in CELL_COLUMNS if c not in dropped] + ["synthetic"]


def table_kind(cells: pd.DataFrame) -> str:
    """The kind of a table, from its cells."""
    if (cells["variable"] == "sample").all():
        return "sample"
    return "mean" if (cells["category"] == "mean").all() else "proportions"


def publish_tables(*, cells: list[str], decimals: int, tables_out: dict[str, str]) -> None:
    """Stage function: one public CSV per table id (``tables_out``: table id → path)."""
    frame = pd.concat([formats.read_parquet(p) for p in cells], ignore_index=True)
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column].dtype):
            frame[column] = frame[column].round(decimals)
    for table_id, path in tables_out.items():
        part = frame[frame["table_id"] == table_id].sort_values(["wave", "weighting"], kind="stable")
        formats.write_csv(part[public_columns(table_kind(part))].reset_index(drop=True), path)
