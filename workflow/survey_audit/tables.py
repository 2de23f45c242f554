"""Table specifications → tidy cells.

A table spec (``config/tables/{chapter}.yaml``) names a variable, optionally a domain (a subpopulation, as a
pandas query) and a by-variable, the waves to tabulate and the weighting. Each table becomes tidy cells, one
row per (wave, by-value, category), with the unweighted numerator and base beside the weighted ones so a
reviewer never has to guess which a percentage is.

For a single-choice or yes/no variable the base is the respondents in the domain who gave a valid answer;
for a multi-select item each option's percentage is the share of respondents answering the item who chose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats
from .codebook import Variable, VariableSet, expression_names, load_codebook, load_variables
from .configuration import load_validated
from .errors import ConfigError

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


def load_table_specs(paths: list[str | Path], variables: VariableSet, waves: list[str]) -> list[TableSpec]:
    """Read every chapter's table specs, checking them against the variables and waves."""
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
            carried = [w for w in waves if all(w in v.waves for v in used)]
            requested = item.get("waves")
            if requested is None:
                requested = carried + ([POOLED] if len(carried) > 1 and len(carried) == len(waves) else [])
            for wave in requested:
                if wave == POOLED:
                    if not all(all(w in v.waves for v in used) for w in waves):
                        fail(
                            "asks for a pooled table but not every wave carries its variables",
                            "only waves that carry them",
                            "waves",
                        )
                elif wave not in carried:
                    fail(
                        f"asks for wave '{wave}', which does not carry its variables",
                        "one of " + ", ".join(carried),
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


def tabulate(
    frame: pd.DataFrame,
    specs: list[TableSpec],
    variables: VariableSet,
    scope: str,
    weights: np.ndarray,
    *,
    states: dict[str, str] | None = None,
    small_base: int = 30,
) -> pd.DataFrame:
    """The cells of every table declared for ``scope`` (a wave id, or 'pooled'). ``states`` maps the scope's
    organisation codes to their states, for the sample table."""
    rows = []
    for spec in specs:
        if scope not in spec.waves:
            continue
        if spec.kind == "sample":
            rows.extend(_sample_cells(spec, frame, scope, states or {}))
            continue
        var = variables[spec.variable]
        by = variables[spec.by] if spec.by else None
        in_domain = domain_mask(frame, spec.domain)
        for weighting in spec.weighting:
            w = weights if weighting == "weighted" else np.ones(len(frame))
            for by_value, by_mask in groups(frame, by):
                if spec.kind == "mean":
                    rows.extend(
                        _mean_cells(spec, var, frame, scope, weighting, by_value, in_domain & by_mask, w, small_base)
                    )
                    continue
                categories, matrix, valid = indicator_columns(frame, var)
                rows.extend(
                    _cells(
                        spec,
                        var,
                        scope,
                        weighting,
                        by_value,
                        in_domain & by_mask,
                        valid,
                        categories,
                        matrix,
                        w,
                        small_base,
                    )
                )
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


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


def _mean_cells(spec, var, frame, scope, weighting, by_value, in_group, w, small_base) -> list[dict]:
    values = frame[var.name].to_numpy(dtype=float, na_value=np.nan)
    valid = ~np.isnan(values)
    base = in_group & valid
    base_n = int(base.sum())
    weighted_base = float(w[base].sum())
    mean = float((w[base] * values[base]).sum() / weighted_base) if weighted_base > 0 else float("nan")
    row = _base_row(spec, scope, weighting, by_value, var.name, "mean")
    flags = "empty_base" if base_n == 0 else ("small_base" if base_n < small_base else "")
    row.update(
        n=base_n,
        base_n=base_n,
        excluded_n=int((in_group & ~valid).sum()),
        weighted_n=weighted_base,
        weighted_base=weighted_base,
        mean=mean,
        flags=flags,
    )
    return [row]


CELL_COLUMNS = [
    "table_id",
    "wave",
    "domain",
    "by",
    "by_value",
    "variable",
    "category",
    "weighting",
    "n",
    "base_n",
    "excluded_n",
    "weighted_n",
    "weighted_base",
    "pct",
    "mean",
    "flags",
]


def _cells(spec, var, scope, weighting, by_value, in_group, valid, categories, matrix, w, small_base) -> list[dict]:
    base = in_group & valid
    base_n = int(base.sum())
    weighted_base = float(w[base].sum())
    excluded_n = int((in_group & ~valid).sum())
    out = []
    for k, category in enumerate(categories):
        chosen = base & (matrix[:, k] > 0)
        n = int(chosen.sum())
        weighted_n = float(w[chosen].sum())
        pct = 100.0 * weighted_n / weighted_base if weighted_base > 0 else float("nan")
        flags = []
        if base_n == 0:
            flags.append("empty_base")
        elif base_n < small_base:
            flags.append("small_base")
        if base_n and n in (0, base_n):
            flags.append("zero_or_full")
        row = _base_row(spec, scope, weighting, by_value, var.name, category)
        row.update(
            n=n,
            base_n=base_n,
            excluded_n=excluded_n,
            weighted_n=weighted_n,
            weighted_base=weighted_base,
            pct=pct,
            flags=";".join(flags),
        )
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
    tables: list[str],
    variables: str,
    waves: list[str],
    small_base: int,
    synthetic: bool,
    cells_out: str,
) -> None:
    """Analysed respondents of one wave (or all, pooled) → the cells of every declared table."""
    variable_set = load_variables(variables)
    specs = load_table_specs(tables, variable_set, waves)
    frame, w = load_scope(scope, analysed, weights)
    states = {}
    for path in codebooks:
        book = load_codebook(path, variable_set)
        for org in book.organisations.values():
            states[f"{book.wave}:{org.code}" if scope == POOLED else org.code] = org.state
    cells = tabulate(frame, specs, variable_set, scope, w, states=states, small_base=small_base)
    cells["synthetic"] = synthetic
    formats.write_parquet(cells, cells_out)


def publish_tables(*, cells: list[str], decimals: int, tables_out: dict[str, str]) -> None:
    """Internal cells of every scope → one public CSV per table, rows sorted by their key."""
    frame = pd.concat([formats.read_parquet(p) for p in cells], ignore_index=True)
    frame["pct"] = frame["pct"].round(decimals)
    for table_id, path in tables_out.items():
        part = frame[frame["table_id"] == table_id]
        part = part.sort_values(["wave", "weighting", "by_value", "category"], kind="stable")
        formats.write_csv(part.reset_index(drop=True), path)
