"""Design-based estimates over a :class:`~survey_audit.design.Design`: proportions, means, ratios and totals with
Taylor-linearised (or replicate) standard errors, design effects, confidence intervals for proportions, and
weighted tables. Every function is pure (no state, no globals); the estimators return tidy pandas frames.

Conventions (each matches R's survey package unless said otherwise):

* **Kernels and tidy frames.** :func:`proportions` (every category of a variable, by groups, in a domain) and
  :func:`multiselect_proportions` return tidy frames; :func:`proportion_se` is the bare kernel (estimates and
  SEs only). Categorical estimates take one pass of weighted sums by PSU x cell code and work on PSU totals from
  there.
* **Proportions and means** are ratio estimators ``sum(w y)/sum(w)`` with influence values
  ``u = (y - estimate)/sum(w)`` (R ``svymean``). **Domains** (a ``domain`` expression, the groups of ``by``, and
  rows with a valid answer) keep the whole design: influence values are zero outside the domain, so every PSU
  stays in the variance (R ``svyby``/``subset``). ``base_n`` is the number of rows in the domain with a valid
  answer; ``n`` the number of those in the category.
* **Degrees of freedom** follow ``df`` (see :mod:`survey_audit.design`): ``"domain"`` (R, the default) or
  ``"design"`` (Stata/samplics).
* **Design effect** (R ``deff=TRUE``): the design variance over the variance of simple random sampling without
  replacement of ``n`` from ``N = sum(w)``: ``svyvar * (N - n)/(N n)``, ``svyvar = n/(n-1) * weighted variance``.
  ``deff="wr"`` is R's ``deff="replace"`` (with replacement, ``svyvar/n``). When ``N <= n`` (e.g. unit weights)
  the without-replacement variance is zero and the design effect is reported as NaN (R gives Inf or NA).
* **Confidence intervals for proportions** (:data:`CI_METHODS`), all with ``t`` quantiles on the design df:

  - ``kg`` (default): Korn–Graubard, R ``svyciprop(method="beta")``: ``n_eff = p(1-p)/var``, multiplied by
    ``(t_{a/2, n-1}/t_{a/2, df})^2``, then Clopper–Pearson with the non-integer count ``x = n_eff p``.
  - ``kg_nchs``: the NCHS variant (Parker et al. 2017): the same, with the df-adjusted ``n_eff`` truncated at
    the sample size ``n``.
  - ``logit``: R ``svyciprop(method="logit")``; for Taylor designs R's ``svyglm`` intercept-only fit equals the
    closed form of ``xlogit`` (to R's iteration tolerance, about 1e-9), so the closed form is used. For replicate
    designs the standard error of ``logit(p)`` comes from the replicates, as ``svyglm`` does.
  - ``xlogit``: R ``svyciprop(method="xlogit")``: ``expit(logit(p) +/- t * se/(p(1-p)))``.
  - ``wilson``: the survey Wilson interval of R 4.5 (unadjusted ``n_eff = p(1-p)/var``, ``t`` on the design df).
  - ``wald``: R ``svyciprop(method="mean")``: ``p +/- t se`` (may leave [0, 1]).

* **0% and 100% cells** (R returns NaN or a degenerate interval): the NCHS rule, whatever the method:
  ``n_eff = n`` and the exact Clopper–Pearson interval, which is one-sided: ``[0, qbeta(1 - a/2, 1, n)]`` for
  ``p = 0`` and ``[qbeta(a/2, n, 1), 1]`` for ``p = 1``; the standard error is the design one, 0. ``ci_method`` is
  ``"exact_boundary"`` on those rows. A proportion with zero variance strictly inside (0, 1) (e.g. the variable
  calibrated on) gets the point interval ``[p, p]``. With fewer than 1 degree of freedom no design-based interval
  exists: the bounds are NaN and ``ci_method`` is ``"none_df<1"``. An empty base gives a NaN estimate
  (``ci_method`` ``"empty_base"``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DesignError
from .design import (
    DF_CONVENTIONS,
    Design,
    calibration_residual,
    code_sums,
    code_type,
    coded_correction,
    domain_mask,
    factor_codes,
    psu_totals,
    replicate_vcov,
    strata_present,
    vcov_psu,
)
from .design import degf as design_degf
from .distributions import beta_ppf, norm_ppf, t_ppf

CI_METHODS = ("kg", "kg_nchs", "logit", "xlogit", "wilson", "wald")
DEFF_TYPES = ("wor", "wr")

PROPORTION_COLUMNS = [
    "variable",
    "by",
    "by_value",
    "category",
    "n",
    "base_n",
    "weighted_n",
    "weighted_base",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "level",
    "deff",
    "n_eff",
    "df",
]


# --------------------------------------------------------------------------------------------------------------
# Inputs.
# --------------------------------------------------------------------------------------------------------------


def _values(design: Design, spec, role: str) -> tuple[pd.Series, str]:
    """A variable given by name (a column of the design's data) or as values (one per row)."""
    if isinstance(spec, str):
        return design.column(spec), spec
    values = spec if isinstance(spec, pd.Series) else pd.Series(np.asarray(spec))
    if len(values) != design.n:
        raise DesignError(f"the {role} has {len(values)} values", expected=f"{design.n}, one per row of the design")
    name = str(values.name) if isinstance(spec, pd.Series) and spec.name is not None else role
    return values.reset_index(drop=True), name


def _group_codes(design: Design, by):
    """Codes of the by-variable (all zero without one), its labels and name."""
    if by is None:
        return None, [None], ""
    values, name = _values(design, by, "by-variable")
    codes = factor_codes(values)
    return codes, codes.labels, name


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise DesignError(f"unknown {what}", value=value, expected="one of " + ", ".join(allowed))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise DesignError("the confidence level must be between 0 and 1", value=level, expected="e.g. 0.95")


# --------------------------------------------------------------------------------------------------------------
# Confidence intervals for proportions.
# --------------------------------------------------------------------------------------------------------------


def proportion_ci(
    p,
    se,
    n,
    df,
    *,
    method: str = "kg",
    level: float = 0.95,
    se_logit=None,
) -> pd.DataFrame:
    """Confidence intervals for proportions ``p`` with design standard errors ``se``, sample sizes ``n`` (rows in
    the domain) and degrees of freedom ``df`` (arrays or scalars): columns ``ci_low``, ``ci_high``, ``n_eff``,
    ``ci_method``. ``se_logit`` optionally gives the standard error of ``logit(p)`` (replicate designs).
    See the module docstring for the methods and the rule for 0% and 100%."""
    return pd.DataFrame(_proportion_ci(p, se, n, df, method=method, level=level, se_logit=se_logit))


def _proportion_ci(p, se, n, df, *, method: str = "kg", level: float = 0.95, se_logit=None) -> dict:
    """:func:`proportion_ci` as a dict of arrays. The interval formulas run on every row and the rows they do not
    apply to (see the module docstring) are overwritten after, so the common case, where every row has an interval,
    costs no masking."""
    _check_choice(method, CI_METHODS, "CI method")
    _check_level(level)
    p, se, n, df = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (p, se, n, df))
    if not p.shape == se.shape == n.shape == df.shape:
        p, se, n, df = np.broadcast_arrays(p, se, n, df)
    alpha = 1.0 - level
    var = se**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n_eff = p * (1 - p) / var
        if method in ("kg", "kg_nchs"):
            ratio = t_ppf(alpha / 2, n - 1) / t_ppf(alpha / 2, df)
            n_adj = n_eff * ratio**2
            if method == "kg_nchs":
                n_adj = np.minimum(n_adj, n)
            x = n_adj * p
            low = beta_ppf(alpha / 2, x, n_adj - x + 1)
            high = beta_ppf(1 - alpha / 2, x + 1, n_adj - x)
        else:
            q = t_ppf(1 - alpha / 2, df)
            if method in ("logit", "xlogit"):
                eta = np.log(p / (1 - p))
                s_eta = se / (p * (1 - p))
                if method == "logit" and se_logit is not None:
                    s_eta = np.broadcast_to(np.asarray(se_logit, dtype=float), p.shape)
                low, high = _expit(eta - q * s_eta), _expit(eta + q * s_eta)
            elif method == "wilson":
                centre = p + q**2 / (2 * n_eff)
                half = q * np.sqrt(p * (1 - p) / n_eff + q**2 / (4 * n_eff**2))
                denom = 1 + q**2 / n_eff
                low, high = (centre - half) / denom, (centre + half) / denom
            else:  # wald
                low, high = p - q * se, p + q * se
        used = np.full(p.shape, method, dtype=object)
        ok = (p > 0) & (p < 1) & (df >= 1) & (var > 0)  # False for NaN
        if not ok.all():
            low, high = np.array(low, dtype=float), np.array(high, dtype=float)
            empty = ~np.isfinite(p)
            boundary = ~empty & ((p <= 0) | (p >= 1))
            no_df = ~empty & ~boundary & ~(df >= 1)
            flat = ~empty & ~boundary & ~no_df & (var == 0)
            low[~ok], high[~ok] = np.nan, np.nan
            # zero variance inside (0, 1): the point interval
            low[flat], high[flat] = p[flat], p[flat]
            # 0% and 100%: NCHS rule, n_eff = n, exact one-sided Clopper-Pearson
            nb = np.maximum(n[boundary], 1)
            zero, one = p[boundary] <= 0, p[boundary] >= 1
            low[boundary] = np.where(zero, 0.0, beta_ppf(alpha / 2, nb, 1))
            high[boundary] = np.where(one, 1.0, beta_ppf(1 - alpha / 2, 1, nb))
            n_eff[boundary] = n[boundary]
            used[boundary] = "exact_boundary"
            used[no_df] = "none_df<1"
            used[empty] = "empty_base"
    return {"ci_low": low, "ci_high": high, "n_eff": n_eff, "ci_method": used}


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------------------------------
# The kernel: ratios of the cells of one integer code.
# --------------------------------------------------------------------------------------------------------------


class _CellStats:
    """Per group g and category c (``cell = g*K + c``): weighted totals and estimates, variances (or the full
    covariance), unweighted counts, rows with non-zero weight, df, and (replicates) SEs of logit(p)."""

    __slots__ = ("est", "tot", "W", "var", "counts", "base_n", "nobs", "dfs", "se_logit")


def _cell_stats(
    design: Design,
    cell: np.ndarray,
    n_groups: int,
    K: int,
    *,
    complete: bool,
    df: str = "domain",
    full: bool = False,
    kind: str = "mean",
    counts_needed: bool = True,
) -> _CellStats:
    """Ratio estimates ``sum(w [cell = (g, c)]) / sum(w [group = g])`` (``kind="mean"``) or weighted totals
    (``kind="total"``) for every cell of a code, with their design variances, in one pass over the rows when the
    design allows it (Taylor, with no calibration or a single raking or post-stratification).

    ``cell`` is ``g*K + c`` for rows in group g with category c, and -1 for rows outside every base (``complete``
    says there are none). ``counts_needed=False`` lets a complete code with positive weights take its counts'
    presence from the weighted table (the counts are then 1 for a present cell)."""
    C = n_groups * K
    G = design.n_psus
    out = _CellStats()
    w = design.weights
    binary = complete and C == 2 and kind == "mean"
    if binary and not full and design.replicates is None and not design.calibration:
        # The commonest case, a yes/no proportion of the whole sample: one pass of weighted sums by PSU.
        ones = int(np.count_nonzero(cell))
        t1, W, v = _binary_mean(design, cell)
        p1 = t1 / W
        out.est, out.tot, out.W = np.array([[1 - p1, p1]]), np.array([[W - t1, t1]]), np.array([W])
        out.var = np.array([[v, v]])
        out.counts = np.array([[design.n - ones, ones]], dtype=float)
        out.base_n = np.array([float(design.n)])
        out.nobs = np.array([float(np.count_nonzero(w))]) if design.has_zero_weights else out.base_n
        out.dfs = np.array([float(design.degf)])
        out.se_logit = None
        return out
    lazy_counts = not counts_needed and complete and not design.has_zero_weights and design.replicates is None
    if binary:
        ones = int(np.count_nonzero(cell))
        counts = np.array([design.n - ones, ones], dtype=float)
    elif lazy_counts:
        counts = None
    else:
        counts = code_sums(cell, C + 1)[:C].astype(float)  # rows outside every base (-1) land in the last place
    if counts is not None:
        out.counts = counts.reshape(n_groups, K)
        out.base_n = out.counts.sum(axis=1)
    aggregate = design.replicates is None and (
        not design.calibration
        or (len(design.calibration) == 1 and type(design.calibration[0]).__name__ in ("Raking", "PostStratification"))
    )
    if aggregate or design.replicates is None:
        # PSU x cell weighted counts (also gives each group's PSUs with non-zero weight, R's ``inset``).
        if binary:
            A = np.empty((G, 2))
            A[:, 1] = code_sums(design.psu, G, w * cell)
            A[:, 0] = design.psu_weight_totals - A[:, 1]
        elif complete:
            key = design.psu * C
            key += cell
            A = code_sums(key, G * C, w).reshape(G, C)
        else:
            key = design.psu * (C + 1)
            key += cell
            key += 1
            A = code_sums(key, G * (C + 1), w).reshape(G, C + 1)[:, 1:]
        A3 = A.reshape(G, n_groups, K)
        psu_base = A3.sum(axis=2)
        psu_has = psu_base > 0
        if counts is None:  # every row is in the base and weighs more than zero
            out.counts = (A.sum(axis=0) > 0).astype(float).reshape(n_groups, K)
            out.base_n = np.full(n_groups, float(design.n))
    if design.has_zero_weights:
        inside = cell >= 0
        inside &= w != 0
        nobs = np.bincount(cell[inside] // K, minlength=n_groups).astype(float)
    else:
        nobs = out.base_n
    out.nobs = nobs
    # Degrees of freedom and the strata present in each group's base.
    present = None
    whole = complete and n_groups == 1
    if design.replicates is not None:
        if df == "design" or whole:
            out.dfs = np.full(n_groups, float(design.degf))
        else:
            out.dfs = np.array([design_degf(design, (cell // K) == g) for g in range(n_groups)], dtype=float)
    elif whole:
        out.dfs = np.full(n_groups, float(design.degf))
    else:
        strata_has = np.stack(
            [
                np.bincount(design.psu_stratum, weights=psu_has[:, g], minlength=design.n_strata) > 0
                for g in range(n_groups)
            ],
            axis=1,
        )
        if df == "design":
            out.dfs = np.full(n_groups, float(design.degf))
        else:
            out.dfs = (psu_has.sum(axis=0) - strata_has.sum(axis=0)).astype(float)
        present = np.repeat(strata_has, K, axis=1)
    out.se_logit = None
    if aggregate:
        tot = A3.sum(axis=0)
        if kind == "total":
            out.tot, out.est, out.W = tot, tot, psu_base.sum(axis=0)
            T = A.copy()
            M = np.eye(C)
        else:
            W = psu_base.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                est = tot / W[:, None]
                T = ((A3 - est[None] * psu_base[:, :, None]) / W[None, :, None]).reshape(G, C)
            T = np.where(np.isfinite(T), T, 0.0)
            out.tot, out.est, out.W = tot, est, W
            M = None
        if design.calibration:
            if M is None:
                M = np.zeros((C, C))
                for g in range(n_groups):
                    if W[g] > 0:
                        block = slice(g * K, (g + 1) * K)
                        M[block, block] = (np.eye(K) - out.est[g][None, :]) / W[g]
            T = T - coded_correction(design, cell, C, M)
        v = vcov_psu(design, T, present, diagonal=not full)
        out.var = v if full else v.reshape(n_groups, K)
        return out
    # Row by row: replicate designs, or calibrations that cannot be aggregated.
    out.est, out.tot, out.W = np.empty((n_groups, K)), np.empty((n_groups, K)), np.empty(n_groups)
    out.var = np.empty((C, C)) if full else np.empty((n_groups, K))
    if design.replicates is not None and kind == "mean":
        out.se_logit = np.full((n_groups, K), np.nan)
    for g in range(n_groups):
        in_g = (cell // K == g) & (cell >= 0)
        Y = np.zeros((design.n, K))
        idx = np.flatnonzero(in_g)
        Y[idx, cell[idx] - g * K] = 1.0
        pres = None if present is None else present[:, g * K]
        e, t, x, v, thetas = _ratio_rows(design, Y, in_g, pres, full=full, kind=kind)
        out.est[g], out.tot[g], out.W[g] = e, t, x
        if full:
            out.var[g * K : (g + 1) * K, g * K : (g + 1) * K] = v
        else:
            out.var[g] = v
        if out.se_logit is not None:
            out.se_logit[g] = _replicate_logit_se(design, thetas, e)
    return out


def _binary_mean(design: Design, cell: np.ndarray) -> tuple[float, float, float]:
    """The weighted total of a 0/1 code over the whole sample, the total weight, and the variance of their ratio,
    from one pass of weighted sums by PSU and code (``2 * psu + code``): each PSU's weight total is the sum of its
    two (one pass over the rows, where the totals and the 1s' sums on their own would take two)."""
    G = design.n_psus
    key = design.psu * 2
    key += cell
    sums = code_sums(key, 2 * G, design.weights).reshape(G, 2)
    yes = sums[:, 1]
    totals = sums[:, 0] + yes
    W = float(totals.sum())
    t1 = float(yes.sum())
    v = vcov_psu(design, ((yes - t1 / W * totals) / W)[:, None], None, diagonal=True)[0]
    return t1, W, float(v)


def _ratio_rows(
    design: Design,
    Y: np.ndarray,
    base: np.ndarray,
    present: np.ndarray | None,
    *,
    full: bool = False,
    den: np.ndarray | None = None,
    kind: str = "mean",
):
    """Ratios ``sum(w D y_j)/sum(w D x)`` (x = 1 unless ``den``; totals ``sum(w D y_j)`` for ``kind="total"``)
    for the columns of ``Y`` within one base mask ``D``, from row-level influence values (calibrated Taylor
    designs) or replicates. Returns (estimates, totals, denominator, variances or covariance, replicates)."""
    w = design.weights
    wd = np.where(base, w, 0.0)
    Yb = np.where(base[:, None], Y, 0.0)
    x = np.ones(design.n) if den is None else np.where(base, den, 0.0)
    X = float(wd @ x)
    tot = wd @ Yb
    if kind == "total":
        est = tot
    else:
        est = tot / X if X != 0 else np.full(Y.shape[1], np.nan)
    if design.replicates is not None:
        reps = design.replicates.weights
        rep_base = np.where(base[:, None], reps, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            thetas = rep_base.T @ Yb
            if kind != "total":
                thetas = thetas / (rep_base.T @ x)[:, None]
        v = replicate_vcov(design, thetas, est)
        return est, tot, X, (v if full else np.diag(v)), thetas
    if kind == "total":
        z = wd[:, None] * Yb
    elif X == 0:
        nan = np.full((Y.shape[1], Y.shape[1]), np.nan)
        return est, tot, X, (nan if full else np.diag(nan)), None
    else:
        z = _influence(Yb, x, est, wd, X, row_major=bool(design.calibration))
    if design.calibration:
        z = calibration_residual(design, z)
    return est, tot, X, vcov_psu(design, psu_totals(design, z), present, diagonal=not full), None


def _influence(Yb: np.ndarray, x: np.ndarray, est: np.ndarray, wd: np.ndarray, X: float, *, row_major: bool):
    """The weighted influence values of ratios, ``wd (Yb - x est) / X``, computed in ``Yb``'s place (no other n x k
    buffer) by the same operations in the same order, so the same bits. ``row_major``: laid out by rows, as the
    calibration residual's products have always summed them (the PSU totals do not depend on the layout)."""
    z = Yb
    for j in range(z.shape[1]):
        z[:, j] -= x * est[j]
    z *= wd[:, None]
    z /= X
    return np.ascontiguousarray(z) if row_major else z


def _deff(var, p_var, n_obs, N, kind: str):
    """Design effect: variance over the SRS variance (``p_var`` = weighted population variance, no n/(n-1))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        svyvar = p_var * n_obs / (n_obs - 1)
        if kind == "wr":
            vsrs = svyvar / n_obs
        else:
            vsrs = np.where(N > n_obs, svyvar * (N - n_obs) / (N * n_obs), np.nan)
        out = var / vsrs
    return np.where(np.isfinite(out), out, np.nan)


def _replicate_logit_se(design: Design, thetas: np.ndarray, est: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        logits = np.log(thetas / (1 - thetas))
        centre = np.log(est / (1 - est))
    return np.sqrt(np.diag(replicate_vcov(design, logits, centre)))


# --------------------------------------------------------------------------------------------------------------
# Proportions.
# --------------------------------------------------------------------------------------------------------------


def _cells(design: Design, codes, K: int, by, domain, valid=None):
    """Cell codes ``g*K + c`` (-1 outside every base), whether no row is outside, group labels and by-name."""
    gcodes, group_labels, by_name = _group_codes(design, by)
    mask = domain_mask(design, domain)
    complete = codes.complete and gcodes is None and mask is None and valid is None
    if complete:
        return codes.codes, True, group_labels, by_name
    ok = codes.codes >= 0
    if valid is not None:
        ok &= valid
    if mask is not None:
        ok &= mask
    if gcodes is None:
        cell = np.where(ok, codes.codes, -1)
    else:
        ok &= gcodes.codes >= 0
        cell = _joint_codes(gcodes.codes, codes.codes, K, len(group_labels) * K, ok)
    return cell, False, group_labels, by_name


def _joint_codes(outer: np.ndarray, inner: np.ndarray, n_inner: int, size: int, ok: np.ndarray | None = None):
    """The codes ``outer * n_inner + inner`` of two variables (``size`` of them), -1 where ``ok`` is False, built
    in one array of the narrowest integer type that holds them."""
    cell = outer.astype(code_type(size))
    cell *= n_inner
    cell += inner
    if ok is not None:
        cell[~ok] = -1
    return cell


def proportions(
    design: Design,
    variable,
    *,
    domain=None,
    by=None,
    categories: Sequence | None = None,
    level: float = 0.95,
    ci: str = "kg",
    df: str = "domain",
    deff: str = "wor",
) -> pd.DataFrame:
    """Every category of a categorical variable in one pass: weighted proportion, Taylor (or replicate) SE, CI,
    design effect, effective n and df, for the whole sample or each group of ``by``, within ``domain``.

    ``variable`` and ``by`` are column names of the design's data or arrays; ``domain`` a pandas query, a
    boolean mask or None. The base is the rows of the domain (and group) with a non-missing ``variable``.
    Categories are ``categories`` if given, else a categorical's categories (empty ones kept), ``False``/``True``
    for booleans, or the sorted distinct values. Returns one row per (group, category) with the columns of
    :data:`PROPORTION_COLUMNS`.
    """
    _check_choice(ci, CI_METHODS, "CI method")
    _check_choice(df, DF_CONVENTIONS, "df convention")
    _check_choice(deff, DEFF_TYPES, "design-effect type")
    _check_level(level)
    values, name = _values(design, variable, "variable")
    codes = factor_codes(values, categories)
    K = len(codes.labels)
    cell, complete, group_labels, by_name = _cells(design, codes, K, by, domain)
    nG = len(group_labels)
    st = _cell_stats(design, cell, nG, K, complete=complete, df=df)
    return _proportion_frame(st, codes.labels, group_labels, name, by_name, level, ci, deff)


def proportion_se(design: Design, variable, *, domain=None, categories: Sequence | None = None):
    """The kernel of :func:`proportions` without intervals or a frame: the labels, estimates and standard errors
    of every category of ``variable`` (whole sample, or within ``domain``)."""
    values, _ = _values(design, variable, "variable")
    codes = factor_codes(values, categories)
    K = len(codes.labels)
    cell, complete, _, _ = _cells(design, codes, K, None, domain)
    if complete and K == 2 and design.replicates is None and not design.calibration:
        t1, W, v = _binary_mean(design, cell)
        p, se = t1 / W, float(np.sqrt(max(v, 0.0)))
        return codes.labels, np.array([1 - p, p]), np.array([se, se])
    st = _cell_stats(design, cell, 1, K, complete=complete)
    return codes.labels, st.est[0], np.sqrt(np.maximum(st.var[0], 0.0))


def _proportion_frame(st: _CellStats, labels, group_labels, name, by_name, level, ci, deff) -> pd.DataFrame:
    nG, K = st.est.shape
    base_n = st.base_n
    est, var = st.est.copy(), np.maximum(st.var, 0.0)  # rounding can leave -1e-20
    empty = ~(base_n > 0) | ~(st.W > 0)
    if empty.any():
        est[empty] = np.nan
        var[empty] = np.nan
    se = np.sqrt(var)
    n_rep = np.repeat(base_n, K)
    df_rep = np.repeat(st.dfs, K)
    cis = _proportion_ci(
        est.ravel(),
        se.ravel(),
        n_rep,
        df_rep,
        method=ci,
        level=level,
        se_logit=None if st.se_logit is None else st.se_logit.ravel(),
    )
    rows = nG * K
    columns = {
        "variable": _filled(np.empty(rows, dtype=object), name),
        "by": _filled(np.empty(rows, dtype=object), by_name),
        "by_value": np.repeat(np.asarray(group_labels if by_name else [""] * nG, dtype=object), K),
        "category": np.tile(np.asarray(labels, dtype=object), nG),
        "n": st.counts.ravel().astype(np.int64),
        "base_n": n_rep.astype(np.int64),
        "weighted_n": st.tot.ravel(),
        "weighted_base": np.repeat(st.W, K),
        "estimate": est.ravel(),
        "se": se.ravel(),
        "ci_low": cis["ci_low"],
        "ci_high": cis["ci_high"],
        "ci_method": cis["ci_method"],
        "level": np.full(rows, float(level)),
        "deff": _deff(var, est * (1 - est), st.nobs[:, None], st.W[:, None], deff).ravel(),
        "n_eff": cis["n_eff"],
        "df": df_rep,
    }
    return _frame(columns)


def _filled(array: np.ndarray, value) -> np.ndarray:
    array[:] = value
    return array


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame of mixed columns (arrays of equal length, in order), the same as the constructor makes but cheaper,
    since a call's fixed cost matters here: the columns of Python strings, which the constructor would convert one
    by one to the string type it infers, are converted in one piece and sliced."""
    rows = len(next(iter(columns.values())))
    text = [k for k, v in columns.items() if v.dtype == object and all(type(x) is str for x in v)] if rows else []
    string = _string_dtype()
    if text and string is not None:
        joined = pd.array(np.concatenate([columns[k] for k in text]), dtype=string)
        columns = dict(columns)
        for i, k in enumerate(text):
            columns[k] = joined[i * rows : (i + 1) * rows]
    return pd.DataFrame(columns, copy=False)


@functools.cache
def _string_dtype():
    """The type the frame constructor gives a column of Python strings, or None if it keeps them as objects."""
    inferred = pd.DataFrame({"a": np.array(["a"], dtype=object)}).dtypes.iloc[0]
    return None if inferred == np.dtype(object) else inferred


def multiselect_proportions(
    design: Design,
    indicators,
    *,
    valid=None,
    options: Sequence[str] | None = None,
    domain=None,
    by=None,
    level: float = 0.95,
    ci: str = "kg",
    df: str = "domain",
    deff: str = "wor",
    variable: str = "",
) -> pd.DataFrame:
    """Each option of a multi-select item: the share of respondents answering the item who chose it.

    ``indicators`` is an (n x J) 0/1 matrix (array or frame; a frame's columns name the options; a boolean array
    is used as it is, a byte per cell), ``valid`` marks who answered the item (default: rows with no missing
    indicator). Same columns as :func:`proportions`.
    """
    _check_choice(ci, CI_METHODS, "CI method")
    _check_choice(df, DF_CONVENTIONS, "df convention")
    _check_choice(deff, DEFF_TYPES, "design-effect type")
    _check_level(level)
    if isinstance(indicators, pd.DataFrame):
        if options is None:
            options = [str(c) for c in indicators.columns]
        frame = indicators.reset_index(drop=True)
        missing = frame.isna().to_numpy().any(axis=1)
        Y = frame.astype("float64").fillna(0.0).to_numpy()
    elif np.asarray(indicators).dtype == bool:  # 0/1 with nothing missing; column-major, as a frame's values are
        Y = np.asfortranarray(np.asarray(indicators).reshape(len(indicators), -1))
        missing = np.zeros(Y.shape[0], dtype=bool)
    else:
        Y = np.asarray(indicators, dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        nan = np.isnan(Y)
        missing = nan.any(axis=1)
        if missing.any():
            Y = np.where(nan, 0.0, Y)
    if Y.shape[0] != design.n:
        raise DesignError("the indicator matrix has the wrong number of rows", value=Y.shape[0], expected=f"{design.n}")
    if Y.dtype != bool and not np.all((Y == 0) | (Y == 1)):
        raise DesignError("the multi-select indicators are not 0/1", expected="0, 1 or missing in every cell")
    J = Y.shape[1]
    if options is None:
        options = [f"option{j + 1}" for j in range(J)]
    ok = ~missing if valid is None else np.asarray(valid, dtype=bool)
    # The base as a one-category code, so the kernel gives df, counts and the structure of each group.
    base = factor_codes(np.zeros(design.n, dtype=np.int8))
    cell, complete, group_labels, by_name = _cells(design, base, 1, by, domain, valid=ok)
    nG = len(group_labels)
    structure = _cell_stats(design, cell, nG, 1, complete=complete, df=df)
    row_group = cell if not complete else np.zeros(design.n, dtype=np.int64)
    est, tot, var = np.empty((nG, J)), np.empty((nG, J)), np.empty((nG, J))
    counts = np.empty((nG, J))
    se_logit = np.full((nG, J), np.nan) if design.replicates is not None else None
    for g in range(nG):
        in_g = row_group == g
        present = None if complete else np.bincount(design.stratum[in_g], minlength=design.n_strata) > 0
        e, t, _, v, thetas = _ratio_rows(design, Y, in_g, present)
        est[g], tot[g], var[g] = e, t, v
        counts[g] = Y[in_g].sum(axis=0) if Y.dtype == bool else in_g.astype(np.float64) @ Y  # exact integer sums
        if se_logit is not None:
            se_logit[g] = _replicate_logit_se(design, thetas, e)
    st = _CellStats()
    st.est, st.tot, st.var, st.counts, st.se_logit = est, tot, var, counts, se_logit
    st.W, st.base_n, st.nobs, st.dfs = structure.W, structure.base_n, structure.nobs, structure.dfs
    frame = _proportion_frame(st, options, group_labels, variable, by_name, level, ci, deff)
    return frame


# --------------------------------------------------------------------------------------------------------------
# Means, ratios and totals.
# --------------------------------------------------------------------------------------------------------------

MEAN_COLUMNS = [
    "variable",
    "by",
    "by_value",
    "n",
    "weighted_base",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "level",
    "deff",
    "df",
]


def svymean(
    design: Design,
    variables,
    *,
    domain=None,
    by=None,
    level: float = 0.95,
    df: str = "domain",
    deff: str = "wor",
    ci_df: bool = True,
) -> pd.DataFrame:
    """Weighted means (R ``svymean``/``svyby``) of one or more numeric variables, each over its non-missing rows
    in the domain: estimate, SE, design effect, Wald CI with ``t`` on the df (normal quantiles when
    ``ci_df=False``, as R's ``confint`` default)."""
    return _linear_stats(design, variables, "mean", domain=domain, by=by, level=level, df=df, deff=deff, ci_df=ci_df)


def svytotal(
    design: Design,
    variables,
    *,
    domain=None,
    by=None,
    level: float = 0.95,
    df: str = "domain",
    deff: str = "wor",
    ci_df: bool = True,
) -> pd.DataFrame:
    """Weighted totals (R ``svytotal``) with SE and design effect (SRS variance ``N^2 svyvar (N-n)/(N n)``)."""
    return _linear_stats(design, variables, "total", domain=domain, by=by, level=level, df=df, deff=deff, ci_df=ci_df)


def svyratio(
    design: Design,
    numerator,
    denominator,
    *,
    domain=None,
    by=None,
    level: float = 0.95,
    df: str = "domain",
    ci_df: bool = True,
) -> pd.DataFrame:
    """Ratio of two totals (R ``svyratio``): ``sum(w y)/sum(w x)``, influence ``(y - R x)/sum(w x)``."""
    return _linear_stats(
        design,
        numerator,
        "ratio",
        denominator=denominator,
        domain=domain,
        by=by,
        level=level,
        df=df,
        deff="wor",
        ci_df=ci_df,
    )


def _numeric(values: pd.Series, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DesignError(f"'{name}' is not numeric", column=name, expected="numbers (or missing)") from None


def _linear_stats(design, variables, kind, *, denominator=None, domain, by, level, df, deff, ci_df):
    _check_choice(df, DF_CONVENTIONS, "df convention")
    _check_choice(deff, DEFF_TYPES, "design-effect type")
    _check_level(level)
    specs = [variables] if isinstance(variables, str) or not isinstance(variables, (list, tuple)) else list(variables)
    gcodes, group_labels, by_name = _group_codes(design, by)
    groups = np.zeros(design.n, dtype=np.int64) if gcodes is None else gcodes.codes
    mask = domain_mask(design, domain)
    den = None
    if denominator is not None:
        dvals, dname = _values(design, denominator, "denominator")
        den = _numeric(dvals, dname)
    out = []
    for spec in specs:
        vals, name = _values(design, spec, "variable")
        y = _numeric(vals, name)
        ok = ~np.isnan(y) & (groups >= 0)
        if den is not None:
            ok &= ~np.isnan(den)
        if mask is not None:
            ok &= mask
        y0 = np.where(ok, y, 0.0)
        x0 = None if den is None else np.where(ok, den, 0.0)
        for g, label in enumerate(group_labels):
            base = ok & (groups == g)
            whole = mask is None and gcodes is None and bool(base.all())
            present = None if whole else strata_present(design, base)
            dfs = float(design.degf if whole else design_degf(design, base, convention=df))
            wb = np.where(base, design.weights, 0.0)
            N = float(wb.sum())
            e, t, X, v, _ = _ratio_rows(
                design, y0[:, None], base, present, den=x0, kind="total" if kind == "total" else "mean"
            )
            est, var = float(e[0]), float(v[0])
            nobs = float(np.count_nonzero(base & (design.weights != 0)))
            if kind == "ratio":
                d = np.nan
            else:
                centre = est / N if kind == "total" else est
                p_var = float(wb @ (y0 - centre) ** 2 / N) if N > 0 else np.nan
                d = float(_deff(np.array([var]), np.array([p_var]), nobs, N, deff)[0])
                if kind == "total":
                    d /= N**2
            se = float(np.sqrt(max(var, 0.0)))
            q = t_ppf(1 - (1 - level) / 2, dfs) if ci_df else norm_ppf(1 - (1 - level) / 2)
            out.append(
                {
                    "variable": name,
                    "by": by_name,
                    "by_value": label if by_name else "",
                    "n": int(base.sum()),
                    "weighted_base": N,
                    "estimate": est,
                    "se": se,
                    "ci_low": est - q * se,
                    "ci_high": est + q * se,
                    "level": level,
                    "deff": d,
                    "df": dfs,
                }
            )
    return pd.DataFrame(out, columns=MEAN_COLUMNS)


# --------------------------------------------------------------------------------------------------------------
# Tables.
# --------------------------------------------------------------------------------------------------------------

TABLE_COLUMNS = ["row", "col", "n", "weighted_n", "cell_pct", "row_pct", "col_pct"]


def svytable(design: Design, row, col=None, *, domain=None, row_categories=None, col_categories=None) -> pd.DataFrame:
    """Weighted and unweighted counts with cell, row and column percentages (R ``svytable``), one tidy row per
    cell; ``col=None`` gives a one-way table (``row_pct`` 100, ``col_pct`` = ``cell_pct``). Rows with a missing
    value in either variable are left out, as ``xtabs`` does."""
    rvals, _ = _values(design, row, "row variable")
    rc = factor_codes(rvals, row_categories)
    if col is None:
        cc = factor_codes(np.zeros(design.n, dtype=np.int8))
        cc = type(cc)(cc.codes, [""], True)
    else:
        cvals, _ = _values(design, col, "column variable")
        cc = factor_codes(cvals, col_categories)
    mask = domain_mask(design, domain)
    R, C = len(rc.labels), len(cc.labels)
    ok = None
    if not (rc.complete and cc.complete and mask is None):
        ok = (rc.codes >= 0) & (cc.codes >= 0)
        if mask is not None:
            ok &= mask
    cell = _joint_codes(rc.codes, cc.codes, C, R * C, ok)
    # Rows left out (-1) land in the last place.
    wn = code_sums(cell, R * C + 1, design.weights)[: R * C].reshape(R, C)
    n = code_sums(cell, R * C + 1)[: R * C].reshape(R, C)
    total = wn.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        cell_pct = 100 * wn / total
        row_pct = 100 * wn / wn.sum(axis=1, keepdims=True)
        col_pct = 100 * wn / wn.sum(axis=0, keepdims=True)
    columns = {
        "row": np.repeat(np.asarray(rc.labels, dtype=object), C),
        "col": np.tile(np.asarray(cc.labels, dtype=object), R),
        "n": n.ravel(),
        "weighted_n": wn.ravel(),
        "cell_pct": cell_pct.ravel(),
        "row_pct": row_pct.ravel(),
        "col_pct": col_pct.ravel(),
    }
    return _frame(columns)
