"""Harmonised variables (``config/variables.yaml``): the questions every wave maps onto, with their type,
ordered categories, valid range, the waves that carry them and how derived variables are computed.

The file is checked against its JSON Schema and then for meaning (a derivation from an unknown variable, a
range on a categorical, bins that do not match the categories...), and every problem is reported by file and
row.

Nothing in the file is tied to a calendar or to the waves that exist today: a category (or option) may name
the waves it belongs to (an answer a later questionnaire added), and a range may end at ``fielded_to`` or start
at ``fielded_from``, the wave's own fielding years from the wave sheet. :meth:`VariableSet.for_waves` gives the
view of one wave (or of several pooled): its categories, its ranges as numbers. The workflow writes each wave's
view to ``results/internal/plan/`` and the wave's jobs read that, so editing a variable reruns only the waves
whose view changed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from .loading import LoadedYaml, load_validated

YESNO = {"yes": "Yes", "no": "No"}
FIELDING_BOUNDS = ("fielded_from", "fielded_to")  # range ends taken from the wave sheet

# Missing-value reasons added by the pipeline itself (beyond the codebook's missing codes).
NO_ANSWER = "no_answer"
NOT_ASKED = "not_asked"
# Finding recorded at ingest for a raw value that matched its code only once case or whitespace was ignored.
STRAY_TEXT = "stray_case_or_whitespace"
PIPELINE_MISSING = {
    NO_ANSWER: "No answer given",
    NOT_ASKED: "Not asked (skipped by the questionnaire's routing)",
    "answered_when_not_asked": "Answered although the question was not asked; set to missing",
    "out_of_range": "Outside the valid range; set to missing",
    "inconsistent": "Inconsistent with other answers; set to missing",
}


def normalise_text(value: str) -> str:
    """The form raw codes and labels are compared in: surrounding whitespace stripped, runs of inner
    whitespace collapsed, case folded."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class Variable:
    """One harmonised variable."""

    name: str
    label: str
    type: str
    waves: tuple[str, ...] | None = None  # None: every wave whose codebook maps it (or can derive it)
    role: str = "analysis"
    topic: str | None = None
    categories: dict[str, str] = field(default_factory=dict)
    range: tuple[int | str, int | str] | None = None  # numbers, or fielded_from / fielded_to until resolved
    derive: dict | None = None
    assumption: str | None = None
    category_waves: dict[str, tuple[str, ...]] = field(default_factory=dict)  # categories only some waves have
    document: dict = field(default_factory=dict, repr=False, compare=False)  # as declared in the file

    @property
    def is_multi(self) -> bool:
        return self.type == "multi"

    @property
    def is_categorical(self) -> bool:
        return self.type in ("single", "yesno")

    def option_column(self, option: str) -> str:
        """Column of one option of a multi-select variable."""
        return f"{self.name}__{option}"

    @property
    def value_columns(self) -> list[str]:
        """The respondent-frame columns holding this variable's values."""
        if self.type == "text":
            return []
        if self.is_multi:
            return [self.option_column(o) for o in self.categories]
        return [self.name]

    @property
    def missing_column(self) -> str:
        """Column giving the reason a value is missing (empty when there is a value)."""
        return f"{self.name}__missing"


@dataclass(frozen=True)
class VariableSet:
    """All harmonised variables, in the order they are declared."""

    path: Path
    missing_codes: dict[str, str]
    variables: dict[str, Variable]

    def __getitem__(self, name: str) -> Variable:
        return self.variables[name]

    def __contains__(self, name: str) -> bool:
        return name in self.variables

    def carried(self, wave: str, mapped: set[str] | frozenset[str]) -> list[Variable]:
        """The variables a wave carries, in declaration order: those its codebook maps, and the derived ones
        whose sources it carries; a variable that lists its waves is carried only by those."""
        carried: set[str] = set()
        changed = True
        while changed:  # derivations may build on derivations
            changed = False
            for var in self.variables.values():
                if var.name in carried or (var.waves is not None and wave not in var.waves):
                    continue
                if var.name in mapped or (var.derive and all(s in carried for s in derivation_sources(var))):
                    carried.add(var.name)
                    changed = True
        return [v for v in self.variables.values() if v.name in carried]

    def label(self, name: str) -> str:
        """The label of variable ``name``, or the name itself when no variable has it (a table's own row
        variable, such as the sample's)."""
        return self.variables[name].label if name in self.variables else name

    def category_label(self, name: str, code: str) -> str:
        """The label of a category (or option) ``code`` of variable ``name``, or of a missing code; the code
        itself when neither declares it (a mean's row, the sample's counts)."""
        declared = self.variables[name].categories if name in self.variables else {}
        return declared.get(code) or self.missing_codes.get(code) or code

    @property
    def missing_reasons(self) -> dict[str, str]:
        """Every reason a value may be missing: the declared missing codes, then the pipeline's own."""
        return {**self.missing_codes, **PIPELINE_MISSING}

    def for_waves(self, fielding: dict[str, tuple[int, int]], names: list[str] | None = None) -> VariableSet:
        """The view of one wave, or of several pooled (``fielding``: each wave's first and last fielding year):
        the categories and options that apply to any of them, ranges with the fielding bounds resolved (the
        earliest start, the latest end), and only the variables ``names`` (all by default)."""
        waves = set(fielding)
        bounds = {
            "fielded_from": min(f for f, _ in fielding.values()),
            "fielded_to": max(t for _, t in fielding.values()),
        }
        kept = {}
        for name, var in self.variables.items():
            if names is not None and name not in names:
                continue
            categories = {
                c: label for c, label in var.categories.items() if waves & set(var.category_waves.get(c, waves))
            }
            limits = None if var.range is None else tuple(bounds.get(x, x) for x in var.range)
            document = dict(var.document)
            key = "options" if var.is_multi else "categories"
            if key in document:
                document[key] = {c: label for c, label in categories.items()}
            if limits is not None:
                document["range"] = list(limits)
            kept[name] = replace(var, categories=categories, range=limits, category_waves={}, document=document)
        return VariableSet(self.path, self.missing_codes, kept)

    def document(self) -> dict:
        """The set as a variables file would declare it (for a view: categories filtered, ranges resolved)."""
        return {
            "missing_codes": dict(self.missing_codes),
            "variables": {n: v.document for n, v in self.variables.items()},
        }


def load_variables(path: str | Path) -> VariableSet:
    """Read and check ``config/variables.yaml``."""
    doc = load_validated(path, "variables")
    missing_codes = dict(doc.data["missing_codes"])
    clash = set(missing_codes) & set(PIPELINE_MISSING)
    if clash:
        raise ConfigError(
            f"the missing code(s) {sorted(clash)} are reserved by the pipeline",
            file=doc.path,
            row=doc.line_of(("missing_codes",)),
            expected="other names, e.g. dont_know, refused",
        )
    variables: dict[str, Variable] = {}
    for name, spec in doc.data["variables"].items():
        vtype = spec["type"]
        declared = spec.get("categories") or spec.get("options") or (YESNO if vtype == "yesno" else {})
        categories = {c: v if isinstance(v, str) else v["label"] for c, v in declared.items()}
        overlap = set(categories) & set(missing_codes)
        variables[name] = Variable(
            name=name,
            label=spec["label"],
            type=vtype,
            waves=tuple(spec["waves"]) if "waves" in spec else None,
            role=spec["role"],
            topic=spec.get("topic"),
            categories=categories,
            range=tuple(spec["range"]) if "range" in spec else None,
            derive=spec.get("derive"),
            assumption=spec.get("assumption"),
            category_waves={c: tuple(v["waves"]) for c, v in declared.items() if not isinstance(v, str)},
            document=spec,
        )
        if overlap and vtype == "multi":
            raise ConfigError(
                f"the options of '{name}' include missing code(s) {sorted(overlap)}",
                file=doc.path,
                row=doc.line_of(("variables", name)),
                expected="options that are answers; a missing code applies to the whole question",
            )
        low, high = spec.get("range", (0, 0))
        numbers = isinstance(low, int) and isinstance(high, int)
        if "range" in spec and (vtype != "integer" or (numbers and low > high) or (low, high) == FIELDING_BOUNDS[::-1]):
            raise ConfigError(
                f"the range of '{name}' is not a valid [min, max] for an integer variable",
                file=doc.path,
                row=doc.line_of(("variables", name, "range")),
                value=spec["range"],
                expected="an integer variable with min ≤ max (either may be fielded_from or fielded_to)",
            )
    result = VariableSet(Path(path), missing_codes, variables)
    for var in variables.values():
        if var.derive:
            _check_derivation(result, var, doc)
    return result


def derivation_sources(var: Variable) -> list[str]:
    """The variables a derived variable is computed from."""
    method, spec = next(iter(var.derive.items()))
    if method == "difference":
        return list(spec)
    if method == "all_of":
        return list(spec)
    return [spec["variable"]]


def _check_derivation(variables: VariableSet, var: Variable, doc: LoadedYaml) -> None:
    method, spec = next(iter(var.derive.items()))
    row = doc.line_of(("variables", var.name, "derive"))
    sources = derivation_sources(var)

    def fail(problem: str, expected: str) -> None:
        raise ConfigError(
            f"variable '{var.name}' is derived wrongly: {problem}", file=doc.path, row=row, expected=expected
        )

    for source in sources:
        if source not in variables:
            fail(f"it uses '{source}', which is not a declared variable", "a variable declared in this file")
        if source == var.name:
            fail("it is derived from itself", "other variables")
        missing_waves = set(var.waves or ()) - set(variables[source].waves or var.waves or ())
        if missing_waves:
            fail(
                f"'{source}' is not carried by wave(s) {sorted(missing_waves)}",
                "sources carried by every wave of the derived variable",
            )
    expected_types = {
        "difference": ("integer",),
        "bins": ("single", "yesno"),
        "below": ("yesno",),
        "recode": ("single", "yesno"),
        "any_of": ("yesno",),
        "all_of": ("yesno",),
    }[method]
    if var.type not in expected_types:
        fail(
            f"'{method}' makes a {' or '.join(expected_types)} variable, but the variable is declared {var.type}",
            f"type: {expected_types[0]}",
        )
    source = variables[sources[0]]
    if method in ("difference", "bins", "below") and any(variables[s].type != "integer" for s in sources):
        fail(f"'{method}' needs integer variables", "integer sources")
    if method == "bins" and len(spec["breaks"]) + 1 != len(var.categories):
        fail(
            f"{len(spec['breaks'])} break(s) make {len(spec['breaks']) + 1} bins but there are {len(var.categories)} categories",
            "one more category than breaks",
        )
    if method == "bins" and list(spec["breaks"]) != sorted(set(spec["breaks"])):
        fail("the breaks are not increasing", "strictly increasing breaks")
    if method == "recode":
        if not source.is_categorical:
            fail(f"'{source.name}' is not a single-choice variable", "a single or yes/no source")
        unknown_from = set(spec["map"]) - set(source.categories)
        unknown_to = set(spec["map"].values()) - set(var.categories)
        unmapped = set(source.categories) - set(spec["map"])
        if unknown_from or unknown_to or unmapped:
            fail(
                f"the map does not match the categories (unknown: {sorted(unknown_from | unknown_to)}, unmapped: {sorted(unmapped)})",
                f"every category of '{source.name}' mapped onto one of {list(var.categories)}",
            )
    if method == "all_of":
        for name, categories in spec.items():
            if not variables[name].is_categorical:
                fail(f"'{name}' is not a single-choice or yes/no variable", "single-choice or yes/no sources")
            unknown = set(categories) - set(variables[name].categories)
            if unknown:
                fail(
                    f"{sorted(unknown)} are not categories of '{name}'",
                    f"categories among {list(variables[name].categories)}",
                )
    if method == "any_of":
        if not source.is_multi:
            fail(f"'{source.name}' is not a multi-select variable", "a multi-select source")
        unknown = set(spec["options"]) - set(source.categories)
        if unknown:
            fail(
                f"options {sorted(unknown)} are not options of '{source.name}'",
                f"options among {list(source.categories)}",
            )


def expression_names(expression: str) -> set[str]:
    """The variable names a pandas query expression refers to."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(str(exc.msg)) from None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
