"""The pipeline's statistical conventions: every choice the tabulate and association stages make about *what*
is estimated and tested, in one place, each with the R call (survey package) it corresponds to. *How* a number
is computed lives in :mod:`survey_audit.stats`; the values of the configurable choices in
``config/config.yaml`` (defaults in its schema).

* **The design** (:func:`scope_design`): the recruiting organisation is the primary sampling unit, sampled
  with replacement, no finite population correction: R ``svydesign(ids = ~org, weights = ~w, data)``. In a
  pooled table each wave is a stratum and its organisations the clusters within it (their labels prefixed by
  the wave, so that two waves' organisations are never one cluster): R ``svydesign(ids = ~org, strata = ~wave,
  nest = TRUE)``. Strata with a single organisation follow ``estimation.lonely_psu`` (R
  ``options(survey.lonely.psu)``).
* **Bases** (:func:`indicators`): a single-choice or yes/no percentage is over the respondents in the domain
  with a valid answer; a multi-select option's over those who answered the item (chose at least one option, or
  gave a substantive missing code such as "don't know" counted as answering). R: ``svyby(~I(y == c), ~by,
  subset(design, domain & !is.na(y)), svymean)``.
* **Weightings**: ``unweighted`` (every respondent 1, as the reports computed) and, for a wave with a weighting
  spec, ``weighted`` (the calibrated design, variances with calibration residuals: R ``rake()`` then
  ``svymean``). A wave without a spec has no weighted version; pooled tables are unweighted only, since each
  wave's calibration is its own.
* **Design effect** (:data:`DEFF`): against simple random sampling *with* replacement, R ``svymean(...,
  deff = "replace")``: with unit weights the population size equals the sample size and R's default
  (without-replacement) reference variance is zero.
* **Intervals**: ``estimation.ci_method`` (R ``svyciprop``, Korn–Graubard by default) on the domain's degrees of
  freedom (``estimation.domain_df``; R ``degf(subset(design, ...))``). Whatever interval is shown, the NCHS
  presentation standard (:func:`cell_flags`) judges every cell on the Korn–Graubard interval with the effective
  n truncated at n (:data:`NCHS_CI`). The default rests on a coverage study (``validation/coverage.py``, its
  README and ``coverage.csv``): in populations shaped like the two waves (14 and 24 organisations of the bundled
  sizes, intra-organisation correlation 0 to 0.2, true proportions 1% to 50%, domains down to 15%; 20,000
  samples each), Korn–Graubard on the domain df covered 96.45% on average in the 160 central scenarios
  (p >= 5%, icc <= 0.1) and never less than 94.3%, with misses balanced (1.7% below, 1.8% above); logit covered
  95.85% (lowest 93.8%; misses 1.6% / 2.6%) with 1.4% narrower intervals, Wilson 95.4% (lowest 93.0%; 1.8% /
  2.8%) with 5.6% narrower ones, Wald 93.75% (lowest 87.1%). The domain df widens intervals only in small
  domains (4% in a 15% domain of wave 1) and raises their coverage there by half a point. With strong clustering
  and a rare outcome (icc 0.2, p 2-5%, whole of wave 2) every method falls to 89-93%.
* **Tests** (:data:`PRIMARY_TESTS`): the Rao–Scott second-order F is the test of association a family adjusts
  (R ``svychisq(~y + by, design, statistic = "F")``), with the first-order chi-square, Wald and adjusted Wald
  beside it, and the unweighted Pearson and Fisher tests as sensitivity checks; the trend over an ordered
  by-variable with three or more levels is the slope of R ``svyglm(y ~ as.numeric(by), design,
  family = quasibinomial())`` (over two levels a trend is the association test again, so none is run);
  harmonised tables are compared between waves as independent samples (t on Welch–Satterthwaite df, by
  default). A comparison in which one wave's estimate is 0% or 100% has no design-based SE for that wave: it
  is flagged, left out of its family and never counts as evidence for a claim.
* **Models** (:data:`MODEL_TEST`): a table's ``model`` is R ``svyglm(formula, subset(design, domain),
  family = gaussian())`` (by default; ``quasibinomial()`` for a 0/1 outcome) on the table's design, rows with a
  variable of the formula missing left out (R ``na.omit``), and its tested terms get the Wald F of R
  ``regTermTest(model, ~terms, method = "Wald")`` on ``(k, df.residual)``, ``df.residual = degf + 1 - p`` with
  ``degf`` the df of the rows used under ``estimation.domain_df`` (R ``degf(subset(...))``): with 24
  organisations and region (four levels) beside a yes/no term, 19 df. The reference level of a categorical
  term is its first category as ``config/variables.yaml`` orders it (R's first factor level), unless the formula
  names one with ``relevel(x, ref = "no")``, so that a yes/no term's coefficient reads "yes minus no". A yes/no
  outcome of a logistic model is 1 for yes, 0 for no (:func:`yes_indicator`; R ``svyglm(I(y == "yes") ~ ...,
  family = quasibinomial())``), whatever the order of its categories. A single
  tested coefficient gives the test's ``estimate`` and ``direction`` (``positive``, ``negative``), which a claim
  of a direction is checked on. The model test is a primary test of its declared family.
* **Families** (:class:`Significance`): the tests that registry claims cite form the claims family (Holm: R
  ``p.adjust(p, "holm")``); every other primary test belongs to its table's family (Benjamini–Hochberg by
  default: R ``p.adjust(p, "BH")``). A family is adjusted within one report (:func:`release_scope`): the
  tests of the waves a report published, and of their pools and comparisons, form its families, so adding a
  wave never moves a published adjusted p-value. Each distinct hypothesis enters a family once: for a
  two-category variable only the first category's wave comparison is a hypothesis (the other is its
  complement).
* **Across waves**: every pair of waves is compared; with three or more waves a table also gets a trend across
  waves (:func:`~survey_audit.stages.associations.wave_trend_tests`, waves as strata, the slope over each
  wave's middle fielding year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.tables import MODEL_TEST, is_pool, scope_waves
from ..config.variables import Variable
from ..stats.design import Design, svydesign

DEFF = "wr"  # R svymean(..., deff = "replace")
NCHS_CI = "kg_nchs"  # the interval the NCHS presentation standard is judged on
PRIMARY_TESTS = ("F", "trend", "wave_difference", MODEL_TEST)  # adjusted within their family; the rest beside them
# A cell of a table, as the tabulate stage writes it and the publish and report stages read it (docs/columns.md):
# who it counts, its estimate (a percentage or a mean) with SE and interval, and how it was estimated.
PROPORTION_COLUMNS = ["pct", "pct_se", "pct_ci_low", "pct_ci_high"]  # percent and percentage points
MEAN_COLUMNS = ["mean", "mean_se", "mean_ci_low", "mean_ci_high"]  # the variable's unit
CELL_COLUMNS = [
    "table_id", "wave", "domain", "by", "by_value", "variable", "category", "weighting",
    "n", "base_n", "excluded_n", "weighted_n", "weighted_base",
    *PROPORTION_COLUMNS, *MEAN_COLUMNS, "ci_method", "level", "deff", "n_eff", "df", "flags",
]  # fmt: skip


@dataclass(frozen=True)
class Estimation:
    """How cells are estimated: the CI method and level, the domain-df convention, the lonely-PSU policy and the
    small-base threshold (``config: estimation`` and ``tabulation``)."""

    ci: str
    level: float
    domain_df: str
    lonely_psu: str
    small_base: int

    @classmethod
    def from_config(cls, estimation: dict, tabulation: dict) -> Estimation:
        return cls(
            ci=estimation["ci_method"],
            level=estimation["level"],
            domain_df=estimation["domain_df"],
            lonely_psu=estimation["lonely_psu"],
            small_base=tabulation["small_base"],
        )


@dataclass(frozen=True)
class Significance:
    """Which families the tests belong to and how each family's p-values are adjusted (``config:
    significance``)."""

    families: dict[str, str]  # family → adjustment (holm, bh, by)
    claims_family: str
    wave_family: str
    wave_df: str

    @classmethod
    def from_config(cls, significance: dict) -> Significance:
        comparisons = significance["wave_comparisons"]
        return cls(
            families={name: spec["adjustment"] for name, spec in significance["families"].items()},
            claims_family=significance["claims_family"],
            wave_family=comparisons["family"],
            wave_df=comparisons["df"],
        )


def scope_design(frame: pd.DataFrame, weights: np.ndarray, scope: str, lonely_psu: str) -> Design:
    """The survey design of one wave (organisations as clusters, sampled with replacement), or of the pooled
    waves (each wave a stratum, its organisations the clusters within it)."""
    return svydesign(
        frame,
        weights=np.asarray(weights, dtype=float),
        cluster="org",
        strata="wave" if is_pool(scope) else None,
        lonely_psu=lonely_psu,
    )


def indicators(frame: pd.DataFrame, var: Variable) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories of a variable, a boolean matrix (rows × categories) of who is in each, and who is in the base
    (has a valid answer: for a multi-select item, answered it). Boolean, not float: a byte per cell."""
    categories = list(var.categories)
    if var.is_multi:
        cols = [frame[var.option_column(o)] for o in categories]
        valid = cols[0].notna().to_numpy()
        matrix = np.column_stack([c.fillna(False).to_numpy(dtype=bool) for c in cols])
    else:
        values = frame[var.name]
        valid = values.notna().to_numpy()
        codes = pd.Categorical(values, categories=categories).codes
        matrix = np.zeros((len(frame), len(categories)), dtype=bool)
        matrix[np.flatnonzero(codes >= 0), codes[codes >= 0]] = True
    return categories, matrix, valid


def yes_indicator(values: pd.Series) -> pd.Series:
    """A yes/no answer as the outcome of a model: 1.0 for yes, 0.0 for no, missing where it is missing."""
    return pd.Series(np.where(values.isna(), np.nan, (values == "yes").astype(float)), index=values.index)


def cell_flags(n, base_n, p, ci_low, ci_high, n_eff, df, small_base: int) -> str:
    """Flags of a proportion cell: ``empty_base``, ``small_base`` (unweighted base below ``small_base``),
    ``zero_or_full`` (0% or 100%), and the NCHS data presentation standard for proportions (Parker et al. 2017),
    judged on the Korn–Graubard interval with the effective n truncated at n: ``nchs_suppress`` (effective n
    below 30, an interval at least 30 points wide, or one wider than 130% of the estimate),
    ``nchs_complement`` (interval wider than 130% of the complement: footnote) and ``nchs_review`` (fewer than 8
    degrees of freedom, or an estimate of 0% or 100%)."""
    if base_n == 0 or pd.isna(p):
        return "empty_base"
    flags = []
    if base_n < small_base:
        flags.append("small_base")
    extreme = n in (0, base_n)
    if extreme:
        flags.append("zero_or_full")
    width = ci_high - ci_low
    suppress = (not pd.isna(n_eff) and n_eff < 30) or (width >= 0.30)
    if not suppress and width > 0.05 and p > 0 and width / p > 1.30:
        suppress = True
    if suppress:
        flags.append("nchs_suppress")
    elif width > 0.05 and p < 1 and width / (1 - p) > 1.30:
        flags.append("nchs_complement")
    if df < 8 or extreme:
        flags.append("nchs_review")
    return ";".join(flags)


# What each flag of a cell, a test or an audit row says, in words: a short label (where the flag is shown, with
# ``{small_base}`` filled in) and its meaning (the legend). The audit's ``flags`` column and the report use these.
FLAGS = {
    "suppressed": ("cell suppressed", "a count of the cell is withheld by disclosure control ([c])"),
    "empty_base": ("empty base", "no respondent in the base: no estimate"),
    "small_base": ("base < {small_base}", "unweighted base below tabulation.small_base"),
    "zero_or_full": ("0% or 100%", "estimate of 0% or 100%: no design-based SE; one-sided exact interval"),
    "nchs_suppress": (
        "NCHS: suppress",
        "NCHS standard (Parker et al. 2017): effective n below 30, or the Korn–Graubard interval 30 points wide "
        "or more, or wider than 130% of the estimate; the estimate is unreliable",
    ),
    "nchs_complement": (
        "NCHS: complement unreliable",
        "NCHS standard: the interval is wider than 130% of the complement (100% minus the estimate); footnote",
    ),
    "nchs_review": ("NCHS: review", "NCHS standard: fewer than 8 degrees of freedom, or an estimate of 0% or 100%"),
    "boundary_estimate": (
        "boundary estimate",
        "a wave's estimate is 0% or 100%: the test is left out of its family and is no evidence for a claim",
    ),
    "not_computable": ("not computable", "no statistic could be computed (the reason is in the method)"),
}

# The interval methods a cell's ``ci_method`` names, with the R call each matches (the report's legend).
CI_METHOD_TEXT = {
    "kg": 'Korn–Graubard: Clopper–Pearson on the df-adjusted effective n (R svyciprop(method = "beta"))',
    "kg_nchs": "Korn–Graubard with the effective n truncated at n (the NCHS variant)",
    "logit": 'logit interval (R svyciprop(method = "logit"))',
    "xlogit": 'logit interval on the linearised SE (R svyciprop(method = "xlogit"))',
    "wilson": 'survey Wilson interval on the effective n (R svyciprop(method = "wilson"))',
    "wald": 'Wald interval, estimate ± t·SE (R svyciprop(method = "mean"))',
    "exact_boundary": "0% or 100%: one-sided exact Clopper–Pearson interval on n (NCHS rule)",
    "none_df<1": "no interval: fewer than one degree of freedom",
    "empty_base": "no interval: empty base",
    "wald_t": "mean ± t·SE on the domain's degrees of freedom (R confint(svymean(...), df = degf(...)))",
}


def flag_labels(flags: str, small_base: int | str) -> list[str]:
    """The short labels of ``;``-separated flags, in their order (an unknown flag as written)."""
    return [FLAGS[f][0].format(small_base=small_base) if f in FLAGS else f for f in str(flags).split(";") if f]


def mean_flags(base_n: int, small_base: int) -> str:
    """Flags of a mean cell: ``empty_base`` or ``small_base``."""
    return "empty_base" if base_n == 0 else ("small_base" if base_n < small_base else "")


def is_hypothesis(var: Variable, category: str) -> bool:
    """Whether a per-category comparison of ``var`` is a hypothesis of its own: for a variable with two
    categories the second is the complement of the first (the same test), so only the first is."""
    return var.is_multi or len(var.categories) != 2 or category == next(iter(var.categories))


def release_scope(scope: str, release_scopes: dict[str, str], fielding: dict) -> str:
    """The report a test belongs to: its wave's, or for a pool or a comparison, that of its most recently fielded
    wave (the report that could first have printed it). Families are adjusted within a report, so adding a wave
    leaves every published adjusted p-value as it was."""
    waves = scope_waves(scope)
    latest = max(waves, key=lambda w: (fielding[w][1], list(fielding).index(w)))
    return release_scopes[latest]
