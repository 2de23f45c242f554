"""Distribution functions: the tails and quantiles the tests and intervals refer to.

Each is the SciPy special function that ``scipy.stats`` itself calls for it (the same numbers, bit for bit), so
the statistics layer does not import ``scipy.stats``, which costs a quarter of a second in every workflow job,
nor pay its per-call argument checks. R equivalents: ``pt(x, df, lower.tail = FALSE)``, ``qt``,
``pf(..., lower.tail = FALSE)``, ``pchisq(..., lower.tail = FALSE)``, ``pnorm(..., lower.tail = FALSE)``,
``qnorm`` and ``qbeta``. An impossible parameter (df <= 0, NaN) gives NaN, as in R.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def t_sf(x, df):
    """Upper tail of Student's t: P(T > x) on ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    return special.stdtr(df, np.negative(x))


def t_ppf(p, df):
    """Quantile of Student's t (``scipy.stats.t.ppf``)."""
    return special.stdtrit(df, p)


def f_sf(x, df1, df2):
    """Upper tail of the F distribution (``scipy.stats.f.sf``)."""
    return special.fdtrc(df1, df2, x)


def chi2_sf(x, df):
    """Upper tail of the chi-squared distribution (``scipy.stats.chi2.sf``; NaN for df <= 0, as there)."""
    return np.where(np.greater(df, 0), special.chdtrc(df, x), np.nan)[()]


def norm_sf(x):
    """Upper tail of the standard normal (``scipy.stats.norm.sf``)."""
    return special.ndtr(np.negative(x))


def norm_ppf(p):
    """Quantile of the standard normal (``scipy.stats.norm.ppf``)."""
    return special.ndtri(p)


def beta_ppf(p, a, b):
    """Quantile of the beta distribution (``scipy.stats.beta.ppf``)."""
    return special.betaincinv(a, b, p)
