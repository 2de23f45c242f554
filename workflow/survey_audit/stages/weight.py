"""The weight stage: survey weights per wave.

Without a weighting spec every respondent has weight 1 (the reports' percentages are unweighted). With one
(``config/weighting/{wave}.yaml``), the wave is raked (or post-stratified) to its margins' target shares, and
trimmed if the spec says so, for a weighted sensitivity version of the tables. The stage writes the weights,
their diagnostics (convergence, Kish design effect, effective n, range), the targets against the achieved
margins, and the calibration record that the tabulate and association stages need for calibration-aware
variances (R's ``svyrecvar`` on a raked design), so the raking is fitted once per wave.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .. import formats
from ..config.weighting import MISSING_CATEGORY, WeightingSpec, read_weighting_spec
from ..errors import ConfigError
from ..stats.design import Design, calibration_record
from ..stats.weighting import Weighted, poststratify, rake, trim_weights, weight_diagnostics
from .conventions import scope_design

MARGIN_COLUMNS = ["variable", "category", "n", "target_share", "target", "achieved", "difference", "unweighted_share"]


def unit_weights(frame: pd.DataFrame) -> pd.DataFrame:
    """One weight of 1 per analysed respondent, with the design variables beside it."""
    out = frame[["respondent_id", "org", "region"]].copy()
    out["weight"] = np.ones(len(frame))
    return out.reset_index(drop=True)


def margin_values(frame: pd.DataFrame, variable: str) -> pd.Series:
    """A weighting variable's categories as text, a missing answer as 'missing'."""
    return frame[variable].astype(object).where(frame[variable].notna(), MISSING_CATEGORY).astype(str)


def margin_targets(spec: WeightingSpec, frame: pd.DataFrame, references: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each margin's target shares: another wave's composition, or the external shares rescaled to sum to 1.
    With ``missing: keep_share`` the 'missing' category's target is its unweighted share in ``frame`` (the wave
    being weighted) and the other targets are scaled to the rest."""
    rows = []
    for margin in spec.margins:
        name = margin["variable"]
        if "wave" in margin["source"]:
            shares = margin_values(references[margin["source"]["wave"]], name).value_counts(normalize=True)
            shares = shares.sort_index()
        else:
            shares = pd.Series(margin["targets"], dtype=float)
            shares = shares / shares.sum()
        if spec.missing == "keep_share":
            own = float((margin_values(frame, name) == MISSING_CATEGORY).mean())
            shares = shares.drop(MISSING_CATEGORY, errors="ignore")
            shares = shares / shares.sum() * (1 - own)
            if own > 0:
                shares[MISSING_CATEGORY] = own
            shares = shares.sort_index()
        elif MISSING_CATEGORY not in shares.index and (margin_values(frame, name) == MISSING_CATEGORY).any():
            source = margin["source"].get("wave", "the targets")
            raise ConfigError(
                f"respondents of {spec.wave} without an answer to '{name}' have no target: {source} gives the"
                " category 'missing' no share",
                file=spec.path,
                expected="a target for every category of the wave's respondents, 'missing' included",
                hint="add 'missing: keep_share' to the spec (the missing category keeps its own share and the"
                " others are raked to the rest), or give 'missing' a share in the targets",
            )
        rows += [{"variable": name, "category": str(c), "target_share": float(v)} for c, v in shares.items()]
    return pd.DataFrame(rows, columns=["variable", "category", "target_share"])


def apply_weighting(
    frame: pd.DataFrame, design: Design, spec: WeightingSpec, targets: pd.DataFrame
) -> tuple[Weighted, list]:
    """Rake (or post-stratify) a unit-weight design to the target shares, then trim if the spec says so.
    Returns the weighted design with its convergence record, and the records of every step."""
    data = frame.assign(**{f"_margin_{m['variable']}": margin_values(frame, m["variable"]) for m in spec.margins})
    design = dataclasses.replace(design, data=data)
    total = float(design.weights.sum())
    margins = {
        f"_margin_{name}": {row.category: row.target_share * total for row in part.itertuples(index=False)}
        for name, part in targets.groupby("variable", sort=False)
    }
    if spec.method == "rake":
        result = rake(design, margins, maxit=spec.max_iterations, epsilon=spec.tolerance)
    else:
        ((variable, population),) = margins.items()
        result = poststratify(design, variable, population)
    records = [result.convergence]
    if spec.trim:
        mean = float(result.design.weights.mean())
        result = trim_weights(
            result.design,
            lower=spec.trim["lower"] * mean,
            upper=spec.trim["upper"] * mean,
            strict=spec.trim["strict"],
        )
        records.append(result.convergence)
    return result, records


def margin_report(frame: pd.DataFrame, weights: np.ndarray, targets: pd.DataFrame) -> pd.DataFrame:
    """Targets against achieved shares of every margin category, with the unweighted share beside them."""
    rows = []
    total = float(weights.sum())
    for name, part in targets.groupby("variable", sort=False):
        values = margin_values(frame, name).to_numpy()
        for row in part.itertuples(index=False):
            inside = values == row.category
            achieved = float(weights[inside].sum()) / total
            rows.append(
                {
                    "variable": name,
                    "category": row.category,
                    "n": int(inside.sum()),
                    "target_share": row.target_share,
                    "target": row.target_share * total,
                    "achieved": achieved,
                    "difference": achieved - row.target_share,
                    "unweighted_share": float(inside.mean()),
                }
            )
    return pd.DataFrame(rows, columns=MARGIN_COLUMNS)


def calibration_frame(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """A design's calibration record as a frame: one row per respondent (the per-row arrays) and, in the frame's
    ``attrs["steps"]`` (kept in the Parquet file's metadata), each step's kind and per-cell parts."""
    columns, steps = calibration_record(design)
    out = pd.DataFrame({"respondent_id": frame["respondent_id"].to_numpy(), **columns})
    out.attrs["steps"] = steps
    return out


def weight_wave(
    *,
    analysed: str,
    wave: str,
    spec: str | None,
    references: dict[str, str],
    lonely_psu: str,
    weights_out: str,
    calibration_out: str,
    diagnostics_out: str,
    margins_out: str,
) -> None:
    """Stage function: analysed respondents → survey weights, the calibration record, the weights' diagnostics
    and the margins achieved. Without a weighting spec every respondent has weight 1 (the reports' percentages
    are unweighted). ``references`` maps the waves the targets come from to their analysed respondents (the
    spec was checked against the variables and waves when the workflow started)."""
    frame = formats.read_parquet(analysed)
    out = unit_weights(frame)
    design = scope_design(frame, np.ones(len(frame)), wave, lonely_psu)
    diagnostics: dict = {"weighting": "none", "description": "unit weights: every respondent counts once"}
    margins = pd.DataFrame(columns=MARGIN_COLUMNS)
    if spec:
        weighting = read_weighting_spec(spec)
        refs = {ref: formats.read_parquet(path) for ref, path in references.items()}
        targets = margin_targets(weighting, frame, refs)
        result, records = apply_weighting(frame, design, weighting, targets)
        design = result.design
        out["weight"] = design.weights
        margins = margin_report(frame, design.weights, targets)
        diagnostics = {
            "weighting": weighting.method,
            "description": weighting.description,
            "spec": weighting.path,
            "steps": [r.as_dict() for r in records],
            "trim": weighting.trim,
            "targets": targets.to_dict("records"),
        }
    diagnostics["weights"] = weight_diagnostics(out["weight"].to_numpy())
    formats.write_parquet(out, weights_out)
    formats.write_parquet(calibration_frame(frame, design), calibration_out)
    formats.write_json(diagnostics, diagnostics_out)
    formats.write_csv(margins, margins_out)
