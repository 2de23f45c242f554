"""Table specifications (``config/tables/{chapter}.yaml``): what the report's chapters tabulate.

A chapter file names, under ``reports``, the chapter as each report titled it: the reports divide their subject
differently (the 2018 report's Recruitment & Grooming holds the 2015 report's two chapters on recruiting and
grooming; its Exiting the Life holds what the 2015 report called Help and assistance), and each title must be one
of that report's chapters in its registry.

A table names a variable (or, for the sample table, none), optionally a domain (a subpopulation, as a pandas
query) and a by-variable, the scopes to tabulate, the weightings, an interval method and the family of its
test of association. A table may also declare a design-based regression (``model``: R ``svyglm``) whose terms
are tested (R ``regTermTest``), what a claim "X is associated with Y, adjusting for Z" rests on: its formula
names harmonised variables and the design's columns, its tested terms are terms of the formula, and the scopes
are those whose waves carry every variable it names. Specs are checked against the harmonised variables and
against the variables each wave carries, and every problem is reported by file and row.

**Scopes.** A scope is one wave (``wave1``) or a pool of waves tabulated together (``wave1+wave2``, waves in the
order of the wave sheet, which is their fielding order; each wave a stratum of the pooled design). In a spec,
``pooled`` stands for the cumulative pools of the waves that carry the table's variables: the first two, the
first three, ... all of them. Adding a wave therefore adds a pool and leaves every earlier pool, and every
number published from it, as it was. A pool that a registry entry cites is pinned as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DesignError
from ..stats.formula import parse_formula
from .loading import LoadedYaml, load_validated
from .variables import Variable, VariableSet, expression_names

POOLED = "pooled"  # in a spec: every wave that carries the table's variables, pooled
ALL = "all"  # the by-value of a table without a by-variable
POOL_SEPARATOR = "+"  # wave1+wave2: a pooled scope
PAIR_SEPARATOR = "-"  # wave1-wave2: a comparison of two waves
SAMPLE_CATEGORIES = ("respondents", "organisations", "states", "regions")  # the cells of a sample table
DESIGN_COLUMNS = ("org", "region", "wave")  # columns of every design besides the variables
MODEL_TEST = "model"  # the test of a table's model: {table}:{scope}:model[:weighted] in results/tests.csv


@dataclass(frozen=True)
class ModelSpec:
    """A table's design-based regression: R's formula, the family, the terms tested together and the
    multiplicity family of their test."""

    formula: str
    family: str
    terms: tuple[str, ...]
    test_family: str

    @classmethod
    def from_config(cls, item: dict) -> ModelSpec:
        return cls(item["formula"], item["family"], tuple(item["test"]["terms"]), item["test"]["family"])


@dataclass(frozen=True)
class TableSpec:
    """One declared table."""

    id: str
    title: str
    chapter: str
    variable: str
    waves: tuple[str, ...]
    kind: str = "proportions"
    backs: tuple[str, ...] = ()
    domain: str | None = None
    domain_label: str = ALL
    by: str | None = None
    weighting: tuple[str, ...] = ("unweighted",)
    ci: str | None = None
    test_family: str | None = None
    trend: bool = False
    model: ModelSpec | None = None
    source: Path | None = None
    report_chapters: tuple[tuple[str, str], ...] = ()  # (report id, the chapter's title in that report)

    def categories(self, variables: VariableSet) -> list[str]:
        """The categories of the table's cells."""
        if self.kind == "sample":
            return list(SAMPLE_CATEGORIES)
        if self.kind == "mean":
            return ["mean"]
        return list(variables[self.variable].categories)

    def by_values(self, variables: VariableSet) -> list[str]:
        """The by-values of the table's cells (``all`` without a by-variable)."""
        return list(variables[self.by].categories) if self.by else [ALL]


def pool(waves: list[str] | tuple[str, ...]) -> str:
    """The scope of several waves pooled (in the order given: the wave sheet's)."""
    return POOL_SEPARATOR.join(waves)


def scope_waves(scope: str) -> list[str]:
    """The waves of a scope (one wave, a pool, or the two waves of a comparison)."""
    return scope.replace(PAIR_SEPARATOR, POOL_SEPARATOR).split(POOL_SEPARATOR)


def is_pool(scope: str) -> bool:
    return POOL_SEPARATOR in scope


def wave_trend_scope(spec: TableSpec) -> str | None:
    """The scope in which a table's trend across waves is tested: the pool of every wave it is tabulated for,
    when it is tabulated for that pool and there are three or more waves (proportions only); else None."""
    waves = [w for w in spec.waves if not is_pool(w)]
    widest = pool(waves)
    return widest if spec.kind == "proportions" and len(waves) >= 3 and widest in spec.waves else None


def load_table_specs(
    paths: list[str | Path],
    variables: VariableSet,
    carried: dict[str, set[str]],
    pinned: dict[str, set[str]] | None = None,
) -> list[TableSpec]:
    """Read every chapter's table specs, checking them against the variables and the waves (``carried``: each
    wave's carried variables, waves in the sheet's order). ``pinned`` adds, per table id, the pools registry
    entries cite."""
    specs: list[TableSpec] = []
    seen: dict[str, Path] = {}
    for path in paths:
        doc = load_validated(path, "tables")
        for index, item in enumerate(doc.data["tables"]):
            check = _Check(doc, item, ("tables", index))
            if item["id"] in seen:
                check.fail(f"is declared twice (also in {seen[item['id']]})", "unique table ids", "id")
            seen[item["id"]] = Path(path)
            used = _check_variables(check, item, variables)
            if "model" in item:
                used += _check_model(check, item, variables, used)
            waves = _check_waves(check, item, used, carried, (pinned or {}).get(item["id"], set()))
            if "domain" in item:
                _check_domain(check, item["domain"], variables)
            test = item.get("test")
            if test and "by" not in item:
                check.fail("declares a test but no by-variable to test against", "a 'by' variable", "test")
            if test and test["trend"] and len(variables[item["by"]].categories) < 3:
                check.fail(
                    f"asks for a trend over '{item['by']}', which has two categories: over two levels a trend "
                    "test is the test of association again",
                    "trend: false, or a by-variable with three or more ordered categories",
                    "test",
                )
            specs.append(
                TableSpec(
                    id=item["id"],
                    title=item["title"],
                    chapter=doc.data["chapter"],
                    variable=item.get("variable", "sample"),
                    kind=item["kind"],
                    waves=waves,
                    backs=tuple(item.get("backs", [])),
                    domain=item.get("domain"),
                    domain_label=item.get("domain_label", item.get("domain", ALL)),
                    by=item.get("by"),
                    weighting=tuple(item["weighting"]),
                    ci=item.get("ci"),
                    test_family=test["family"] if test else None,
                    trend=bool(test and test["trend"]),
                    model=ModelSpec.from_config(item["model"]) if "model" in item else None,
                    source=Path(path),
                    report_chapters=tuple(sorted(doc.data.get("reports", {}).items())),
                )
            )
    return specs


def spec_document(spec: TableSpec) -> dict:
    """A resolved spec as plain data (the workflow hands each scope's specs to its jobs this way)."""

    def plain(v):
        if isinstance(v, ModelSpec):
            return {k: plain(x) for k, x in v.__dict__.items()}
        return str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, tuple) else v

    return {k: plain(v) for k, v in spec.__dict__.items()}


def spec_from_document(data: dict) -> TableSpec:
    def value(k, v):
        if k == "model" and v:
            return ModelSpec(v["formula"], v["family"], tuple(v["terms"]), v["test_family"])
        if isinstance(v, list):
            return tuple(tuple(x) if isinstance(x, list) else x for x in v)
        return Path(v) if k == "source" and v else v

    return TableSpec(**{k: value(k, v) for k, v in data.items()})


class _Check:
    """One table entry under check."""

    def __init__(self, doc: LoadedYaml, item: dict, keys: tuple):
        self.doc, self.item, self.keys = doc, item, keys

    def fail(self, problem: str, expected: str, key: str | None = None) -> None:
        raise ConfigError(
            f"table '{self.item['id']}' {problem}",
            file=self.doc.path,
            row=self.doc.line_of(self.keys + ((key,) if key else ())),
            expected=expected,
        )


def _check_variables(check: _Check, item: dict, variables: VariableSet) -> list[Variable]:
    """The variable and by-variable suit the table's kind; returns them."""
    kind = item["kind"]
    used = []
    if kind == "sample":
        if "variable" in item or "by" in item or "test" in item:
            check.fail(
                "is a sample table, which takes no variable, by-variable or test", "only id, title, waves", "kind"
            )
    else:
        if "variable" not in item:
            check.fail("names no variable", "variable: a harmonised variable")
        if item["variable"] not in variables:
            check.fail(f"uses the unknown variable '{item['variable']}'", f"a variable of {variables.path}", "variable")
        var = variables[item["variable"]]
        if kind == "proportions" and var.type in ("integer", "text"):
            check.fail(
                f"tabulates '{var.name}', a {var.type} variable, as proportions",
                "a single, yes/no or multi-select variable (or kind: mean for an integer)",
                "variable",
            )
        if kind == "mean" and var.type != "integer":
            check.fail(f"asks for the mean of '{var.name}', a {var.type} variable", "an integer variable", "variable")
        used.append(var)
    if "by" in item:
        if item["by"] not in variables or not variables[item["by"]].is_categorical:
            check.fail(f"uses '{item['by']}' as by-variable", "a single-choice or yes/no variable", "by")
        used.append(variables[item["by"]])
    return used


def _check_model(check: _Check, item: dict, variables: VariableSet, used: list[Variable]) -> list[Variable]:
    """A table's model: a sample table has none; the formula parses, names harmonised variables or the design's
    columns (a multi-select item only by its options), and its tested terms are among its terms. Returns the
    variables the model adds to the table's, whose waves bound its scopes."""
    model = item["model"]
    if item["kind"] == "sample":
        check.fail("is a sample table, which takes no model", "only id, title, waves", "model")
    try:
        formula = parse_formula(model["formula"])
    except DesignError as exc:
        check.fail(f"has a model formula that cannot be read: {exc.problem} ({exc.value})", exc.expected or "", "model")
    names = [formula.response, *(t.column for t in formula.terms)]
    unknown = [n for n in names if n not in variables and n not in DESIGN_COLUMNS]
    multi = [n for n in names if n in variables and variables[n].is_multi]
    if unknown or multi:
        check.fail(
            f"has a model naming {', '.join(unknown + multi)}, which is not a variable a model can use",
            "harmonised variables of config/variables.yaml (not multi-select; derive a yes/no for an option) or "
            + ", ".join(DESIGN_COLUMNS),
            "model",
        )
    labels = {t.column for t in formula.terms} | {t.label for t in formula.terms}
    untested = [t for t in model["test"]["terms"] if t not in labels]
    if untested:
        check.fail(
            f"tests {', '.join(untested)}, which is not a term of its model",
            "terms of the formula: " + ", ".join(t.column for t in formula.terms),
            "model",
        )
    seen = {v.name for v in used}
    return [variables[n] for n in dict.fromkeys(names) if n in variables and n not in seen]


def _check_waves(
    check: _Check, item: dict, used: list[Variable], carried: dict[str, set[str]], pinned: set[str]
) -> tuple[str, ...]:
    """The scopes the table asks for (by default every wave that carries its variables, and ``pooled``),
    ``pooled`` resolved to the cumulative pools of the waves that carry them, and the pinned pools; every wave of
    a scope must carry the table's variables."""
    waves = list(carried)
    carrying = [w for w in waves if all(v.name in carried[w] for v in used)]
    requested = item.get("waves")
    if requested is None:
        requested = carrying + ([POOLED] if len(carrying) > 1 else [])
    if POOLED in requested and len(carrying) < 2:
        check.fail("asks for a pooled table but fewer than two waves carry its variables", "a single wave", "waves")
    expanded = []
    for scope in [*requested, *sorted(pinned)]:
        expanded += [pool(carrying[:k]) for k in range(2, len(carrying) + 1)] if scope == POOLED else [scope]
    scopes: list[str] = []
    for scope in expanded:
        members = scope_waves(scope)
        absent = [w for w in members if w not in carrying]
        if absent:
            check.fail(
                f"asks for scope '{scope}', but {', '.join(absent)} does not carry its variables",
                "waves among " + ", ".join(carrying),
                "waves",
            )
        if is_pool(scope) and members != [w for w in waves if w in members]:
            check.fail(f"names the pool '{scope}' out of order", "waves in the order of config/waves.tsv", "waves")
        if scope not in scopes:
            scopes.append(scope)
    return tuple(scopes)


def _check_domain(check: _Check, domain: str, variables: VariableSet) -> None:
    """A domain is a valid expression over known variables (multi-select options as ``variable__option``)."""
    try:
        names = expression_names(domain)
    except ValueError as exc:
        check.fail(f"has a domain that is not a valid expression ({exc})", "a pandas query", "domain")
    known = {"org", "region", "wave"} | {c for v in variables.variables.values() for c in (v.name, *v.value_columns)}
    unknown = names - known - {"True", "False"}
    if unknown:
        check.fail(
            f"has a domain using unknown names {sorted(unknown)}",
            "variable names (multi-select options as variable__option)",
            "domain",
        )
