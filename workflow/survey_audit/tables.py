"""Table specifications → tidy cells.

A table spec (``config/tables/{chapter}.yaml``) names a variable, optionally a domain (a subpopulation, as a
pandas query) and a by-variable, the waves to tabulate and the weighting. Each table becomes tidy cells, one
row per (wave, by-value, category), with the unweighted numerator and base beside the weighted ones so a
reviewer never has to guess which a percentage is.

For a single-choice or yes/no variable the base is the respondents in the domain who gave a valid answer;
for a multi-select item each option's percentage is the share of respondents answering the item who chose it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats
from .audit import load_registry
from .codebook import Variable, VariableSet, carried_by_wave, expression_names, load_codebook, load_variables
from .configuration import load_validated
from .design import Design, svydesign
from .errors import ConfigError, DesignError
from .estimates import means, multiselect_proportions, proportion_ci, proportions
from .significance import (
    adjust,
    association_tests,
    compare_waves,
    fisher_exact_unweighted,
    pearson_unweighted,
    trend_test,
)
from .weighting import load_weighting_spec, weighted_design

POOLED = "pooled"
ALL = "all"

CELL_KEY = ["table_id", "wave", "weighting", "by_value", "category"]


@dataclass(frozen=True)
class TableSpec:
    """One declared table."""

    id: str
    title: str
    chapter: str
    variable: str
    waves: tuple[str, ...]
    kind: str = "proportions"
    backs: tuple[str, ...] = ()
    domain: str | None = None
    domain_label: str = ALL
    by: str | None = None
    weighting: tuple[str, ...] = ("unweighted",)
    ci: str | None = None
    test_family: str | None = None
    trend: bool = False
    source: Path | None = None


def load_table_specs(paths: list[str | Path], variables: VariableSet, carried: dict[str, set[str]]) -> list[TableSpec]:
    """Read every chapter's table specs, checking them against the variables and the waves (``carried``: each
    wave's carried variables, waves in order)."""
    waves = list(carried)
    specs: list[TableSpec] = []
    seen: dict[str, Path] = {}
    for path in paths:
        doc = load_validated(path, "tables")
        for index, item in enumerate(doc.data["tables"]):
            keys = ("tables", index)

            def fail(
                problem: str,
                expected: str,
                key: str | None = None,
                item: dict = item,
                keys: tuple = keys,
                path=path,
                doc=doc,
            ) -> None:
                raise ConfigError(
                    f"table '{item['id']}' {problem}",
                    file=path,
                    row=doc.line_of(keys + ((key,) if key else ())),
                    expected=expected,
                )

            if item["id"] in seen:
                fail(f"is declared twice (also in {seen[item['id']]})", "unique table ids", "id")
            seen[item["id"]] = Path(path)
            kind = item.get("kind", "proportions")
            used = []
            if kind == "sample":
                if "variable" in item or "by" in item or "test" in item:
                    fail(
                        "is a sample table, which takes no variable, by-variable or test",
                        "only id, title, waves",
                        "kind",
                    )
            else:
                if "variable" not in item:
                    fail("names no variable", "variable: a harmonised variable")
                if item["variable"] not in variables:
                    fail(
                        f"uses the unknown variable '{item['variable']}'", f"a variable of {variables.path}", "variable"
                    )
                var = variables[item["variable"]]
                if kind == "proportions" and var.type in ("integer", "text"):
                    fail(
                        f"tabulates '{var.name}', a {var.type} variable, as proportions",
                        "a single, yes/no or multi-select variable (or kind: mean for an integer)",
                        "variable",
                    )
                if kind == "mean" and var.type != "integer":
                    fail(f"asks for the mean of '{var.name}', a {var.type} variable", "an integer variable", "variable")
                used.append(var)
            if "by" in item:
                if item["by"] not in variables or not variables[item["by"]].is_categorical:
                    fail(f"uses '{item['by']}' as by-variable", "a single-choice or yes/no variable", "by")
                used.append(variables[item["by"]])
            carrying = [w for w in waves if all(v.name in carried[w] for v in used)]
            requested = item.get("waves")
            if requested is None:
                requested = carrying + ([POOLED] if len(carrying) > 1 and len(carrying) == len(waves) else [])
            for wave in requested:
                if wave == POOLED:
                    if len(carrying) != len(waves):
                        fail(
                            "asks for a pooled table but not every wave carries its variables",
                            "only waves that carry them",
                            "waves",
                        )
                elif wave not in carrying:
                    fail(
                        f"asks for wave '{wave}', which does not carry its variables",
                        "one of " + ", ".join(carrying),
                        "waves",
                    )
            if "domain" in item:
                try:
                    names = expression_names(item["domain"])
                except ValueError as exc:
                    fail(f"has a domain that is not a valid expression ({exc})", "a pandas query", "domain")
                known = {"org", "region", "wave"} | {
                    c for v in variables.variables.values() for c in (v.name, *v.value_columns)
                }
                unknown = names - known - {"True", "False"}
                if unknown:
                    fail(
                        f"has a domain using unknown names {sorted(unknown)}",
                        "variable names (multi-select options as variable__option)",
                        "domain",
                    )
            test = item.get("test")
            if test and "by" not in item:
                fail("declares a test but no by-variable to test against", "a 'by' variable", "test")
            specs.append(
                TableSpec(
                    id=item["id"],
                    title=item["title"],
                    chapter=doc.data["chapter"],
                    variable=item.get("variable", "sample"),
                    kind=kind,
                    waves=tuple(requested),
                    backs=tuple(item.get("backs", [])),
                    domain=item.get("domain"),
                    domain_label=item.get("domain_label", item.get("domain", ALL)),
                    by=item.get("by"),
                    weighting=tuple(item.get("weighting", ["unweighted"])),
                    ci=item.get("ci"),
                    test_family=test["family"] if test else None,
                    trend=bool(test and test.get("trend", False)),
                    source=Path(path),
                )
            )
    return specs


def domain_mask(frame: pd.DataFrame, expression: str | None) -> np.ndarray:
    """Rows inside a domain (a missing answer in the expression counts as outside)."""
    if not expression:
        return np.ones(len(frame), dtype=bool)
    result = pd.Series(frame.eval(expression), index=frame.index)
    return result.astype("boolean").fillna(False).to_numpy(dtype=bool)


def indicator_columns(frame: pd.DataFrame, var: Variable) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories of a variable, a 0/1 matrix (rows × categories) of who is in each, and who has a valid answer."""
    categories = list(var.categories)
    if var.is_multi:
        cols = [frame[var.option_column(o)] for o in categories]
        valid = cols[0].notna().to_numpy()
        matrix = np.column_stack([c.fillna(False).to_numpy(dtype=bool) for c in cols]).astype(float)
    else:
        values = frame[var.name]
        valid = values.notna().to_numpy()
        codes = pd.Categorical(values, categories=categories).codes
        matrix = np.zeros((len(frame), len(categories)))
        matrix[np.flatnonzero(codes >= 0), codes[codes >= 0]] = 1.0
    return categories, matrix, valid


def groups(frame: pd.DataFrame, by: Variable | None) -> list[tuple[str, np.ndarray]]:
    """(by-value, mask) pairs: the whole frame, or each category of the by-variable."""
    if by is None:
        return [(ALL, np.ones(len(frame), dtype=bool))]
    values = frame[by.name]
    return [(category, (values == category).fillna(False).to_numpy(dtype=bool)) for category in by.categories]


@dataclass(frozen=True)
class Estimation:
    """How cells are estimated: the CI method and level, the domain-df convention, the lonely-PSU policy and
    the presentation thresholds."""

    ci: str = "kg"
    level: float = 0.95
    domain_df: str = "domain"
    lonely_psu: str = "adjust"
    small_base: int = 30

    @classmethod
    def from_config(cls, estimation: dict | None, small_base: int = 30) -> Estimation:
        estimation = estimation or {}
        return cls(
            ci=estimation.get("ci_method", "kg"),
            level=estimation.get("level", 0.95),
            domain_df=estimation.get("domain_df", "domain"),
            lonely_psu=estimation.get("lonely_psu", "adjust"),
            small_base=small_base,
        )


CELL_COLUMNS = [
    "table_id", "wave", "domain", "by", "by_value", "variable", "category", "weighting",
    "n", "base_n", "excluded_n", "weighted_n", "weighted_base",
    "pct", "mean", "se", "ci_low", "ci_high", "ci_method", "level", "deff", "n_eff", "df", "flags",
]  # fmt: skip


def scope_design(frame: pd.DataFrame, weights: np.ndarray, scope: str, lonely_psu: str = "adjust") -> Design:
    """The survey design of one wave (organisations as clusters, sampled with replacement), or of the pooled
    waves (each wave a stratum, its organisations the clusters within it)."""
    return svydesign(
        frame,
        weights=np.asarray(weights, dtype=float),
        cluster="org",
        strata="wave" if scope == POOLED else None,
        lonely_psu=lonely_psu,
    )


def scope_designs(
    frame: pd.DataFrame,
    weights: np.ndarray,
    scope: str,
    settings: Estimation,
    weighting: tuple[str, str] | None = None,
    *,
    variables: VariableSet | None = None,
    carried: dict[str, set[str]] | None = None,
) -> dict[str, Design]:
    """The unweighted design of a scope and, for a wave with a weighting spec (``weighting`` = the spec and
    the weighting stage's diagnostics), the calibrated design its weights come from. Pooled tables are
    unweighted only: each wave's calibration is its own."""
    designs = {"unweighted": scope_design(frame, np.ones(len(frame)), scope, settings.lonely_psu)}
    if weighting and scope != POOLED:
        spec_path, diagnostics_path = weighting
        spec = load_weighting_spec(spec_path, variables, carried or {})
        diagnostics = json.loads(Path(diagnostics_path).read_text(encoding="utf-8"))
        designs["weighted"] = weighted_design(frame, designs["unweighted"], spec, diagnostics, weights)
    elif scope != POOLED:
        designs["weighted"] = designs["unweighted"]  # unit weights: the weighted table equals the unweighted one
    return designs


def tabulate(
    frame: pd.DataFrame,
    specs: list[TableSpec],
    variables: VariableSet,
    scope: str,
    designs: dict[str, Design],
    *,
    estimation: Estimation = Estimation(),
    states: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The cells of every table declared for ``scope`` (a wave id, or 'pooled'): for each weighting the spec
    asks for, the estimate with its SE, CI, design effect, effective n and df from ``designs[weighting]``.
    ``states`` maps the scope's organisation codes to their states, for the sample table."""
    parts = []
    for spec in specs:
        if scope not in spec.waves:
            continue
        if spec.kind == "sample":
            parts.append(pd.DataFrame(_sample_cells(spec, frame, scope, states or {})))
            continue
        var = variables[spec.variable]
        by = variables[spec.by] if spec.by else None
        in_domain = domain_mask(frame, spec.domain)
        for weighting in spec.weighting:
            if weighting not in designs:
                continue  # no weighted version of pooled tables
            design = designs[weighting]
            method = spec.ci or estimation.ci
            if spec.kind == "mean":
                cells = _mean_cells(spec, var, by, frame, design, in_domain, estimation)
            else:
                cells = _proportion_cells(spec, var, by, frame, design, in_domain, method, estimation)
            cells.insert(0, "table_id", spec.id)
            cells.insert(1, "wave", scope)
            cells.insert(2, "domain", spec.domain_label)
            cells["weighting"] = weighting
            parts.append(cells)
    if not parts:
        return pd.DataFrame(columns=CELL_COLUMNS)
    return pd.concat(parts, ignore_index=True).reindex(columns=CELL_COLUMNS)


def _group_sizes(frame: pd.DataFrame, by: Variable | None, in_domain: np.ndarray, valid: np.ndarray) -> dict:
    """Respondents in the domain and each by-group without a valid answer (left out of the base)."""
    return {label: int((in_domain & mask & ~valid).sum()) for label, mask in groups(frame, by)}


def _proportion_cells(spec, var, by, frame, design, in_domain, method, estimation) -> pd.DataFrame:
    categories, matrix, valid = indicator_columns(frame, var)
    # Design effects against simple random sampling with replacement: with unit weights the population size
    # is the sample size, so the without-replacement reference variance would be zero.
    options = dict(level=estimation.level, ci=method, df=estimation.domain_df, deff="wr")
    by_name = by.name if by else None
    if var.is_multi:
        indicators = pd.DataFrame(matrix, columns=categories)
        result = multiselect_proportions(
            design,
            indicators,
            valid=valid,
            options=categories,
            domain=in_domain,
            by=by_name,
            variable=var.name,
            **options,
        )
    else:
        result = proportions(design, var.name, domain=in_domain, by=by_name, categories=categories, **options)
    out = pd.DataFrame(
        {
            "by": by_name or "",
            "by_value": result["by_value"].astype(str) if by else ALL,
            "variable": var.name,
            "category": result["category"].astype(str),
            "n": result["n"].astype(int),
            "base_n": result["base_n"].astype(int),
            "weighted_n": result["weighted_n"],
            "weighted_base": result["weighted_base"],
            "pct": 100 * result["estimate"],
            "se": 100 * result["se"],
            "ci_low": 100 * result["ci_low"],
            "ci_high": 100 * result["ci_high"],
            "ci_method": result["ci_method"],
            "level": result["level"],
            "deff": result["deff"],
            "n_eff": result["n_eff"],
            "df": result["df"],
        }
    )
    excluded = _group_sizes(frame, by, in_domain, valid)
    out.insert(6, "excluded_n", out["by_value"].map(excluded).astype(int))
    # The NCHS standard judges every cell on the Korn-Graubard interval with the effective n truncated at n,
    # whatever interval the table shows: computed from the same estimate, SE, n and df.
    nchs = proportion_ci(
        result["estimate"].to_numpy(float),
        result["se"].to_numpy(float),
        result["base_n"].to_numpy(float),
        result["df"].to_numpy(float),
        method="kg_nchs",
        level=estimation.level,
    )
    nchs_low, nchs_high, nchs_neff = nchs["ci_low"], nchs["ci_high"], nchs["n_eff"]
    out["flags"] = [
        cell_flags(n, base, p, lo, hi, neff, df, estimation.small_base)
        for n, base, p, lo, hi, neff, df in zip(
            out["n"], out["base_n"], result["estimate"], nchs_low, nchs_high, nchs_neff, out["df"]
        )
    ]
    return out


def _mean_cells(spec, var, by, frame, design, in_domain, estimation) -> pd.DataFrame:
    by_name = by.name if by else None
    result = means(
        design, var.name, domain=in_domain, by=by_name, level=estimation.level, df=estimation.domain_df, deff="wr"
    )
    valid = frame[var.name].notna().to_numpy()
    excluded = _group_sizes(frame, by, in_domain, valid)
    by_value = result["by_value"].astype(str) if by else pd.Series([ALL] * len(result))
    base_n = result["n"].astype(int)
    return pd.DataFrame(
        {
            "by": by_name or "",
            "by_value": by_value,
            "variable": var.name,
            "category": "mean",
            "n": base_n,
            "base_n": base_n,
            "excluded_n": by_value.map(excluded).astype(int),
            "weighted_n": result["weighted_base"],
            "weighted_base": result["weighted_base"],
            "mean": result["estimate"],
            "se": result["se"],
            "ci_low": result["ci_low"],
            "ci_high": result["ci_high"],
            "ci_method": "wald_t",
            "level": result["level"],
            "deff": result["deff"],
            "df": result["df"],
            "flags": ["empty_base" if b == 0 else ("small_base" if b < estimation.small_base else "") for b in base_n],
        }
    )


def cell_flags(n, base_n, p, ci_low, ci_high, n_eff, df, small_base: int = 30) -> str:
    """Flags of a proportion cell: ``empty_base``, ``small_base`` (unweighted base below ``small_base``),
    ``zero_or_full`` (0% or 100%), and the NCHS data presentation standard for proportions (Parker et al. 2017),
    judged on the Korn–Graubard interval with the effective n truncated at n: ``nchs_suppress`` (effective n
    below 30, an interval at least 30 points wide, or one wider than 130% of the estimate),
    ``nchs_complement`` (interval wider than 130% of the complement: footnote) and ``nchs_review`` (fewer than 8
    degrees of freedom, or an estimate of 0% or 100%)."""
    if base_n == 0 or pd.isna(p):
        return "empty_base"
    flags = []
    if base_n < small_base:
        flags.append("small_base")
    extreme = n in (0, base_n)
    if extreme:
        flags.append("zero_or_full")
    width = ci_high - ci_low
    suppress = (not pd.isna(n_eff) and n_eff < 30) or (width >= 0.30)
    if not suppress and width > 0.05 and p > 0 and width / p > 1.30:
        suppress = True
    if suppress:
        flags.append("nchs_suppress")
    elif width > 0.05 and p < 1 and width / (1 - p) > 1.30:
        flags.append("nchs_complement")
    if df < 8 or extreme:
        flags.append("nchs_review")
    return ";".join(flags)


def _base_row(spec: TableSpec, scope: str, weighting: str, by_value: str, variable: str, category: str) -> dict:
    return {
        "table_id": spec.id,
        "wave": scope,
        "domain": spec.domain_label,
        "by": spec.by or "",
        "by_value": by_value,
        "variable": variable,
        "category": category,
        "weighting": weighting,
    }


def _sample_cells(spec: TableSpec, frame: pd.DataFrame, scope: str, states: dict[str, str]) -> list[dict]:
    orgs = sorted(frame["org"].dropna().astype(str).unique())
    counts = {
        "respondents": len(frame),
        "organisations": len(orgs),
        "states": len({states[o] for o in orgs if states.get(o)}),
        "regions": int(frame["region"].dropna().nunique()),
    }
    out = []
    for category, count in counts.items():
        row = _base_row(spec, scope, "unweighted", ALL, "sample", category)
        row.update(n=count, base_n=count, excluded_n=0, weighted_n=float(count), weighted_base=float(count), flags="")
        out.append(row)
    return out


def load_scope(scope: str, analysed: list[str], weights: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The respondents and weights of one wave, or of every wave stacked for 'pooled'."""
    frames = []
    for frame_path, weight_path in zip(analysed, weights):
        frame = formats.read_parquet(frame_path)
        w = formats.read_parquet(weight_path)
        if not frame["respondent_id"].equals(w["respondent_id"]):
            raise AssertionError(f"weights {weight_path} do not line up with {frame_path}")
        frame = frame.assign(_weight=w["weight"].to_numpy())
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if scope == POOLED:
        # Each wave's organisations are distinct clusters in the pooled design.
        combined["org"] = (combined["wave"].astype(str) + ":" + combined["org"].astype(str)).astype("category")
    return combined, combined.pop("_weight").to_numpy(dtype=float)


def tabulate_scope(
    *,
    scope: str,
    analysed: list[str],
    weights: list[str],
    codebooks: list[str],
    weighting: list[str],
    tables: list[str],
    variables: str,
    waves: list[str],
    estimation: dict,
    small_base: int,
    synthetic: bool,
    cells_out: str,
) -> None:
    """Analysed respondents of one wave (or all, pooled) → the cells of every declared table. ``codebooks``
    are every wave's, in wave order."""
    variable_set = load_variables(variables)
    books = [load_codebook(path, variable_set) for path in codebooks]
    carried = {book.wave: set(book.carried) for book in books}
    specs = load_table_specs(tables, variable_set, carried)
    frame, w = load_scope(scope, analysed, weights)
    states = {}
    for book in books:
        if scope in (book.wave, POOLED):
            for org in book.organisations.values():
                states[f"{book.wave}:{org.code}" if scope == POOLED else org.code] = org.state
    settings = Estimation.from_config(estimation, small_base)
    designs = scope_designs(
        frame, w, scope, settings, tuple(weighting) if weighting else None, variables=variable_set, carried=carried
    )
    cells = tabulate(frame, specs, variable_set, scope, designs, estimation=settings, states=states)
    cells["synthetic"] = synthetic
    formats.write_parquet(cells, cells_out)


ROUNDED_COLUMNS = ["pct", "mean", "se", "ci_low", "ci_high"]


def publish_tables(*, cells: list[str], decimals: int, tables_out: dict[str, str]) -> None:
    """Internal cells of every scope → one public CSV per table: estimates rounded to ``decimals`` (the
    unrounded values stay in results/internal/), rows by wave and weighting, then in the declared order of
    by-values and categories."""
    frame = pd.concat([formats.read_parquet(p) for p in cells], ignore_index=True)
    for column in ROUNDED_COLUMNS:
        frame[column] = frame[column].astype(float).round(decimals)
    for table_id, path in tables_out.items():
        part = frame[frame["table_id"] == table_id]
        part = part.sort_values(["wave", "weighting"], kind="stable")
        formats.write_csv(part.reset_index(drop=True), path)


# --------------------------------------------------------------------------------------------- tests of tables

TEST_OUTPUT_COLUMNS = [
    "test_id", "table_id", "wave", "weighting", "variable", "by", "category", "test", "method",
    "statistic", "ndf", "ddf", "p", "family", "adjustment", "p_adjusted", "direction", "estimate",
    "chisq", "trace_delta", "d0", "n",
]  # fmt: skip
PRIMARY = {"F", "trend", "wave_difference"}  # adjusted within their family; the others are sensitivity checks


@dataclass(frozen=True)
class Testing:
    """Which families the tests belong to and how each family's p-values are adjusted."""

    families: dict[str, str]  # family → adjustment (holm, bh, by)
    claims_family: str = "claims"
    wave_family: str | None = "exploratory"
    df_method: str = "satterthwaite"

    @classmethod
    def from_config(cls, significance: dict | None) -> Testing:
        significance = significance or {}
        families = {name: spec["adjustment"] for name, spec in significance.get("families", {}).items()}
        families = families or {"claims": "holm", "exploratory": "bh"}
        comparisons = significance.get("wave_comparisons", {})
        return cls(
            families,
            significance.get("claims_family", "claims"),
            comparisons.get("family", "exploratory"),
            comparisons.get("df", "satterthwaite"),
        )


def _outcomes(frame: pd.DataFrame, var: Variable) -> list[tuple[str, np.ndarray | str]]:
    """What is tested against the by-variable: the variable itself (single choice), or each option of a
    multi-select item as a 0/1 outcome (missing where the item was not answered)."""
    if not var.is_multi:
        return [("", var.name)]
    categories, matrix, valid = indicator_columns(frame, var)
    return [(c, np.where(valid, matrix[:, k], np.nan)) for k, c in enumerate(categories)]


def _trend_outcomes(frame: pd.DataFrame, var: Variable) -> list[tuple[str, np.ndarray]]:
    """0/1 outcomes whose trend over an ordered by-variable is tested: 'yes' of a yes/no variable, each other
    category of a single-choice variable, each option of a multi-select item."""
    categories, matrix, valid = indicator_columns(frame, var)
    chosen = ["yes"] if var.type == "yesno" else categories
    return [(c, np.where(valid, matrix[:, categories.index(c)], np.nan)) for c in chosen]


def table_tests(
    frame: pd.DataFrame,
    spec: TableSpec,
    variables: VariableSet,
    scope: str,
    design: Design,
    *,
    weighting: str = "unweighted",
    df: str = "domain",
) -> list[dict]:
    """The tests behind one table with a by-variable: for each outcome the Rao–Scott second-order F (the
    test the family adjusts) with the first-order chi-square, Wald and adjusted Wald beside it, and the
    unweighted Pearson and Fisher tests as sensitivity; and, for an ordered by-variable, a design-based trend
    test of each outcome."""
    var, by = variables[spec.variable], variables[spec.by]
    in_domain = domain_mask(frame, spec.domain)
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
    for category, outcome in _outcomes(frame, var):
        stem = f"{spec.id}:{scope}" + (f":{category}" if category else "")
        try:
            results = association_tests(design, outcome, by.name, domain=in_domain, df=df)
        except DesignError as exc:  # e.g. a by-group nobody in this wave belongs to: nothing to test
            rows.append(
                {
                    **base,
                    "test_id": stem + suffix,
                    "category": category,
                    "test": "F",
                    "method": f"not computable: {exc.problem}",
                }
            )
            continue
        for record in results.to_dict("records"):
            name = record["test"]
            test_id = stem + ("" if name == "F" else f":{name.lower()}") + suffix
            rows.append(
                {
                    **base,
                    **{k: record.get(k) for k in ("statistic", "ndf", "ddf", "p", "chisq", "trace_delta", "d0", "n")},
                    "test_id": test_id,
                    "category": category,
                    "test": name,
                    "method": record["method"],
                }
            )
        if weighting == "unweighted":
            counts = _count_table(frame, outcome, by, in_domain)
            pearson = pearson_unweighted(counts)
            rows.append(
                {
                    **base,
                    **pearson,
                    "test_id": stem + ":pearson",
                    "category": category,
                    "test": "pearson",
                    "method": "Pearson chi-square on unweighted counts (sensitivity)",
                    "n": int(counts.sum()),
                }
            )
            fisher = fisher_exact_unweighted(counts)
            rows.append(
                {
                    **base,
                    "statistic": fisher["statistic"],
                    "p": fisher["p"],
                    "test_id": stem + ":fisher",
                    "category": category,
                    "test": "fisher",
                    "method": fisher["method"] + " (sensitivity)",
                    "n": int(counts.sum()),
                }
            )
    if spec.trend:
        score = pd.Categorical(frame[by.name], categories=list(by.categories)).codes.astype(float) + 1
        score[score == 0] = np.nan
        for category, outcome in _trend_outcomes(frame, var):
            try:
                result = trend_test(design, outcome, score, domain=in_domain, df=df).iloc[0]
            except DesignError as exc:
                rows.append(
                    {
                        **base,
                        "test_id": f"{spec.id}:{scope}:{category}:trend{suffix}",
                        "category": category,
                        "test": "trend",
                        "method": f"not computable: {exc.problem}",
                    }
                )
                continue
            rows.append(
                {
                    **base,
                    "test_id": f"{spec.id}:{scope}:{category}:trend{suffix}",
                    "category": category,
                    "test": "trend",
                    "method": result["method"].replace(
                        "svyglm(outcome ~ score", f"svyglm({category} ~ {by.name} order"
                    ),
                    "statistic": result["statistic"],
                    "ndf": result["ndf"],
                    "ddf": result["ddf"],
                    "p": result["p"],
                    "direction": result["direction"],
                    "estimate": result["estimate"],
                    "n": result["n"],
                }
            )
    return rows


def _count_table(frame: pd.DataFrame, outcome, by: Variable, in_domain: np.ndarray) -> np.ndarray:
    """Unweighted counts of the outcome's categories (rows) by the by-variable's (columns), in the domain."""
    values = frame[outcome] if isinstance(outcome, str) else pd.Series(outcome, index=frame.index)
    keep = in_domain & values.notna().to_numpy() & frame[by.name].notna().to_numpy()
    table = pd.crosstab(values[keep].astype(str), frame.loc[keep, by.name].astype(str))
    return table.to_numpy(dtype=float)


def wave_comparisons(
    cells: dict[str, pd.DataFrame], spec: TableSpec, testing: Testing, *, weighting: str = "unweighted"
) -> list[dict]:
    """Each cell of a harmonised table compared between consecutive waves (independent samples); with
    ``weighted`` cells a wave raked to another's composition is compared on equal demographic footing."""
    suffix = "" if weighting == "unweighted" else ":weighted"
    waves = [w for w in spec.waves if w != POOLED]
    rows = []
    for first, second in zip(waves, waves[1:]):
        a, b = cells[first], cells[second]
        result = compare_waves(a, b, on=["by_value", "category"], df_method=testing.df_method)
        for record in result.to_dict("records"):
            by_part = "" if record["by_value"] == ALL else f"{record['by_value']}:"
            rows.append(
                {
                    "test_id": f"{spec.id}:{first}-{second}:{by_part}{record['category']}{suffix}",
                    "table_id": spec.id,
                    "wave": f"{first}-{second}",
                    "weighting": weighting,
                    "variable": spec.variable,
                    "by": spec.by or "",
                    "category": record["category"],
                    "test": "wave_difference",
                    "method": record["method"],
                    "statistic": record["statistic"],
                    "ndf": 1.0,
                    "ddf": record["df"],
                    "p": record["p"],
                    "family": testing.wave_family,
                    "estimate": record["difference"],
                    "direction": "increasing"
                    if record["difference"] > 0
                    else ("decreasing" if record["difference"] < 0 else "flat"),
                }
            )
    return rows


def adjust_tests(tests: pd.DataFrame, testing: Testing) -> pd.DataFrame:
    """Adjust the primary tests (Rao–Scott F, trend, wave difference) within each declared family; the
    sensitivity tests beside them are reported unadjusted."""
    tests = tests.copy()
    tests["adjustment"] = "none"
    tests["p_adjusted"] = np.nan
    primary = tests["test"].isin(PRIMARY)
    for family, part in tests[primary].groupby("family", sort=True):
        if family not in testing.families:
            raise ConfigError(
                f"tests are declared in the family '{family}', which config/config.yaml does not define",
                expected="one of " + ", ".join(testing.families),
                hint="add the family under significance → families, with its adjustment",
            )
        method = testing.families[family]
        tests.loc[part.index, "adjustment"] = method
        tests.loc[part.index, "p_adjusted"] = adjust(part["p"].to_numpy(dtype=float), method)
    return tests


def test_tables(
    *,
    analysed: list[str],
    weights: list[str],
    scopes: list[str],
    codebooks: list[str],
    tables: list[str],
    variables: str,
    waves: list[str],
    estimation: dict,
    significance: dict,
    registries: list[str],
    weighting: dict[str, tuple[str, str]],
    wave_cells: list[str],
    tests_out: str,
) -> None:
    """Stage function: every table's tests (association, trend, wave to wave), adjusted within families."""
    variable_set = load_variables(variables)
    carried = carried_by_wave(codebooks, variable_set)
    specs = load_table_specs(tables, variable_set, carried)
    settings = Estimation.from_config(estimation)
    testing = Testing.from_config(significance)
    rows: list[dict] = []
    for scope in scopes:
        members = [(a, w) for a, w, wave in zip(analysed, weights, waves) if scope in (wave, POOLED)]
        frame, w = load_scope(scope, [a for a, _ in members], [b for _, b in members])
        designs = scope_designs(
            frame, w, scope, settings, weighting.get(scope), variables=variable_set, carried=carried
        )
        for spec in specs:
            if scope not in spec.waves or spec.kind != "proportions":
                continue
            if spec.test_family:
                for weighted in (x for x in spec.weighting if x in designs):
                    rows += table_tests(
                        frame, spec, variable_set, scope, designs[weighted], weighting=weighted, df=settings.domain_df
                    )
    # Wave-to-wave comparisons use the cells the tabulate stage already estimated (unrounded).
    if testing.wave_family:
        cells = pd.concat([formats.read_parquet(path) for path in wave_cells], ignore_index=True)
        cells = cells[(cells["base_n"] > 0) & cells["pct"].notna()].rename(columns={"pct": "estimate"})
        for spec in specs:
            if spec.kind != "proportions" or len([x for x in spec.waves if x != POOLED]) < 2:
                continue
            for weighted, part in cells[cells["table_id"] == spec.id].groupby("weighting", sort=False):
                by_wave = {wave: rows_ for wave, rows_ in part.groupby("wave", sort=False) if wave != POOLED}
                if len(by_wave) > 1:
                    rows += wave_comparisons(by_wave, spec, testing, weighting=weighted)
    tests = pd.DataFrame(rows).reindex(columns=TEST_OUTPUT_COLUMNS)
    # The tests a published claim rests on form the claims family, adjusted together; the rest keep their
    # table's family.
    cited = {
        entry["claim"]["test"]
        for path in registries
        for entry in load_registry(path).entries
        if entry["claim"].get("test")
    }
    unknown = sorted(cited - set(tests["test_id"]))
    if unknown:
        raise ConfigError(
            f"the registries name test(s) the tables do not produce: {', '.join(unknown)}",
            expected="test ids as results/tests.csv lists them ({table}:{wave}[:{category}][:trend])",
        )
    tests.loc[tests["test_id"].isin(cited) & tests["test"].isin(PRIMARY), "family"] = testing.claims_family
    tests = adjust_tests(tests, testing).sort_values("test_id", kind="stable").reset_index(drop=True)
    formats.write_csv(tests[TEST_OUTPUT_COLUMNS], tests_out)
