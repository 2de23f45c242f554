"""Design-based survey statistics with the semantics of R's survey package: the public API.

No file I/O and no configuration: every function takes a :class:`Design` (or plain arrays) and returns a tidy
pandas frame (or arrays) carrying the estimate with its SE, CI, design effect and degrees of freedom. Each name
below says the R call it reproduces; ``tests/golden/`` checks them against R on R's ``api`` data and on the
bundled waves (1e-9 relative on closed forms, 1e-7 on iterative fits).

======================================  =====================================================================
survey_audit.stats                      R (survey package unless said otherwise)
======================================  =====================================================================
``svydesign(data, weights, cluster,     ``svydesign(ids, strata, weights, fpc, nest)``, one stage (ultimate
strata, fpc, nest, lonely_psu)``        cluster); ``lonely_psu`` is ``options(survey.lonely.psu)``
``degf(design, domain)``                ``degf(design)``, ``degf(subset(design, ...))``
``proportions(design, x, by, domain)``  ``svyby(~factor(x), ~by, subset(design, ...), svymean)`` and
                                        ``svyciprop`` per category
``multiselect_proportions``             the same for each option of a multi-select item
``proportion_ci(p, se, n, df)``         the interval formulas of ``svyciprop(method = "beta" | "logit" |
                                        "xlogit" | "mean" | "wilson")``
``proportion_se``                       ``SE(svymean(~factor(x), design))``, the bare kernel
``svymean``, ``svytotal``,              ``svymean``, ``svytotal``, ``svyratio`` (with ``svyby`` groups)
``svyratio``
``svytable``                            ``svytable`` (with cell, row and column percentages)
``svychisq``, ``association_tests``     ``svychisq(statistic = "F" | "Chisq" | "Wald" | "adjWald")``
``trend_test``                          the slope of ``svyglm(y ~ score, family = quasibinomial())``
``svyglm(design, "y ~ x + z",           ``svyglm(y ~ x + z, design, family = gaussian() | quasibinomial())``;
family, domain)``                       the :class:`GlmFit`'s ``coefficients(level)`` is ``summary()``'s
                                        table with ``confint()`` (t on ``df.residual``) and ``deff``
``regtermtest(fit, terms)``             ``regTermTest(model, ~terms)``: Wald F on the model's residual df
``svyttest(design, y, group)``          ``svyttest(y ~ group, design)``
``svyquantile(design, x, probs)``       ``svyquantile(~x, design, probs, qrule = "math", interval.type =
                                        "mean", na.rm = TRUE)`` (survey >= 4.1), with ``svyby`` groups
``compare_waves``                       a difference of two independent samples' estimates (t on
                                        Welch–Satterthwaite df)
``pearson_unweighted``,                 ``chisq.test(correct = FALSE)``, ``fisher.test`` (stats)
``fisher_exact_unweighted``
``p_adjust``                            ``p.adjust`` (stats)
``rake``, ``poststratify``,             ``rake``, ``postStratify``, ``calibrate``, ``trimWeights``
``calibrate``, ``trim_weights``
``jk1_replicates``                      ``as.svrepdesign(design, type = "JK1")``
``weight_diagnostics``                  Kish's design effect and effective n of the weights
``calibration_record``,                 (no R equivalent: save a fitted calibration and restore it on the same
``restore_calibration``                 rows without fitting it again)
======================================  =====================================================================

Printed-number checks that need no data (rounding conventions, GRIM, sums, statcheck) are in
:mod:`survey_audit.stats.consistency`.
"""

import importlib

# The names are imported on first use (PEP 562), so that importing a light module of this package (the
# formula parser, which the configuration layer reads while the workflow is parsed) does not import SciPy.
_EXPORTS = {
    "CI_METHODS": "estimates",
    "DF_CONVENTIONS": "design",
    "Design": "design",
    "GlmFit": "models",
    "LONELY_PSU_POLICIES": "design",
    "association_tests": "significance",
    "calibrate": "weighting",
    "calibration_record": "design",
    "compare_waves": "significance",
    "degf": "design",
    "fisher_exact_unweighted": "significance",
    "jk1_replicates": "weighting",
    "multiselect_proportions": "estimates",
    "p_adjust": "significance",
    "pearson_unweighted": "significance",
    "poststratify": "weighting",
    "proportion_ci": "estimates",
    "proportion_se": "estimates",
    "proportions": "estimates",
    "rake": "weighting",
    "regtermtest": "models",
    "restore_calibration": "design",
    "svychisq": "significance",
    "svydesign": "design",
    "svyglm": "models",
    "svymean": "estimates",
    "svyquantile": "quantiles",
    "svyratio": "estimates",
    "svytable": "estimates",
    "svytotal": "estimates",
    "svyttest": "models",
    "trend_test": "significance",
    "trim_weights": "weighting",
    "weight_diagnostics": "weighting",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
