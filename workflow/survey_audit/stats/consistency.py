"""Checks of printed numbers that need no data: rounding under a named convention, the percentage form of GRIM
(a printed percentage must be k/n for a whole k, given its base n), the sum of a question's printed shares,
and the statcheck rule (a printed test statistic must match its printed p-value and degrees of freedom).

These are the arithmetic an auditor does with a report and a pencil; the audit stage applies them to every
registry entry, and ``survey-audit check-published`` to a registry alone.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from scipy import stats

from ..errors import ConfigError

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def round_decimal(value: Fraction | float, decimals: int, convention: str) -> Decimal:
    """Round under a named convention (half_up or half_even). A Fraction (an unweighted k/n) is rounded
    exactly, so a tie such as 62.5 is recognised as one; a float is rounded from its shortest decimal form."""
    quantum = Decimal(1).scaleb(-decimals)
    if not isinstance(value, Fraction):
        return Decimal(repr(float(value))).quantize(quantum, rounding=ROUNDING[convention])
    scaled = value * 10**decimals
    floor = math.floor(scaled)
    remainder = scaled - floor
    if remainder != Fraction(1, 2):
        result = floor + (remainder > Fraction(1, 2))
    elif convention == "half_up":
        result = floor + 1
    else:
        result = floor + (floor % 2)
    return (Decimal(result) * quantum).quantize(quantum)


def rounds_to(value: Fraction | float, printed: float, decimals: int, conventions: tuple[str, ...]) -> bool:
    """Whether ``value`` rounds to ``printed`` at ``decimals`` under any of the conventions."""
    target = Decimal(repr(float(printed))).quantize(Decimal(1).scaleb(-decimals))
    return any(round_decimal(value, decimals, c) == target for c in conventions)


def grim_percentage(
    printed: float, decimals: int, n: int, conventions: tuple[str, ...] = ("half_up", "half_even")
) -> list[int]:
    """Every k in 0..n for which 100·k/n rounds to the printed percentage (empty: inconsistent with n)."""
    if n <= 0:
        return []
    centre = printed * n / 100
    candidates = range(max(0, math.floor(centre) - 2), min(n, math.ceil(centre) + 2) + 1)
    return [k for k in candidates if rounds_to(Fraction(100 * k, n), printed, decimals, conventions)]


def sum_check(values: list[float], decimals: int, complete: bool) -> tuple[bool, str]:
    """Printed shares of one question must sum to 100 within the rounding of k cells (k·0.5 units of the last
    printed digit); an incomplete set must not exceed that upper bound."""
    total = sum(values)
    tolerance = len(values) * 0.5 * 10 ** (-decimals)
    if complete:
        ok = abs(total - 100) <= tolerance + 1e-9
        return ok, f"sum {total:g} (100 ± {tolerance:g})"
    ok = total <= 100 + tolerance + 1e-9
    return ok, f"sum {total:g} (at most 100 + {tolerance:g}, not every category printed)"


_P_PRINTED = re.compile(r"^\s*(p\s*)?(?P<op>[<>=≤]?)\s*(?P<num>0?\.\d+|\d+(\.\d+)?(e-?\d+)?)\s*$", re.IGNORECASE)


def statcheck(
    distribution: str, statistic_printed: str, df1: float, df2: float | None, p_printed: str
) -> tuple[bool, str]:
    """Whether a printed p-value is consistent with its printed statistic and df, allowing for the rounding
    of the statistic (the statcheck rule). Returns (consistent, explanation)."""
    text = statistic_printed.strip()
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10 ** (-decimals)
    low_stat, high_stat = max(value - half, 0.0), value + half

    def sf(x: float) -> float:
        if distribution == "F":
            return float(stats.f.sf(x, df1, df2))
        if distribution == "chisq":
            return float(stats.chi2.sf(x, df1))
        if distribution == "t":
            return float(2 * stats.t.sf(abs(x), df1))
        return float(2 * stats.norm.sf(abs(x)))

    p_high, p_low = sf(low_stat), sf(high_stat)
    match = _P_PRINTED.match(p_printed)
    if not match:
        raise ConfigError(
            "the printed p-value cannot be read", value=p_printed, expected="e.g. '= .022', '< .05' or '.13'"
        )
    op = match.group("op") or "="
    number = match.group("num")
    p = float(number)
    if op in ("<", "≤"):
        ok = p_low < p
    elif op == ">":
        ok = p_high > p
    else:
        p_decimals = len(number.split(".")[1]) if "." in number else 0
        p_half = 0.5 * 10 ** (-p_decimals)
        ok = p_low <= p + p_half and p_high >= p - p_half
    return ok, f"p from the statistic's rounding interval: {p_low:.4g}–{p_high:.4g}; printed {op} {number}"
