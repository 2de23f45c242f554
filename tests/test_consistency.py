"""The data-free arithmetic of stats/consistency: counts that give a printed share, the joint counts of a
question's shares, the nearest printable values, the rounding rule a tie needs, and what would make a printed
statistic consistent. Oracles: counts and percentages worked by hand (in the comments), p-values from R's
``pchisq`` and ``pf`` (quoted beside each)."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from survey_audit.stats.consistency import (
    grim_percentage,
    joint_counts,
    nearest_feasible,
    round_decimal,
    rule_needed,
    share_counts,
    statcheck,
    statcheck_fits,
)

BOTH = ("half_up", "half_even")


def test_truncation_drops_the_digits_beyond_the_printed_ones():
    assert str(round_decimal(Fraction(200, 3), 0, "truncate")) == "66"  # 2/3 = 66.67%
    assert str(round_decimal(Fraction(200, 3), 1, "truncate")) == "66.6"
    assert str(round_decimal(Fraction(200, 3), 0, "half_up")) == "67"


def test_a_wide_base_gives_every_count_within_rounding():
    # 45% of 1000: 44.5% ≤ 100k/1000 < 45.5% under half up (44.5 → 45), ≤ 45.5 excluded under half-even too
    assert grim_percentage(45, 0, 1000) == list(range(445, 455))


def test_the_rule_a_tie_needs():
    # 5/8 = 62.5%: half up prints 63, half to even 62, truncation 62
    assert share_counts(63, 0, 8, BOTH) == {5: ("half_up",)}
    assert share_counts(62, 0, 8, (*BOTH, "truncate")) == {5: ("half_even", "truncate")}
    assert rule_needed(("half_up",), BOTH) == "half-up rounding"
    assert rule_needed(("half_even", "truncate"), (*BOTH, "truncate")) == "half-even rounding or truncation"
    assert rule_needed(BOTH, BOTH) == ""
    # 2/3 = 66.67% prints as 66% only when truncated
    assert share_counts(66, 0, 3, BOTH) == {} and share_counts(66, 0, 3, ("truncate",)) == {2: ("truncate",)}


def test_the_counts_a_large_base_gives_a_share_are_found_at_their_ends():
    # 43% of 1,000,000 (by hand): 100k/n rounds to 43 for k from 425,000 (42.5%: half up gives 43, half to even
    # 42) to 434,999 (43.4999%); 435,000 is 43.5%, which both round to 44 (44 is even)
    counts = share_counts(43, 0, 1_000_000, BOTH)
    assert min(counts) == 425_000 and max(counts) == 434_999 and len(counts) == 10_000
    assert counts[425_000] == ("half_up",) and counts[425_001] == BOTH and counts[434_999] == BOTH


@pytest.mark.parametrize(
    ("printed", "decimals", "n", "expected"),
    [
        (63, 0, 26, ["62% (16/26)", "65% (17/26)"]),  # 16/26 = 61.54%, 17/26 = 65.38%
        (63.5, 1, 26, ["61.5% (16/26)", "65.4% (17/26)"]),
        (45.1, 1, 243, ["44.9% (109/243)", "45.3% (110/243)"]),  # 109/243 = 44.856%, 110/243 = 45.267%
        (50.0, 1, 7, ["42.9% (3/7)", "57.1% (4/7)"]),
        (99, 0, 26, ["96% (25/26)", "100% (26/26)"]),
    ],
)
def test_nearest_feasible_values_of_a_grim_failure(printed, decimals, n, expected):
    assert grim_percentage(printed, decimals, n) == []
    assert nearest_feasible(printed, decimals, n) == expected


def test_joint_counts_of_the_2018_gender_shares_are_unique():
    # 98% of 260 is k = 254..256, 2% is 4..6, 1% is 2..3: only 254 + 4 + 2 = 260
    result = joint_counts([(98, 0), (2, 0), (1, 0)], 260)
    assert (result.total, result.solutions) == (1, ((254, 4, 2),))
    assert result.rules == (BOTH,)


def test_joint_counts_of_the_2018_race_shares_are_unique():
    # of 243: 45% is 109..110, 27% is 65..66, 21% is 50..52, 8% is 19..20; the smallest already sum to 243
    result = joint_counts([(45, 0), (27, 0), (21, 0), (8, 0)], 243)
    assert (result.total, result.solutions) == (1, ((109, 65, 50, 19),))


def test_joint_counts_that_cannot_sum_to_the_base():
    # 12% of 26 is only 3 (11.54%), 62% only 16 (61.54%): 3 + 3 + 3 + 16 = 25, never 26 (the shares sum to 98,
    # within 100 ± 2, so the sum check alone passes them)
    result = joint_counts([(12, 0), (12, 0), (12, 0), (62, 0)], 26)
    assert (result.total, result.solutions, result.impossible) == (0, (), ())


def test_joint_counts_with_several_solutions_list_the_first_in_order():
    # 50/33/17% of 260: 129..131, 85..87, 43..45; from 129 + 85 + 43 = 257 the offsets (0..2 each) add to 3:
    # [x^3] (1 + x + x^2)^3 = 7 vectors
    result = joint_counts([(50, 0), (33, 0), (17, 0)], 260, limit=3)
    assert result.total == 7
    assert result.solutions == ((129, 86, 45), (129, 87, 44), (130, 85, 45))


def test_an_incomplete_question_needs_its_counts_to_fit_within_the_base():
    # 60% and 30% of 10 are 6 and 3: 9 ≤ 10 fits an incomplete question, not a complete one
    assert joint_counts([(60, 0), (30, 0)], 10, complete=False).solutions == ((6, 3),)
    assert joint_counts([(60, 0), (30, 0)], 10).total == 0
    # 70% and 40% of 10 need 11 > 10
    assert joint_counts([(70, 0), (40, 0)], 10, complete=False).total == 0


def test_a_share_no_count_gives_is_named():
    assert joint_counts([(50, 0), (63, 0)], 26).impossible == (1,)


def test_joint_counts_need_no_product_of_the_intervals():
    # ten shares of 10% of 100 000: 1001 counts each (9500..10500), 1001^10 vectors in the product; checked here
    # for speed and for its first vector (9500 is 9.5%, 10500 is 10.5%, both 10% under half-even rounding)
    start = time.perf_counter()
    result = joint_counts([(10, 0)] * 10, 100_000, limit=1)
    assert time.perf_counter() - start < 5
    assert result.total > 10**20
    assert result.solutions == ((9500,) * 5 + (10500,) * 5,)


def test_statcheck_names_the_df_and_the_p_that_would_fit():
    # χ²(2) = 3.84 gives p = exp(-3.84/2) = .147; R: pchisq(c(3.835, 3.845), 1, lower.tail = FALSE) = .0502, .0499
    assert not statcheck("chisq", "3.84", 2, None, "< .05")[0]
    assert statcheck_fits("chisq", "3.84", 2, None, "< .05") == [
        "p = .147 would fit the printed statistic and df",
        "df = 1 would fit p < .05",
    ]
    # F(1, 10) = 4.96 is the 5% critical value (p = .050). R: pf(c(4.955, 4.965), 6, 10, lower.tail = FALSE)
    # = .01327, .01319 (within .013 ± .0005); with 5 or 7 numerator df .0153 and .0117; any F(1, d) has p ≥
    # pf(4.96, 1, Inf) = .026
    fits = statcheck_fits("F", "4.96", 1, 10, "= .013")
    assert fits == [
        "p = .050 would fit the printed statistic and df",
        "df1 = 6 would fit p = .013",
        "no whole df2 from 1 to 100 fits p = .013",
    ]
