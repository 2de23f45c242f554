"""Design-based quantiles with confidence intervals: R ``svyquantile`` of survey >= 4.1 (the "new"
``svyquantile``), its defaults ``qrule = "math"`` and ``interval.type = "mean"`` (Woodruff's interval).

**Estimate** (R ``qrule_math``): sort the values of the rows with positive weight, ``W_k`` the cumulative
weights and ``W`` their sum; ``k`` the last position with ``W_k <= p W`` (the first if there is none); the
quantile is ``x_k`` when ``W_k/W`` equals ``p`` exactly, else ``x_{k+1}`` — the smallest value whose weighted
distribution function reaches ``p`` (the inverse of the weighted empirical distribution function).
``qrule = "school"`` (R ``qrule_school``) averages ``x_k`` and ``x_{k+1}`` when the distribution function
reaches ``p`` exactly. Cumulative sums accumulate in extended precision, as R's ``cumsum`` and ``sum`` do, so
that the exact comparisons fall the same way.

**Interval** (Woodruff 1952, R ``woodruffCI(method = "mean")``): the design-based proportion ``F = mean(x <=
q)`` with its linearised SE (every PSU in the variance; calibration residuals for a calibrated design), the
interval ``F +/- t_{1-a/2, df} se(F)`` on the design df of the rows used, and the quantile rule applied to its
bounds; a bound outside [0, 1] gives NaN, as R. ``se`` is R's: the interval's width over ``2 t_{1-a/2, df}``.

Replicate designs are refused (R's replicate-weight ``svyquantile`` is another method). Rows with a missing
value are left out (R ``na.rm = TRUE``), and with them their PSUs' degrees of freedom: the
df is that of the rows used (R ``degf(design[!is.na(x), ])``), under the ``df`` convention for a domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DesignError
from .design import DF_CONVENTIONS, Design, domain_mask, factor_codes
from .design import degf as design_degf
from .distributions import t_ppf
from .estimates import _values, svymean

QRULES = ("math", "school")
QUANTILE_COLUMNS = [
    "variable",
    "by",
    "by_value",
    "probability",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "level",
    "df",
    "qrule",
    "interval",
]


def _qrule(x_sorted: np.ndarray, cumw: np.ndarray, total: float, p: float, rule: str) -> float:
    """R's ``qs`` followed by ``qrule_math`` or ``qrule_school`` on sorted values and their cumulative weights."""
    below = np.flatnonzero(cumw <= p * total)
    pos = int(below[-1]) if below.size else 0
    nxt = min(pos + 1, x_sorted.shape[0] - 1)
    exact = p - float(cumw[pos]) / total == 0
    if not exact:
        return float(x_sorted[nxt])
    return float(x_sorted[pos]) if rule == "math" else (float(x_sorted[pos]) + float(x_sorted[nxt])) / 2


def svyquantile(
    design: Design,
    variables,
    probs: Sequence[float] = (0.25, 0.5, 0.75),
    *,
    domain=None,
    by=None,
    level: float = 0.95,
    qrule: str = "math",
    df: str = "domain",
) -> pd.DataFrame:
    """R ``svyquantile(~x, design, probs, qrule = "math", interval.type = "mean", na.rm = TRUE)`` (``alpha = 1 -
    level``), per variable and per group of ``by`` (R ``svyby``), in a ``domain``: one row per quantile."""
    if design.replicates is not None:
        raise DesignError(
            "quantiles of a replicate design are not implemented (R's svyquantile computes them replicate by"
            " replicate)",
            hint="use the Taylor-linearised design the replicates were made from",
        )
    if qrule not in QRULES:
        raise DesignError("unknown quantile rule", value=qrule, expected=" or ".join(QRULES))
    if df not in DF_CONVENTIONS:
        raise DesignError("unknown df convention", value=df, expected=" or ".join(DF_CONVENTIONS))
    if not 0 < level < 1:
        raise DesignError("the confidence level must be between 0 and 1", value=level, expected="e.g. 0.95")
    probs = [float(p) for p in probs]
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise DesignError("quantile probabilities must be between 0 and 1", value=probs, expected="e.g. 0.25,0.5")
    specs = [variables] if isinstance(variables, str) or not isinstance(variables, (list, tuple)) else list(variables)
    mask = domain_mask(design, domain)
    if by is None:
        groups, labels, by_name = np.zeros(design.n, dtype=np.int64), [None], ""
    else:
        values, by_name = _values(design, by, "by-variable")
        codes = factor_codes(values)
        groups, labels = codes.codes, codes.labels
    alpha = 1 - level
    rows = []
    for spec in specs:
        vals, name = _values(design, spec, "variable")
        try:
            x = pd.to_numeric(vals, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise DesignError(f"'{name}' is not numeric", column=name, expected="numbers (or missing)") from None
        for g, label in enumerate(labels):
            base = ~np.isnan(x) & (groups == g)
            if mask is not None:
                base &= mask
            restricted = not bool(base.all())
            used = base & (design.weights > 0)
            if not used.any():
                raise DesignError(
                    f"no respondent with a value of '{name}'" + (f" in group {label} of {by_name}" if by_name else ""),
                    column=name,
                )
            order = np.argsort(x[used], kind="stable")
            xs = x[used][order]
            w = design.weights[used]
            cumw = np.cumsum(w[order].astype(np.longdouble)).astype(np.float64)
            total = float(np.sum(w.astype(np.longdouble)))
            dfs = float(design_degf(design, base if restricted else None, convention=df))
            q = t_ppf(1 - alpha / 2, dfs) if dfs > 0 else np.nan
            for p in probs:
                estimate = _qrule(xs, cumw, total, p, qrule)
                below = np.where(base, (x <= estimate).astype(float), np.nan)
                m = svymean(design, pd.Series(below, name=name), domain=base, level=level, df=df).iloc[0]
                lo_p, hi_p = m["estimate"] - q * m["se"], m["estimate"] + q * m["se"]
                lo = np.nan if not lo_p >= 0 else _qrule(xs, cumw, total, lo_p, qrule)
                hi = np.nan if not hi_p <= 1 else _qrule(xs, cumw, total, hi_p, qrule)
                rows.append(
                    {
                        "variable": name,
                        "by": by_name,
                        "by_value": label if by_name else "",
                        "probability": p,
                        "n": int(base.sum()),
                        "estimate": estimate,
                        "se": (hi - lo) / (2 * q),
                        "ci_low": lo,
                        "ci_high": hi,
                        "level": level,
                        "df": dfs,
                        "qrule": qrule,
                        "interval": "woodruff (mean)",
                    }
                )
    return pd.DataFrame(rows, columns=QUANTILE_COLUMNS)
