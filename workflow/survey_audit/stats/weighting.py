"""Survey weights: raking, post-stratification, calibration, trimming and jackknife replicates, with R's
semantics, convergence records and diagnostics.

Every weighting function takes a :class:`~survey_audit.design.Design` and returns a :class:`Weighted` pair: the
new design (its weights, plus the calibration record the variance needs) and a :class:`Convergence` record.

* :func:`rake` (R ``rake``): iterated post-stratification over the margins, in the order given, until the
  weighted joint table of the margin variables moves by less than ``epsilon * sum(w)`` in a sweep (R's rule with
  ``control = list(maxit, epsilon)``; the defaults here are the tight ``maxit = 1000, epsilon = 1e-10``, not R's
  loose defaults). The iterations run on the joint cells of the margins (weights are constant multiples of the
  design weights within a cell), so a sweep costs nothing per row. Variance: R's raking backfit (unweighted
  projection on the margin dummies, see :class:`~survey_audit.design.Raking`).
* :func:`poststratify` (R ``postStratify``): weights times population/sample count in each cell; variance:
  residuals from the cell means weighted by the pre-step weights.
* :func:`calibrate` (R ``calibrate``): linear (GREG), raking or logit calibration to population totals of a model
  matrix, with bounds on ``g = w/w0``; unbounded linear calibration is the closed form (R ``regcalibrate``),
  the others R's Newton iteration (``grake``: generalised inverse, step halving, convergence when every
  ``|misfit|/(1 + |total|) < epsilon``). Variance: ``e = u - X B`` with ``B`` fitted with the pre-calibration
  weights, scaled by the calibrated weights (R's ``greg_calibration`` record).
* :func:`trim_weights` (R ``trimWeights``): weights outside ``[lower, upper]`` are set to the bound and the
  amount trimmed is shared equally among the untrimmed weights (so weights may end above ``upper``);
  ``strict=True`` repeats until every weight is within bounds. Calibration records are kept, as R does.
* :func:`jk1_replicates` (R ``as.svrepdesign(type = "JK1")``): one replicate per PSU (organisation) dropped,
  the others weighted by ``G/(G-1)``; variance ``scale = (1 - f)(G-1)/G`` times the sum of squares around the
  replicate mean. Calibrate *after* creating replicates (R: "create replicates first, then calibrate"): every
  weighting function re-weights each replicate too (raking and post-stratification in lockstep with the full
  sample, R's ``postStratify.svyrep.design``).
* :func:`weight_diagnostics`: Kish design effect and effective n, and the range of the weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import DesignError
from .design import (
    Design,
    GregCalibration,
    Replicates,
    factor_codes,
    kish_deff,
    kish_neff,
    poststratification_step,
    raking_step,
)

CALFUNS = ("linear", "raking", "logit")


@dataclass(frozen=True)
class Convergence:
    """How a weighting procedure ended: sweeps or iterations run, whether it converged, and how far the achieved
    totals are from the targets (absolute and relative to the target) at the end."""

    method: str
    iterations: int
    converged: bool
    max_abs_error: float
    max_rel_error: float
    epsilon: float
    maxit: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Weighted(NamedTuple):
    design: Design
    convergence: Convergence


# --------------------------------------------------------------------------------------------------------------
# Margins and population totals.
# --------------------------------------------------------------------------------------------------------------


def _margin_codes(design: Design, variable, population, what: str) -> tuple[np.ndarray, np.ndarray, list, str]:
    """Codes of a weighting variable (one name, or several for joint cells) over its observed categories, and
    the population count of each, checked against each other."""
    names = [variable] if isinstance(variable, str) else list(variable)
    parts = []
    for name in names:
        fc = factor_codes(design.column(name))
        if not fc.complete:
            missing = np.flatnonzero(fc.codes < 0)
            raise DesignError(
                f"{missing.size} rows have no value of the {what} variable",
                column=name,
                value=f"data rows {', '.join(str(r + 1) for r in missing[:10])}",
                expected="a value for every respondent",
            )
        parts.append(fc)
    key = parts[0].codes.astype(np.int64)
    span = len(parts[0].labels)
    for fc in parts[1:]:
        key = key * len(fc.labels) + fc.codes
        span *= len(fc.labels)
    present = np.bincount(key, minlength=span) > 0
    observed = np.flatnonzero(present)
    lut = np.full(span, -1, dtype=np.int64)
    lut[observed] = np.arange(observed.shape[0])
    codes = key if observed.shape[0] == span else lut[key]
    labels = []
    for k in observed:
        combo = []
        for fc in reversed(parts):
            combo.append(fc.labels[k % len(fc.labels)])
            k //= len(fc.labels)
        combo.reverse()
        labels.append(combo[0] if len(parts) == 1 else tuple(combo))
    targets = _population_lookup(population, names, what)
    missing_pop = [lab for lab in labels if _key(lab) not in targets]
    if missing_pop:
        raise DesignError(
            f"sample categories of {'/'.join(names)} have no population total",
            value=", ".join(map(str, missing_pop[:10])),
            expected="a population total for every category present in the sample",
        )
    seen = {_key(lab) for lab in labels}
    absent = [k for k, v in targets.items() if v != 0 and k not in seen]
    if absent:
        raise DesignError(
            f"population categories of {'/'.join(names)} are absent from the sample",
            value=", ".join(map(str, absent[:10])),
            expected="every category with a non-zero population total present among the respondents",
            hint="collapse categories (R's postStratify(partial=TRUE) would drop them)",
        )
    pop = np.array([targets[_key(lab)] for lab in labels], dtype=float)
    if np.any(~np.isfinite(pop)) or np.any(pop < 0):
        raise DesignError(f"population totals of {'/'.join(names)} are negative or missing", value=pop.tolist())
    return codes, pop, labels, "/".join(names)


def _key(label):
    return tuple(str(x) for x in label) if isinstance(label, tuple) else str(label)


def _population_lookup(population, names: list[str], what: str) -> dict:
    """Population totals from a mapping {category: total}, a Series, or a frame with the variables and ``Freq``."""
    if isinstance(population, pd.DataFrame):
        freq = "Freq" if "Freq" in population.columns else population.columns[-1]
        keys = population[names].astype(str).itertuples(index=False, name=None)
        return {(k[0] if len(names) == 1 else tuple(k)): float(v) for k, v in zip(keys, population[freq])}
    if isinstance(population, pd.Series):
        population = population.to_dict()
    if not isinstance(population, Mapping):
        raise DesignError(f"the {what} totals of {'/'.join(names)} are not a mapping", expected="{category: total}")
    return {_key(k): float(v) for k, v in population.items()}


# --------------------------------------------------------------------------------------------------------------
# Raking and post-stratification.
# --------------------------------------------------------------------------------------------------------------


def rake(
    design: Design,
    margins: Mapping[str, object] | Sequence[tuple[object, object]],
    *,
    maxit: int = 1000,
    epsilon: float = 1e-10,
) -> Weighted:
    """Rake the weights to population margins (R ``rake(design, list(~a, ~b), list(pop_a, pop_b),
    control = list(maxit, epsilon))``). ``margins`` maps each variable (or a tuple of variables, for a joint
    margin) to its population totals ``{category: total}`` (a Series or a frame with ``Freq`` also work).
    ``epsilon`` below 1 is relative to the sum of the weights, as in R."""
    items = list(margins.items()) if isinstance(margins, Mapping) else list(margins)
    if not items:
        raise DesignError("no raking margins given", expected="at least one margin")
    codes, pops, names = [], [], []
    for variable, population in items:
        c, p, _, name = _margin_codes(design, variable, population, "raking")
        codes.append(c)
        pops.append(p)
        names.append(name)
    levels = [p.shape[0] for p in pops]
    # Joint cells of all margins: the raking factors are constant within them, so IPF runs on cell totals.
    key = codes[0].astype(np.int64)
    span = levels[0]
    for c, k in zip(codes[1:], levels[1:]):
        key = key * k + c
        span *= k
    if span <= max(4096, design.n // 8):
        cell, n_cells = key, span
        cell_keys = np.arange(span, dtype=np.int64)
    else:
        present = np.bincount(key, minlength=span) > 0 if span <= 4 * design.n else None
        if present is not None:
            cell_keys = np.flatnonzero(present)
            lut = np.full(span, -1, dtype=np.int64)
            lut[cell_keys] = np.arange(cell_keys.shape[0])
            cell = lut[key]
        else:
            cell, cell_keys = pd.factorize(key, sort=True)
            cell, cell_keys = cell.astype(np.int64), np.asarray(cell_keys, dtype=np.int64)
        n_cells = int(cell_keys.shape[0])
    cell_margin = []
    rest = cell_keys.copy()
    for k in reversed(levels):
        cell_margin.append(rest % k)
        rest //= k
    cell_margin.reverse()
    columns = _weight_columns(design)
    base = np.stack([np.bincount(cell, weights=col, minlength=n_cells) for col in columns.T], axis=1)
    eps = epsilon * design.weights.sum() if epsilon < 1 else epsilon
    factor = np.ones_like(base)
    old = base.copy()
    converged = False
    sweeps = 0
    while sweeps < maxit:
        sweeps += 1
        for m, k in enumerate(levels):
            current = base * factor
            sums = np.stack(
                [np.bincount(cell_margin[m], weights=current[:, r], minlength=k) for r in range(base.shape[1])], axis=1
            )
            if np.any(sums <= 0):
                bad = int(np.flatnonzero((sums <= 0).any(axis=1))[0])
                raise DesignError(
                    f"a category of {names[m]} has no weight left to rake",
                    value=f"category {bad + 1}" + (" in a replicate" if np.all(sums[:, 0] > 0) else ""),
                    expected="positive weighted totals in every category (and every replicate)",
                )
            factor = factor * (pops[m][:, None] / sums)[cell_margin[m]]
        new = base * factor
        if np.max(np.abs(new[:, 0] - old[:, 0])) < eps:
            converged = True
            break
        old = new
    final = columns * factor[cell]
    weights = np.ascontiguousarray(final[:, 0])
    achieved = new[:, 0]
    errors = [np.bincount(cell_margin[m], weights=achieved, minlength=levels[m]) - pops[m] for m in range(len(levels))]
    record = Convergence(
        method="rake",
        iterations=sweeps,
        converged=converged,
        max_abs_error=float(max(np.max(np.abs(e)) for e in errors)),
        max_rel_error=float(max(np.max(np.abs(e) / np.where(p > 0, p, 1)) for e, p in zip(errors, pops))),
        epsilon=float(epsilon),
        maxit=int(maxit),
    )
    if design.replicates is not None:
        new_design = design.with_weights(weights, replicates=_replace_replicates(design, final[:, 1:]))
    else:
        step = raking_step(design, cell, n_cells, cell_margin, weights, levels)
        new_design = design.with_weights(weights, step=step)
    return Weighted(new_design, record)


def poststratify(design: Design, variables, population) -> Weighted:
    """Post-stratify to known cell counts (R ``postStratify(design, ~a + b, population)``): ``variables`` is one
    variable or a list (joint cells), ``population`` maps each cell (a tuple for joint cells) to its count."""
    codes, pop, _, _ = _margin_codes(design, variables, population, "post-stratification")
    k = pop.shape[0]
    columns = _weight_columns(design)
    sums = np.stack([np.bincount(codes, weights=col, minlength=k) for col in columns.T], axis=1)
    if np.any(sums <= 0):
        raise DesignError("a post-stratum has no weight", expected="positive weighted totals in every cell")
    final = columns * (pop[:, None] / sums)[codes]
    weights = final[:, 0]
    achieved = np.bincount(codes, weights=weights, minlength=k)
    record = Convergence(
        "poststratify",
        1,
        True,
        float(np.max(np.abs(achieved - pop))),
        float(np.max(np.abs(achieved - pop) / np.where(pop > 0, pop, 1))),
        0.0,
        1,
    )
    if design.replicates is not None:
        return Weighted(design.with_weights(weights, replicates=_replace_replicates(design, final[:, 1:])), record)
    step = poststratification_step(design, codes, k, design.weights, np.ascontiguousarray(weights))
    return Weighted(design.with_weights(weights, step=step), record)


def _weight_columns(design: Design) -> np.ndarray:
    """The full-sample weights, followed by the replicate analysis weights if any (n x (1 + R))."""
    if design.replicates is None:
        return design.weights[:, None]
    return np.column_stack([design.weights, design.replicates.weights])


def _replace_replicates(design: Design, weights: np.ndarray) -> Replicates:
    reps = design.replicates
    return Replicates(
        weights=np.ascontiguousarray(weights), scale=reps.scale, rscales=reps.rscales, kind=reps.kind, mse=reps.mse
    )


# --------------------------------------------------------------------------------------------------------------
# Calibration.
# --------------------------------------------------------------------------------------------------------------


def model_matrix(frame: pd.DataFrame, terms: Sequence[str], *, intercept: bool = True) -> pd.DataFrame:
    """R's ``model.matrix(~ a + b + ...)`` for main effects: an ``(Intercept)`` column, numeric variables as
    they are, and categorical ones as treatment dummies named ``variable + level`` (first level left out)."""
    out = {}
    if intercept:
        out["(Intercept)"] = np.ones(len(frame))
    for term in terms:
        if term not in frame.columns:
            raise DesignError(f"unknown calibration variable '{term}'", value=term, expected="a column of the data")
        values = frame[term]
        if values.isna().any():
            raise DesignError(
                "the calibration variable has missing values", column=term, expected="a value in every row"
            )
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            out[term] = values.to_numpy(dtype=float)
        else:
            cats = (
                list(values.cat.categories)
                if isinstance(values.dtype, pd.CategoricalDtype)
                else sorted(values.unique(), key=str)
            )
            first = 1 if intercept else 0
            for level in cats[first:]:
                out[f"{term}{level}"] = (values == level).to_numpy(dtype=float)
    return pd.DataFrame(out, index=frame.index)


def _calfun(name: str, bounds: tuple[float, float]):
    lo, hi = bounds
    if name == "linear":
        return (
            lambda u: np.minimum(np.maximum(u + 1, lo), hi) - 1,
            lambda u: ((u < hi - 1) & (u > lo - 1)).astype(float),
        )
    if name == "raking":
        return (
            lambda u: np.minimum(np.maximum(np.exp(u), lo), hi) - 1,
            lambda u: np.where((u < hi - 1) & (u > lo - 1), np.exp(u), 0.0),
        )
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DesignError("logit calibration needs finite bounds", value=bounds, expected="bounds=(lower, upper)")
    A = (hi - lo) / ((hi - 1) * (1 - lo))

    def fm1(u):
        e = np.exp(A * u)
        return (lo * (hi - 1) + hi * (1 - lo) * e) / (hi - 1 + (1 - lo) * e) - 1

    def df(u):
        e = np.exp(A * u)
        den = hi - 1 + (1 - lo) * e
        return hi * (1 - lo) * e * A / den - ((lo * (hi - 1) + hi * (1 - lo) * e) * ((1 - lo) * e * A)) / den**2

    return fm1, df


def _ginv(m: np.ndarray) -> np.ndarray:
    """MASS::ginv with tol = 256 * machine epsilon (relative to the largest singular value)."""
    u, d, vt = np.linalg.svd(m)
    keep = d > max(256 * np.finfo(float).eps * d[0], 0)
    return (vt[keep].T / d[keep]) @ u[:, keep].T


def _grake(X, w, calfun, bounds, population, epsilon, maxit):
    """R ``grake``: Newton iterations on the calibration equations. Returns (g, iterations, achieved eps, failed)."""
    fm1, dF = _calfun(calfun, bounds)
    sample_total = X.T @ w
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    deriv = dF(xeta)
    scales = population / sample_total
    scale = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.min(scales) > 20:
            scale = float(np.mean(scales))
            w = w * scale
            sample_total = sample_total * scale
    iteration = 1
    failed = None
    while True:
        T = (X * (w * deriv)[:, None]).T @ X
        misfit = population - sample_total - X.T @ (w * fm1(xeta))
        deta = _ginv(T) @ misfit
        eta = eta + deta
        xeta = X @ eta
        g = 1 + fm1(xeta)
        deriv = dF(xeta)
        while iteration < maxit and not (np.all(np.isfinite(g)) and np.all(np.isfinite(deriv))):
            iteration += 1
            deta = deta / 2
            eta = eta - deta
            xeta = X @ eta
            g = 1 + fm1(xeta)
            deriv = dF(xeta)
        misfit = population - sample_total - X.T @ (w * fm1(xeta))
        achieved = float(np.max(np.abs(misfit) / (1 + np.abs(population))))
        if achieved < epsilon:
            break
        iteration += 1
        if iteration > maxit:
            failed = achieved
            break
    if scale is not None:
        g = g * scale
    return g, iteration, achieved, failed


def calibrate(
    design: Design,
    terms: Sequence[str],
    population: Mapping[str, float] | Sequence[float],
    *,
    calfun: str = "linear",
    bounds: tuple[float, float] = (-np.inf, np.inf),
    intercept: bool = True,
    maxit: int = 50,
    epsilon: float = 1e-7,
    force: bool = False,
) -> Weighted:
    """Calibrate to population totals of a main-effects model matrix (R ``calibrate(design, ~a + x, pop,
    calfun, bounds)``): ``terms`` are variables (categorical ones become treatment dummies, see
    :func:`model_matrix`), ``population`` maps the model-matrix column names (``"(Intercept)"``, ``"stypeH"``,
    ``"api99"``, ...) to totals, or lists them in column order. ``bounds`` apply to ``g = w/w0``. A failure to
    converge raises :class:`~survey_audit.errors.DesignError` unless ``force``."""
    if calfun not in CALFUNS:
        raise DesignError("unknown calibration function", value=calfun, expected="one of " + ", ".join(CALFUNS))
    if design.data is None:
        raise DesignError("calibration needs the design's data")
    mm = model_matrix(design.data.reset_index(drop=True), terms, intercept=intercept)
    names = list(mm.columns)
    if isinstance(population, Mapping):
        unknown = sorted(set(population) - set(names))
        missing = [c for c in names if c not in population]
        if missing or unknown:
            raise DesignError(
                "the population totals do not match the calibration model",
                value=f"missing {missing}, unexpected {unknown}",
                expected="totals for exactly these columns: " + ", ".join(names),
            )
        pop = np.array([float(population[c]) for c in names])
    else:
        pop = np.asarray(population, dtype=float)
        if pop.shape != (len(names),):
            raise DesignError(
                "wrong number of population totals", value=pop.shape[0], expected=f"{len(names)}: " + ", ".join(names)
            )
    X = mm.to_numpy(dtype=float)
    w0 = design.weights
    sample_total = X.T @ w0
    drop = (sample_total == 0) & (pop == 0) & np.all(X == 0, axis=0)
    X, pop = X[:, ~drop], pop[~drop]
    linear_closed = calfun == "linear" and not np.any(np.isfinite(bounds))

    def solve(w):
        if linear_closed:
            T = X.T @ (X * w[:, None])
            return 1 + X @ np.linalg.solve(T, pop - X.T @ w), 1, 0.0, None
        return _grake(X, w, calfun, bounds, pop, epsilon, maxit)

    g, iterations, achieved, failed = solve(w0)
    if failed is not None and not force:
        raise DesignError(
            f"{calfun} calibration did not converge in {maxit} iterations",
            value=f"largest relative misfit {failed:.3g}",
            expected=f"below {epsilon}",
            hint="widen the bounds, collapse sparse categories, or raise maxit",
        )
    weights = w0 * g
    achieved_totals = X.T @ weights
    err = achieved_totals - pop
    record = Convergence(
        method=f"calibrate:{calfun}",
        iterations=int(iterations),
        converged=failed is None,
        max_abs_error=float(np.max(np.abs(err))),
        max_rel_error=float(np.max(np.abs(err) / np.where(np.abs(pop) > 0, np.abs(pop), 1))),
        epsilon=float(epsilon),
        maxit=int(maxit),
    )
    if design.replicates is not None:
        reps = np.column_stack(
            [
                design.replicates.weights[:, r] * solve(design.replicates.weights[:, r])[0]
                for r in range(design.replicates.weights.shape[1])
            ]
        )
        return Weighted(design.with_weights(weights, replicates=_replace_replicates(design, reps)), record)
    half = np.sqrt(w0)
    step = GregCalibration(basis=_orthonormal_basis(X * half[:, None]), scale=g * half)
    return Weighted(design.with_weights(weights, step=step), record)


def _orthonormal_basis(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of ``a`` (rank-revealing, like R's pivoted ``qr``)."""
    q, r = np.linalg.qr(a)
    d = np.abs(np.diag(r))
    if d.size and np.all(d > 1e-7 * d.max()):
        return q
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    return u[:, s > 1e-7 * s.max()]


# --------------------------------------------------------------------------------------------------------------
# Trimming.
# --------------------------------------------------------------------------------------------------------------


def trim_weights(
    design: Design, *, lower: float = -np.inf, upper: float = np.inf, strict: bool = False, max_rounds: int = 10_000
) -> Weighted:
    """R ``trimWeights``: weights below ``lower`` or above ``upper`` are set to the bound and the total trimmed
    is added in equal shares to the weights that were inside; with ``strict`` this repeats until none is outside
    (each round's trimmed weights may receive shares in later rounds, as in R's recursion)."""
    if design.replicates is not None:
        raise DesignError(
            "trimming a replicate design is not supported",
            hint="trim the full-sample weights first, then create the replicates and calibrate",
        )
    if lower > upper:
        raise DesignError("the lower trimming bound is above the upper one", value=(lower, upper))
    w = design.weights.copy()
    rounds = 0
    while True:
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if outside.all():
            raise DesignError("every weight is outside the trimming bounds", value=(lower, upper))
        rounds += 1
        new = np.clip(w, lower, upper)
        trimmed = (w - new).sum()
        new[~outside] += trimmed / np.count_nonzero(~outside)
        w = new
        if not strict or rounds >= max_rounds:
            break
    left = float(np.max(np.maximum(w - upper, 0) + np.maximum(lower - w, 0)))
    record = Convergence(
        "trim" + (":strict" if strict else ""), rounds, (not strict) or left == 0, left, np.nan, 0.0, max_rounds
    )
    return Weighted(design.with_weights(w), record)


# --------------------------------------------------------------------------------------------------------------
# Replicates.
# --------------------------------------------------------------------------------------------------------------


def jk1_replicates(design: Design) -> Design:
    """Delete-one-PSU jackknife (R ``as.svrepdesign(design, type = "JK1")``) for an unstratified design: replicate
    ``r`` drops PSU ``r`` and multiplies the others by ``G/(G-1)``; ``scale = (1 - f)(G-1)/G``."""
    if design.has_strata:
        raise DesignError("JK1 replicates need an unstratified design", hint="R: use JKn for stratified designs")
    if design.calibration:
        raise DesignError(
            "the design is already calibrated",
            hint="create the replicates from the uncalibrated design, then rake or calibrate the replicate design",
        )
    if design.replicates is not None:
        raise DesignError("the design already has replicate weights")
    G = design.n_psus
    if G < 2:
        raise DesignError("a jackknife needs at least two PSUs", value=G)
    # Replicate j drops the j-th PSU in order of first appearance (R's ``unique(psu)``).
    order = pd.unique(design.psu)
    position = np.empty(G, dtype=np.int64)
    position[order] = np.arange(G)
    factor = np.full((design.n, G), G / (G - 1))
    factor[np.arange(design.n), position[design.psu]] = 0.0
    reps = Replicates(
        weights=design.weights[:, None] * factor,
        scale=float(design.fpc_factor[0] * (G - 1) / G),
        rscales=np.ones(G),
        kind="JK1",
    )
    out = design.with_weights(design.weights, replicates=reps, description=design.description + ", JK1 replicates")
    return out


# --------------------------------------------------------------------------------------------------------------
# Diagnostics.
# --------------------------------------------------------------------------------------------------------------


def weight_diagnostics(design_or_weights) -> dict:
    """Summary of a set of weights: n, sum, min, max, mean, max/min ratio, coefficient of variation, Kish design
    effect ``1 + CV^2`` and effective sample size ``sum(w)^2/sum(w^2)``."""
    w = (
        design_or_weights.weights
        if isinstance(design_or_weights, Design)
        else np.asarray(design_or_weights, dtype=float)
    )
    positive = w[w > 0]
    return {
        "n": int(w.shape[0]),
        "n_positive": int(positive.shape[0]),
        "sum": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "mean": float(w.mean()),
        "ratio_max_min": float(positive.max() / positive.min()) if positive.size else np.nan,
        "cv": float(positive.std() / positive.mean()) if positive.size else np.nan,
        "kish_deff": kish_deff(w),
        "kish_neff": kish_neff(w),
    }
