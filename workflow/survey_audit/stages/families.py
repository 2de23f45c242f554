"""The families stage: every scope's tests together with the wave-to-wave comparisons, adjusted within declared
families.

Every table two or more waves carry is compared wave to wave, cell by cell, on the cells the tabulate stage
estimated: unweighted, and with each wave that has weights in its weighted version. These comparisons join the
tests of every scope (:mod:`survey_audit.stages.associations`), and the primary tests are adjusted within their
family; the tests that registry claims cite (resolved when the workflow starts) form the claims family, and a
family is split by the report each test belongs to, so a later wave never moves a published adjustment. What
is compared and how families are formed is set out in :mod:`survey_audit.stages.conventions`; the columns are
described in ``docs/columns.md``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from .. import formats
from ..config.plan import read_scope_tables
from ..config.tables import ALL, TableSpec, is_pool, pool
from ..config.variables import Variable, VariableSet, load_variables
from ..errors import ConfigError
from ..stats.significance import compare_waves, p_adjust
from .associations import TEST_COLUMNS, not_computable, test_frame
from .conventions import PRIMARY_TESTS, Significance, is_hypothesis, release_scope

BOUNDARY = "boundary_estimate"  # a wave's estimate is 0% or 100%: its design SE is 0, the test is not precise


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
    return not_computable(row, reason)


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
            rows.append(not_computable(row, reason))
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


def families(
    *,
    waves: list[str],
    scopes: list[str],
    scope_tests: list[str],
    cells: list[str],
    variables: list[str],
    tables: str,
    significance: dict,
    claims: list[str],
    release_scopes: dict[str, str],
    fielding: dict[str, list[int]],
    tests_out: str,
) -> None:
    """Stage function: every scope's tests (``scope_tests``, in the order of ``scopes``) and the wave-to-wave
    comparisons of ``cells`` (per wave, in the order of ``waves``), adjusted within families. ``variables`` are
    each scope's view of the variables, in the order of ``scopes``, and ``tables`` every resolved table spec;
    ``claims`` are the test ids registry claims cite; ``release_scopes`` and ``fielding`` give each wave's
    report and fielding years."""
    testing = Significance.from_config(significance)
    views = {scope: load_variables(path) for scope, path in zip(scopes, variables)}
    specs = read_scope_tables(tables).specs
    estimated = pd.concat([formats.read_parquet(path) for path in cells], ignore_index=True)
    rows: list[dict] = []
    for spec in specs:
        if spec.kind == "proportions" and len([x for x in spec.waves if not is_pool(x)]) > 1:
            rows += wave_comparisons(estimated, spec, views, testing)
    tests = pd.concat([*(formats.read_parquet(path) for path in scope_tests), test_frame(rows)], ignore_index=True)
    unknown = sorted(set(claims) - set(tests["test_id"]))
    if unknown:
        raise ConfigError(
            f"the registries name test(s) the tables do not produce: {', '.join(unknown)}",
            expected="test ids as results/tests.csv lists them ({table}:{scope}[:{category}][:trend])",
        )
    tests["report"] = [release_scope(scope, release_scopes, fielding) for scope in tests["wave"]]
    tests = adjust_tests(tests, testing, set(claims)).sort_values("test_id", kind="stable").reset_index(drop=True)
    formats.write_csv(tests[TEST_COLUMNS], tests_out)
