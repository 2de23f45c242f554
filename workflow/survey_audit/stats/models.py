"""Design-based regression (R ``svyglm``), Wald tests of model terms (R ``regTermTest``) and the design-based
t-test of a mean between two groups (R ``svyttest``).

**Model formula** (:func:`model_frame`). A formula names columns of the design's data: ``"y ~ x + z"``, main
effects only, always with an intercept (``"y ~ 1"`` is the intercept alone); ``factor(x)`` makes a numeric column
categorical and ``relevel(x, ref = "no")`` makes ``no`` the reference level (R's ``relevel``, which R accepts on
factors only). A column name may be written in
backticks (``"`buyers per day` ~ x"``). Interactions (``:``, ``*``), ``I()``, ``-1`` and other R operators are
refused with a message. Terms are coded as R's ``model.matrix`` with default treatment contrasts:

* a numeric column is one regression column;
* a categorical column (a pandas categorical: its categories in order; text: its distinct values sorted; a
  boolean: ``False``, ``True``; any column wrapped in ``factor()``: its sorted distinct values) gets one 0/1
  dummy per level except the first, named ``<term><level>`` as R names them (``stypeH``, ``flagTRUE``). Levels
  with no row in the model's base are dropped, as R's ``drop.unused.levels`` does (R keeps a level seen only
  in rows with another variable missing, and reports its coefficient as NA: the remaining coefficients are the
  same);
* rows with any variable of the formula missing are left out of the model (R's ``na.omit``), and the design
  degrees of freedom are those of the rows used, as R's ``svyglm`` subsets the design.

A design matrix whose columns are linearly dependent (R reports NA coefficients) is refused, naming the
columns.

**Fit** (:func:`svyglm`). The coefficients solve the weighted score equations ``sum_i w_i x_i (y_i - mu_i) = 0``
(gaussian: weighted least squares; quasibinomial: logit link, the outcome 0/1 or a proportion in [0, 1]); the
logistic fit is Newton–Raphson (IRLS) run to the fixed point (relative step below 1e-10, leaving an error of
order 1e-20). R's ``glm`` stops
when the deviance changes by less than ``epsilon = 1e-8``, leaving coefficients about 1e-6 (relative) from the
fixed point; the golden values are R's ``svyglm`` with ``glm.control(epsilon = 1e-14)``. The variance is the
sandwich (R ``svy.varcoef``): ``V = A^-1 B A^-1`` with ``A = X' W X`` (``W`` the working weights ``w mu(1-mu)`` or
``w``) and ``B`` the design covariance of the PSU totals of the score contributions ``w_i x_i (y_i - mu_i)``:
with clusters, strata, fpc, lonely-PSU policy and calibration residuals (a raked or calibrated design) exactly
as every other estimate (:func:`survey_audit.stats.design.vcov`); a replicate design refits the model with
each replicate's weights (R ``svyglm.svyrep.design``). Rows outside a ``domain`` get zero weight, so every PSU
stays in the variance (R ``subset``).

**Degrees of freedom and inference** (R survey 4.1): ``df_residual = degf + 1 - p`` (R ``svyglm``'s
``df.residual``, ``p`` the number of coefficients, ``degf`` the design df of the rows used under the ``df``
convention); each coefficient's ``t = estimate/se`` on ``df_residual`` with a two-sided p-value (R
``summary.svyglm``) and the interval ``estimate +/- t_{1-a/2, df_residual} se`` (R ``confint.svyglm``, whose
default ``method = "Wald"`` uses ``ddf = df.residual``, not the normal distribution). ``deff`` is R's
``svyglm(deff = TRUE)``: the design variance over the model-based variance of an unclustered weighted fit
(``dispersion (X' W X)^-1``, the dispersion the Pearson statistic over ``n - p``); R gives none for a replicate
design, and neither does this (NaN). A model with
``df_residual < 1`` has no design-based inference and is refused.

**Tests of terms** (:func:`regtermtest`, R ``regTermTest(model, ~terms)``, ``method = "Wald"``; a term is named
by its label or by its column): with ``b`` the coefficients of the named terms (all dummies of a categorical term) and ``V`` their covariance,
``F = b' V^-1 b / k`` on ``(k, df_residual)``; ``df=inf`` gives R's chi-square form.

**Two-group t-test** (:func:`svyttest`, R ``svyttest(y ~ g, design)``): the coefficient of the group dummy in
``svyglm(y ~ g, family = gaussian)``, i.e. the difference of the second group's mean minus the first's, its
sandwich SE, ``t`` on ``df_residual = degf - 1``, and the 95% interval of ``confint.svyglm`` (t on the same df).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DesignError
from .design import (
    DF_CONVENTIONS,
    Design,
    calibration_residual,
    domain_mask,
    factor_codes,
    first_appearances,
    psu_totals,
    replicate_vcov,
    strata_present,
    vcov_psu,
)
from .design import degf as design_degf
from .distributions import chi2_sf, f_sf, t_ppf, t_sf
from .formula import Formula, Term, parse_formula

FAMILIES = ("gaussian", "quasibinomial")
COEFFICIENT_COLUMNS = ["term", "estimate", "se", "statistic", "df", "p", "ci_low", "ci_high", "level", "deff"]
TERM_TEST_COLUMNS = [
    "test",
    "formula",
    "family",
    "terms",
    "statistic",
    "ndf",
    "ddf",
    "p",
    "chisq",
    "estimate",
    "direction",
    "method",
    "n",
]
TTEST_COLUMNS = [
    "test",
    "variable",
    "group",
    "contrast",
    "estimate",
    "se",
    "statistic",
    "df",
    "p",
    "ci_low",
    "ci_high",
    "level",
    "method",
    "n",
]
# Newton converges quadratically: once a step is below NEWTON_TOLERANCE relative to the coefficients, the error
# left is of order its square, beneath double precision. A tighter tolerance asks for steps below the rounding
# noise of sums over many rows, and ran every fit to the cap at 1e5 respondents (R's glm.fit stops on a relative
# change of deviance below 1e-8, which is looser).
NEWTON_TOLERANCE = 1e-10
NEWTON_MAX_ITERATIONS = 100


# --------------------------------------------------------------------------------------------------------------
# Formula and model frame.
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelFrame:
    """The model's rows and columns: response ``y``, design matrix ``X`` (rows of the base only; zeros
    elsewhere), the base ``ok`` (complete rows in the domain), R's coefficient names and the term of each
    column (0 for the intercept, ``i`` for the i-th term)."""

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    ok: np.ndarray
    columns: list[str]
    assign: np.ndarray
    restricted: bool  # rows are left out (missing values or a domain): R subsets the design
    mask: np.ndarray | None


def _numeric_or_codes(values: pd.Series, forced: bool):
    """(numeric array, None) for a numeric column, or (None, Codes) for a categorical one (a categorical, text,
    boolean, or a column wrapped in ``factor()``), as R's ``model.matrix`` sees them."""
    dtype = values.dtype
    categorical = isinstance(dtype, (pd.CategoricalDtype, pd.BooleanDtype)) or pd.api.types.is_bool_dtype(dtype)
    if forced or categorical or not pd.api.types.is_numeric_dtype(dtype):
        return None, factor_codes(values)
    return pd.to_numeric(values).to_numpy(dtype=float), None


def _level_text(level) -> str:
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def _response(values: pd.Series, name: str, family: str) -> np.ndarray:
    """The outcome as floats (NaN missing). A quasibinomial outcome may be 0/1, a proportion, a boolean, or a
    categorical (R's factor rule: the first level is 0, every other level 1)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        y = pd.to_numeric(values).to_numpy(dtype=float)
    elif family == "quasibinomial":
        codes = factor_codes(values).codes
        return np.where(codes < 0, np.nan, (codes > 0).astype(float))
    else:
        raise DesignError(f"the outcome '{name}' is not numeric", column=name, expected="numbers (or missing)")
    if family == "quasibinomial":
        bad = ~np.isnan(y) & ((y < 0) | (y > 1))
        if bad.any():
            raise DesignError(
                f"the outcome '{name}' of a logistic model has values outside 0 to 1",
                column=name,
                value=f"{y[bad][0]:g} in data row {np.flatnonzero(bad)[0] + 1} (counting from 1)",
                expected="0/1, a proportion, a boolean or a two-level categorical",
            )
    return y


def model_frame(design: Design, formula: str | Formula, *, family: str = "gaussian", domain=None) -> ModelFrame:
    """The response and design matrix of ``formula`` over the design's data (see the module docstring)."""
    f = parse_formula(formula) if isinstance(formula, str) else formula
    if design.data is None:
        raise DesignError("a model formula needs the design's data", value=f.text)
    missing = [c for c in [f.response, *(t.column for t in f.terms)] if c not in design.data.columns]
    if missing:
        raise DesignError(
            "the model formula names columns that are not in the data",
            value=", ".join(missing),
            expected="one of " + ", ".join(map(str, design.data.columns[:40])),
        )
    y = _response(design.column(f.response).reset_index(drop=True), f.response, family)
    ok = ~np.isnan(y)
    parts = []
    for term in f.terms:
        num, codes = _numeric_or_codes(design.column(term.column).reset_index(drop=True), term.factor)
        if num is not None:
            ok &= ~np.isnan(num)
        else:
            ok &= codes.codes >= 0
        parts.append((term, num, codes))
    mask = domain_mask(design, domain)
    if mask is not None:
        ok &= mask
    if not (ok & (design.weights > 0)).any():
        raise DesignError("the model has no rows with every variable present (in the domain)", value=f.text)
    columns, blocks, assign = ["(Intercept)"], [np.ones(design.n)], [0]
    for i, (term, num, codes) in enumerate(parts, start=1):
        label = term.label
        if num is not None:
            columns.append(label)
            blocks.append(np.where(ok, num, 0.0))
            assign.append(i)
            continue
        present = np.flatnonzero(np.bincount(codes.codes[ok], minlength=len(codes.labels)) > 0)
        if present.size < 2:
            raise DesignError(
                f"the categorical term '{label}' takes a single value in the model's rows",
                column=term.column,
                value=", ".join(_level_text(codes.labels[j]) for j in present) or "(none)",
                expected="two or more levels (R: contrasts can be applied only to factors with 2 or more levels)",
                hint="drop the term, or choose a domain in which it varies",
            )
        if term.ref is not None:
            texts = [_level_text(codes.labels[j]) for j in present]
            if term.ref not in texts:
                raise DesignError(
                    f"the reference level of '{label}' is not among its values in the model's rows",
                    column=term.column,
                    value=term.ref,
                    expected="one of " + ", ".join(texts),
                )
            first = present[texts.index(term.ref)]
            present = np.concatenate([[first], present[present != first]])
        for level in present[1:]:
            columns.append(f"{label}{_level_text(codes.labels[level])}")
            blocks.append((ok & (codes.codes == level)).astype(float))
            assign.append(i)
    X = np.column_stack(blocks)
    X[~ok] = 0.0
    restricted = mask is not None or not bool(ok.all())
    return ModelFrame(f, np.where(ok, y, 0.0), X, ok, columns, np.asarray(assign), restricted, mask)


def _check_rank(frame: ModelFrame, w: np.ndarray) -> None:
    Xw = frame.X[frame.ok & (w > 0)]
    rank = np.linalg.matrix_rank(Xw)
    if rank == Xw.shape[1]:
        return
    q, r = np.linalg.qr(Xw)
    d = np.abs(np.diag(r))
    aliased = [frame.columns[j] for j in np.flatnonzero(d <= 1e-7 * max(d.max(), 1.0))] or frame.columns[rank:]
    raise DesignError(
        "the model's columns are linearly dependent (R would report NA coefficients)",
        value=", ".join(aliased),
        expected="terms that are not determined by the others in the rows used",
        hint="drop a term, or merge levels that only occur together",
    )


# --------------------------------------------------------------------------------------------------------------
# Fit.
# --------------------------------------------------------------------------------------------------------------


def glm_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str):
    """Weighted GLM with a canonical link (gaussian identity, quasibinomial logit) solved to the fixed point.
    Returns ``(beta, mu, Ainv, iterations, converged)`` with ``Ainv = (X' W X)^-1``, ``W`` the working weights.

    Rows with the same predictors enter the score equations and ``X' W X`` only through their summed weight and
    summed weighted outcome, so when the rows share few distinct predictor rows (categorical predictors, an
    ordered score, a survey year) the fit runs on those sums, one row per pattern: the same equations, each
    Newton step costing the patterns instead of the respondents."""
    patterns, inverse = _distinct_rows(X)
    if len(patterns) * 4 <= len(X):
        total = np.bincount(inverse, weights=w, minlength=len(patterns))
        outcome = np.bincount(inverse, weights=w * y, minlength=len(patterns))
        beta, mu, Ainv, iterations, converged = glm_fit_sums(patterns, total, outcome, family)
        return beta, mu[inverse], Ainv, iterations, converged
    return _glm_fit_rows(X, y, w, family)


def glm_fit_sums(X: np.ndarray, total: np.ndarray, outcome: np.ndarray, family: str):
    """:func:`glm_fit` of rows grouped by predictor pattern: row k of ``X`` is a pattern, ``total[k]`` its
    summed weight and ``outcome[k]`` its summed weighted outcome; ``mu`` is returned per pattern."""
    share = np.divide(outcome, total, out=np.zeros_like(total), where=total != 0)
    return _glm_fit_rows(X, share, total, family)


def _distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``X`` (in order of first appearance) and each row's pattern, by hashing column by
    column (columnar, no sort of the rows)."""
    if X.shape[0] == 0:
        return X, np.zeros(0, dtype=np.int64)
    combined = np.zeros(X.shape[0], dtype=np.int64)
    for column in X.T:
        codes, uniques = pd.factorize(column)
        if len(uniques) > X.shape[0] // 4:  # a continuous predictor: no gain from grouping
            return X, np.arange(X.shape[0])
        combined, _ = pd.factorize(combined * len(uniques) + codes)
    return X[first_appearances(combined)], combined


def _glm_fit_rows(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str):
    """:func:`glm_fit` on the rows as given."""
    if family == "gaussian":
        A = X.T @ (w[:, None] * X)
        beta = np.linalg.solve(A, X.T @ (w * y))
        return beta, X @ beta, np.linalg.inv(A), 1, True
    ybar = np.dot(w, y) / w.sum()
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(ybar / (1 - ybar)) if 0 < ybar < 1 else 0.0
    converged = False
    it = 0
    for it in range(1, NEWTON_MAX_ITERATIONS + 1):  # noqa: B007 (the count is reported)
        mu = 1 / (1 + np.exp(-(X @ beta)))
        A = X.T @ ((w * mu * (1 - mu))[:, None] * X)
        try:
            step = np.linalg.solve(A, X.T @ (w * (y - mu)))
        except np.linalg.LinAlgError:  # fitted probabilities of exactly 0 or 1: separation, no finite fit
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) <= NEWTON_TOLERANCE * (1 + np.max(np.abs(beta))):
            converged = True
            break
    mu = 1 / (1 + np.exp(-(X @ beta)))
    A = X.T @ ((w * mu * (1 - mu))[:, None] * X)
    if not converged:
        return beta, mu, np.full_like(A, np.nan), it, False
    return beta, mu, np.linalg.inv(A), it, True


@dataclass(frozen=True, eq=False)
class GlmFit:
    """A fitted design-based GLM (R's ``svyglm`` object): coefficients with R's names, their design covariance,
    the residual df and what :func:`regtermtest` needs (the term of each coefficient)."""

    formula: str
    family: str
    columns: list[str]
    terms: list[str]
    columns_of_terms: list[str]  # the data column of each term, which also names it in regtermtest
    assign: np.ndarray
    coef: np.ndarray
    vcov: np.ndarray
    naive_vcov: np.ndarray | None  # dispersion (X' W X)^-1, which R's deff divides by (None: replicate design)
    df_residual: float
    n: int
    iterations: int
    converged: bool

    def coefficients(self, level: float = 0.95) -> pd.DataFrame:
        """R's ``summary(model)$coefficients`` with ``confint(model, level)`` and ``deff``: one row per term."""
        if not 0 < level < 1:
            raise DesignError("the confidence level must be between 0 and 1", value=level, expected="e.g. 0.95")
        se = np.sqrt(np.diag(self.vcov))
        t = self.coef / se
        p = 2 * t_sf(np.abs(t), self.df_residual)
        q = t_ppf(1 - (1 - level) / 2, self.df_residual)
        return pd.DataFrame(
            {
                "term": self.columns,
                "estimate": self.coef,
                "se": se,
                "statistic": t,
                "df": self.df_residual,
                "p": p,
                "ci_low": self.coef - q * se,
                "ci_high": self.coef + q * se,
                "level": level,
                "deff": np.diag(self.vcov) / np.diag(self.naive_vcov) if self.naive_vcov is not None else np.nan,
            },
            columns=COEFFICIENT_COLUMNS,
        )


def svyglm(
    design: Design,
    formula: str | Formula,
    *,
    family: str = "gaussian",
    domain=None,
    df: str = "domain",
) -> GlmFit:
    """R ``svyglm(formula, design, family = gaussian() | quasibinomial())`` (on ``subset(design, domain)``).

    Returns a :class:`GlmFit`; ``fit.coefficients(level)`` is the tidy frame (term, estimate, se, t, df, p,
    CI, deff). ``df`` is the domain df convention (:data:`survey_audit.stats.design.DF_CONVENTIONS`)."""
    if family not in FAMILIES:
        raise DesignError("unknown model family", value=family, expected=" or ".join(FAMILIES))
    if df not in DF_CONVENTIONS:
        raise DesignError("unknown df convention", value=df, expected=" or ".join(DF_CONVENTIONS))
    frame = model_frame(design, formula, family=family, domain=domain)
    ok = frame.ok
    w = np.where(ok, design.weights, 0.0)
    _check_rank(frame, w)
    p = frame.X.shape[1]
    degf = design_degf(design, ok if frame.restricted else None, convention=df)
    df_residual = float(degf + 1 - p)
    if not df_residual >= 1:
        raise DesignError(
            "the model has no residual degrees of freedom for design-based inference",
            value=f"design df {degf}, {p} coefficients: df.residual = {df_residual:g}",
            expected="more PSUs beyond the strata than coefficients (df.residual = degf + 1 - #coefficients >= 1)",
            hint="fit fewer terms, or use a larger domain",
        )
    every = bool(ok.all())
    X, y, wok = (frame.X, frame.y, w) if every else (frame.X[ok], frame.y[ok], w[ok])
    beta, mu, Ainv, iterations, converged = glm_fit(X, y, wok, family)
    if not converged and family == "quasibinomial":
        raise DesignError(
            "the logistic model did not converge (an outcome level may be perfectly predicted by a term)",
            value=frame.formula.text,
            expected="a model whose fitted probabilities stay strictly between 0 and 1",
        )
    if design.replicates is not None:
        reps = design.replicates.weights
        thetas = np.stack(
            [glm_fit(X, y, reps[:, r] if every else reps[ok, r], family)[0] for r in range(reps.shape[1])]
        )
        V = replicate_vcov(design, thetas, beta)
    else:
        resid = np.zeros(design.n)
        resid[ok] = wok * (y - mu)
        z = (frame.X * resid[:, None]) @ Ainv
        if design.calibration:
            z = calibration_residual(design, z)
        V = vcov_psu(design, psu_totals(design, z), strata_present(design, ok if frame.restricted else None))
    variance = mu * (1 - mu) if family == "quasibinomial" else np.ones_like(mu)
    positive = wok > 0
    n_glm = int(positive.sum())
    dispersion = float(np.sum((wok * (y - mu) ** 2 / variance)[positive]) / (n_glm - p))
    return GlmFit(
        formula=frame.formula.text,
        family=family,
        columns=frame.columns,
        terms=frame.formula.labels,
        columns_of_terms=[t.column for t in frame.formula.terms],
        assign=frame.assign,
        coef=beta,
        vcov=V,
        naive_vcov=None if design.replicates is not None else dispersion * Ainv,
        df_residual=df_residual,
        n=int(ok.sum()),
        iterations=iterations,
        converged=converged,
    )


# --------------------------------------------------------------------------------------------------------------
# Tests.
# --------------------------------------------------------------------------------------------------------------


def regtermtest(fit: GlmFit, terms, *, df: float | None = None) -> pd.DataFrame:
    """R ``regTermTest(model, ~ term1 + term2)``: the Wald test that every coefficient of the named terms is
    zero. One-row frame: ``F = chisq/k`` on ``(k, df)`` (``df`` defaults to the model's ``df_residual``; with
    ``df=inf`` the statistic is the chi-square on ``k`` df, as R), the model's formula and family, and, when the
    terms have a single coefficient, that coefficient (``estimate``) and its sign (``direction``: ``positive``,
    ``negative``), so that a claim of a direction can be checked against the same row."""
    names = [terms] if isinstance(terms, str) else list(terms)
    if not names:
        raise DesignError("regtermtest needs at least one term", expected="terms of the model: " + ", ".join(fit.terms))
    names = [fit.terms[fit.columns_of_terms.index(t)] if t in fit.columns_of_terms else t for t in names]
    unknown = [t for t in names if t not in fit.terms]
    if unknown:
        raise DesignError(
            "terms to test are not in the model",
            value=", ".join(unknown),
            expected="terms of the model: " + ", ".join(fit.terms),
        )
    wanted = [fit.terms.index(t) + 1 for t in names]
    index = np.flatnonzero(np.isin(fit.assign, wanted))
    if index.size == 0:
        raise DesignError("the terms to test have no coefficients (every level but the reference is absent)")
    b = fit.coef[index]
    V = fit.vcov[np.ix_(index, index)]
    chisq = float(b @ np.linalg.solve(V, b))
    k = int(index.size)
    ddf = fit.df_residual if df is None else float(df)
    if np.isinf(ddf):
        statistic, p, label = chisq, float(chi2_sf(chisq, k)), "chi-square"
    else:
        statistic, p, label = chisq / k, float(f_sf(chisq / k, k, ddf)), "F"
    single = float(b[0]) if k == 1 else np.nan  # one coefficient: its sign says which way the association goes
    direction = "" if k != 1 else ("positive" if single > 0 else ("negative" if single < 0 else "flat"))
    return pd.DataFrame(
        [
            {
                "test": "Wald",
                "formula": fit.formula,
                "family": fit.family,
                "terms": " + ".join(names),
                "statistic": statistic,
                "ndf": float(k),
                "ddf": ddf,
                "p": p,
                "chisq": chisq,
                "estimate": single,
                "direction": direction,
                "method": f"design-based Wald {label} test of {' + '.join(names)} in svyglm({fit.formula}), "
                f"{fit.family}",
                "n": fit.n,
            }
        ],
        columns=TERM_TEST_COLUMNS,
    )


def svyttest(
    design: Design, variable: str, group: str, *, domain=None, df: str = "domain", level: float = 0.95
) -> pd.DataFrame:
    """R ``svyttest(variable ~ group, design)``: the difference of the group means (second level minus first)
    with its design SE, ``t`` on ``degf - 1`` df, two-sided p and the interval R reports (``confint.svyglm``;
    R's is always 95%, ``level`` gives another).
    The group must have exactly two levels in the base, or be numeric coded 0/1 or 1/2 (R: "group must be
    binary")."""
    f = Formula(f"{variable} ~ {group}", variable, (Term(group),))
    frame = model_frame(design, f, domain=domain)
    x = frame.X[frame.ok, 1] if frame.X.shape[1] == 2 else None
    if x is None or not (np.isin(x, (0.0, 1.0)).all() or np.isin(x, (1.0, 2.0)).all()):
        raise DesignError(
            "the t-test's group must have exactly two levels among the respondents with an answer",
            column=group,
            value=f"columns of the model: {', '.join(frame.columns)}",
            expected="a variable with two groups, or numeric coded 0/1 or 1/2 (R: group must be binary)",
        )
    fit = svyglm(design, f, domain=domain, df=df)
    row = fit.coefficients(level).iloc[1]
    return pd.DataFrame(
        [
            {
                "test": "t",
                "variable": variable,
                "group": group,
                "contrast": row["term"],
                "estimate": row["estimate"],
                "se": row["se"],
                "statistic": row["statistic"],
                "df": row["df"],
                "p": row["p"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "level": level,
                "method": f"design-based t-test of the difference in mean {variable} between the groups of {group}",
                "n": fit.n,
            }
        ],
        columns=TTEST_COLUMNS,
    )
