"""The associations stage: the tests behind the reports' comparisons, adjusted within declared families.

For every table with a by-variable and a declared test family, in each scope and weighting it has: the
Rao–Scott second-order F of the variable against the by-variable (each option of a multi-select item as its
own 0/1 outcome), with the first-order chi-square, Wald and adjusted Wald beside it and, unweighted, Pearson's
chi-square and Fisher's exact test as sensitivity checks; for an ordered by-variable of three or more levels,
a design-based trend test of each outcome. Every table two or more waves carry is compared wave to wave, cell
by cell, on the cells the tabulate stage estimated. A table that declares a model (R ``svyglm``) gets, in each
scope and weighting, the Wald F test of its tested terms (R ``regTermTest``), with the coefficient and its sign
when the terms have one. The primary tests are adjusted within their family; the tests that registry claims
cite (resolved when the workflow starts) form the claims family. What is tested and how families are formed is
set out in :mod:`survey_audit.stages.conventions`; the columns are described in ``docs/columns.md``.

A test that cannot be computed is a row all the same, its reason in ``method``, its statistics blank, flagged
``not_computable`` and left out of its family: a by-group nobody in the scope belongs to, or a design with no
degrees of freedom (every respondent recruited by one organisation: one PSU, so no design-based variance; the
tabulate stage still estimates its cells, with an interval of ``none_df<1``).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pandas as pd

from .. import formats
from ..config.plan import read_scope_tables
from ..config.tables import ALL, TableSpec, is_pool, pool, scope_waves
from ..config.variables import Variable, VariableSet, load_variables
from ..errors import ConfigError, DesignError
from ..stats.design import Design, domain_mask
from ..stats.formula import parse_formula
from ..stats.models import regtermtest, svyglm
from ..stats.significance import (
    association_tests,
    compare_waves,
    fisher_exact_unweighted,
    p_adjust,
    pearson_unweighted,
    trend_test,
)
from .conventions import (
    MODEL_TEST,
    PRIMARY_TESTS,
    Estimation,
    Significance,
    indicators,
    is_hypothesis,
    release_scope,
    yes_indicator,
)
from .tabulate import load_scope, scope_designs

TEST_COLUMNS = [
    "test_id", "table_id", "wave", "weighting", "variable", "by", "category", "test", "method",
    "statistic", "ndf", "ddf", "p", "report", "family", "adjustment", "p_adjusted", "direction", "estimate",
    "chisq", "trace_delta", "d0", "n", "flags",
]  # fmt: skip
BOUNDARY = "boundary_estimate"  # a wave's estimate is 0% or 100%: its design SE is 0, the test is not precise
NOT_COMPUTABLE = "not_computable"  # no statistic: too few levels, no degrees of freedom (one organisation), ...


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
        return [_not_computable(row, exc.problem)]
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
        return [_not_computable({**base, "test_id": stem + suffix, "test": "F"}, exc.problem)]
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
    score = pd.Categorical(frame[by.name], categories=list(by.categories)).codes.astype(float) + 1
    score[score == 0] = np.nan
    rows = []
    for category, outcome in _trend_outcomes(frame, var):
        row = {**base, "test_id": f"{stem}:{category}:trend{suffix}", "category": category, "test": "trend"}
        try:
            result = trend_test(design, outcome, score, domain=in_domain, df=df).iloc[0]
        except DesignError as exc:
            rows.append(_not_computable(row, exc.problem))
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


def wave_comparisons(
    cells: pd.DataFrame, spec: TableSpec, views: dict[str, VariableSet], testing: Significance
) -> list[dict]:
    """Each cell of a harmonised table compared between every pair of waves (independent samples), on the
    cells the tabulate stage estimated: unweighted, and with each wave that has weights in its weighted
    version (the other wave as it is; the method says which side is weighted). ``views`` are the variables as
    each scope sees them."""
    waves = [w for w in spec.waves if not is_pool(w)]
    cells = cells[(cells["table_id"] == spec.id) & (cells["base_n"] > 0) & cells["pct"].notna()]
    by_wave = {key: part for key, part in cells.groupby(["wave", "weighting"], sort=False)}
    rows = []
    for first, second in combinations(waves, 2):
        var = _pair_variable(views, first, second, spec.variable)
        for weighting in spec.weighting:
            sides = [_side(by_wave, wave, weighting) for wave in (first, second)]
            empty = [wave for wave, side in zip((first, second), sides) if side is None]
            if empty and weighting == "unweighted":
                rows.append(_not_comparable(spec, first, second, f"{' and '.join(empty)} has no estimable cell"))
            if empty or (weighting == "weighted" and not any(s[1] for s in sides)):
                continue
            (a, a_weighted), (b, b_weighted) = sides
            rows += _comparison_rows(a, b, spec, var, testing, first, second, weighting, (a_weighted, b_weighted))
    return rows


def _pair_variable(views: dict[str, VariableSet], first: str, second: str, name: str) -> Variable:
    """The variable as two waves see it together: the pool's view when there is one, else the first wave's
    categories followed by the second's others."""
    together = views.get(pool([first, second]))
    if together is not None:
        return together[name]
    a, b = views[first][name], views[second][name]
    return Variable(**{**a.__dict__, "categories": {**a.categories, **b.categories}})


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
    year = np.array([middle[str(wave)] for wave in waves], dtype=float)[codes]
    mask = domain_mask(design, spec.domain)
    in_domain = np.ones(design.n, dtype=bool) if mask is None else mask
    groups = [(ALL, in_domain)]
    if spec.by:
        values = frame[spec.by]
        groups = [
            (c, in_domain & (values == c).fillna(False).to_numpy(dtype=bool)) for c in variables[spec.by].categories
        ]
    rows = []
    for by_value, in_group in groups:
        for category, outcome in _trend_outcomes(frame, var):
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
            try:
                result = trend_test(design, outcome, year, domain=in_group, df=df).iloc[0]
            except DesignError as exc:
                rows.append(_not_computable(row, exc.problem))
                continue
            rows.append(
                {
                    **row,
                    **{k: result[k] for k in ("statistic", "ndf", "ddf", "p", "direction", "estimate", "n")},
                    "method": f"design-based Wald t for the slope of svyglm({category} ~ survey year), waves as strata",
                }
            )
    return rows


def _not_comparable(spec: TableSpec, first: str, second: str, reason: str) -> dict:
    """The row saying why two waves' cells of a table are not compared."""
    row = {
        "test_id": f"{spec.id}:{first}-{second}",
        "table_id": spec.id,
        "wave": f"{first}-{second}",
        "weighting": "unweighted",
        "variable": spec.variable,
        "by": spec.by or "",
        "category": "",
        "test": "wave_difference",
    }
    return _not_computable(row, reason)


def _not_computable(row: dict, reason: str) -> dict:
    """A test that cannot be computed: no statistics, the reason in its method, flagged."""
    return {**row, "method": f"not computable: {reason}", "flags": NOT_COMPUTABLE}


def _side(by_wave: dict, wave: str, weighting: str) -> tuple[pd.DataFrame, bool] | None:
    """A wave's cells for a comparison: its weighted cells when asked and it has them, else its unweighted."""
    if weighting == "weighted" and (wave, "weighted") in by_wave:
        return by_wave[(wave, "weighted")], True
    part = by_wave.get((wave, "unweighted"))
    return None if part is None else (part, False)


def _comparison_rows(a, b, spec: TableSpec, var: Variable, testing: Significance, first, second, weighting, weighted):
    """The comparisons of two waves' cells (percent, SE in points: the difference is in percentage points)."""
    frames = [part.rename(columns={"pct": "estimate", "pct_se": "se"}) for part in (a, b)]
    result = compare_waves(frames[0], frames[1], on=["by_value", "category"], df_method=testing.wave_df)
    boundary = {
        key
        for part in (a, b)
        for key in part.loc[part["pct"].isin([0.0, 100.0]), ["by_value", "category"]].itertuples(index=False, name=None)
    }
    # a cell whose respondents come from one PSU per stratum (a wave from a single organisation) has no df
    no_df = {
        key: wave
        for wave, part in ((second, b), (first, a))
        for key in part.loc[~(part["df"] >= 1), ["by_value", "category"]].itertuples(index=False, name=None)
    }
    sides = " vs ".join(f"{w} {'weighted' if x else 'unweighted'}" for w, x in zip((first, second), weighted))
    suffix = "" if weighting == "unweighted" else ":weighted"
    rows = []
    for record in result.to_dict("records"):
        if not is_hypothesis(var, record["category"]):
            continue  # the complement of a two-category variable's first category: the same test
        by_part = "" if record["by_value"] == ALL else f"{record['by_value']}:"
        key = (record["by_value"], record["category"])
        row = {
            "test_id": f"{spec.id}:{first}-{second}:{by_part}{record['category']}{suffix}",
            "table_id": spec.id,
            "wave": f"{first}-{second}",
            "weighting": weighting,
            "variable": spec.variable,
            "by": spec.by or "",
            "category": record["category"],
            "test": "wave_difference",
            "family": testing.wave_family,
        }
        if key in no_df:
            reason = f"{no_df[key]}'s estimate has no degrees of freedom (one PSU per stratum), so no design SE"
            rows.append(_not_computable(row, reason))
            continue
        rows.append(
            {
                **row,
                "method": record["method"] + ("" if weighting == "unweighted" else f" ({sides})"),
                "statistic": record["statistic"],
                "ndf": 1.0,
                "ddf": record["df"],
                "p": record["p"],
                "estimate": record["difference"],
                "direction": _direction(record["difference"]),
                "flags": BOUNDARY if key in boundary else "",
            }
        )
    return rows


def _direction(value: float) -> str:
    return "increasing" if value > 0 else ("decreasing" if value < 0 else "flat")


def adjust_tests(tests: pd.DataFrame, testing: Significance, claims: set[str]) -> pd.DataFrame:
    """Adjust the primary tests (Rao–Scott F, trend, wave difference) within each family and report: the tests
    ``claims`` cite form the claims family, the others keep their table's family, and a family is split by the
    report each test belongs to (``report``), so a later wave's tests never move a published adjustment.
    Sensitivity tests, and tests flagged as imprecise, are reported unadjusted."""
    tests = tests.copy()
    primary = tests["test"].isin(PRIMARY_TESTS) & (tests["flags"].fillna("") == "")
    tests.loc[tests["test_id"].isin(claims) & primary, "family"] = testing.claims_family
    tests["adjustment"] = "none"
    tests["p_adjusted"] = np.nan
    for (family, _), part in tests[primary].groupby(["family", "report"], sort=True):
        if family not in testing.families:
            raise ConfigError(
                f"tests are declared in the family '{family}', which config/config.yaml does not define",
                expected="one of " + ", ".join(testing.families),
                hint="add the family under significance → families, with its adjustment",
            )
        method = testing.families[family]
        tests.loc[part.index, "adjustment"] = method
        tests.loc[part.index, "p_adjusted"] = p_adjust(part["p"].to_numpy(dtype=float), method)
    return tests


def associations(
    *,
    waves: list[str],
    analysed: list[str],
    weights: list[str],
    calibrations: list[str],
    cells: list[str],
    scopes: list[str],
    variables: list[str],
    tables: str,
    estimation: dict,
    tabulation: dict,
    significance: dict,
    claims: list[str],
    release_scopes: dict[str, str],
    fielding: dict[str, list[int]],
    tests_out: str,
) -> None:
    """Stage function: every table's tests (association, trend, wave to wave, trend across waves), adjusted
    within families. ``analysed``, ``weights``, ``calibrations`` and ``cells`` are per wave, in the order of
    ``waves``; ``variables`` are each scope's view of the variables, in the order of ``scopes``, and ``tables``
    every resolved table spec;
    ``claims`` are the test ids registry claims cite; ``release_scopes`` and ``fielding`` give each wave's
    report and fielding years."""
    settings = Estimation.from_config(estimation, tabulation)
    testing = Significance.from_config(significance)
    views = {scope: load_variables(path) for scope, path in zip(scopes, variables)}
    specs = read_scope_tables(tables)[0]
    rows: list[dict] = []
    for scope in scopes:
        members = [waves.index(w) for w in scope_waves(scope)]
        frame, w = load_scope(scope, [analysed[i] for i in members], [weights[i] for i in members])
        record = None if is_pool(scope) else formats.read_parquet(calibrations[members[0]])
        designs = scope_designs(frame, w, scope, settings, record)
        for spec in specs:
            if scope not in spec.waves:
                continue
            if spec.model:
                for weighting in (x for x in spec.weighting if x in designs):
                    design, view = designs[weighting], views[scope]
                    rows += model_tests(design, spec, view, scope, weighting=weighting, df=settings.domain_df)
            if spec.kind != "proportions":
                continue
            if spec.test_family:
                for weighting in (x for x in spec.weighting if x in designs):
                    rows += table_tests(
                        designs[weighting], spec, views[scope], scope, weighting=weighting, df=settings.domain_df
                    )
            if _is_widest_pool(scope, spec) and len(scope_waves(scope)) >= 3:
                design = designs["unweighted"]
                family, df = testing.wave_family, settings.domain_df
                rows += wave_trend_tests(design, spec, views[scope], scope, fielding, family=family, df=df)
    estimated = pd.concat([formats.read_parquet(path) for path in cells], ignore_index=True)
    for spec in specs:
        if spec.kind == "proportions" and len([x for x in spec.waves if not is_pool(x)]) > 1:
            rows += wave_comparisons(estimated, spec, views, testing)
    tests = pd.DataFrame(rows).reindex(columns=TEST_COLUMNS)
    unknown = sorted(set(claims) - set(tests["test_id"]))
    if unknown:
        raise ConfigError(
            f"the registries name test(s) the tables do not produce: {', '.join(unknown)}",
            expected="test ids as results/tests.csv lists them ({table}:{scope}[:{category}][:trend])",
        )
    tests["report"] = [release_scope(scope, release_scopes, fielding) for scope in tests["wave"]]
    tests = adjust_tests(tests, testing, set(claims)).sort_values("test_id", kind="stable").reset_index(drop=True)
    formats.write_csv(tests[TEST_COLUMNS], tests_out)


def _is_widest_pool(scope: str, spec: TableSpec) -> bool:
    """Whether ``scope`` is the table's pool of every wave it is tabulated for (the scope of its wave trend)."""
    waves = [w for w in spec.waves if not is_pool(w)]
    return is_pool(scope) and scope_waves(scope) == waves
