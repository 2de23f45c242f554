"""The tabulate stage: the cells of every declared table for one scope (a wave, or every wave pooled).

Each table becomes tidy cells, one row per (weighting, by-value, category), with the unweighted numerator and
base beside the weighted ones so a reviewer never has to guess which a percentage is, and each estimate's SE,
confidence interval, design effect, effective n, degrees of freedom and presentation flags. What is estimated
(bases, design, design effect, flags) is decided in :mod:`survey_audit.stages.conventions`; the estimators are
:func:`survey_audit.stats.proportions`, :func:`~survey_audit.stats.multiselect_proportions` and
:func:`~survey_audit.stats.svymean`. The columns are described in ``docs/columns.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import formats
from ..config.plan import read_scope_tables
from ..config.tables import ALL, TableSpec, is_pool
from ..config.variables import Variable, VariableSet, load_variables
from ..stats.design import Design, domain_mask, restore_calibration
from ..stats.estimates import multiselect_proportions, proportion_ci, proportions, svymean
from .conventions import CELL_COLUMNS, DEFF, NCHS_CI, Estimation, cell_flags, indicators, mean_flags, scope_design


def scope_designs(
    frame: pd.DataFrame, weights: np.ndarray, scope: str, settings: Estimation, calibration: pd.DataFrame | None
) -> dict[str, Design]:
    """The unweighted design of a scope and, for a wave the weight stage calibrated (``calibration``: its record,
    see :func:`survey_audit.stats.design.calibration_record`), the calibrated design its weights come from."""
    designs = {"unweighted": scope_design(frame, np.ones(len(frame)), scope, settings.lonely_psu)}
    if calibration is not None and calibration.attrs["steps"]:
        designs["weighted"] = restore_calibration(
            designs["unweighted"], calibration, calibration.attrs["steps"], np.asarray(weights, dtype=float)
        )
    return designs


def tabulate(
    frame: pd.DataFrame,
    specs: list[TableSpec],
    variables: VariableSet,
    scope: str,
    designs: dict[str, Design],
    *,
    estimation: Estimation,
    states: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The cells of every table declared for ``scope`` (a wave id, or 'pooled'): for each weighting the spec
    asks for and the scope has (``designs``), the estimate with its SE, CI, design effect, effective n and df.
    ``states`` maps the scope's organisation codes to their states, for the sample table."""
    parts = []
    for spec in specs:
        if scope not in spec.waves:
            continue
        if spec.kind == "sample":
            parts.append(_sample_cells(spec, frame, scope, states or {}))
            continue
        for weighting in (w for w in spec.weighting if w in designs):
            design = designs[weighting]
            if spec.kind == "mean":
                cells = _mean_cells(spec, variables, design, estimation)
            else:
                cells = _proportion_cells(spec, variables, design, estimation)
            cells.insert(0, "table_id", spec.id)
            cells.insert(1, "wave", scope)
            cells.insert(2, "domain", spec.domain_label)
            cells["weighting"] = weighting
            parts.append(cells)
    if not parts:
        return pd.DataFrame(columns=CELL_COLUMNS)
    return pd.concat(parts, ignore_index=True).reindex(columns=CELL_COLUMNS)


def _excluded(frame: pd.DataFrame, by: Variable | None, in_domain: np.ndarray, valid: np.ndarray) -> dict[str, int]:
    """Respondents in the domain (and each by-group) without a valid answer, left out of the base."""
    left_out = in_domain & ~valid
    if by is None:
        return {ALL: int(left_out.sum())}
    values = frame[by.name]
    return {c: int((left_out & (values == c).fillna(False).to_numpy(dtype=bool)).sum()) for c in by.categories}


def _proportion_cells(spec: TableSpec, variables: VariableSet, design: Design, estimation: Estimation) -> pd.DataFrame:
    frame = design.data
    var = variables[spec.variable]
    by = variables[spec.by] if spec.by else None
    in_domain = _in_domain(design, spec)
    categories, matrix, valid = indicators(frame, var)
    options = dict(level=estimation.level, ci=spec.ci or estimation.ci, df=estimation.domain_df, deff=DEFF)
    by_name = by.name if by else None
    if var.is_multi:
        result = multiselect_proportions(
            design,
            matrix,
            valid=valid,
            options=categories,
            domain=in_domain,
            by=by_name,
            variable=var.name,
            **options,
        )
    else:
        result = proportions(design, var.name, domain=in_domain, by=by_name, categories=categories, **options)
    by_value = result["by_value"].astype(str) if by else pd.Series(ALL, index=result.index)
    out = pd.DataFrame(
        {
            "by": by_name or "",
            "by_value": by_value,
            "variable": var.name,
            "category": result["category"].astype(str),
            "n": result["n"].astype(int),
            "base_n": result["base_n"].astype(int),
            "excluded_n": by_value.map(_excluded(frame, by, in_domain, valid)).astype(int),
            "weighted_n": result["weighted_n"],
            "weighted_base": result["weighted_base"],
            "pct": 100 * result["estimate"],
            "pct_se": 100 * result["se"],
            "pct_ci_low": 100 * result["ci_low"],
            "pct_ci_high": 100 * result["ci_high"],
            "ci_method": result["ci_method"],
            "level": result["level"],
            "deff": result["deff"],
            "n_eff": result["n_eff"],
            "df": result["df"],
        }
    )
    # The NCHS standard judges every cell on its own interval, whatever interval the table shows: computed from
    # the same estimate, SE, n and df.
    nchs = proportion_ci(
        result["estimate"].to_numpy(float),
        result["se"].to_numpy(float),
        result["base_n"].to_numpy(float),
        result["df"].to_numpy(float),
        method=NCHS_CI,
        level=estimation.level,
    )
    out["flags"] = [
        cell_flags(n, base, p, lo, hi, neff, df, estimation.small_base)
        for n, base, p, lo, hi, neff, df in zip(
            out["n"], out["base_n"], result["estimate"], nchs["ci_low"], nchs["ci_high"], nchs["n_eff"], out["df"]
        )
    ]
    return out


def _mean_cells(spec: TableSpec, variables: VariableSet, design: Design, estimation: Estimation) -> pd.DataFrame:
    frame = design.data
    var = variables[spec.variable]
    by = variables[spec.by] if spec.by else None
    in_domain = _in_domain(design, spec)
    result = svymean(
        design,
        var.name,
        domain=in_domain,
        by=by.name if by else None,
        level=estimation.level,
        df=estimation.domain_df,
        deff=DEFF,
    )
    by_value = result["by_value"].astype(str) if by else pd.Series(ALL, index=result.index)
    base_n = result["n"].astype(int)
    return pd.DataFrame(
        {
            "by": by.name if by else "",
            "by_value": by_value,
            "variable": var.name,
            "category": "mean",
            "n": base_n,
            "base_n": base_n,
            "excluded_n": by_value.map(_excluded(frame, by, in_domain, frame[var.name].notna().to_numpy())).astype(int),
            "weighted_n": result["weighted_base"],
            "weighted_base": result["weighted_base"],
            "mean": result["estimate"],
            "mean_se": result["se"],
            "mean_ci_low": result["ci_low"],
            "mean_ci_high": result["ci_high"],
            "ci_method": "wald_t",
            "level": result["level"],
            "deff": result["deff"],
            "df": result["df"],
            "flags": [mean_flags(b, estimation.small_base) for b in base_n],
        }
    )


def _in_domain(design: Design, spec: TableSpec) -> np.ndarray:
    """Rows in the table's domain (all rows without one)."""
    mask = domain_mask(design, spec.domain)
    return np.ones(design.n, dtype=bool) if mask is None else mask


def _sample_cells(spec: TableSpec, frame: pd.DataFrame, scope: str, states: dict[str, str]) -> pd.DataFrame:
    """The sample table: respondents, organisations, the states they are in, and regions."""
    orgs = sorted(frame["org"].dropna().astype(str).unique())
    counts = {
        "respondents": len(frame),
        "organisations": len(orgs),
        "states": len({states[o] for o in orgs if states.get(o)}),
        "regions": int(frame["region"].dropna().nunique()),
    }
    rows = [
        {
            "table_id": spec.id,
            "wave": scope,
            "domain": spec.domain_label,
            "by": "",
            "by_value": ALL,
            "variable": "sample",
            "category": category,
            "weighting": "unweighted",
            "n": count,
            "base_n": count,
            "excluded_n": 0,
            "weighted_n": float(count),
            "weighted_base": float(count),
            "flags": "",
        }
        for category, count in counts.items()
    ]
    return pd.DataFrame(rows)


def load_scope(scope: str, analysed: list[str], weights: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The respondents and weights of one wave, or of the waves of a pool stacked."""
    frames = [_weighted_wave(frame_path, weight_path) for frame_path, weight_path in zip(analysed, weights)]
    combined = stack(frames) if len(frames) > 1 else frames[0]
    if is_pool(scope):
        # Each wave's organisations are distinct clusters in the pooled design.
        combined["org"] = pooled_clusters(combined["wave"], combined["org"])
    return combined, combined.pop("_weight").to_numpy(dtype=float)


def _weighted_wave(frame_path: str, weight_path: str) -> pd.DataFrame:
    """A wave's respondents with their weights (column ``_weight``), checked to be the same respondents."""
    frame = formats.read_parquet(frame_path)
    w = formats.read_parquet(weight_path)
    if not frame["respondent_id"].equals(w["respondent_id"]):
        raise AssertionError(f"weights {weight_path} do not line up with {frame_path}")
    return frame.assign(_weight=w["weight"].to_numpy())


def stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames stacked as ``pandas.concat(frames, ignore_index=True)`` stacks them (the same columns in the same
    order, dtypes and values), one column at a time: each frame's column is dropped once stacked, so the pool
    never holds its data twice. ``frames`` are left without columns."""
    columns = pd.concat([frame.iloc[:0] for frame in frames]).columns
    stacked = {}
    for i, column in enumerate(columns):
        parts = [frame[[column]] if column in frame.columns else frame[[]] for frame in frames]
        stacked[column] = pd.concat(parts, ignore_index=True)[column]
        del parts
        for frame in frames:
            if column in frame.columns:
                del frame[column]
        if i % 8 == 7:
            formats.release_memory()
    formats.release_memory()
    return pd.DataFrame(stacked, copy=False)


def pooled_clusters(wave: pd.Series, org: pd.Series) -> pd.Categorical:
    """Each wave's organisations as distinct clusters: ``(wave + ":" + org).astype("category")`` (categories
    sorted, missing where either is), with the text made once per distinct pair, not per respondent."""
    wave_codes, waves = pd.factorize(wave)
    org_codes, orgs = pd.factorize(org)
    known = (wave_codes >= 0) & (org_codes >= 0)
    pair_codes, pairs = pd.factorize(wave_codes[known].astype(np.int64) * len(orgs) + org_codes[known])
    labels = pd.Categorical(
        pd.Series(waves.take(pairs // len(orgs))).astype(str)
        + ":"
        + pd.Series(orgs.take(pairs % len(orgs))).astype(str)
    )
    codes = np.full(len(wave), -1, dtype=np.int64)
    codes[known] = labels.codes[pair_codes]
    return pd.Categorical.from_codes(codes, dtype=labels.dtype)


def tabulate_scope(
    *,
    scope: str,
    analysed: list[str],
    weights: list[str],
    calibration: str | None,
    variables: str,
    tables: str,
    estimation: dict,
    tabulation: dict,
    synthetic: bool,
    cells_out: str,
) -> None:
    """Stage function: analysed respondents of one wave (or of a pool of waves) → the cells of every table
    declared for the scope. ``variables`` and ``tables`` are the scope's part of the plan; ``calibration`` is
    the wave's calibration record (none for a pool)."""
    variable_set = load_variables(variables)
    specs, states, _ = read_scope_tables(tables)
    frame, w = load_scope(scope, analysed, weights)
    settings = Estimation.from_config(estimation, tabulation)
    record = formats.read_parquet(calibration) if calibration else None
    designs = scope_designs(frame, w, scope, settings, record)
    cells = tabulate(frame, specs, variable_set, scope, designs, estimation=settings, states=states)
    cells["synthetic"] = synthetic
    formats.write_parquet(cells, cells_out)
