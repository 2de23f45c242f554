"""Registries of published numbers (``config/published/{report}.yaml``): every number a report printed, with
where it was printed, its base, the claim it makes and the table cell (or test) that checks it.

A registry is checked against its JSON Schema, then entry by entry (a claim that needs a cell names one, a
range has its bounds, a section is one of the report's chapters...), and, once the tables are declared, against them: every cell and test an entry names
must exist, so a typo is reported when the workflow starts rather than as a "not computable" verdict. An entry
that prints a value (a percentage, a count, a mean, "1 in N") may name no cell: it is data-free, checked by its
arithmetic alone (GRIM against its printed base, the joint counts of its group).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .loading import load_validated
from .tables import MODEL_TEST, POOL_SEPARATOR, TableSpec
from .variables import VariableSet

# What the audit says of an entry (the audit's ``verdict`` column; :mod:`survey_audit.stages.audit` decides it).
REPRODUCED = "reproduced"
DIFFERS = "differs"
HOLDS = "holds"
FAILS = "fails"
NOT_COMPUTABLE = "not computable"
NOT_TRANSCRIBED = "not transcribed"
VERDICTS = [REPRODUCED, HOLDS, DIFFERS, FAILS, NOT_COMPUTABLE, NOT_TRANSCRIBED]

VALUE_CLAIMS = {"percentage", "one_in", "count", "mean"}
QUALITATIVE_CLAIMS = {"majority", "range", "largest", "top", "association", "trend"}


@dataclass(frozen=True)
class Registry:
    """One report's registry of printed numbers."""

    path: Path
    report: str
    title: str
    wave: str
    version: int
    entries: tuple[dict, ...]
    meta: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict, repr=False, compare=False)

    def row_of(self, index: int, key: str | None = None) -> int | None:
        """Line of an entry (or of one of its keys) in the registry file."""
        keys = ("entries", index) + ((key,) if key else ())
        while keys not in self.lines and len(keys) > 2:
            keys = keys[:-1]
        return self.lines.get(keys)


def load_registry(path: str | Path) -> Registry:
    """Read and check one registry file."""
    doc = load_validated(path, "registry")
    data = doc.data
    seen: set[str] = set()
    chapters = [c["title"] for c in data.get("chapters", [])]
    for index, entry in enumerate(data["entries"]):
        keys = ("entries", index)

        def fail(problem: str, expected: str, key: str | None = None, entry: dict = entry, keys: tuple = keys) -> None:
            raise ConfigError(
                f"entry '{entry['id']}' {problem}",
                file=path,
                row=doc.line_of(keys + ((key,) if key else ())),
                expected=expected,
            )

        if entry["id"] in seen:
            fail("is listed twice", "unique entry ids", "id")
        if chapters and entry["section"] not in chapters:
            fail(
                f"sits in section '{entry['section']}', which is not one of the report's chapters",
                "one of " + "; ".join(chapters),
                "section",
            )
        seen.add(entry["id"])
        claim = entry["claim"]
        kind = claim["type"]
        if kind in QUALITATIVE_CLAIMS - {"association", "trend"} and "cell" not in entry:
            fail(
                f"claims '{kind}' but names no table cell to check it against",
                "a 'cell' with table, wave and category (only a printed value can be checked without one)",
                "claim",
            )
        if (
            kind in ("percentage", "largest", "top", "majority", "range", "count", "mean", "one_in")
            and "cell" in entry
            and kind not in ("top", "mean")
            and "category" not in entry["cell"]
        ):
            fail("names a cell without a category", "cell: {table, wave, category}", "cell")
        if kind == "range" and ("low" not in claim or "high" not in claim):
            fail("claims a range without its bounds", "low and high (percent)", "claim")
        if kind == "top" and not claim.get("categories"):
            fail("claims the top categories without listing them", "categories: [...]", "claim")
        if kind == "trend" and claim.get("direction") not in ("increasing", "decreasing"):
            fail("claims a trend without its direction", "direction: increasing or decreasing", "claim")
        if kind in ("association", "trend") and "test" not in claim:
            fail(f"claims an {kind} without naming its test", "test: a test id of results/tests.csv", "claim")
        if kind == "association":
            on_model = is_model_test(claim.get("test", ""))
            if on_model and claim.get("direction") not in ("positive", "negative"):
                fail(
                    "claims an association on a model's test without the sign to check",
                    "direction: positive or negative (the sign of the tested coefficient)",
                    "claim",
                )
            if not on_model and ("higher" not in claim or "lower" not in claim or "cell" not in entry):
                fail("claims an association without the direction to check", "higher, lower and a cell", "claim")
        if kind == "statistic":
            missing = [k for k in ("distribution", "df1", "statistic_printed", "p_printed") if k not in claim]
            if missing:
                fail(
                    f"claims a test statistic without {', '.join(missing)}",
                    "distribution, df1, statistic_printed, p_printed",
                    "claim",
                )
    for index, entry in enumerate(data["entries"]):
        for other in entry.get("conflicts_with", []):
            if other not in seen:
                raise ConfigError(
                    f"entry '{entry['id']}' conflicts with '{other}', which is not in this registry",
                    file=path,
                    row=doc.line_of(("entries", index, "conflicts_with")),
                    expected="ids of entries in the same registry",
                )
    meta = {k: v for k, v in data.items() if k != "entries"}
    return Registry(
        Path(path),
        data["report"],
        data["title"],
        data["wave"],
        data["registry_version"],
        tuple(data["entries"]),
        meta,
        lines=doc.lines,
    )


def is_model_test(test_id: str) -> bool:
    """Whether a test id names a table's model test (``{table}:{scope}:model[:weighted]``)."""
    return MODEL_TEST in test_id.split(":")[2:]


def pinned_pools(registries: list[Registry]) -> dict[str, set[str]]:
    """The pools of waves registry entries cite, per table: a cell's scope, or the scope of a cited test id
    (``{table}:{scope}[...]``). They are pinned: the table keeps them whatever waves are added later."""
    pinned: dict[str, set[str]] = {}
    for registry in registries:
        for entry in registry.entries:
            scopes = [(entry["cell"]["table"], entry["cell"]["wave"])] if "cell" in entry else []
            test = entry["claim"].get("test", "")
            if test.count(":") >= 1:
                scopes.append(tuple(test.split(":")[:2]))
            for table, scope in scopes:
                if POOL_SEPARATOR in scope:
                    pinned.setdefault(table, set()).add(scope)
    return pinned


def check_registry_cells(
    registry: Registry, specs: list[TableSpec], variables_of: Callable[[str], VariableSet]
) -> None:
    """Every cell and test a registry entry names must exist among the declared tables, so that a typo is
    reported when the workflow starts rather than as a 'not computable' verdict; and the chapter title a table
    file gives for this report must be one of the report's chapters. ``variables_of`` gives the
    harmonised variables as a scope sees them (its waves' categories)."""
    by_id = {spec.id: spec for spec in specs}
    chapters = [c["title"] for c in registry.meta.get("chapters", [])]
    for spec in specs:
        title = dict(spec.report_chapters).get(registry.report)
        if chapters and title is not None and title not in chapters:
            raise ConfigError(
                f"the chapter of table '{spec.id}' is titled '{title}' in {registry.report}, which is not one of "
                "that report's chapters",
                file=spec.source,
                expected="one of " + "; ".join(chapters),
            )
    for index, entry in enumerate(registry.entries):
        cell = entry.get("cell")
        claim = entry["claim"]

        def fail(problem: str, expected: str, entry: dict = entry, index: int = index) -> None:
            raise ConfigError(
                f"entry '{entry['id']}' {problem}",
                file=registry.path,
                row=registry.row_of(index, "cell"),
                expected=expected,
            )

        if claim.get("test"):
            table = claim["test"].split(":")[0]
            if table not in by_id:
                fail(
                    f"names the test '{claim['test']}' of an undeclared table '{table}'",
                    "a test id '{table}:{wave}[...]'",
                )
            if is_model_test(claim["test"]) and by_id[table].model is None:
                fail(
                    f"names the model test '{claim['test']}' of table '{table}', which declares no model",
                    f"a 'model' in the spec of table '{table}', or a test id of its test of association",
                )
        if not cell:
            continue
        spec = by_id.get(cell["table"])
        if spec is None:
            fail(f"names the undeclared table '{cell['table']}'", "a table id of config/tables/")
        if cell["wave"] not in spec.waves:
            fail(f"names wave '{cell['wave']}' of table '{spec.id}'", "one of " + ", ".join(spec.waves))
        variables = variables_of(cell["wave"])
        categories = spec.categories(variables)
        if "category" in cell and cell["category"] not in categories:
            fail(f"names category '{cell['category']}' of table '{spec.id}'", "one of " + ", ".join(categories))
        by_value = cell["by_value"]
        by_values = spec.by_values(variables)
        for side in ("higher", "lower"):
            if side in claim and claim[side] not in by_values:
                fail(f"compares by-value '{claim[side]}' of table '{spec.id}'", "one of " + ", ".join(by_values))
        if claim["type"] != "association" and by_value not in by_values:
            fail(f"names by-value '{by_value}' of table '{spec.id}'", "one of " + ", ".join(by_values))
        for category in claim.get("categories", []):
            if category not in categories:
                fail(f"lists category '{category}' of table '{spec.id}'", "one of " + ", ".join(categories))
