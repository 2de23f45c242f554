"""Statistical disclosure control for published counts: primary and complementary cell suppression, and the
attack that checks it.

The published numbers of a survey are counts of people (and numbers computed from them: a percentage with its
base is a count). A count is **sensitive** when it is small but not zero (``1 <= count < k``): it points at a
handful of respondents. Suppressing sensitive cells is not enough: tables add up (categories to their base,
waves to their pool, by-groups to the whole, base and non-response to the group), so a suppressed count can
often be recovered by subtraction. The model here is the one of tau-argus and sdcTable, on a small scale:

* a :class:`Problem` holds **cells** (each a count, published or hidden, i.e. never printed, such as the
  complement of a multi-select option or the respondents of a by-group) and **linear relations** among them,
  equalities (``sum coef * cell = 0``); every count is a non-negative integer;
* :func:`attack` plays the intruder: for each cell to protect it finds the smallest and the largest integer
  value the cell can take given every published count and every relation, component by component (cells
  linked by relations), so the programs stay small however many tables there are. Each bound is the linear
  program's (HiGHS, re-solved from the last basis) when its optimal vertex is an integer table, as it always
  is for a table with margins, and the integer program's (SciPy's HiGHS MILP) otherwise; a cell that two
  known integer solutions already set far enough apart needs no program;
* :func:`protect` suppresses the sensitive published cells (primary suppression) and then, while the attack
  narrows a sensitive cell too far, suppresses one more published cell per exposed cell (complementary
  suppression): of the published cells the intruder's bound rests on (a nonzero shadow price in the linear
  program of the bound: freeing the cell moves it), the cheapest (lowest cost tier, a count of at least ``k``,
  then the smallest count). Last, a complementary suppression that the published cells pin exactly is printed
  again: it protected nothing. On a table with margins this suppresses a rectangle of interior cells and
  keeps the margins, as hypercube methods do; it is a heuristic (the optimal pattern is an NP-hard problem),
  and :func:`attack`, not the heuristic, is what a build's check relies on.

A sensitive cell is protected when the intruder's interval is at least ``k`` wide: they cannot tell the count
within fewer than ``k + 1`` values (the protection interval of tau-argus, set to the threshold). A suppressed
cell that is not sensitive must not be recoverable exactly. A sensitive cell that is hidden (never printed,
such as a small complement, or the respondents a by-table leaves out) is protected in the same way.

R equivalent: ``sdcTable::protectTable(..., method = "SIMPLEHEURISTIC")`` for the suppression, and its
``attack()`` for the check; sdcTable works on hierarchical tables, this model on any set of linear relations.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

Key = Hashable


def sensitive(value: float, k: int) -> bool:
    """A count that points at fewer than ``k`` people, and at some."""
    return 1 <= value < k


@dataclass
class Problem:
    """Published and hidden counts, and the linear relations among them."""

    values: dict[Key, int] = field(default_factory=dict)  # every cell's true count
    published: set[Key] = field(default_factory=set)  # the cells some output prints
    relations: list[dict[Key, float]] = field(default_factory=list)  # sum(coef * cell) = 0
    fixed: set[Key] = field(default_factory=set)  # published cells never suppressed (a wave's respondents)
    # How much withholding a published cell costs beyond its own count (0 by default): complementary
    # suppression takes a cell of a higher tier only when no cell of a lower one will do.
    tier: dict[Key, int] = field(default_factory=dict)

    def cell(self, key: Key, value: float, *, published: bool) -> Key:
        """Add a cell (a cell added twice must hold the same count: it is the same number in two places)."""
        value = int(round(value))
        if key in self.values and self.values[key] != value:
            raise ValueError(f"cell {key!r} holds {self.values[key]} and {value}")
        self.values[key] = value
        if published:
            self.published.add(key)
        return key

    def relate(self, terms: dict[Key, float]) -> None:
        """Add the relation ``sum(coef * cell) = 0`` over cells already added."""
        terms = {k: c for k, c in terms.items() if c}
        if len(terms) > 1:
            self.relations.append(terms)

    def restrict(self, keys: set[Key]) -> Problem:
        """The cells of ``keys`` and the relations among them alone."""
        return Problem(
            values={key: value for key, value in self.values.items() if key in keys},
            published=self.published & keys,
            relations=[r for r in self.relations if r.keys() <= keys],
            fixed=self.fixed & keys,
            tier={key: tier for key, tier in self.tier.items() if key in keys},
        )

    def sensitive_cells(self, k: int) -> set[Key]:
        return {key for key, value in self.values.items() if sensitive(value, k)}


@dataclass(frozen=True)
class Exposure:
    """A cell the intruder narrows too far: the smallest and largest count it can have (inf: no bound)."""

    key: Key
    value: int
    low: float
    high: float
    sensitive: bool


def attack(
    problem: Problem, suppressed: set[Key], k: int, *, also: set[Key] | None = None, known: dict | None = None
) -> list[Exposure]:
    """Every cell to protect that the published counts and the relations narrow too far: a sensitive cell (a
    suppressed or hidden count, or a complement, of 1 to ``k - 1``) to an interval narrower than ``k``, another
    suppressed cell (of ``also``, by default all) to its exact value, and a sensitive cell that is published.

    ``known`` (a dict the caller keeps between calls on the same problem) remembers each component's bounds: a
    component is fixed by its unknown cells (its relations are those that touch them, every other cell a
    published constant), so a later call whose suppressions leave a component as it was reuses them."""
    unknown = (set(problem.values) - problem.published) | suppressed
    wanted = problem.sensitive_cells(k) | (suppressed if also is None else also)
    targets = sorted(wanted & unknown, key=repr)
    known = {} if known is None else known
    exposed = []
    for component in _components(problem, unknown):
        remembered = known.setdefault(frozenset(component.index), {})
        for key in (key for key in targets if key in component.index):
            value = problem.values[key]
            is_sensitive = sensitive(value, k)
            if key not in remembered:
                remembered[key] = component.narrowed(key, k if is_sensitive else 1)
            if remembered[key] is not None:
                low, high = remembered[key]
                exposed.append(Exposure(key, value, low, high, is_sensitive))
    # A published sensitive cell is exposed by being published.
    exposed += [
        Exposure(key, problem.values[key], problem.values[key], problem.values[key], True)
        for key in sorted(problem.sensitive_cells(k) & (problem.published - suppressed), key=repr)
    ]
    return exposed


def protect(problem: Problem, k: int, stages: list[set[Key]] | None = None) -> set[Key]:
    """The published cells to suppress. Primary suppression: the sensitive ones. Complementary suppression:
    while :func:`attack` narrows a sensitive cell too far, suppress for each such cell one more published count
    that the intruder's bound on it rests on. Last, a complementary suppression that the published counts pin
    exactly protects nothing (printing it tells the intruder nothing new) and is printed after all, so no
    suppressed count can be recovered.

    ``stages`` orders the cells as they are released (a survey wave's, with the pools it completes): each stage
    is protected as if no later one existed, and a later stage never changes what an earlier one printed or
    withheld (it suppresses its own cells instead), so adding a wave leaves every earlier release as it was."""
    suppressed: set[Key] = set()
    printed: set[Key] = set()
    present: set[Key] = set()
    for stage in stages or [set(problem.values)]:
        present |= stage
        part = problem.restrict(present)
        part.fixed |= printed
        suppressed = _protect_stage(part, k, suppressed)
        printed = part.published - suppressed
    return suppressed


def _protect_stage(problem: Problem, k: int, kept: set[Key], max_rounds: int = 1000) -> set[Key]:
    """:func:`protect` for one stage; ``kept``: the suppressions of earlier stages, which stay (and stay
    unrecoverable)."""
    earlier = kept - problem.sensitive_cells(k)
    suppressed = kept | (problem.sensitive_cells(k) & problem.published)
    pricing = _Pricing(problem)
    known: dict = {}
    for _ in range(max_rounds):
        exposed = attack(problem, suppressed, k, also=earlier, known=known)
        if not exposed:
            break
        added: set[Key] = set()
        for exposure in exposed:
            choice = pricing.complement(exposure, suppressed | added, k)
            if choice is None:
                raise RuntimeError(f"no published count left to protect {exposure.key!r}")
            added.add(choice)
        suppressed |= added
    else:
        raise RuntimeError("complementary suppression did not converge")
    pinned = {e.key for e in attack(problem, suppressed, k, known=known) if not e.sensitive}
    return suppressed - (pinned - kept)


class _Pricing:
    """Which published count to suppress next for an exposed cell: the intruder's bound on the cell is the
    optimum of a linear program in which every printed count is a variable held at its value; a printed count
    whose bound has a nonzero shadow price in the program for the bound to widen is one the bound rests on
    (freeing it moves the bound). Of those, the cheapest: the lowest tier, a count of at least ``k`` (one
    suppression can give the cell room), then the smallest, so as few people's counts as possible are
    withheld."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.keys = sorted(problem.values, key=repr)
        self.index = {key: i for i, key in enumerate(self.keys)}
        rows, columns, coefficients = [], [], []
        for number, relation in enumerate(problem.relations):
            for cell, coef in relation.items():
                rows.append(number)
                columns.append(self.index[cell])
                coefficients.append(coef)
        shape = (len(problem.relations), len(self.keys))
        self.matrix = sparse.csr_array((coefficients, (rows, columns)), shape=shape)
        self.values = np.array([problem.values[key] for key in self.keys], dtype=float)

    def complement(self, exposure: Exposure, suppressed: set[Key], k: int) -> Key | None:
        problem = self.problem
        held = np.array([key in problem.published and key not in suppressed for key in self.keys])
        lower = np.where(held, self.values, 0.0)
        upper = np.where(held, self.values, np.inf)
        # Widen the side with room: the top (a count can always be larger), and the bottom if it is above 0.
        directions = [-1.0] + ([1.0] if exposure.low > 0 else [])
        priced = np.zeros(len(self.keys), dtype=bool)
        for direction in directions:
            cost = np.zeros(len(self.keys))
            cost[self.index[exposure.key]] = direction
            result = linprog(
                cost,
                A_eq=self.matrix,
                b_eq=np.zeros(self.matrix.shape[0]),
                bounds=np.column_stack([lower, upper]),
                method="highs",
            )
            if result.status == 0:
                priced |= (np.abs(result.lower.marginals) > 1e-9) | (np.abs(result.upper.marginals) > 1e-9)
        candidates = [self.keys[i] for i in np.flatnonzero(priced & held) if self.keys[i] not in problem.fixed]
        if not candidates:  # a degenerate program: the cells linked to the exposed one, nearest first
            candidates = self._linked(exposure.key, suppressed)
        return min(candidates, key=lambda key: self.cost(key, k), default=None)

    def cost(self, key: Key, k: int) -> tuple:
        value = self.problem.values[key]
        return (self.problem.tier.get(key, 0), value < k, value, repr(key))

    def _linked(self, key: Key, suppressed: set[Key]) -> list[Key]:
        problem = self.problem
        frontier, seen = {key}, set()
        while frontier:
            linked = {c for r in problem.relations if frontier & r.keys() for c in r}
            seen |= frontier
            open_cells = [
                c for c in linked if c in problem.published and c not in suppressed and c not in problem.fixed
            ]
            if open_cells:
                return open_cells
            frontier = linked - seen
        return []


class _Component:
    """Unknown cells linked by relations, with the relations among them (published cells as constants).

    The bound of a cell is the optimum of a linear program first: when its optimal vertex is an integer table
    (always on a table with margins, whose constraint matrix is totally unimodular) that vertex is an integer
    solution as good as the relaxation's, so the integer optimum equals it; otherwise the integer program is
    solved. Every integer solution met on the way (the true table first) widens the range each cell is known
    to take, and a cell whose known range is already wide enough needs no program of its own
    (:meth:`narrowed`)."""

    def __init__(self, problem: Problem, keys: list[Key], relations: list[dict[Key, float]]):
        self.index = {key: i for i, key in enumerate(keys)}
        rows, columns, coefficients, rhs = [], [], [], []
        for number, relation in enumerate(relations):
            constant = 0.0
            for cell, coef in relation.items():
                if cell in self.index:
                    rows.append(number)
                    columns.append(self.index[cell])
                    coefficients.append(coef)
                else:
                    constant += coef * problem.values[cell]
            rhs.append(-constant)
        self.matrix = sparse.csr_array((coefficients, (rows, columns)), shape=(len(relations), len(keys)))
        self.rhs = np.array(rhs)
        truth = np.array([problem.values[key] for key in keys], dtype=float)
        self.seen_low, self.seen_high = truth.copy(), truth.copy()  # values some integer solution gives
        self._solver = None
        self._objective: int | None = None

    def bounds(self, key: Key) -> tuple[float, float]:
        """The smallest and largest integer value of ``key`` over every solution."""
        i = self.index[key]
        return self._extreme(i, 1.0), self._extreme(i, -1.0)

    def narrowed(self, key: Key, width: int) -> tuple[float, float] | None:
        """The bounds of ``key`` when they are narrower than ``width``; ``None`` when two integer solutions
        already set its value ``width`` apart (solving a program only while that is not shown)."""
        i = self.index[key]
        if self.seen_high[i] - self.seen_low[i] >= width:
            return None
        low = self._extreme(i, 1.0)
        if self.seen_high[i] - self.seen_low[i] >= width:
            return None
        high = self._extreme(i, -1.0)
        return (low, high) if high - low < width else None

    def _extreme(self, i: int, direction: float) -> float:
        """The smallest (``direction`` 1) or largest (-1) integer value of cell ``i``; inf when unbounded."""
        status, relaxed = self._relaxation(i, direction)
        if status == "unbounded":  # so is the integer program (a rational polyhedron with an integer point)
            return np.inf
        solution = None if relaxed is None else np.round(relaxed)
        if solution is None or not self._feasible(solution):
            n = len(self.index)
            cost = np.zeros(n)
            cost[i] = direction
            constraints = [LinearConstraint(self.matrix, self.rhs, self.rhs)] if self.matrix.shape[0] else []
            limits = Bounds(np.zeros(n), np.full(n, np.inf))
            exact = milp(cost, constraints=constraints, bounds=limits, integrality=np.ones(n))
            if exact.status != 0:  # not optimal: unbounded
                return np.inf if direction < 0 else 0.0
            solution = np.round(exact.x)
        np.minimum(self.seen_low, solution, out=self.seen_low)
        np.maximum(self.seen_high, solution, out=self.seen_high)
        return float(solution[i])

    def _relaxation(self, i: int, direction: float) -> tuple[str, np.ndarray | None]:
        """The linear program of a bound, solved by HiGHS from the previous bound's optimal basis (the
        programs of one component differ in their objective only, so a re-solve takes a few pivots)."""
        if self._solver is None:
            self._solver = _highs(self.matrix, self.rhs)
        solver = self._solver
        if self._objective is not None:
            solver.changeColCost(self._objective, 0.0)
        solver.changeColCost(i, direction)
        self._objective = i
        solver.run()
        status = solver.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", np.asarray(solver.getSolution().col_value)
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "unbounded", None
        return "other", None

    def _feasible(self, solution: np.ndarray) -> bool:
        """Whether an integer vector satisfies every relation (to rounding)."""
        return bool(np.all(np.abs(self.matrix @ solution - self.rhs) <= 1e-7 * (1 + np.abs(self.rhs))))


def _highs(matrix: sparse.csr_array, rhs: np.ndarray):
    """A HiGHS model of ``matrix @ x = rhs``, ``x >= 0``, zero objective, silent, solved by the simplex method
    without presolve (so each re-solve starts from the last optimal basis)."""
    solver = highspy.Highs()  # the first in a process prints HiGHS's banner (a job's goes to its log)
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("presolve", "off")
    columns = sparse.csc_array(matrix)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = columns.shape[1], columns.shape[0]
    lp.col_cost_ = np.zeros(columns.shape[1])
    lp.col_lower_ = np.zeros(columns.shape[1])
    lp.col_upper_ = np.full(columns.shape[1], highspy.kHighsInf)
    lp.row_lower_ = lp.row_upper_ = rhs
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = columns.indptr
    lp.a_matrix_.index_ = columns.indices
    lp.a_matrix_.value_ = columns.data
    solver.passModel(lp)
    return solver


def _components(problem: Problem, unknown: set[Key]) -> Iterable[_Component]:
    """The unknown cells grouped by the relations that link them (union-find)."""
    parent = {key: key for key in unknown}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for relation in problem.relations:
        members = [c for c in relation if c in unknown]
        for a, b in zip(members, members[1:]):
            parent[find(a)] = find(b)
    groups: dict[Key, list[Key]] = {}
    for key in sorted(unknown, key=repr):
        groups.setdefault(find(key), []).append(key)
    by_root: dict[Key, list[dict]] = {}
    for relation in problem.relations:
        members = [c for c in relation if c in unknown]
        if members:
            by_root.setdefault(find(members[0]), []).append(relation)
    for root, keys in groups.items():
        yield _Component(problem, keys, by_root.get(root, []))
