"""Tests of association behind the reports' comparisons, with multiplicity control over declared families.

Design-based tests (R's survey package semantics), each returning a tidy frame with ``statistic``, ``ndf``,
``ddf``, ``p`` and ``method`` plus what an auditor needs to recompute ``p``:

* :func:`svychisq` / :func:`association_tests`: R ``svychisq`` on an r x c table. Cell proportions ``p`` and
  their covariance ``V`` come from the design; ``X^2`` is Pearson's statistic on the table of proportions scaled
  to ``N`` rows (R's ``svytable(..., Ntotal = N)``); with ``C`` the residuals of the interaction dummies on the
  main effects and ``D = diag(p)``, ``Delta = (C' D^-1 C / N)^-1 (C' D^-1 V D^-1 C)``. ``N`` is what R counts:
  the rows of the (sub)design, missing answers included, and for a domain of a calibrated design the whole
  sample (R keeps every row of such a subset, with weight zero outside it). ``X^2`` and the trace of ``Delta``
  scale with ``N``; ``F``, ``d0`` and every p-value do not. ``n`` reports the rows in the base (both answers
  given, in the domain).

  - ``F`` (default): Rao–Scott second order, ``F = X^2/tr(Delta)`` on ``(d0, d0 * df)``,
    ``d0 = tr(Delta)^2/tr(Delta^2)``;
  - ``Chisq``: first order, ``p = P(chi2_{(r-1)(c-1)} > X^2/mean(diag Delta))``; the statistic printed is ``X^2``;
  - ``Wald``: Koch et al. (1975), residuals ``N_rc - N_r N_c / N`` of the weighted cell totals, variance by the
    delta method, ``F = W/d`` on ``(d, df)``;
  - ``adjWald``: ``F = W (df - d + 1)/(d df)`` on ``(d, df - d + 1)``.

  ``df`` is the design df under the chosen convention (R ``degf(subset(design, ...))``: PSUs minus strata of the
  (sub)design with positive weight; survey 4.1-1's ``svychisq`` counted every cluster of a calibrated subset,
  later versions call ``degf`` as here). Levels not
  observed in the base are dropped, as R does. A (sub)design with no degrees of freedom (a single PSU, or one
  per stratum) has no design-based variance to test with: the test raises a :class:`DesignError` saying so
  (R returns NaN), as does a table whose design-based variance is zero. :func:`association_statistics` is the same computation returning
  plain dicts (no frame), for callers that run many tests.
* :func:`trend_test`: a design-based test for a trend of a binary outcome over an ordered score: the slope of
  R's ``svyglm(y ~ score, family = quasibinomial)`` (or ``gaussian``: a linear-probability slope), with its
  sandwich (linearisation) standard error, Wald ``t`` on ``df - 1`` degrees of freedom (R's
  ``df.residual = degf + 1 - #coefficients``); ``direction`` is the sign of the slope. Fewer than one residual
  degree of freedom (two PSUs or fewer beyond the strata) raises a :class:`DesignError`.
* :func:`compare_waves`: a proportion in two independent samples: difference ``p2 - p1``,
  ``SE = sqrt(se1^2 + se2^2)``, ``t`` on Welch–Satterthwaite df ``(v1 + v2)^2/(v1^2/df1 + v2^2/df2)`` (or the
  smaller df, or the normal distribution).
* Unweighted sensitivity checks: :func:`pearson_unweighted` and :func:`fisher_exact_unweighted` (exact for 2 x 2
  and 2 x k tables with at most ``FISHER_MAX_TABLES`` tables of their margins, by enumeration, as R
  ``fisher.test``; beyond that R's ``simulate.p.value`` with a fixed seed, whose memory is bounded by the number
  of draws and columns, never by N). The design-based Rao–Scott test is always computed beside them.
* :func:`p_adjust`: Holm, Benjamini–Hochberg and Benjamini–Yekutieli adjusted p-values within one family (R
  ``p.adjust``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DesignError
from .design import (
    DF_CONVENTIONS,
    Design,
    calibration_residual,
    factor_codes,
    psu_totals,
    replicate_vcov,
    strata_present,
    vcov_psu,
)
from .design import degf as design_degf
from .design import domain_mask as design_domain_mask
from .distributions import chi2_sf, f_sf, t_ppf, t_sf
from .estimates import _cell_stats, _joint_codes, _values
from .models import glm_fit_sums

TEST_COLUMNS = [
    "test",
    "statistic",
    "ndf",
    "ddf",
    "p",
    "method",
    "chisq",
    "trace_delta",
    "trace_delta2",
    "d0",
    "df",
    "n",
]
CHISQ_STATISTICS = ("F", "Chisq", "Wald", "adjWald")
ADJUST_METHODS = ("holm", "bh", "by")


# --------------------------------------------------------------------------------------------------------------
# Rao–Scott and Wald tests of association.
# --------------------------------------------------------------------------------------------------------------


def _table_codes(design: Design, row, col, domain):
    """Cell codes ``r + nr*c`` over every level of the two variables (-1 outside the base), their shape, whether
    no row is outside the base, and the number of rows R scales the table of proportions by: the rows of the
    (sub)design, missing answers included (R ``nrow(model.matrix(...))``), where a subset of a calibrated design
    keeps every row (R sets their weights to zero instead of dropping them)."""
    rvals, _ = _values(design, row, "row variable")
    cvals, _ = _values(design, col, "column variable")
    rc, cc = factor_codes(rvals), factor_codes(cvals)
    nr, nc = len(rc.labels), len(cc.labels)
    mask = design_domain_mask(design, domain)
    rows = design.n if mask is None or design.calibration else int(mask.sum())
    if rc.complete and cc.complete and mask is None:
        return _joint_codes(cc.codes, rc.codes, nr, nr * nc), nr, nc, True, rows
    ok = (rc.codes >= 0) & (cc.codes >= 0)
    if mask is not None:
        ok &= mask
    return _joint_codes(cc.codes, rc.codes, nr, nr * nc, ok), nr, nc, False, rows


def _main_and_interaction(nr: int, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """R's ``model.matrix(~rows + cols)`` and the interaction columns of ``~rows * cols`` on ``expand.grid``."""
    rows = np.tile(np.arange(nr), nc)
    cols = np.repeat(np.arange(nc), nr)
    R = (rows[:, None] == np.arange(1, nr)[None, :]).astype(float)
    C = (cols[:, None] == np.arange(1, nc)[None, :]).astype(float)
    X1 = np.column_stack([np.ones(nr * nc), R, C])
    X12 = (R[:, :, None] * C[:, None, :]).reshape(nr * nc, -1)
    return X1, X12


@functools.lru_cache(maxsize=64)
def _interaction_contrasts(nr: int, nc: int) -> np.ndarray:
    """R's ``C = qr.resid(qr(X_main), X_interaction)`` for an nr x nc table (a pure function of the shape,
    memoised; the returned array is read-only)."""
    X1, X12 = _main_and_interaction(nr, nc)
    Q, _ = np.linalg.qr(X1)
    C = X12 - Q @ (Q.T @ X12)
    C.setflags(write=False)
    return C


def association_tests(
    design: Design,
    row,
    col,
    *,
    domain=None,
    df: str = "domain",
    statistics=CHISQ_STATISTICS,
) -> pd.DataFrame:
    """R ``svychisq`` statistics (F, Chisq, Wald, adjWald by default) for ``row`` x ``col`` within ``domain``,
    computed in one pass: one row per statistic with the columns of :data:`TEST_COLUMNS`."""
    rows = association_statistics(design, row, col, domain=domain, df=df, statistics=statistics)
    return pd.DataFrame({c: [r[c] for r in rows] for c in TEST_COLUMNS})


def association_statistics(
    design: Design,
    row,
    col,
    *,
    domain=None,
    df: str = "domain",
    statistics=CHISQ_STATISTICS,
) -> list[dict]:
    """The kernel of :func:`association_tests`: the same results as a list of dicts (no frame is built)."""
    if df not in DF_CONVENTIONS:
        raise DesignError("unknown df convention", value=df, expected=" or ".join(DF_CONVENTIONS))
    for s in statistics:
        if s not in CHISQ_STATISTICS:
            raise DesignError("unknown svychisq statistic", value=s, expected="one of " + ", ".join(CHISQ_STATISTICS))
    cell, nr_all, nc_all, complete, N = _table_codes(design, row, col, domain)
    need_rs = any(s in ("F", "Chisq") for s in statistics)
    need_wald = any(s in ("Wald", "adjWald") for s in statistics)
    first = _cell_stats(
        design,
        cell,
        1,
        nr_all * nc_all,
        complete=complete,
        full=True,
        df=df,
        kind="mean" if need_rs else "total",
        counts_needed=False,
    )
    n_base = int(first.base_n[0])
    nu = float(first.dfs[0])
    _require_df(nu, "a test of association", "at least two PSUs (clusters) in a stratum")
    # Keep the levels observed in the base (R: unique() of the (sub)design's values).
    seen = first.counts.reshape(nc_all, nr_all) > 0
    rseen, cseen = seen.any(axis=0), seen.any(axis=1)
    keep = np.outer(cseen, rseen).ravel()
    nr, nc = int(rseen.sum()), int(cseen.sum())
    if nr < 2 or nc < 2:
        raise DesignError(
            "a test of association needs at least two observed levels of each variable",
            value=f"{nr} x {nc} observed levels",
            expected="at least a 2 x 2 table",
        )
    out = []
    if need_rs:
        p, V = first.est.ravel()[keep], first.var[np.ix_(keep, keep)]
        table = (p * N).reshape(nc, nr).T
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = float(np.sum((table - expected) ** 2 / expected))
        Cmat = _interaction_contrasts(nr, nc)
        inv_p = np.divide(1.0, p, out=np.zeros_like(p), where=p != 0)
        CiD = Cmat * inv_p[:, None]
        denom = CiD.T @ Cmat / N
        numr = CiD.T @ V @ CiD
        delta = np.linalg.solve(denom, numr)
        tr = float(np.trace(delta))
        tr2 = float(np.trace(delta @ delta))
        if not tr2 > 0:
            raise DesignError(
                "the design-based variance of the table is zero: the Rao–Scott adjustment is not defined",
                expected="PSUs whose answers differ",
            )
        d0 = tr**2 / tr2
        common = {"chisq": x2, "trace_delta": tr, "trace_delta2": tr2, "d0": d0, "df": nu, "n": n_base}
        if "F" in statistics:
            f = x2 / tr
            out.append(
                {
                    "test": "F",
                    "statistic": f,
                    "ndf": d0,
                    "ddf": d0 * nu,
                    "p": float(f_sf(f, d0, d0 * nu)),
                    "method": "Pearson X^2: Rao & Scott second-order adjustment (F)",
                    **common,
                }
            )
        if "Chisq" in statistics:
            k = delta.shape[1]
            mean_eigen = float(np.mean(np.diag(delta)))
            out.append(
                {
                    "test": "Chisq",
                    "statistic": x2,
                    "ndf": float(k),
                    "ddf": np.inf,
                    "p": float(chi2_sf(x2 / mean_eigen, k)),
                    "method": "Pearson X^2: Rao & Scott first-order adjustment (chi-square of X^2/mean eigenvalue)",
                    **common,
                }
            )
    if need_wald:
        totals = (
            first
            if not need_rs
            else _cell_stats(design, cell, 1, nr_all * nc_all, complete=complete, full=True, df=df, kind="total")
        )
        tot, Vc = totals.tot.ravel()[keep], totals.var[np.ix_(keep, keep)]
        cells = tot.reshape(nc, nr).T  # nr x nc
        Nr, Nc, Nt = cells.sum(axis=1), cells.sum(axis=0), cells.sum()
        rows_i = np.tile(np.arange(nr), nc)
        cols_j = np.repeat(np.arange(nc), nr)
        # Jacobian of Y = N_rc - N_r N_c / N in the cells (chain rule through R's stacked totals).
        L = np.vstack(
            [
                np.eye(nr * nc),
                (rows_i[None, :] == np.arange(nr)[:, None]).astype(float),
                (cols_j[None, :] == np.arange(nc)[:, None]).astype(float),
                np.ones((1, nr * nc)),
            ]
        )
        J = np.hstack(
            [
                np.eye(nr * nc),
                -(rows_i[:, None] == np.arange(nr)[None, :]).astype(float) * (Nc[cols_j] / Nt)[:, None],
                -(cols_j[:, None] == np.arange(nc)[None, :]).astype(float) * (Nr[rows_i] / Nt)[:, None],
                (Nr[rows_i] * Nc[cols_j] / Nt**2)[:, None],
            ]
        )
        Jc = J @ L
        Y = tot - Nr[rows_i] * Nc[cols_j] / Nt
        VY = Jc @ Vc @ Jc.T
        use = np.flatnonzero((rows_i > 0) & (cols_j > 0))
        W = float(Y[use] @ np.linalg.solve(VY[np.ix_(use, use)], Y[use]))
        d = (nr - 1) * (nc - 1)
        blank = {"chisq": np.nan, "trace_delta": np.nan, "trace_delta2": np.nan, "d0": np.nan, "df": nu, "n": n_base}
        if "Wald" in statistics:
            f = W / d
            out.append(
                {
                    "test": "Wald",
                    "statistic": f,
                    "ndf": float(d),
                    "ddf": nu,
                    "p": float(f_sf(f, d, nu)),
                    "method": "Design-based Wald test of association (Koch)",
                    **blank,
                }
            )
        if "adjWald" in statistics:
            ddf = nu - d + 1
            f = W * ddf / (d * nu)
            p_adj = float(f_sf(f, d, ddf)) if ddf > 0 else np.nan
            out.append(
                {
                    "test": "adjWald",
                    "statistic": f,
                    "ndf": float(d),
                    "ddf": ddf,
                    "p": p_adj,
                    "method": "Design-based adjusted Wald test of association",
                    **blank,
                }
            )
    order = {s: i for i, s in enumerate(statistics)}
    out.sort(key=lambda r: order[r["test"]])
    return out


def _require_df(df: float, test: str, needed: str) -> None:
    """A design-based test needs at least one degree of freedom."""
    if not df >= 1:
        raise DesignError(
            f"{test} has no degrees of freedom: the (sub)design has too few PSUs beyond its strata for a"
            " design-based variance",
            value=f"df = {df:g}",
            expected=needed,
        )


def svychisq(design: Design, row, col, *, domain=None, statistic: str = "F", df: str = "domain") -> pd.DataFrame:
    """One R ``svychisq`` statistic (``F`` = Rao–Scott second order by default) as a one-row frame."""
    return association_tests(design, row, col, domain=domain, df=df, statistics=(statistic,))


# --------------------------------------------------------------------------------------------------------------
# Trend over an ordered score.
# --------------------------------------------------------------------------------------------------------------

TREND_COLUMNS = ["test", "estimate", "se", "statistic", "ndf", "ddf", "p", "direction", "method", "n", "iterations"]


def trend_test(
    design: Design,
    outcome,
    score,
    *,
    domain=None,
    by=None,
    family: str = "quasibinomial",
    df: str = "domain",
) -> pd.DataFrame:
    """Design-based test for a linear trend of a 0/1 ``outcome`` over a numeric ``score`` (e.g. ordered
    categories coded 1, 2, 3, ...): R ``svyglm(outcome ~ score, design, family = quasibinomial())``'s Wald ``t``
    for the slope (``family="gaussian"``: the linear-probability slope). One-row frame: slope (log-odds per
    score unit, or proportion per unit), SE, ``t``, ``ndf`` 1, ``ddf`` = df - 1, two-sided ``p``, direction.

    With ``by`` (a variable or values), one row per level of it, ``by_value`` the level: R ``svyby(~outcome,
    ~by, design, svyglm)``, each level a domain (within ``domain``). A level whose test cannot be computed has
    its reason in ``problem`` and no statistics (without ``by`` that reason is raised as a DesignError).

    The fit and the PSU totals of the score equations are computed on sums by score (and by PSU and score, and
    level): the same equations as row by row, at the cost of the few scores. A logistic fit that does not
    converge (an outcome all one answer at some scores: separation, where R's glm warns of fitted probabilities
    0 or 1) is refused, with that reason."""
    if family not in ("quasibinomial", "gaussian"):
        raise DesignError("unknown family for the trend test", value=family, expected="quasibinomial or gaussian")
    yv, yname = _values(design, outcome, "outcome")
    sv, sname = _values(design, score, "score")
    y = pd.to_numeric(yv.astype("float64") if yv.dtype == bool else yv, errors="coerce").to_numpy(dtype=float)
    # The score takes few values: the fit runs on each score's summed weight and weighted outcome, and the
    # score equations' PSU totals on those sums by PSU (one bincount of PSU x score), the same sums as row by row.
    # A categorical score with numeric categories (an ordered by-variable scored 1, 2, 3, a survey year) brings
    # its codes; any other is numbered here.
    if isinstance(sv.dtype, pd.CategoricalDtype) and pd.api.types.is_numeric_dtype(sv.cat.categories):
        codes, scores = sv.cat.codes.to_numpy(), sv.cat.categories.to_numpy(dtype=float)
    else:
        codes, scores = pd.factorize(pd.to_numeric(sv, errors="coerce"), use_na_sentinel=True)
        scores = np.asarray(scores, dtype=float)
    ok = ~np.isnan(y) & (codes >= 0)
    mask = design_domain_mask(design, domain)
    if mask is not None:
        ok &= mask
    if family == "quasibinomial" and (ok & (y != 0) & (y != 1)).any():
        raise DesignError("the trend outcome is not 0/1", column=yname, expected="0, 1 or missing")
    X = np.column_stack([np.ones(len(scores)), scores])
    label = "logistic (quasibinomial)" if family == "quasibinomial" else "linear (gaussian)"
    method = f"design-based Wald t for the slope of svyglm({yname} ~ {sname}), {label}"
    rowwise = design.replicates is not None or design.calibration or design.n_psus * len(scores) > max(ok.sum(), 1024)
    if by is None:
        # R's svyglm drops the rows with a missing outcome or score from the design (and a domain's outside
        # rows), so the degrees of freedom are those of the rows used.
        restricted = mask is not None or not bool(ok.all())
        if rowwise:
            result = _trend_rows(design, X, codes, y, ok, restricted, family, df, sname)
        else:
            sums = _trend_sums(design, codes, y, ok, np.zeros(design.n, dtype=np.int64), 1, len(scores))
            result = _trend_from_sums(design, X, *(part[0] for part in sums), restricted, family, df, sname)
        return pd.DataFrame([{"test": "trend", **result, "method": method}], columns=TREND_COLUMNS)
    levels = factor_codes(_values(design, by, "by-variable")[0])
    rows = []
    if not rowwise:
        sums = _trend_sums(design, codes, y, ok, levels.codes, len(levels.labels), len(scores))
    for k, level in enumerate(levels.labels):
        try:
            if rowwise:
                result = _trend_rows(design, X, codes, y, ok & (levels.codes == k), True, family, df, sname)
            else:
                result = _trend_from_sums(design, X, *(part[k] for part in sums), True, family, df, sname)
            rows.append({"by_value": level, "test": "trend", **result, "method": method, "problem": ""})
        except DesignError as exc:
            rows.append({"by_value": level, "test": "trend", "problem": exc.problem})
    return pd.DataFrame(rows, columns=["by_value", *TREND_COLUMNS, "problem"])


def _trend_sums(design: Design, codes, y, ok, level, n_levels: int, n_scores: int):
    """The sums a trend test needs, for each level (``level``: each row's, -1 outside): by level, PSU and score
    the summed weight and weighted outcome and the rows; by level and PSU the rows with a nonzero weight. One
    bincount each over the rows."""
    use = ok & (level >= 0)
    shape = (n_levels, design.n_psus, n_scores)
    cells = (level[use].astype(np.int64) * design.n_psus + design.psu[use]) * n_scores + codes[use]
    w, size = design.weights[use], n_levels * design.n_psus * n_scores
    total = np.bincount(cells, weights=w, minlength=size).reshape(shape)
    outcome = np.bincount(cells, weights=w * y[use], minlength=size).reshape(shape)
    rows = np.bincount(cells, minlength=size).reshape(shape)
    weighted = np.bincount(cells[w != 0] // n_scores, minlength=n_levels * design.n_psus).reshape(shape[:2])
    return total, outcome, rows, weighted


def _trend_from_sums(design: Design, X, total, outcome, rows, weighted, restricted, family, df, sname) -> dict:
    """The trend test of one base from its sums by PSU and score (:func:`_trend_sums`), as row by row: R
    ``degf`` of the PSUs with weighted rows, the strata with rows counted by the lonely-PSU policy."""
    used = rows.sum(axis=1) > 0
    if restricted and df == "domain":
        has = weighted > 0
        degf = int(has.sum() - np.count_nonzero(np.bincount(design.psu_stratum[has], minlength=design.n_strata)))
    else:
        degf = design_degf(design, None, convention=df)
    ddf = _trend_ddf(rows.sum(axis=0), degf, sname)
    beta, mu, Ainv, iterations = _fit_on_sums(X, total.sum(axis=0), outcome.sum(axis=0), family)
    present = np.bincount(design.psu_stratum[used], minlength=design.n_strata) > 0 if restricted else None
    V = vcov_psu(design, ((outcome - total * mu) @ X) @ Ainv, present)
    return _slope(beta, V, ddf, int(rows.sum()), iterations)


def _trend_rows(design: Design, X, codes, y, ok, restricted, family, df, sname) -> dict:
    """The trend test of one base row by row (a calibrated or replicate design, or a score of many values)."""
    code = codes[ok]
    ddf = _trend_ddf(
        np.bincount(code, minlength=len(X)), design_degf(design, ok if restricted else None, convention=df), sname
    )
    w, yok = design.weights[ok], y[ok]
    beta, mu, Ainv, iterations = _grouped_fit(X, code, yok, w, family)
    present = strata_present(design, ok if restricted else None)
    if design.replicates is not None:
        reps = design.replicates.weights[ok]
        thetas = np.array([_grouped_fit(X, code, yok, reps[:, r], family)[0] for r in range(reps.shape[1])])
        V = replicate_vcov(design, thetas, beta)
    else:
        estfun = np.zeros((design.n, 2))
        estfun[ok] = X[code] * (w * (yok - mu[code]))[:, None]
        z = estfun @ Ainv
        if design.calibration:
            z = calibration_residual(design, z)
        V = vcov_psu(design, psu_totals(design, z), present)
    return _slope(beta, V, ddf, int(ok.sum()), iterations)


def _trend_ddf(rows_per_score: np.ndarray, degf: int, sname: str) -> float:
    """The slope's residual df (the design df less one), once the base is shown to have two scores and a df."""
    if np.count_nonzero(rows_per_score) < 2:
        raise DesignError("the score takes a single value in the base", column=sname, expected="at least two scores")
    ddf = float(degf + 1 - 2)
    _require_df(ddf, "the trend test", "a design df of 2 or more (the slope's residual df is one less)")
    return ddf


def _slope(beta, V, ddf: float, n: int, iterations: int) -> dict:
    """The slope's row of a trend test: estimate, SE, t on ``ddf``, two-sided p, direction."""
    se = float(np.sqrt(V[1, 1]))
    t = float(beta[1] / se)
    return {
        "estimate": float(beta[1]),
        "se": se,
        "statistic": t,
        "ndf": 1.0,
        "ddf": ddf,
        "p": float(2 * t_sf(abs(t), ddf)),
        "direction": "increasing" if beta[1] > 0 else ("decreasing" if beta[1] < 0 else "flat"),
        "n": n,
        "iterations": iterations,
    }


def _grouped_fit(X: np.ndarray, code: np.ndarray, y: np.ndarray, w: np.ndarray, family: str):
    """:func:`~survey_audit.stats.models.glm_fit` of the rows whose predictors are row ``code`` of ``X``: on
    each pattern's summed weight and weighted outcome. Returns ``(beta, mu per pattern, Ainv, iterations)``."""
    total = np.bincount(code, weights=w, minlength=X.shape[0])
    return _fit_on_sums(X, total, np.bincount(code, weights=w * y, minlength=X.shape[0]), family)


def _fit_on_sums(X: np.ndarray, total: np.ndarray, outcome: np.ndarray, family: str):
    """The fit of :func:`_grouped_fit` from each pattern's summed weight and weighted outcome."""
    beta, mu, Ainv, iterations, converged = glm_fit_sums(X, total, outcome, family)
    if not converged:
        raise DesignError(
            "the logistic trend did not converge: the outcome is all one answer at some scores (separation), so"
            " the slope has no finite estimate",
            expected="an outcome whose fitted probabilities stay strictly between 0 and 1",
        )
    return beta, mu, Ainv, iterations


# --------------------------------------------------------------------------------------------------------------
# Two waves.
# --------------------------------------------------------------------------------------------------------------

WAVE_DF_METHODS = ("satterthwaite", "min", "normal")


def compare_waves(
    first: pd.DataFrame | Mapping,
    second: pd.DataFrame | Mapping,
    *,
    on: list[str] | None = None,
    df_method: str = "satterthwaite",
    level: float = 0.95,
) -> pd.DataFrame:
    """Difference of a proportion (or mean) between two independent samples, e.g. two waves.

    ``first`` and ``second`` carry ``estimate``, ``se`` and ``df`` (rows of :func:`~survey_audit.estimates.
    proportions`, matched on the ``on`` columns, by default ``by_value`` and ``category`` when present).
    ``difference = second - first``, ``se = sqrt(se1^2 + se2^2)``, ``t = difference/se`` referred to ``t`` on
    Welch–Satterthwaite df (``df_method="satterthwaite"``), on the smaller of the two df (``"min"``, conservative)
    or to the normal distribution (``"normal"``); two-sided ``p`` and a CI for the difference."""
    if df_method not in WAVE_DF_METHODS:
        raise DesignError("unknown df method", value=df_method, expected="one of " + ", ".join(WAVE_DF_METHODS))
    a = pd.DataFrame([first]) if isinstance(first, Mapping) else first.reset_index(drop=True)
    b = pd.DataFrame([second]) if isinstance(second, Mapping) else second.reset_index(drop=True)
    if on is None:
        on = [c for c in ("by_value", "category") if c in a.columns and c in b.columns]
    both = a.merge(b, on=on, suffixes=("_1", "_2"), how="inner") if on else a.add_suffix("_1").join(b.add_suffix("_2"))
    e1, e2 = both["estimate_1"].to_numpy(float), both["estimate_2"].to_numpy(float)
    v1, v2 = both["se_1"].to_numpy(float) ** 2, both["se_2"].to_numpy(float) ** 2
    d1, d2 = both["df_1"].to_numpy(float), both["df_2"].to_numpy(float)
    diff = e2 - e1
    se = np.sqrt(v1 + v2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if df_method == "satterthwaite":
            ddf = (v1 + v2) ** 2 / (v1**2 / d1 + v2**2 / d2)
        elif df_method == "min":
            ddf = np.minimum(d1, d2)
        else:
            ddf = np.full(diff.shape, np.inf)
        stat = diff / se
    p = 2 * t_sf(np.abs(stat), ddf)
    q = t_ppf(1 - (1 - level) / 2, ddf)
    out = both[on].copy() if on else pd.DataFrame(index=range(len(both)))
    out["estimate_1"], out["estimate_2"], out["difference"], out["se"] = e1, e2, diff, se
    out["statistic"], out["df"], out["p"] = stat, ddf, p
    out["ci_low"], out["ci_high"], out["level"] = diff - q * se, diff + q * se, level
    out["method"] = f"independent samples: t on {df_method} df" if df_method != "normal" else "independent samples: z"
    return out


# --------------------------------------------------------------------------------------------------------------
# Unweighted sensitivity tests.
# --------------------------------------------------------------------------------------------------------------


def pearson_unweighted(table: np.ndarray) -> dict:
    """Pearson's chi-square on an unweighted r×c table of counts (no continuity correction); rows or columns
    that are empty are dropped first, as they carry no information."""
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return {"statistic": float("nan"), "ndf": float("nan"), "ddf": float("nan"), "p": float("nan")}
    # scipy.stats.chi2_contingency(table, correction=False), R chisq.test(correct = FALSE), written out
    expected = np.multiply(table.sum(axis=1, keepdims=True), table.sum(axis=0, keepdims=True)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum(axis=None))
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    return {"statistic": statistic, "ndf": float(dof), "ddf": float("inf"), "p": float(chi2_sf(statistic, dof))}


FISHER_RELATIVE_TOLERANCE = 1e-7  # R fisher.test: tables with probability <= p_obs * (1 + 1e-7) count
FISHER_MAX_TABLES = 2_000_000  # exact enumeration up to this many tables (about 50 MB); R simulate.p.value beyond


def fisher_exact_unweighted(
    table: np.ndarray, *, max_tables: int = FISHER_MAX_TABLES, resamples: int = 100_000, seed: int = 20150101
) -> dict:
    """Fisher's exact test on an unweighted r×c table of counts (empty rows and columns dropped).

    2 x 2 and 2 x k (or k x 2) tables with at most ``max_tables`` tables of the observed margins are exact: every
    such table is enumerated and ``p`` sums the probabilities not above the observed one (times 1 + 1e-7, as R
    ``fisher.test``). The number of tables is counted first (a dynamic program over the columns, capped at the
    bound), and the enumeration never holds more than that many partial tables, so memory is bounded by
    ``max_tables``, not by N. Beyond the bound, and for tables of more than two rows and columns, ``p`` is R's
    ``fisher.test(simulate.p.value = TRUE, B = resamples)``: ``resamples`` tables drawn with the observed margins,
    ``p = (1 + #{simulated tables no more probable than the observed}) / (B + 1)``, with a fixed ``seed``
    (reproducible; ``method`` says so; the draws are not R's, so the value agrees with R's within Monte Carlo
    error only). Returns statistic (the observed table's probability), p and method.
    """
    t = np.asarray(table)
    if np.any(t < 0) or not np.all(np.equal(np.mod(t, 1), 0)):
        raise DesignError("Fisher's exact test needs a table of non-negative whole counts", value=t.tolist())
    t = t.astype(np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return {"statistic": float("nan"), "p": float("nan"), "method": "fisher_exact (degenerate table)"}
    if t.shape[0] != 2 and t.shape[1] == 2:
        t = t.T
    if t.shape[0] == 2 and _n_tables(t, max_tables) <= max_tables:
        prob, p = _fisher_2xk(t)
        return {"statistic": prob, "p": p, "method": "fisher_exact (exact enumeration)"}
    statistic, p = _fisher_simulated(t, resamples, np.random.default_rng(seed))
    return {
        "statistic": statistic,
        "p": p,
        "method": f"fisher_exact (Monte Carlo as R simulate.p.value, {resamples} tables, seed {seed})",
    }


def _n_tables(t: np.ndarray, cap: int) -> int:
    """Number of 2 x k tables with the margins of ``t``, or ``cap + 1`` if there are more (dynamic programming
    over the columns on the first row's running sum; counts are capped so the integers stay exact)."""
    r1 = int(t[0].sum())
    ways = np.zeros(r1 + 1, dtype=np.int64)
    ways[0] = 1
    for c in t.sum(axis=0):
        cum = np.concatenate([[0], np.cumsum(ways)])
        s = np.arange(r1 + 1)
        ways = np.minimum(cum[s + 1] - cum[np.maximum(s - int(c), 0)], cap + 1)
    return int(ways[r1])


def _fisher_2xk(t: np.ndarray) -> tuple[float, float]:
    col = t.sum(axis=0)
    r1 = int(t[0].sum())
    N = int(col.sum())
    lg = special.gammaln
    log_norm = lg(N + 1) - lg(r1 + 1) - lg(N - r1 + 1)
    remaining = np.concatenate([np.cumsum(col[::-1])[::-1][1:], [0]])
    sums = np.zeros(1, dtype=np.int64)
    logp = np.zeros(1)
    for j, c in enumerate(col):
        # Only the extensions that can still reach r1: x in [max(0, r1 - s - remaining), min(c, r1 - s)].
        low = np.maximum(0, r1 - sums - remaining[j])
        high = np.minimum(int(c), r1 - sums)
        count = high - low + 1
        parent = np.repeat(np.arange(len(sums)), count)
        x = low[parent] + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
        sums = sums[parent] + x
        logp = logp[parent] + (lg(c + 1) - lg(x + 1) - lg(c - x + 1))
    logp = logp - log_norm
    obs = float(np.sum(lg(col + 1) - lg(t[0] + 1) - lg(t[1] + 1)) - log_norm)
    p = float(np.exp(logp[logp <= obs + np.log1p(FISHER_RELATIVE_TOLERANCE)]).sum())
    return float(np.exp(obs)), min(p, 1.0)


def _fisher_simulated(t: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple[float, float]:
    """R ``fisher.test(simulate.p.value = TRUE)``: tables with the observed margins drawn cell by cell (each cell
    hypergeometric given the row's remainder and the columns still open), all draws at once per cell; memory is
    ``resamples`` × columns. Tables are ranked by -sum(log x!), larger for more probable tables; returns the
    observed table's probability and p."""
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    col_left = np.broadcast_to(cols, (resamples, len(cols))).copy()
    statistic = np.zeros(resamples)
    for row in rows[:-1]:
        row_left = np.full(resamples, int(row), dtype=np.int64)
        open_after = col_left[:, ::-1].cumsum(axis=1)[:, ::-1]
        for j in range(len(cols) - 1):
            x = rng.hypergeometric(col_left[:, j], open_after[:, j + 1], row_left)
            statistic -= special.gammaln(x + 1)
            col_left[:, j] -= x
            row_left -= x
        col_left[:, -1] -= row_left
        statistic -= special.gammaln(row_left + 1)
    statistic -= special.gammaln(col_left + 1).sum(axis=1)
    observed = -float(special.gammaln(t + 1).sum())
    almost_one = 1 + 64 * np.finfo(float).eps
    p = (1 + int(np.sum(statistic <= observed / almost_one))) / (resamples + 1)
    lg = special.gammaln
    log_prob = observed + lg(rows + 1).sum() + lg(cols + 1).sum() - lg(rows.sum() + 1)
    return float(np.exp(log_prob)), p


# --------------------------------------------------------------------------------------------------------------
# Multiplicity.
# --------------------------------------------------------------------------------------------------------------


def p_adjust(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values (holm, bh or by) over one family, R ``p.adjust(p, "holm" | "BH" | "BY")``; NaN p-values
    are left out and stay NaN. With the m p-values in increasing order p(1) <= ... <= p(m): Holm's step-down
    ``min(1, max over j <= i of (m - j + 1) p(j))``; Benjamini–Hochberg's step-up ``min(1, min over j >= i of
    p(j) / (j / m))``, and Benjamini–Yekutieli's the same with ``j / m`` divided by ``sum(1/k, k = 1..m)``. Tied
    p-values get the same adjusted value whatever their order, so the sort need not be stable."""
    if method not in ADJUST_METHODS:
        raise DesignError("unknown p-value adjustment", value=method, expected="one of " + ", ".join(ADJUST_METHODS))
    p_values = np.asarray(p_values, dtype=float)
    out = np.full_like(p_values, np.nan)
    ok = ~np.isnan(p_values)
    m = int(ok.sum())
    if m:
        order = np.argsort(p_values[ok])
        ordered = p_values[ok][order]
        if method == "holm":
            adjusted = np.maximum.accumulate(ordered * np.arange(m, 0, -1))
        else:
            share = np.arange(1, m + 1) / float(m)
            if method == "by":
                share = share / np.sum(1.0 / np.arange(1, m + 1))
            adjusted = np.minimum.accumulate((ordered / share)[::-1])[::-1]
        back = np.empty(m)
        back[order] = np.minimum(adjusted, 1.0)
        out[ok] = back
    return out
