"""The associations stage: the tests behind the reports' comparisons in one scope (a wave, or a pool of waves).

For every table with a by-variable and a declared test family, in the scope and each weighting it has: the
Rao–Scott second-order F of the variable against the by-variable (each option of a multi-select item as its
own 0/1 outcome), with the first-order chi-square, Wald and adjusted Wald beside it and, unweighted, Pearson's
chi-square and Fisher's exact test as sensitivity checks; for an ordered by-variable of three or more levels,
a design-based trend test of each outcome. A table that declares a model (R ``svyglm``) gets, in each weighting,
the Wald F test of its tested terms (R ``regTermTest``), with the coefficient and its sign when the terms have
one. In the pool of every wave a table is tabulated for (three or more waves), the trend of each outcome
across the waves. The tests are written unadjusted, one file per scope, so scopes are tested in parallel;
:mod:`survey_audit.stages.families` adds the wave-to-wave comparisons and adjusts them all within their
families. What is tested is set out in :mod:`survey_audit.stages.conventions`; the columns are described in
``docs/columns.md``.

A test that cannot be computed is a row all the same, its reason in ``method``, its statistics blank, flagged
``not_computable`` and left out of its family: a by-group nobody in the scope belongs to, or a design with no
degrees of freedom (every respondent recruited by one organisation: one PSU, so no design-based variance; the
tabulate stage still estimates its cells, with an interval of ``none_df<1``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .. import formats
from ..config.plan import read_scope_tables
from ..config.tables import ALL, TableSpec
from ..config.variables import Variable, VariableSet, load_variables
from ..errors import DesignError
from ..stats.design import Design, domain_mask
from ..stats.formula import parse_formula
from ..stats.models import regtermtest, svyglm
from ..stats.significance import (
    association_tests,
    fisher_exact_unweighted,
    pearson_unweighted,
    trend_test,
)
from .conventions import (
    MODEL_TEST,
    Estimation,
    Significance,
    indicators,
    yes_indicator,
)
from .tabulate import load_scope, scope_designs

TEST_COLUMNS = [
    "test_id", "table_id", "wave", "weighting", "variable", "by", "category", "test", "method",
    "statistic", "ndf", "ddf", "p", "report", "family", "adjustment", "p_adjusted", "direction", "estimate",
    "chisq", "trace_delta", "d0", "n", "flags",
]  # fmt: skip
NOT_COMPUTABLE = "not_computable"  # no statistic: too few levels, no degrees of freedom (one organisation), ...
NUMERIC_COLUMNS = ["statistic", "ndf", "ddf", "p", "p_adjusted", "estimate", "chisq", "trace_delta", "d0", "n"]


def _outcomes(frame: pd.DataFrame, var: Variable) -> list[tuple[str, np.ndarray | str]]:
    """What is tested against the by-variable: the variable itself (single choice), or each option of a
    multi-select item as a 0/1 outcome (missing where the item was not answered)."""
    if not var.is_multi:
        return [("", var.name)]
    categories, matrix, valid = indicators(frame, var)
    return [(c, np.where(valid, matrix[:, k], np.nan)) for k, c in enumerate(categories)]


def _trend_outcomes(frame: pd.DataFrame, var: Variable) -> list[tuple[str, np.ndarray]]:
    """0/1 outcomes whose trend over an ordered by-variable is tested: 'yes' of a yes/no variable, each other
    category of a single-choice variable, each option of a multi-select item."""
    categories, matrix, valid = indicators(frame, var)
    chosen = ["yes"] if var.type == "yesno" else categories
    return [(c, np.where(valid, matrix[:, categories.index(c)], np.nan)) for c in chosen]


def table_tests(
    design: Design, spec: TableSpec, variables: VariableSet, scope: str, *, weighting: str, df: str
) -> list[dict]:
    """The tests behind one table with a by-variable in one scope and weighting (see the module docstring)."""
    var, by = variables[spec.variable], variables[spec.by]
    mask = domain_mask(design, spec.domain)
    in_domain = np.ones(design.n, dtype=bool) if mask is None else mask
    base = {
        "table_id": spec.id,
        "wave": scope,
        "weighting": weighting,
        "variable": var.name,
        "by": by.name,
        "family": spec.test_family,
    }
    suffix = "" if weighting == "unweighted" else ":weighted"
    rows: list[dict] = []
    for category, outcome in _outcomes(design.data, var):
        stem = f"{spec.id}:{scope}" + (f":{category}" if category else "")
        rows += _association_rows(design, outcome, by, in_domain, df, {**base, "category": category}, stem, suffix)
        if weighting == "unweighted":
            rows += _sensitivity_rows(design.data, outcome, by, in_domain, {**base, "category": category}, stem)
    if spec.trend:
        rows += _trend_rows(design, var, by, in_domain, df, base, f"{spec.id}:{scope}", suffix)
    return rows


def model_tests(
    design: Design, spec: TableSpec, variables: VariableSet, scope: str, *, weighting: str, df: str
) -> list[dict]:
    """The test of a table's model in one scope and weighting: R ``regTermTest(svyglm(formula, subset(design,
    domain), family), ~terms)``, its F on the model's residual df, a yes/no outcome counted 1 for yes (see
    :mod:`survey_audit.stages.conventions`). A model that cannot be fitted (a term with one level in the scope,
    no residual df) is a row all the same, not computable, its reason in ``method``."""
    model = spec.model
    response = parse_formula(model.formula).response
    if response in variables and variables[response].type == "yesno":
        design = replace(design, data=design.data.assign(**{response: yes_indicator(design.data[response])}))
    suffix = "" if weighting == "unweighted" else ":weighted"
    row = {
        "test_id": f"{spec.id}:{scope}:{MODEL_TEST}{suffix}",
        "table_id": spec.id,
        "wave": scope,
        "weighting": weighting,
        "variable": response,
        "by": " + ".join(model.terms),
        "category": "",
        "test": MODEL_TEST,
        "family": model.test_family,
    }
    try:
        fit = svyglm(design, model.formula, family=model.family, domain=spec.domain, df=df)
        result = regtermtest(fit, list(model.terms)).iloc[0]
    except DesignError as exc:
        return [not_computable(row, exc.problem)]
    ndf, ddf = int(result["ndf"]), float(result["ddf"])
    method = (
        f"design-based Wald F({ndf}, {ddf:g}) of {result['terms']} in svyglm({fit.formula}, family = {fit.family}) "
        "(R regTermTest)"
    )
    return [
        {
            **row,
            **{k: result[k] for k in ("statistic", "ndf", "ddf", "p", "chisq", "estimate", "direction", "n")},
            "method": method,
        }
    ]


def _association_rows(design, outcome, by: Variable, in_domain, df, base: dict, stem: str, suffix: str) -> list[dict]:
    """Rao–Scott F (the primary test), first-order chi-square, Wald and adjusted Wald of one outcome."""
    try:
        results = association_tests(design, outcome, by.name, domain=in_domain, df=df)
    except DesignError as exc:  # e.g. a by-group nobody in this scope belongs to: nothing to test
        return [not_computable({**base, "test_id": stem + suffix, "test": "F"}, exc.problem)]
    rows = []
    for record in results.to_dict("records"):
        name = record["test"]
        rows.append(
            {
                **base,
                **{k: record[k] for k in ("statistic", "ndf", "ddf", "p", "chisq", "trace_delta", "d0", "n")},
                "test_id": stem + ("" if name == "F" else f":{name.lower()}") + suffix,
                "test": name,
                "method": record["method"],
            }
        )
    return rows


def _sensitivity_rows(frame: pd.DataFrame, outcome, by: Variable, in_domain, base: dict, stem: str) -> list[dict]:
    """Pearson's chi-square and Fisher's exact test on the unweighted counts of one outcome."""
    counts = _count_table(frame, outcome, by, in_domain)
    pearson = pearson_unweighted(counts)
    fisher = fisher_exact_unweighted(counts)
    n = int(counts.sum())
    return [
        {
            **base,
            **pearson,
            "test_id": stem + ":pearson",
            "test": "pearson",
            "method": "Pearson chi-square on unweighted counts (sensitivity)",
            "n": n,
        },
        {
            **base,
            "statistic": fisher["statistic"],
            "p": fisher["p"],
            "test_id": stem + ":fisher",
            "test": "fisher",
            "method": fisher["method"] + " (sensitivity)",
            "n": n,
        },
    ]


def _trend_rows(design, var: Variable, by: Variable, in_domain, df, base: dict, stem: str, suffix: str) -> list[dict]:
    """A design-based trend test of each outcome over the by-variable's categories scored 1, 2, 3, ..."""
    frame = design.data
    codes = pd.Categorical(frame[by.name], categories=list(by.categories)).codes
    score = pd.Series(pd.Categorical.from_codes(codes, categories=np.arange(1.0, len(by.categories) + 1)))
    rows = []
    for category, outcome in _trend_outcomes(frame, var):
        row = {**base, "test_id": f"{stem}:{category}:trend{suffix}", "category": category, "test": "trend"}
        try:
            result = trend_test(design, outcome, score, domain=in_domain, df=df).iloc[0]
        except DesignError as exc:
            rows.append(not_computable(row, exc.problem))
            continue
        method = result["method"].replace("svyglm(outcome ~ score", f"svyglm({category} ~ {by.name} order")
        rows.append(
            {
                **row,
                **{k: result[k] for k in ("statistic", "ndf", "ddf", "p", "direction", "estimate", "n")},
                "method": method,
            }
        )
    return rows


def _count_table(frame: pd.DataFrame, outcome, by: Variable, in_domain: np.ndarray) -> np.ndarray:
    """Unweighted counts of the outcome's categories (rows) by the by-variable's (columns), in the domain."""
    values = frame[outcome] if isinstance(outcome, str) else pd.Series(outcome, index=frame.index)
    keep = in_domain & values.notna().to_numpy() & frame[by.name].notna().to_numpy()
    rows, n_rows = _codes_in_text_order(values[keep])
    cols, n_cols = _codes_in_text_order(frame.loc[keep, by.name])
    return np.bincount(rows * n_cols + cols, minlength=n_rows * n_cols).reshape(n_rows, n_cols).astype(float)


def _codes_in_text_order(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of the values, numbered in the order of their text (as a cross-tabulation of the values as
    text orders its rows), and how many distinct values there are; columnar."""
    codes, uniques = pd.factorize(values)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(np.asarray(uniques.astype(str), dtype=object), kind="stable")] = np.arange(len(uniques))
    return rank[codes], len(uniques)


def wave_trend_tests(
    design: Design, spec: TableSpec, variables: VariableSet, scope: str, fielding: dict, *, family: str, df: str
) -> list[dict]:
    """A design-based trend of each outcome across three or more waves pooled (each wave a stratum): the slope
    of R ``svyglm(y ~ year, design, family = quasibinomial())`` over the middle year of each wave's fielding,
    within the table's domain and each of its by-groups."""
    frame = design.data
    var = variables[spec.variable]
    middle = {w: (f + t) / 2 for w, (f, t) in fielding.items()}
    codes, waves = pd.factorize(frame["wave"])
    years, of_wave = np.unique([middle[str(wave)] for wave in waves], return_inverse=True)
    year = pd.Series(pd.Categorical.from_codes(of_wave[codes], categories=years))
    mask = domain_mask(design, spec.domain)
    if spec.by:
        levels = list(variables[spec.by].categories)
        groups = pd.Series(pd.Categorical(frame[spec.by], categories=levels))
    else:
        levels = [ALL]
        groups = pd.Series(pd.Categorical.from_codes(np.zeros(design.n, dtype=np.int8), categories=levels))
    rows = []
    for category, outcome in _trend_outcomes(frame, var):
        results = trend_test(design, outcome, year, domain=mask, by=groups, df=df).set_index("by_value")
        for by_value in levels:
            by_part = "" if by_value == ALL else f"{by_value}:"
            row = {
                "test_id": f"{spec.id}:{scope}:{by_part}{category}:wave_trend",
                "table_id": spec.id,
                "wave": scope,
                "weighting": "unweighted",
                "variable": var.name,
                "by": spec.by or "",
                "category": category,
                "test": "trend",
                "family": family,
            }
            result = results.loc[by_value]
            if result["problem"]:
                rows.append(not_computable(row, result["problem"]))
                continue
            rows.append(
                {
                    **row,
                    **{k: result[k] for k in ("statistic", "ndf", "ddf", "p", "direction", "estimate", "n")},
                    "method": f"design-based Wald t for the slope of svyglm({category} ~ survey year), waves as strata",
                }
            )
    return rows


def not_computable(row: dict, reason: str) -> dict:
    """A test that cannot be computed: no statistics, the reason in its method, flagged."""
    return {**row, "method": f"not computable: {reason}", "flags": NOT_COMPUTABLE}


def associations(
    *,
    scope: str,
    analysed: list[str],
    weights: list[str],
    calibration: str | None,
    variables: str,
    tables: str,
    estimation: dict,
    tabulation: dict,
    significance: dict,
    fielding: dict[str, list[int]],
    tests_out: str,
) -> None:
    """Stage function: the tests of every table in one scope, unadjusted. ``analysed`` and ``weights`` are the
    scope's waves', ``calibration`` the wave's calibration record (none for a pool), ``variables`` and ``tables``
    the scope's part of the plan and ``fielding`` each wave's fielding years."""
    settings = Estimation.from_config(estimation, tabulation)
    testing = Significance.from_config(significance)
    view = load_variables(variables)
    plan = read_scope_tables(tables)
    frame, w = load_scope(scope, analysed, weights)
    record = formats.read_parquet(calibration) if calibration else None
    designs = scope_designs(frame, w, scope, settings, record)
    rows: list[dict] = []
    for spec in plan.specs:
        if spec.model:
            for weighting in (x for x in spec.weighting if x in designs):
                rows += model_tests(designs[weighting], spec, view, scope, weighting=weighting, df=settings.domain_df)
        if spec.kind != "proportions":
            continue
        if spec.test_family:
            for weighting in (x for x in spec.weighting if x in designs):
                rows += table_tests(designs[weighting], spec, view, scope, weighting=weighting, df=settings.domain_df)
        if spec.id in plan.wave_trends:
            design, family, df = designs["unweighted"], testing.wave_family, settings.domain_df
            rows += wave_trend_tests(design, spec, view, scope, fielding, family=family, df=df)
    formats.write_parquet(test_frame(rows), tests_out)


def test_frame(rows: list[dict]) -> pd.DataFrame:
    """Test rows as a frame of the tests table's columns: text columns as text ("" for none), numbers as
    floats (blank: NaN)."""
    frame = pd.DataFrame(rows).reindex(columns=TEST_COLUMNS)
    for column in TEST_COLUMNS:
        if column in NUMERIC_COLUMNS:
            frame[column] = pd.to_numeric(frame[column]).astype(float)
        else:
            frame[column] = frame[column].fillna("").astype(str)
    return frame
