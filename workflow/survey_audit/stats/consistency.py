"""Checks of printed numbers that need no data: rounding under a named convention, the percentage form of GRIM
(a printed percentage must be k/n for a whole k, given its base n), the joint counts of a question's printed
shares (one whole count per share, the counts summing to the base), the sum of a question's printed shares, and
the statcheck rule (a printed test statistic must match its printed p-value and degrees of freedom).

These are the arithmetic an auditor does with a report and a pencil; the audit stage applies them to every
registry entry, and ``survey-audit check-published`` to a registry alone. Where a check fails it says what would
have passed: the printed values that base can give next to the printed one, the rounding rule a tie needed
(half up, half to even, or truncation), and the p-value or degrees of freedom that fit the printed statistic.

**Joint counts.** The shares of one single-choice question printed with their base n are solved together: each
share admits an interval of whole counts k (100·k/n rounds to it); a vector of counts, one per share, is
consistent when it sums to n (a complete question) or to at most n (some categories not printed). The number of
such vectors is counted by a dynamic programme over the partial sums (shares × n steps, never the product of
the intervals: a share's counts are a run of consecutive k, so each step is a difference of prefix sums), and
the first few are listed in lexicographic order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import accumulate

from ..errors import ConfigError
from .distributions import chi2_sf, f_sf, norm_sf, t_sf

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "truncate": ROUND_DOWN}
RULE_NAMES = {"half_up": "half-up rounding", "half_even": "half-even rounding", "truncate": "truncation"}


def round_decimal(value: Fraction | float, decimals: int, convention: str) -> Decimal:
    """Round under a named convention (half_up, half_even, or truncate: toward zero). A Fraction (an unweighted
    k/n) is rounded exactly, so a tie such as 62.5 is recognised as one; a float is rounded from its shortest
    decimal form."""
    quantum = Decimal(1).scaleb(-decimals)
    if not isinstance(value, Fraction):
        return Decimal(repr(float(value))).quantize(quantum, rounding=ROUNDING[convention])
    scaled = value * 10**decimals
    floor = math.floor(scaled)
    remainder = scaled - floor
    if convention == "truncate":
        result = math.trunc(scaled)
    elif remainder != Fraction(1, 2):
        result = floor + (remainder > Fraction(1, 2))
    elif convention == "half_up":
        result = floor + 1
    else:
        result = floor + (floor % 2)
    return (Decimal(result) * quantum).quantize(quantum)


def rounds_to(value: Fraction | float, printed: float, decimals: int, conventions: tuple[str, ...]) -> bool:
    """Whether ``value`` rounds to ``printed`` at ``decimals`` under any of the conventions."""
    target = _target(printed, decimals)
    return any(round_decimal(value, decimals, c) == target for c in conventions)


def _target(printed: float, decimals: int) -> Decimal:
    """The printed value as the decimal it reads as, to its printed decimals."""
    return Decimal(repr(float(printed))).quantize(Decimal(1).scaleb(-decimals))


def share_counts(printed: float, decimals: int, n: int, conventions: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    """Every k in 0..n for which 100·k/n rounds to the printed percentage, with the conventions (of those given)
    under which it does. Rounding 100·k/n is monotone in k, so under each convention the counts that fit form
    one run, whose ends are found by bisection in the interval around printed·n/100 that rounding can reach."""
    if n <= 0:
        return {}
    target = _target(printed, decimals)
    unit = Fraction(10) ** -decimals
    low = Fraction(str(target)) - unit  # truncation reaches a whole unit below the printed value's interval
    high = Fraction(str(target)) + unit
    first, last = max(0, math.floor(low * n / 100)), min(n, math.ceil(high * n / 100))

    def rounded(k: int, convention: str) -> Decimal:
        return round_decimal(Fraction(100 * k, n), decimals, convention)

    runs = {}
    for convention in conventions:
        start = _bisect(first, last + 1, lambda k, c=convention: rounded(k, c) >= target)
        end = _bisect(first, last + 1, lambda k, c=convention: rounded(k, c) > target) - 1
        if start <= end:
            runs[convention] = (start, end)
    if not runs:
        return {}
    ks = range(min(a for a, _ in runs.values()), max(b for _, b in runs.values()) + 1)
    fits = {k: tuple(c for c in conventions if c in runs and runs[c][0] <= k <= runs[c][1]) for k in ks}
    return {k: f for k, f in fits.items() if f}


def _bisect(low: int, high: int, reached) -> int:
    """The first k in [low, high) for which the monotone predicate ``reached`` holds (``high`` if none)."""
    while low < high:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle + 1
    return low


def grim_percentage(
    printed: float, decimals: int, n: int, conventions: tuple[str, ...] = ("half_up", "half_even")
) -> list[int]:
    """Every k in 0..n for which 100·k/n rounds to the printed percentage (empty: inconsistent with n)."""
    return sorted(share_counts(printed, decimals, n, conventions))


def percent_text(k: int, n: int, decimals: int, convention: str = "half_up") -> str:
    """k/n as a percentage printed with ``decimals`` decimals, with the fraction: '61.5% (16/26)'."""
    return f"{round_decimal(Fraction(100 * k, n), decimals, convention)}% ({k}/{n})"


def exact_percent(k: int, n: int) -> str:
    """100·k/n to four decimals, trailing zeros dropped: '62.5', '61.5385'."""
    return f"{float(Fraction(100 * k, n)):.4f}".rstrip("0").rstrip(".")


def nearest_feasible(printed: float, decimals: int, n: int, convention: str = "half_up") -> list[str]:
    """The percentages a base of n can print (at the printed precision) next to the printed one: the nearest
    below and the nearest above, each with its fraction ('61.5% (16/26)'). Empty for n ≤ 0."""
    if n <= 0:
        return []
    target = _target(printed, decimals)
    centre = math.floor(float(target) * n / 100)
    out = []
    for k in range(min(centre + 1, n), -1, -1):
        if round_decimal(Fraction(100 * k, n), decimals, convention) < target:
            out.append(percent_text(k, n, decimals, convention))
            break
    for k in range(max(centre, 0), n + 1):
        if round_decimal(Fraction(100 * k, n), decimals, convention) > target:
            out.append(percent_text(k, n, decimals, convention))
            break
    return out


def rule_needed(fits: tuple[str, ...], conventions: tuple[str, ...]) -> str:
    """The rounding rule a count needs when only some of the conventions give the printed value ('' when every
    convention does): 'half-up rounding', or 'half-up rounding or truncation'."""
    if set(fits) >= set(conventions):
        return ""
    return " or ".join(RULE_NAMES[c] for c in fits)


def consecutive_runs(values: list[int]) -> list[tuple[int, int]]:
    """Sorted whole numbers as runs of consecutive values: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


@dataclass(frozen=True)
class JointCounts:
    """The count vectors consistent with a question's printed shares and base: how many there are, the first
    ``limit`` of them (lexicographic), and for each the conventions under which every share rounds as printed."""

    n: int
    total: int
    solutions: tuple[tuple[int, ...], ...]
    rules: tuple[tuple[str, ...], ...]
    impossible: tuple[int, ...]  # indices of shares no count gives


def joint_counts(
    shares: list[tuple[float, int]],
    n: int,
    conventions: tuple[str, ...] = ("half_up", "half_even"),
    complete: bool = True,
    limit: int = 5,
) -> JointCounts:
    """Solve a question's printed shares (value, decimals) for whole counts: every vector k with 100·k_i/n
    rounding to share i and sum k = n (``complete``) or sum k ≤ n. Counted by dynamic programming over the
    partial sums; the first ``limit`` vectors listed."""
    options = [share_counts(value, decimals, n, conventions) for value, decimals in shares]
    impossible = tuple(i for i, o in enumerate(options) if not o)
    if impossible or n <= 0:
        return JointCounts(n, 0, (), (), impossible)
    # after[i][s]: the number of count vectors for shares i..m-1 summing to s (0 ≤ s ≤ n). A share's counts form
    # runs of consecutive k, so each step is a difference of prefix sums: O(n) per share, whatever the runs' width.
    after: list[list[int]] = [[1] + [0] * n]
    for option in reversed(options):
        prefix = [0, *accumulate(after[0])]  # prefix[s] = sum of after[0][:s]
        step = [0] * (n + 1)
        for low, high in consecutive_runs(sorted(option)):
            for s in range(low, n + 1):
                step[s] += prefix[s - low + 1] - prefix[max(s - high, 0)]
        after.insert(0, step)
    total = after[0][n] if complete else sum(after[0])
    smallest = [next((s for s, count in enumerate(row) if count), n + 1) for row in after]
    solutions: list[tuple[int, ...]] = []

    def fits(i: int, room: int) -> bool:  # can shares i.. use exactly (complete) or at most `room`?
        return bool(after[i][room]) if complete else smallest[i] <= room

    def walk(i: int, used: int, prefix: tuple[int, ...]) -> None:
        if i == len(options):
            solutions.append(prefix)
            return
        for k in sorted(options[i]):
            if len(solutions) >= limit:
                return
            if used + k <= n and fits(i + 1, n - used - k):
                walk(i + 1, used + k, (*prefix, k))

    walk(0, 0, ())
    rules = tuple(
        tuple(c for c in conventions if all(c in options[i][k] for i, k in enumerate(vector))) for vector in solutions
    )
    return JointCounts(n, total, tuple(solutions), rules, ())


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


def _sf(distribution: str, x: float, df1: float, df2: float | None) -> float:
    """The p-value of a statistic x: upper tail for F and chi-squared, two-sided for t and z."""
    if distribution == "F":
        return float(f_sf(x, df1, df2))
    if distribution == "chisq":
        return float(chi2_sf(x, df1))
    if distribution == "t":
        return float(2 * t_sf(abs(x), df1))
    return float(2 * norm_sf(abs(x)))


@dataclass(frozen=True)
class _Printed:
    """A printed statistic and p-value, read: the statistic's rounding interval, the p's relation and value."""

    low: float
    high: float
    op: str
    number: str

    @classmethod
    def read(cls, statistic_printed: str, p_printed: str) -> _Printed:
        text = statistic_printed.strip()
        value = float(text)
        decimals = len(text.split(".")[1]) if "." in text else 0
        half = 0.5 * 10 ** (-decimals)
        match = _P_PRINTED.match(p_printed)
        if not match:
            raise ConfigError(
                "the printed p-value cannot be read", value=p_printed, expected="e.g. '= .022', '< .05' or '.13'"
            )
        return cls(max(value - half, 0.0), value + half, match.group("op") or "=", match.group("num"))

    def p_range(self, distribution: str, df1: float, df2: float | None) -> tuple[float, float]:
        """The p-values the statistic's rounding interval gives (low, high)."""
        return _sf(distribution, self.high, df1, df2), _sf(distribution, self.low, df1, df2)

    def fits(self, distribution: str, df1: float, df2: float | None) -> bool:
        p_low, p_high = self.p_range(distribution, df1, df2)
        p = float(self.number)
        if self.op in ("<", "≤"):
            return p_low < p
        if self.op == ">":
            return p_high > p
        p_decimals = len(self.number.split(".")[1]) if "." in self.number else 0
        p_half = 0.5 * 10 ** (-p_decimals)
        return p_low <= p + p_half and p_high >= p - p_half


def statcheck(
    distribution: str, statistic_printed: str, df1: float, df2: float | None, p_printed: str
) -> tuple[bool, str]:
    """Whether a printed p-value is consistent with its printed statistic and df, allowing for the rounding
    of the statistic (the statcheck rule). Returns (consistent, explanation)."""
    printed = _Printed.read(statistic_printed, p_printed)
    p_low, p_high = printed.p_range(distribution, df1, df2)
    ok = printed.fits(distribution, df1, df2)
    return (
        ok,
        f"p from the statistic's rounding interval: {p_low:.4g}–{p_high:.4g}; printed {printed.op} {printed.number}",
    )


def statcheck_fits(
    distribution: str, statistic_printed: str, df1: float, df2: float | None, p_printed: str
) -> list[str]:
    """What would make a printed statistic consistent: the p-value it gives with the printed df (rounded as the
    p was printed), and the whole degrees of freedom near the printed ones with which the printed p fits (for F,
    the numerator with the denominator as printed, and the denominator with the numerator as printed)."""
    printed = _Printed.read(statistic_printed, p_printed)
    digits = max(len(printed.number.split(".")[1]) if "." in printed.number else 0, 3)
    centre = f"{_sf(distribution, float(statistic_printed), df1, df2):.{digits}f}"
    if printed.number.startswith("."):
        centre = centre.removeprefix("0")
    out = [f"p = {centre} would fit the printed statistic and df"]
    if distribution == "z":
        return out
    searches = [("df1" if distribution == "F" else "df", df1, lambda d: (d, df2))]
    if distribution == "F" and df2 is not None:
        searches.append(("df2", df2, lambda d: (df1, d)))
    for name, printed_df, with_df in searches:
        top = max(100, math.ceil(3 * printed_df))
        fitting = [d for d in range(1, top + 1) if printed.fits(distribution, *with_df(d))]
        if not fitting:
            out.append(f"no whole {name} from 1 to {top} fits p {printed.op} {printed.number}")
            continue
        spans = sorted(consecutive_runs(fitting), key=lambda r: (min(abs(r[0] - printed_df), abs(r[1] - printed_df)), r[0]))
        text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans[:2])
        out.append(f"{name} = {text} would fit p {printed.op} {printed.number}")
    return out
