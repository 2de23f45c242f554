"""Survey designs and the Taylor-linearisation variance engine, with the semantics of R's survey package.

A :class:`Design` is an immutable record of a sample: analysis weights, primary sampling units (PSUs; here the
recruiting organisation, sampled with replacement), optional strata and finite population correction, the
lonely-PSU policy, the calibration steps applied to the weights (so that variances can use calibration
residuals, as R does) and, for replicate designs, the replicate weights. Everything is held as numpy arrays of
integer codes; functions over a design never change it (weighting returns a new design).

Variance (R ``svyrecvar``, one stage, "ultimate cluster"): with ``z`` the weighted influence values of the
estimates (one column each), sum ``z`` into PSU totals ``T_hj``, centre them within each stratum and form
``V = sum_h (1 - f_h) n_h/(n_h - 1) sum_j (T_hj - mean_h T)(T_hj - mean_h T)'``. Calibration steps first replace
``z`` by its calibration residual (see :func:`calibration_residual`). When the influence values are a function
of one integer code per row (proportions, cells of a table), everything is done on aggregates: PSU-by-code
weighted counts from one pass over the rows (:func:`code_sums`), and the calibration residual of a raking or
post-stratification from one more (:func:`coded_correction`), so memory and time stay linear in the rows with a
small constant.

Lonely PSUs (a stratum with a single PSU) follow R's ``options(survey.lonely.psu)``:

* ``fail`` (R's default): the design cannot be built (R fails later, when a variance is computed);
* ``remove`` and ``certainty``: the stratum contributes nothing to the variance (in R's one-stage code the two
  give identical variances);
* ``adjust``: the stratum's PSU total is taken as a deviation from zero (R does not centre it), scaled by
  ``1 - f_h``;
* ``average``: the stratum is left out and the variance is multiplied by ``#strata / #strata with two or more
  PSUs`` (counting, for a domain, only the strata that contain the domain, as R's ``subset()`` does).

Degrees of freedom: ``degf = #PSU - #strata`` over units with non-zero weight (R ``degf``). For a domain the
convention is selectable (:data:`DF_CONVENTIONS`): ``"domain"`` is R's ``degf(subset(design, ...))``, the PSUs
containing domain members minus the strata containing them; ``"design"`` keeps the full-design df, as Stata and
samplics do. Replicate designs use R's rule, the rank of the replicate weights minus one (restricted to the
domain's rows under ``"domain"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DesignError

LONELY_PSU_POLICIES = ("fail", "remove", "certainty", "adjust", "average")
DF_CONVENTIONS = ("domain", "design")
RAKING_BACKFIT_SWEEPS = 10  # R svyrecvar: ``for (iterations in 1:10)`` over the raking margins


# --------------------------------------------------------------------------------------------------------------
# Integer codes of a variable.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Codes:
    """A variable as integer codes (``-1`` for missing or unlisted values) and its labels, in code order."""

    codes: np.ndarray
    labels: list
    complete: bool  # no code is -1


def factor_codes(values, categories: Sequence | None = None) -> Codes:
    """Integer codes of a variable, in linear time without hashing where possible.

    Labels are ``categories`` if given (values not listed get -1), else a categorical's own categories (empty ones
    kept), ``[False, True]`` for booleans, or the sorted distinct values. Small-range integers are coded with a
    lookup table, categoricals reuse their codes; other types go through ``pandas.factorize``.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    dtype = s.dtype
    wanted = None if categories is None else list(categories)
    if isinstance(dtype, pd.CategoricalDtype):
        labels = list(dtype.categories)
        codes = np.asarray(s.array.codes)
        if wanted is not None and wanted != labels:
            lut = np.append(pd.Index(wanted).get_indexer(labels), -1)
            codes, labels = lut[codes], wanted
        return Codes(codes, labels, not bool((codes < 0).any()) if codes.size else True)
    if dtype == np.bool_:
        arr = s.to_numpy()
        if wanted is None or wanted == [False, True]:
            return Codes(arr.view(np.int8), [False, True], True)
        lut = np.array([_position(wanted, False), _position(wanted, True)], dtype=np.int64)
        codes = lut[arr.view(np.int8)]
        return Codes(codes, wanted, not bool((codes < 0).any()))
    if dtype.kind in "iu" and s.size:
        arr = s.to_numpy()
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= max(1024, 4 * arr.size):
            shifted = arr if lo == 0 else (arr - lo)
            if wanted is None:
                if span <= 2:  # both extremes are present by definition
                    return Codes(shifted, list(range(lo, hi + 1)), True)
                if span <= 16 and arr.dtype.itemsize <= 2:  # a few cheap scans beat widening to intp
                    present = np.array([bool((shifted == v).any()) for v in range(span)])
                else:
                    present = np.bincount(shifted, minlength=span) > 0
                labels = [int(v) for v in np.flatnonzero(present) + lo]
                if present.all():
                    return Codes(shifted, labels, True)
                lut = np.full(span, -1, dtype=np.int64)
                lut[present] = np.arange(len(labels))
                return Codes(lut[shifted], labels, True)
            lut = np.full(span, -1, dtype=np.int64)
            for i, c in enumerate(wanted):
                if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and lo <= c <= hi:
                    lut[int(c) - lo] = i
            codes = lut[shifted]
            return Codes(codes, wanted, not bool((codes < 0).any()))
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(s.astype(str).where(s.notna()), sort=True)
    uniques = list(uniques)
    if wanted is None and pd.api.types.is_bool_dtype(dtype):
        wanted = [False, True]
    if wanted is not None:
        lut = np.append(pd.Index(wanted).get_indexer(uniques) if uniques else np.zeros(0, dtype=np.int64), -1)
        codes, uniques = lut[codes], wanted
    codes = codes.astype(np.int64, copy=False)
    return Codes(codes, uniques, not bool((codes < 0).any()) if codes.size else True)


def code_sums(codes: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sums of ``weights`` by code (counts without weights) for codes in ``[0, size)``: ``np.bincount(codes,
    weights, minlength=size)`` bit for bit, since numpy's indexed ``add.at`` makes the same additions in the same
    row order. It is faster: no min/max pass over the codes, and codes narrower than int64 are widened a buffer at
    a time instead of copied whole. A code -1 (outside every cell) lands in the last place, as in indexing: with
    one place more than the cells, dropping the last place leaves the sums over coded rows."""
    out = np.zeros(size, dtype=np.int64 if weights is None else np.float64)
    np.add.at(out, codes, 1 if weights is None else weights)
    return out


def code_type(size: int) -> np.dtype:
    """The narrowest signed integer type holding the codes -1 to ``size``: codes of a few cells built in it are
    small arrays (cheap to make, cheap to read), and :func:`code_sums` reads them without widening them whole."""
    return np.min_scalar_type(-size - 1)


def first_appearances(codes: np.ndarray) -> np.ndarray:
    """The row where each code first appears, for codes numbered in order of first appearance (as
    ``pandas.factorize`` numbers them: each new code is one more than every code before it)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))


def _position(items: list, value) -> int:
    return items.index(value) if value in items else -1


# --------------------------------------------------------------------------------------------------------------
# Calibration steps: what a variance needs to know about how the weights were calibrated.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PostStratification:
    """Post-stratification to known cell counts (R ``postStratify``).

    Residual (R's non-raking branch): ``z <- z - psw * sum_cell(oldw * z/psw) / sum_cell(oldw)``, i.e. ``u``
    minus its mean within the cell weighted by the weights before this step. ``psu_weights`` (G x cells) and
    ``denominators`` make the aggregated form of :func:`coded_correction` possible.
    """

    codes: np.ndarray  # cell of each row
    n_cells: int
    old_weights: np.ndarray  # weights before the step
    weights: np.ndarray  # weights right after the step (R's ``psw``)
    psu_weights: np.ndarray = field(repr=False)  # G x cells: sum of psw by PSU and cell
    denominators: np.ndarray = field(repr=False)  # cells: sum of oldw
    name: str = "poststratify"


@dataclass(frozen=True, eq=False)
class Raking:
    """Raking to margins (R ``rake``): iterated post-stratification.

    R's variance backfits: ``RAKING_BACKFIT_SWEEPS`` sweeps of ``x <- x - w * ave(x/w, margin)`` over the
    margins, ``ave`` being an unweighted mean within each category. With ``y = z/w`` the sweeps only need the
    sums of ``y`` within each joint cell of the margins (``cell``) and fixed count tables, so the backfit runs
    on aggregates; ``psu_margin_weights`` (one G x levels matrix per margin) turn the fitted margin effects back
    into PSU totals.
    """

    cell: np.ndarray  # joint cell of the margins for each row
    n_cells: int
    cell_margins: tuple[np.ndarray, ...]  # category of each margin for each joint cell
    levels: tuple[int, ...]
    weights: np.ndarray  # the raked weights (R's ``psw`` at convergence)
    pair_counts: dict[tuple[int, int], np.ndarray] = field(repr=False)
    psu_margin_weights: tuple[np.ndarray, ...] = field(repr=False)
    name: str = "rake"


@dataclass(frozen=True, eq=False)
class GregCalibration:
    """Linear, raking or logit calibration (R ``calibrate``): residuals of a weighted regression.

    R keeps ``qr(X * sqrt(w0))`` and ``c = g * sqrt(w0)`` and replaces ``z`` by ``c * qr.resid(qr, z/c)``; here
    ``basis`` is an orthonormal basis of the columns of ``X * sqrt(w0)`` (pre-calibration weights ``w0``).
    """

    basis: np.ndarray  # n x rank, orthonormal columns
    scale: np.ndarray  # c = g * sqrt(w0)
    name: str = "calibrate"


CalibrationStep = PostStratification | Raking | GregCalibration


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate weights (analysis weights, one column per replicate) and R's variance scale factors."""

    weights: np.ndarray  # n x R
    scale: float
    rscales: np.ndarray  # R
    kind: str = "JK1"
    mse: bool = False  # R survey.replicates.mse: centre on the full-sample estimate instead of the replicate mean


# --------------------------------------------------------------------------------------------------------------
# The design.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Design:
    """A survey design over ``n`` rows (see the module docstring). Build one with :func:`svydesign`."""

    weights: np.ndarray  # analysis weights, float64 (n,)
    psu: np.ndarray  # PSU code of each row (n,); every PSU has rows
    stratum: np.ndarray  # stratum code of each row (n,)
    psu_stratum: np.ndarray  # stratum code of each PSU (G,)
    n_psu: np.ndarray  # PSUs per stratum in the design (H,)
    fpc_factor: np.ndarray  # 1 - f_h per stratum (H,); ones without an fpc
    lonely_psu: str
    psu_labels: np.ndarray
    stratum_labels: np.ndarray
    data: pd.DataFrame | None = None
    has_strata: bool = False
    calibration: tuple[CalibrationStep, ...] = ()
    replicates: Replicates | None = None
    description: str = ""

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.n_psu.shape[0])

    @property
    def n_psus(self) -> int:
        return int(self.psu_stratum.shape[0])

    @cached_property
    def degf(self) -> int:
        """Design degrees of freedom, as R's ``degf(design)``."""
        return degf(self)

    @cached_property
    def psu_weight_totals(self) -> np.ndarray:
        """Sum of the weights in each PSU."""
        return code_sums(self.psu, self.n_psus, self.weights)

    @cached_property
    def _variance_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per PSU: the variance scale ``(1-f) n_h/(n_h-1)`` (0 for a census, a dropped or a certainty stratum),
        whether its total is centred on the stratum mean, and which strata the "average" policy leaves out."""
        nh, f, s = self.n_psu, self.fpc_factor, self.psu_stratum
        lonely = nh == 1
        census = f < 1e-7
        centre = ~(lonely & (self.lonely_psu == "adjust"))
        scale = np.where(nh > 1, f * nh / np.maximum(nh - 1, 1), f)
        dropped = lonely & ~census & (self.lonely_psu in ("average", "fail"))
        scale = np.where(census | dropped, 0.0, scale)
        return scale[s], centre[s], dropped

    @cached_property
    def _stratum_masks(self) -> list[np.ndarray]:
        return [self.psu_stratum == h for h in range(self.n_strata)]

    @cached_property
    def has_zero_weights(self) -> bool:
        w = self.weights  # the minimum is a faster pass than all(); neither makes an array of n flags
        return bool(w.size) and bool(w.min() <= 0) and not w.all()

    def column(self, name: str) -> pd.Series:
        """A column of the design's data, with a clear error for an unknown name."""
        if self.data is None:
            raise DesignError(f"the design has no data to take '{name}' from", hint="pass arrays instead of names")
        if name not in self.data.columns:
            shown = ", ".join(map(str, self.data.columns[:40])) + (" ..." if self.data.shape[1] > 40 else "")
            raise DesignError(f"unknown column '{name}'", value=name, expected="one of " + shown)
        return self.data[name]

    def with_weights(
        self,
        weights: np.ndarray,
        *,
        step: CalibrationStep | None = None,
        replicates: Replicates | None | Any = dataclasses.MISSING,
        description: str | None = None,
    ) -> Design:
        """A copy with new analysis weights (and, optionally, one more calibration step or new replicates).

        With a post-stratification or raking ``step`` the design takes the step's own weight array (equal to
        ``weights``), so the aggregated variance can tell that the weights are still the calibrated ones."""
        changes: dict[str, Any] = {"weights": np.ascontiguousarray(weights, dtype=np.float64)}
        if step is not None:
            changes["calibration"] = (*self.calibration, step)
            if hasattr(step, "weights"):
                changes["weights"] = step.weights  # the very array the step records (see coded_correction)
        if replicates is not dataclasses.MISSING:
            changes["replicates"] = replicates
        if description is not None:
            changes["description"] = description
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------------------------
# Construction.
# --------------------------------------------------------------------------------------------------------------


def _as_values(data: pd.DataFrame | None, spec: Any, role: str, n: int | None) -> tuple[pd.Series, str]:
    """The values of a design variable given as a column name or an array, and a name for messages."""
    if isinstance(spec, str):
        if data is None:
            raise DesignError(f"the {role} is given as a column name ('{spec}') but there is no data frame")
        if spec not in data.columns:
            raise DesignError(
                f"the {role} column '{spec}' is not in the data",
                value=spec,
                expected="one of " + ", ".join(map(str, data.columns[:40])),
                hint=f"check the spelling of the {role} column",
            )
        return data[spec].reset_index(drop=True), spec
    values = spec.reset_index(drop=True) if isinstance(spec, pd.Series) else pd.Series(np.asarray(spec))
    if n is not None and values.shape[0] != n:
        raise DesignError(f"the {role} has {values.shape[0]} values", expected=f"{n}, one per row")
    return values, role


def _fail_missing(rows: np.ndarray, name: str, role: str) -> None:
    shown = ", ".join(str(r + 1) for r in rows[:10]) + (" ..." if rows.size > 10 else "")
    raise DesignError(
        f"{rows.size} rows have no {role} value",
        column=name,
        value=f"missing in data rows {shown} (counting from 1)",
        expected=f"a {role} for every respondent",
        hint="fill in or exclude those rows before building the design",
    )


def svydesign(
    data: pd.DataFrame | None = None,
    *,
    weights: str | Sequence[float] | np.ndarray | None = None,
    cluster: str | Sequence | np.ndarray | None = None,
    strata: str | Sequence | np.ndarray | None = None,
    fpc: str | Sequence[float] | np.ndarray | None = None,
    nest: bool = False,
    lonely_psu: str = "fail",
    n: int | None = None,
) -> Design:
    """A one-stage (ultimate-cluster) design, as R ``svydesign(ids=~cluster, strata=~strata, weights=~w, fpc=~fpc)``.

    ``weights``, ``cluster``, ``strata`` and ``fpc`` are column names of ``data`` or arrays (one value per row).
    Without ``cluster`` every row is its own PSU; without ``weights`` the weights are ``N_h/n_h`` when ``fpc``
    gives population PSU counts (as R derives them) and 1 otherwise. ``fpc`` is either the number of PSUs in the
    stratum's population (all values > 1) or the sampling fraction (all values <= 1); without it PSUs are taken
    as sampled with replacement. ``nest=True`` makes PSU labels local to their stratum. ``lonely_psu`` is one of
    :data:`LONELY_PSU_POLICIES`.
    """
    if lonely_psu not in LONELY_PSU_POLICIES:
        raise DesignError(
            "unknown lonely-PSU policy", value=lonely_psu, expected="one of " + ", ".join(LONELY_PSU_POLICIES)
        )
    if data is not None and n is None:
        n = len(data)
    if n is None:
        for spec in (weights, cluster, strata):
            if spec is not None and not isinstance(spec, str):
                n = len(spec)
                break
    if n is None:
        raise DesignError("cannot tell how many rows the design has", hint="pass data= or arrays")
    if n == 0:
        raise DesignError("the data have no rows", expected="at least one respondent")

    s_codes, s_labels, has_strata, s_name = _strata(data, strata, n)
    psu, psu_stratum, psu_labels, c_name = _clusters(data, cluster, n, s_codes, s_labels, has_strata, nest)
    H = int(s_labels.shape[0])
    n_psu = np.bincount(psu_stratum, minlength=H).astype(np.int64)
    fpc_factor, popsize = _fpc(data, fpc, n, s_codes, s_labels, n_psu)
    w = _weights(data, weights, n, s_codes, n_psu, popsize)
    if lonely_psu == "fail":
        _fail_on_lonely_psu(n_psu, fpc_factor, psu_stratum, s_labels, psu_labels, s_name)

    return Design(
        weights=w,
        psu=psu,
        stratum=s_codes,
        psu_stratum=psu_stratum.astype(np.int64, copy=False),
        n_psu=n_psu,
        fpc_factor=fpc_factor,
        lonely_psu=lonely_psu,
        psu_labels=np.asarray(psu_labels),
        stratum_labels=np.asarray(s_labels),
        data=data,
        has_strata=has_strata,
        description=f"{n} rows, {psu_stratum.shape[0]} PSUs ({c_name}), {H} strata",
    )


def _strata(data, strata, n: int) -> tuple[np.ndarray, np.ndarray, bool, str]:
    """Stratum codes of the rows, their labels, whether the design is stratified, and the column's name."""
    if strata is None:
        return np.zeros(n, np.int64), np.array(["1"], dtype=object), False, ""
    s_values, s_name = _as_values(data, strata, "strata", n)
    sc = factor_codes(s_values)
    if not sc.complete:
        _fail_missing(np.flatnonzero(sc.codes < 0), s_name, "stratum")
    return sc.codes.astype(np.int64, copy=False), np.asarray(sc.labels, dtype=object), True, s_name


def _clusters(data, cluster, n: int, s_codes, s_labels, has_strata: bool, nest: bool):
    """PSU codes of the rows, the stratum of each PSU, the PSU labels, and the cluster column's name (without
    clusters every row is its own PSU; with ``nest`` cluster labels are local to their stratum)."""
    if cluster is None:
        return np.arange(n, dtype=np.int64), s_codes, np.arange(1, n + 1), "row"
    H = int(s_labels.shape[0])
    c_values, c_name = _as_values(data, cluster, "cluster", n)
    cc = factor_codes(c_values)
    if not cc.complete:
        _fail_missing(np.flatnonzero(cc.codes < 0), c_name, "cluster")
    c_codes, c_labels = cc.codes.astype(np.int64, copy=False), np.asarray(cc.labels, dtype=object)
    if isinstance(c_values.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(c_values.dtype):
        # Labels fixed in advance (categories, False/True) may name clusters without rows: R counts those present.
        present = code_sums(c_codes, c_labels.shape[0]) > 0
        if not present.all():
            c_codes, c_labels = (np.cumsum(present) - 1)[c_codes], c_labels[present]
    L = int(c_labels.shape[0])
    if not has_strata:
        return c_codes, np.zeros(L, dtype=np.int64), c_labels, c_name
    if not nest:
        stratum_of = np.full(L, -1, dtype=np.int64)
        stratum_of[c_codes] = s_codes
        if (stratum_of[c_codes] != s_codes).any():
            bad = np.flatnonzero(stratum_of[c_codes] != s_codes)
            shown = ", ".join(map(str, pd.unique(c_labels[c_codes[bad]])[:5]))
            raise DesignError(
                "clusters are not nested in strata: the same cluster label appears in more than one stratum",
                column=c_name,
                value=shown,
                expected="each cluster in exactly one stratum",
                hint="pass nest=True if cluster labels are only unique within a stratum",
            )
        return c_codes, stratum_of, c_labels, c_name
    key = s_codes * L + c_codes
    if H * L <= max(1024, 4 * n):
        present = np.bincount(key, minlength=H * L) > 0
        keys = np.flatnonzero(present)
        lut = np.full(H * L, -1, dtype=np.int64)
        lut[keys] = np.arange(keys.shape[0])
        psu = lut[key]
    else:
        psu, keys = pd.factorize(key, sort=True)
        psu, keys = psu.astype(np.int64), np.asarray(keys, dtype=np.int64)
    return psu, keys // L, c_labels[keys % L], c_name


def _fpc(data, fpc, n: int, s_codes, s_labels, n_psu) -> tuple[np.ndarray, np.ndarray | None]:
    """``1 - f_h`` per stratum (ones without an fpc) and the population PSU counts (None without an fpc)."""
    H = int(s_labels.shape[0])
    if fpc is None:
        return np.ones(H), None
    f_values, f_name = _as_values(data, fpc, "fpc", n)
    f_arr = pd.to_numeric(f_values, errors="coerce").to_numpy(dtype=float)
    if np.isnan(f_arr).any():
        _fail_missing(np.flatnonzero(np.isnan(f_arr)), f_name, "fpc")
    first = np.zeros(H)
    first[s_codes] = f_arr
    if (first[s_codes] != f_arr).any():
        bad = s_labels[s_codes[np.flatnonzero(first[s_codes] != f_arr)[0]]]
        raise DesignError(
            "the fpc varies within a stratum", column=f_name, value=f"stratum {bad}", expected="one fpc per stratum"
        )
    if np.any(first > 1) and not np.all(first >= 1):
        raise DesignError(
            "the fpc mixes population counts and sampling fractions",
            column=f_name,
            expected="all values > 1 (PSUs in the population) or all values <= 1 (sampling fractions)",
        )
    if np.any(first <= 0):
        raise DesignError("the fpc has values of zero or below", column=f_name, expected="positive values")
    popsize = first if np.any(first > 1) else n_psu / first
    if np.any(popsize < n_psu):
        bad = s_labels[np.flatnonzero(popsize < n_psu)[0]]
        raise DesignError(
            "the fpc implies more than 100% sampling",
            column=f_name,
            value=f"stratum {bad}",
            expected="population PSU counts at least the sampled PSU counts",
        )
    return np.where(np.isinf(popsize), 1.0, (popsize - n_psu) / popsize), popsize


def _weights(data, weights, n: int, s_codes, n_psu, popsize) -> np.ndarray:
    """The analysis weights: given, or ``N_h/n_h`` from population PSU counts (as R derives them), or ones."""
    if weights is None:
        w = (popsize / n_psu)[s_codes] if popsize is not None else np.ones(n)
        return np.ascontiguousarray(w, dtype=np.float64)
    w_values, w_name = _as_values(data, weights, "weights", n)
    try:
        w = np.asarray(pd.to_numeric(w_values, errors="raise"), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DesignError("the weights are not numbers", column=w_name, expected="non-negative numbers") from exc
    if np.isnan(w).any():
        _fail_missing(np.flatnonzero(np.isnan(w)), w_name, "weight")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        raise DesignError(
            f"{bad.size} weights are negative or infinite",
            column=w_name,
            value=f"{w[bad[0]]} in data row {bad[0] + 1} (counting from 1)",
            expected="finite weights of zero or more",
        )
    if not np.any(w > 0):
        raise DesignError("every weight is zero", column=w_name, expected="some positive weights")
    return np.ascontiguousarray(w, dtype=np.float64)


def _fail_on_lonely_psu(n_psu, fpc_factor, psu_stratum, s_labels, psu_labels, s_name: str) -> None:
    """Lonely PSUs under the "fail" policy (R fails at the first variance; here at once, naming the strata)."""
    lonely = (n_psu == 1) & (fpc_factor >= 1e-7)
    if not lonely.any():
        return
    H = int(s_labels.shape[0])
    which = np.flatnonzero(lonely)
    first_psu = np.full(H, -1, dtype=np.int64)
    first_psu[psu_stratum[::-1]] = np.arange(psu_stratum.shape[0])[::-1]
    shown = ", ".join(f"{s_labels[h]} (PSU {psu_labels[first_psu[h]]})" for h in which[:5])
    raise DesignError(
        f"{which.size} strata have only one PSU (a lonely PSU), so their variance cannot be estimated",
        column=s_name or None,
        value=shown + (" ..." if which.size > 5 else ""),
        expected="at least two PSUs in every stratum",
        hint="merge the stratum with a neighbour, or choose lonely_psu = remove, certainty, adjust or average",
    )


# --------------------------------------------------------------------------------------------------------------
# Domains and degrees of freedom.
# --------------------------------------------------------------------------------------------------------------


def domain_mask(design: Design, domain: str | np.ndarray | pd.Series | None) -> np.ndarray | None:
    """Rows in a domain: ``None`` (the whole sample), a boolean array, or a pandas query on the design's data.

    A missing value in the expression counts as outside the domain.
    """
    if domain is None:
        return None
    if isinstance(domain, str):
        if design.data is None:
            raise DesignError("a domain expression needs the design's data", value=domain)
        try:
            result = design.data.eval(domain)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise DesignError(
                f"the domain expression cannot be evaluated ({type(exc).__name__}: {exc})",
                value=domain,
                expected="a pandas query over the data's columns, e.g. \"stype == 'M'\"",
            ) from None
        try:
            if not isinstance(result, (pd.Series, np.ndarray)) or len(result) != design.n:
                raise TypeError("not one value per row")
            if not pd.api.types.is_bool_dtype(result.dtype) and pd.Series(result).dropna().map(type).ne(bool).any():
                raise TypeError(f"values of type {result.dtype}")
            mask = pd.Series(np.asarray(result)).astype("boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError) as exc:
            raise DesignError(
                f"the domain expression does not give True or False for each row ({exc})",
                value=domain,
                expected="a condition such as \"stype == 'M'\" (== to compare, not =)",
            ) from None
    else:
        mask = np.asarray(pd.Series(np.asarray(domain)).astype("boolean").fillna(False), dtype=bool)
    if mask.shape != (design.n,):
        raise DesignError("the domain mask has the wrong length", value=mask.shape[0], expected=f"{design.n} rows")
    return mask


def degf(design: Design, domain: np.ndarray | None = None, *, convention: str = "domain") -> int:
    """Degrees of freedom (R ``degf``): #PSU - #strata over rows with non-zero weight, for the whole design or a
    domain under ``convention`` (``"domain"``: R's ``degf(subset(design, ...))``; ``"design"``: full design)."""
    if convention not in DF_CONVENTIONS:
        raise DesignError("unknown df convention", value=convention, expected=" or ".join(DF_CONVENTIONS))
    restrict = domain is not None and convention == "domain"
    inset = None
    if restrict or design.has_zero_weights:
        inset = design.weights != 0
        if restrict:
            inset &= domain
    if design.replicates is not None:
        rows = design.replicates.weights[inset] if restrict else design.replicates.weights
        return int(_rank(rows)) - 1 if rows.shape[0] else 0
    if inset is None:  # every row counts, and every PSU has rows (svydesign keeps only the clusters present)
        return int(design.n_psus - np.count_nonzero(design.n_psu))
    has = np.zeros(design.n_psus, dtype=bool)
    has[design.psu[inset]] = True
    strata = np.bincount(design.psu_stratum[has], minlength=design.n_strata) > 0
    return int(has.sum() - strata.sum())


def _rank(matrix: np.ndarray, tol: float = 1e-5) -> int:
    """Numerical rank of a tall matrix with few columns (replicate weights): singular values above ``tol`` times
    the largest, from the eigenvalues of the small Gram matrix (R uses ``qr(x, tol = 1e-5)$rank``; the two agree
    on replicate-weight matrices, whose columns are either clearly independent or exactly dependent)."""
    m = np.asarray(matrix, dtype=float)
    if m.size == 0:
        return 0
    eig = np.linalg.eigvalsh(m.T @ m)
    top = eig.max()
    if top <= 0:
        return 0
    return int(np.sum(eig > (tol**2) * top))


def strata_present(design: Design, domain: np.ndarray | None) -> np.ndarray | None:
    """Strata that contain rows of a domain (R counts only these after ``subset()``)."""
    if domain is None:
        return None
    return np.bincount(design.stratum[domain], minlength=design.n_strata) > 0


# --------------------------------------------------------------------------------------------------------------
# Variance engine.
# --------------------------------------------------------------------------------------------------------------


def psu_totals(design: Design, z: np.ndarray) -> np.ndarray:
    """Sums of the rows of ``z`` (n x k) within each PSU: a (G x k) matrix, one ``bincount`` per column."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[:, None]
    out = np.empty((design.n_psus, z.shape[1]))
    for j in range(z.shape[1]):
        out[:, j] = np.bincount(design.psu, weights=z[:, j], minlength=design.n_psus)
    return out


def _stratum_sums(design: Design, T: np.ndarray) -> np.ndarray:
    """Column sums of PSU totals within each stratum (H x k)."""
    if design.n_strata == 1:
        return T.sum(axis=0, keepdims=True)
    if design.n_strata <= 16:
        return np.stack([T[m].sum(axis=0) for m in design._stratum_masks])
    out = np.empty((design.n_strata, T.shape[1]))
    for j in range(T.shape[1]):
        out[:, j] = np.bincount(design.psu_stratum, weights=T[:, j], minlength=design.n_strata)
    return out


def vcov_psu(
    design: Design, totals: np.ndarray, present: np.ndarray | None = None, *, diagonal: bool = False
) -> np.ndarray:
    """Covariance matrix (or only its diagonal) from PSU totals (G x k) of weighted influence values (R
    ``onestage``/``onestrat``). ``present`` marks the strata counted by the "average" lonely-PSU policy: one mask
    for all columns (H,), one per column (H x k), or None for all strata."""
    T = np.asarray(totals, dtype=np.float64)
    if T.ndim == 1:
        T = T[:, None]
    scale, centre, dropped = design._variance_terms
    means = _stratum_sums(design, T) / np.maximum(design.n_psu, 1)[:, None]
    Tc = T - means[design.psu_stratum] if centre.all() else T - centre[:, None] * means[design.psu_stratum]
    if diagonal:
        v = (Tc**2 * scale[:, None]).sum(axis=0)
    else:
        weighted = Tc * np.sqrt(scale)[:, None]
        v = weighted.T @ weighted
    if design.lonely_psu == "average" and dropped.any():
        counted = np.ones(design.n_strata, dtype=bool) if present is None else np.asarray(present, dtype=bool)
        if counted.ndim == 1:
            counted = np.repeat(counted[:, None], T.shape[1], axis=1)
        nstrat = counted.sum(axis=0)
        nok = (counted & ~dropped[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(nok > 0, nstrat / nok, np.nan)
        v = v * factor if diagonal else v * np.sqrt(np.outer(factor, factor))
    return v


def calibration_residual(design: Design, z: np.ndarray) -> np.ndarray:
    """Replace weighted influence values ``z`` (n x k) by their calibration residuals, step by step (R
    ``svyrecvar``'s postStrata loop): post-stratification, raking backfit, or GREG projection."""
    z = np.array(z, dtype=np.float64, copy=True)
    if z.ndim == 1:
        z = z[:, None]
    for step in design.calibration:
        if isinstance(step, PostStratification):
            psw = step.weights.copy()
            oldw = step.old_weights
            psw[(psw == 0) & (oldw == 0)] = 1.0
            ratio = np.divide(oldw, psw, out=np.zeros_like(psw), where=psw != 0)
            denom = np.bincount(step.codes, weights=oldw, minlength=step.n_cells)
            for j in range(z.shape[1]):
                num = np.bincount(step.codes, weights=z[:, j] * ratio, minlength=step.n_cells)
                means = np.divide(num, denom, out=np.zeros_like(num), where=denom != 0)
                z[:, j] -= means[step.codes] * psw
        elif isinstance(step, Raking):
            w = step.weights
            safe = np.where(w != 0, w, 1.0)
            y = z / safe[:, None]
            sums = np.stack(
                [np.bincount(step.cell, weights=y[:, j], minlength=step.n_cells) for j in range(y.shape[1])], axis=1
            )
            effects = _backfit(step, sums)
            per_cell = sum(effects[m][step.cell_margins[m]] for m in range(len(step.levels)))
            z = (y - per_cell[step.cell]) * w[:, None]
        elif isinstance(step, GregCalibration):
            c = step.scale
            y = np.divide(z, c[:, None], out=np.zeros_like(z), where=c[:, None] != 0)
            y -= step.basis @ (step.basis.T @ y)
            z = y * c[:, None]
    return z


def _backfit(step: Raking, cell_sums: np.ndarray) -> list[np.ndarray]:
    """R's raking backfit on aggregates: margin effects ``a_m`` after the sweeps, from the per-cell sums of y."""
    m_count = len(step.levels)
    sums = []
    for m in range(m_count):
        s = np.zeros((step.levels[m], cell_sums.shape[1]))
        for j in range(cell_sums.shape[1]):
            s[:, j] = np.bincount(step.cell_margins[m], weights=cell_sums[:, j], minlength=step.levels[m])
        sums.append(s)
    counts = [step.pair_counts[(m, m)][:, None] for m in range(m_count)]
    effects = [np.zeros_like(s) for s in sums]
    for _ in range(RAKING_BACKFIT_SWEEPS):
        for a in range(m_count):
            fitted = counts[a] * effects[a]
            for b in range(m_count):
                if b != a:
                    fitted = fitted + step.pair_counts[(a, b)] @ effects[b]
            effects[a] = effects[a] + np.divide(
                sums[a] - fitted, counts[a], out=np.zeros_like(fitted), where=counts[a] > 0
            )
    return effects


def coded_correction(design: Design, codes: np.ndarray, n_codes: int, M: np.ndarray) -> np.ndarray | None:
    """The calibration correction to subtract from PSU totals of ``w u`` when ``u`` is a function of one code per
    row, ``u_i = M[codes_i]`` (0 where ``codes_i < 0``): (G x k), computed from aggregates only.

    Returns None without calibration; raises :class:`NotImplementedError` for calibrations that cannot be
    aggregated (several steps, or a GREG calibration), where :func:`calibration_residual` must be used.
    """
    if not design.calibration:
        return None
    if len(design.calibration) > 1 or isinstance(design.calibration[0], GregCalibration):
        raise NotImplementedError
    step = design.calibration[0]
    same = design.weights is step.weights  # after trimming, R keeps the old record with new weights
    ratio = None if same else np.divide(design.weights, step.weights, out=np.zeros(design.n), where=step.weights != 0)
    cells = step.codes if isinstance(step, PostStratification) else step.cell
    if isinstance(step, PostStratification):
        base = step.old_weights if ratio is None else step.old_weights * ratio
        num = _joint_table(cells, step.n_cells, codes, n_codes, base) @ M
        den = step.denominators[:, None]
        return step.psu_weights @ np.divide(num, den, out=np.zeros_like(num), where=den != 0)
    table = _joint_table(cells, step.n_cells, codes, n_codes, ratio)
    effects = _backfit(step, table @ M)
    return sum(step.psu_margin_weights[m] @ effects[m] for m in range(len(step.levels)))


def _joint_table(cells: np.ndarray, n_cells: int, codes: np.ndarray, n_codes: int, weights) -> np.ndarray:
    """(cells x codes) counts, or sums of ``weights``, over rows with a code (>= 0)."""
    key = cells * (n_codes + 1)
    key += codes
    key += 1
    out = np.bincount(key, weights=weights, minlength=n_cells * (n_codes + 1))
    return out.reshape(n_cells, n_codes + 1)[:, 1:]


def raking_step(
    design: Design,
    cell: np.ndarray,
    n_cells: int,
    cell_margins: Sequence[np.ndarray],
    weights: np.ndarray,
    levels: Sequence[int] | None = None,
) -> Raking:
    """The variance record of a raking: joint cells (``cell`` per row, ``cell_margins`` giving each cell's
    category of every margin), the raked weights, and the count and PSU tables the aggregated backfit needs."""
    cell = np.asarray(cell, dtype=np.int64)
    cell_margins = tuple(np.asarray(m, dtype=np.int64) for m in cell_margins)
    if levels is None:
        levels = [int(m.max()) + 1 if m.size else 0 for m in cell_margins]
    levels = tuple(int(k) for k in levels)
    cell_count = np.bincount(cell, minlength=n_cells).astype(float)
    pair_counts: dict[tuple[int, int], np.ndarray] = {}
    for a in range(len(levels)):
        pair_counts[(a, a)] = np.bincount(cell_margins[a], weights=cell_count, minlength=levels[a])
        for b in range(len(levels)):
            if b != a:
                joint = np.bincount(
                    cell_margins[a] * levels[b] + cell_margins[b], weights=cell_count, minlength=levels[a] * levels[b]
                )
                pair_counts[(a, b)] = joint.reshape(levels[a], levels[b])
    G = design.n_psus
    psu_margin = []
    if G * n_cells <= 4_000_000:
        key = design.psu * n_cells
        key += cell
        psu_cell = np.bincount(key, weights=weights, minlength=G * n_cells).reshape(G, n_cells)
        for m in range(len(levels)):
            onehot = np.zeros((n_cells, levels[m]))
            onehot[np.arange(n_cells), cell_margins[m]] = 1.0
            psu_margin.append(psu_cell @ onehot)
    else:
        for m in range(len(levels)):
            key = design.psu * levels[m]
            key += cell_margins[m][cell]
            psu_margin.append(np.bincount(key, weights=weights, minlength=G * levels[m]).reshape(G, levels[m]))
    return Raking(
        cell=cell,
        n_cells=int(n_cells),
        cell_margins=cell_margins,
        levels=levels,
        weights=weights,
        pair_counts=pair_counts,
        psu_margin_weights=tuple(psu_margin),
    )


def poststratification_step(
    design: Design, codes: np.ndarray, n_cells: int, old_weights: np.ndarray, weights: np.ndarray
) -> PostStratification:
    """The variance record of a post-stratification."""
    codes = np.asarray(codes, dtype=np.int64)
    G = design.n_psus
    psw = np.where((weights == 0) & (old_weights == 0), 1.0, weights)  # R: psw[zeroes] = 1
    psu_weights = np.bincount(design.psu * n_cells + codes, weights=psw, minlength=G * n_cells).reshape(G, n_cells)
    return PostStratification(
        codes=codes,
        n_cells=int(n_cells),
        old_weights=old_weights,
        weights=weights,
        psu_weights=psu_weights,
        denominators=np.bincount(codes, weights=old_weights, minlength=n_cells),
    )


def calibration_record(design: Design) -> tuple[dict[str, np.ndarray], list[dict]]:
    """What restores a design's calibration steps without fitting them again: per-row arrays (named
    ``s{step}_{part}``, one value per row of the design) and, per step, its kind and its small per-cell parts.
    See :func:`restore_calibration`."""
    columns: dict[str, np.ndarray] = {}
    steps: list[dict] = []
    for i, step in enumerate(design.calibration):
        prefix = f"s{i}_"
        if isinstance(step, Raking):
            columns.update({prefix + "cell": step.cell, prefix + "weight": step.weights})
            steps.append(
                {
                    "kind": "rake",
                    "n_cells": step.n_cells,
                    "levels": list(step.levels),
                    "cell_margins": [m.tolist() for m in step.cell_margins],
                }
            )
        elif isinstance(step, PostStratification):
            columns.update(
                {prefix + "cell": step.codes, prefix + "old_weight": step.old_weights, prefix + "weight": step.weights}
            )
            steps.append({"kind": "poststratify", "n_cells": step.n_cells})
        else:
            columns[prefix + "scale"] = step.scale
            columns.update({f"{prefix}basis{j}": step.basis[:, j] for j in range(step.basis.shape[1])})
            steps.append({"kind": "calibrate", "rank": int(step.basis.shape[1])})
    return columns, steps


def restore_calibration(design: Design, columns, steps: list[dict], weights: np.ndarray) -> Design:
    """``design`` (uncalibrated, on the same rows) with the calibration steps of a :func:`calibration_record` and
    the final analysis ``weights`` (which differ from the last step's after trimming, as in R)."""
    out = design
    for i, step in enumerate(steps):
        prefix = f"s{i}_"
        if step["kind"] == "rake":
            record = raking_step(
                design,
                np.asarray(columns[prefix + "cell"], dtype=np.int64),
                step["n_cells"],
                [np.asarray(m, dtype=np.int64) for m in step["cell_margins"]],
                np.ascontiguousarray(columns[prefix + "weight"], dtype=np.float64),
                step["levels"],
            )
        elif step["kind"] == "poststratify":
            record = poststratification_step(
                design,
                np.asarray(columns[prefix + "cell"], dtype=np.int64),
                step["n_cells"],
                np.ascontiguousarray(columns[prefix + "old_weight"], dtype=np.float64),
                np.ascontiguousarray(columns[prefix + "weight"], dtype=np.float64),
            )
        else:
            basis = np.column_stack(
                [np.asarray(columns[f"{prefix}basis{j}"], dtype=float) for j in range(step["rank"])]
            )
            record = GregCalibration(basis=basis, scale=np.asarray(columns[prefix + "scale"], dtype=float))
        out = out.with_weights(getattr(record, "weights", out.weights), step=record)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    return out if np.array_equal(weights, out.weights) else out.with_weights(weights)


def vcov(design: Design, z: np.ndarray, domain: np.ndarray | None = None) -> np.ndarray:
    """Taylor-linearisation covariance of estimates whose weighted influence values are the columns of ``z``
    (``z_i = w_i u_i``, zero outside a domain): calibration residuals, PSU totals, stratified sum of squares."""
    z = calibration_residual(design, z) if design.calibration else np.asarray(z, dtype=np.float64)
    return vcov_psu(design, psu_totals(design, z), strata_present(design, domain))


def replicate_vcov(design: Design, replicate_estimates: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Replicate covariance (R ``svrVar``): ``scale * sum_r rscale_r (theta_r - centre)(theta_r - centre)'`` with
    the centre the mean of the replicates (or the full-sample estimate when ``mse``)."""
    reps = design.replicates
    if reps is None:
        raise DesignError("the design has no replicate weights")
    thetas = np.asarray(replicate_estimates, dtype=float)
    if thetas.ndim == 1:
        thetas = thetas[:, None]
    centre = np.asarray(estimate, dtype=float) if reps.mse else thetas[reps.rscales > 0].mean(axis=0)
    dev = (thetas - centre) * np.sqrt(reps.rscales)[:, None]
    return (dev.T @ dev) * reps.scale


def kish_deff(weights: np.ndarray) -> float:
    """Kish's design effect of weighting, ``n sum(w^2) / sum(w)^2 = 1 + CV^2`` (over positive weights)."""
    w = np.asarray(weights, dtype=float)
    w = w[w > 0]
    return float(w.shape[0] * np.dot(w, w) / w.sum() ** 2)


def kish_neff(weights: np.ndarray) -> float:
    """Kish's effective sample size of weights, ``sum(w)^2 / sum(w^2)``."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.dot(w, w))
