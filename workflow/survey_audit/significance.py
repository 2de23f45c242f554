"""Tests of association behind the reports' comparisons, with multiplicity control over declared families."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from . import formats
from .codebook import load_variables
from .tables import POOLED, domain_mask, groups, indicator_columns, load_scope, load_table_specs


def pearson_unweighted(table: np.ndarray) -> dict:
    """Pearson's chi-square on an unweighted r×c table of counts (no continuity correction); rows or columns
    that are empty are dropped first, as they carry no information."""
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return {"statistic": float("nan"), "ndf": float("nan"), "ddf": float("nan"), "p": float("nan")}
    result = stats.chi2_contingency(table, correction=False)
    return {
        "statistic": float(result.statistic),
        "ndf": float(result.dof),
        "ddf": float("inf"),
        "p": float(result.pvalue),
    }


def adjust(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values (holm, bh or by) over one family; NaN p-values are left out and stay NaN."""
    p_values = np.asarray(p_values, dtype=float)
    out = np.full_like(p_values, np.nan)
    ok = ~np.isnan(p_values)
    if ok.any():
        name = {"holm": "holm", "bh": "fdr_bh", "by": "fdr_by"}[method]
        out[ok] = multipletests(p_values[ok], method=name)[1]
    return out


def test_tables(
    *,
    analysed: list[str],
    weights: list[str],
    scopes: list[str],
    tables: list[str],
    variables: str,
    waves: list[str],
    tests_out: str,
) -> None:
    """Tests of association for every table with a by-variable, adjusted within their declared families."""
    variable_set = load_variables(variables)
    specs = [s for s in load_table_specs(tables, variable_set, waves) if s.test_family]
    rows = []
    for scope in scopes:
        paths = [(a, w) for a, w, wave in zip(analysed, weights, waves) if scope in (wave, POOLED)]
        frame, _ = load_scope(scope, [a for a, _ in paths], [w for _, w in paths])
        for spec in specs:
            if scope not in spec.waves:
                continue
            var = variable_set[spec.variable]
            by = variable_set[spec.by]
            in_domain = domain_mask(frame, spec.domain)
            categories, matrix, valid = indicator_columns(frame, var)
            by_groups = groups(frame, by)
            targets = [(c, matrix[:, [k]]) for k, c in enumerate(categories)] if var.is_multi else [("", matrix)]
            for category, columns in targets:
                if var.is_multi:
                    columns = np.column_stack([columns[:, 0], 1 - columns[:, 0]])
                counts = np.array(
                    [
                        [(columns[:, j] * (in_domain & mask & valid)).sum() for _, mask in by_groups]
                        for j in range(columns.shape[1])
                    ]
                )
                result = pearson_unweighted(counts)
                rows.append(
                    {
                        "test_id": f"{spec.id}:{scope}" + (f":{category}" if category else ""),
                        "table_id": spec.id,
                        "wave": scope,
                        "variable": var.name,
                        "by": by.name,
                        "category": category,
                        "method": "pearson_unweighted",
                        **result,
                        "family": spec.test_family,
                    }
                )
    frame = pd.DataFrame(
        rows,
        columns=[
            "test_id",
            "table_id",
            "wave",
            "variable",
            "by",
            "category",
            "method",
            "statistic",
            "ndf",
            "ddf",
            "p",
            "family",
        ],
    )
    frame["adjustment"] = "holm"
    frame["p_adjusted"] = np.nan
    for _, part in frame.groupby("family", sort=True):
        frame.loc[part.index, "p_adjusted"] = adjust(part["p"].to_numpy(), "holm")
    frame = frame.sort_values("test_id", kind="stable").reset_index(drop=True)
    formats.write_csv(frame, tests_out)
