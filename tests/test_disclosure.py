"""Cell suppression and the attack on it (survey_audit.stats.disclosure), against tables worked by hand: the
intervals an intruder can derive from a table's margins follow from the Fréchet bounds of a 2 x 2 table, and
the suppression patterns from what each subtraction gives back."""

from __future__ import annotations

import pytest

from survey_audit.stats.disclosure import Problem, attack, protect, sensitive

K = 5


def two_by_two(a=3, b=10, c=12, d=20) -> Problem:
    """A 2 x 2 table with its row, column and grand totals, every cell published::

      a  b | a+b
      c  d | c+d
      -----+----
    a+c b+d| total
    """
    p = Problem()
    cells = {"a": a, "b": b, "c": c, "d": d, "r1": a + b, "r2": c + d, "c1": a + c, "c2": b + d}
    cells["total"] = a + b + c + d
    for key, value in cells.items():
        p.cell(key, value, published=True)
    p.relate({"r1": 1, "a": -1, "b": -1})
    p.relate({"r2": 1, "c": -1, "d": -1})
    p.relate({"c1": 1, "a": -1, "c": -1})
    p.relate({"c2": 1, "b": -1, "d": -1})
    p.relate({"total": 1, "r1": -1, "r2": -1})
    return p


def pooled(w1: tuple[int, int], w2: tuple[int, int]) -> Problem:
    """A yes/no question in two waves and their pool (pooled = wave 1 + wave 2, count by count), all published."""
    p = Problem()
    pool = (w1[0] + w2[0], w1[1] + w2[1])
    for scope, (yes, no) in {"w1": w1, "w2": w2, "pool": pool}.items():
        p.cell((scope, "yes"), yes, published=True)
        p.cell((scope, "no"), no, published=True)
        p.cell((scope, "base"), yes + no, published=True)
        p.relate({(scope, "base"): 1, (scope, "yes"): -1, (scope, "no"): -1})
    for category in ("yes", "no", "base"):
        p.relate({("pool", category): 1, ("w1", category): -1, ("w2", category): -1})
    return p


def test_a_count_is_sensitive_when_it_points_at_a_few_people_but_some():
    assert [sensitive(v, K) for v in (0, 1, 4, 5, 60)] == [False, True, True, False, False]


def test_suppressing_the_small_cell_alone_gives_it_back_by_subtraction():
    p = two_by_two()
    (exposure,) = attack(p, {"a"}, K)
    # a = (a + b) - b: the intruder recovers 3 exactly
    assert (exposure.key, exposure.value, exposure.low, exposure.high) == ("a", 3, 3, 3)


def test_a_published_small_count_is_exposed_by_being_printed():
    p = two_by_two()
    (exposure,) = attack(p, set(), K)
    assert (exposure.key, exposure.low, exposure.high, exposure.sensitive) == ("a", 3, 3, True)


def test_protection_suppresses_the_rectangle_and_keeps_the_margins():
    p = two_by_two()
    suppressed = protect(p, K)
    assert suppressed == {"a", "b", "c", "d"}
    assert attack(p, suppressed, K) == []
    # By hand (Fréchet bounds): a lies in [max(0, c1 - r2, r1 - c2), min(r1, c1)] = [max(0, -17, -17), 13]
    from survey_audit.stats.disclosure import _components

    unknown = {"a", "b", "c", "d"}
    (component,) = list(_components(p, unknown))
    assert component.bounds("a") == (0.0, 13.0)
    assert component.bounds("d") == (17.0, 30.0)  # d = c2 - b, b in [0, 13]


def test_a_bound_whose_linear_program_is_fractional_is_the_integer_one():
    """A relation with a coefficient of 2 is not a table's margin: a + b = 3 and a = 2c. The linear program's
    largest c is 1.5 (a = 3, b = 0); as counts, c is at most 1 (a = 2, b = 1). By hand."""
    from survey_audit.stats.disclosure import _components

    p = Problem()
    for key, value in {"a": 2, "b": 1, "c": 1, "total": 3}.items():
        p.cell(key, value, published=key == "total")
    p.relate({"total": 1, "a": -1, "b": -1})
    p.relate({"a": 1, "c": -2})
    (component,) = list(_components(p, {"a", "b", "c"}))
    assert component.bounds("c") == (0.0, 1.0)
    assert component.bounds("a") == (0.0, 2.0)
    assert component.bounds("b") == (1.0, 3.0)
    # c = 1 is sensitive and its interval [0, 1] is 1 wide: exposed, with its integer bounds
    assert [(e.key, e.low, e.high) for e in attack(p, set(), K) if e.key == "c"] == [("c", 0.0, 1.0)]


def test_a_cell_two_known_solutions_set_apart_needs_no_program():
    """The true table is one solution, and every optimum met is another: a cell they already set ``width``
    apart is protected without a program of its own."""
    from survey_audit.stats.disclosure import _components

    p = two_by_two(a=30, b=10, c=12, d=20)
    (component,) = list(_components(p, {"a", "b", "c", "d"}))
    # By hand (Fréchet): a in [max(0, c1 - r2, r1 - c2), min(r1, c1)] = [10, 40]; its smallest is the table
    # a = 10, b = 30, c = 32, d = 0, so with the true d = 20 the range of d is known to be 20 wide already
    assert component.narrowed("a", K) is None
    assert component.narrowed("d", K) is None
    assert component.narrowed("d", 40) == (0.0, 30.0)  # asked for more room than d has (d = c2 - b, b <= 30)


def test_a_rectangle_of_small_partners_is_not_enough():
    # every partner is small: a lies in [max(0, 4 - 3, 4 - 2), min(4, 4)] = [2, 4], fewer than 5 values wide
    p = two_by_two(a=3, b=1, c=1, d=1)
    suppressed = {"a", "b", "c", "d"}
    exposures = {e.key: (e.low, e.high) for e in attack(p, suppressed, K) if e.key == "a"}
    assert exposures == {"a": (2.0, 4.0)}
    # protection then withholds margins too, until every small cell spans 5 values
    protected = protect(p, K)
    assert attack(p, protected, K) == []
    assert {"r1", "r2", "c1", "c2"} & protected


def test_a_hidden_small_complement_is_protected_like_a_printed_count():
    # a multi-select option chosen by 58 of 60: the 2 who did not choose it are never printed, but 60 - 58 says it
    p = Problem()
    p.cell("base", 60, published=True)
    p.cell("chose", 58, published=True)
    p.cell("did not", 2, published=False)
    p.relate({"base": 1, "chose": -1, "did not": -1})
    (exposure,) = attack(p, set(), K)
    assert (exposure.key, exposure.low, exposure.high) == ("did not", 2, 2)
    suppressed = protect(p, K)
    assert "chose" in suppressed or "base" in suppressed
    assert attack(p, suppressed, K) == []


def test_a_complementary_suppression_that_protects_nothing_is_printed_again():
    # b and c are suppressed to protect a; e, a separate cell pinned by its own total, would protect nothing
    p = two_by_two()
    p.cell("e", 40, published=True)
    p.cell("e total", 40, published=True)
    p.relate({"e total": 1, "e": -1})
    suppressed = protect(p, K)
    assert "e" not in suppressed
    assert attack(p, suppressed, K) == []


def test_a_wave_pooled_with_another_cannot_be_recovered_from_the_pool():
    # wave 1: 3 of 40; wave 2: 20 of 50; pooled: 23 of 90 (pooled = wave 1 + wave 2, cell by cell)
    p = pooled((3, 37), (20, 30))
    assert {e.key for e in attack(p, {("w1", "yes")}, K)} >= {("w1", "yes")}
    suppressed = protect(p, K)
    assert attack(p, suppressed, K) == []
    # the pool minus the other wave must not give it back: a pooled or a wave 2 count is withheld too
    assert suppressed & {("pool", "yes"), ("pool", "no"), ("w2", "yes"), ("w2", "no")}


def test_a_later_stage_never_changes_what_an_earlier_one_printed():
    p = pooled((30, 37), (3, 30))
    first = {key for key in p.values if key[0] == "w1"}
    second = set(p.values) - first
    suppressed = protect(p, K, [first, second])
    assert not suppressed & first  # wave 1, released first, stays as it was printed
    assert attack(p, suppressed, K) == []
    assert protect(p.restrict(first), K) == set()


def test_restrict_keeps_only_the_relations_among_the_cells_kept():
    p = two_by_two()
    part = p.restrict({"a", "b", "r1"})
    assert part.relations == [{"r1": 1, "a": -1, "b": -1}]
    assert set(part.values) == {"a", "b", "r1"} and part.published == {"a", "b", "r1"}


def test_a_cell_holds_one_count():
    p = Problem()
    p.cell("x", 3, published=True)
    with pytest.raises(ValueError, match="holds 3 and 4"):
        p.cell("x", 4, published=True)
