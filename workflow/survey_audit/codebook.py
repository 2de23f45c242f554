"""Harmonised variables and per-wave codebooks: their definitions and validation.

``config/variables.yaml`` declares the variables every wave maps onto (type, ordered categories, valid range,
waves, derivations). Each wave's codebook maps its raw columns onto them. Both are checked against their JSON
Schemas and then for meaning (a code mapped to a category that does not exist, a skip rule naming a variable
the wave does not carry...), and every problem is reported by file and row.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .configuration import LoadedYaml, load_validated, validate
from .errors import ConfigError

YESNO = {"yes": "Yes", "no": "No"}

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
    range: tuple[int, int] | None = None
    derive: dict | None = None
    assumption: str | None = None

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

    @property
    def missing_reasons(self) -> dict[str, str]:
        """Every reason a value may be missing: the declared missing codes, then the pipeline's own."""
        return {**self.missing_codes, **PIPELINE_MISSING}


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
        categories = spec.get("categories") or spec.get("options") or (YESNO if vtype == "yesno" else {})
        overlap = set(categories) & set(missing_codes)
        variables[name] = Variable(
            name=name,
            label=spec["label"],
            type=vtype,
            waves=tuple(spec["waves"]) if "waves" in spec else None,
            role=spec.get("role", "analysis"),
            topic=spec.get("topic"),
            categories=dict(categories),
            range=tuple(spec["range"]) if "range" in spec else None,
            derive=spec.get("derive"),
            assumption=spec.get("assumption"),
        )
        if overlap and vtype == "multi":
            raise ConfigError(
                f"the options of '{name}' include missing code(s) {sorted(overlap)}",
                file=doc.path,
                row=doc.line_of(("variables", name)),
                expected="options that are answers; a missing code applies to the whole question",
            )
        if "range" in spec and (vtype != "integer" or spec["range"][0] > spec["range"][1]):
            raise ConfigError(
                f"the range of '{name}' is not a valid [min, max] for an integer variable",
                file=doc.path,
                row=doc.line_of(("variables", name, "range")),
                value=spec["range"],
                expected="an integer variable with min ≤ max",
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


@dataclass(frozen=True)
class Mapping:
    """How one harmonised variable is read from a wave's raw columns."""

    variable: Variable
    column: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    selected: tuple[str, ...] = ("1",)
    delimiter: str | None = None
    codes: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    parse: str | None = None
    ask_if: dict | None = None
    exact_codes: frozenset[str] = frozenset()

    @property
    def raw_columns(self) -> list[str]:
        return [self.column] if self.column is not None else list(self.columns)


@dataclass(frozen=True)
class Organisation:
    code: str
    region: str
    state: str | None = None


@dataclass(frozen=True)
class Codebook:
    """One wave's codebook, checked against the harmonised variables."""

    path: Path
    wave: str
    layout: str
    encoding: str
    delimiter: str
    sheet: str | int | None
    respondent_id: str
    organisation_column: str
    organisations: dict[str, Organisation]
    missing: dict[str, str]
    mappings: dict[str, Mapping]
    drop: dict[str, str]
    cleaning: dict[str, Any]
    carried: tuple[str, ...] = ()  # the harmonised variables the wave carries, mapped or derived

    def variables(self, variables: VariableSet) -> list[Variable]:
        """The harmonised variables this wave carries, in declaration order."""
        return [variables[name] for name in self.carried]

    @property
    def expected_columns(self) -> list[str]:
        """Every raw column the file must have, in codebook order."""
        cols = [self.respondent_id, self.organisation_column]
        for mapping in self.mappings.values():
            cols.extend(mapping.raw_columns)
        cols.extend(self.drop)
        return cols


def load_codebook(
    path: str | Path,
    variables: VariableSet,
    *,
    wave: str | None = None,
    cleaning_defaults: dict | None = None,
) -> Codebook:
    """Read a wave's codebook and check it against the harmonised variables."""
    doc = load_validated(path, "codebook")
    data = doc.data
    path = Path(path)

    def fail(keys: tuple, problem: str, *, value: Any = None, expected: str | None = None) -> None:
        kwargs = {"value": value} if value is not None else {}
        raise ConfigError(problem, file=path, row=doc.line_of(keys), expected=expected, **kwargs)

    if wave is not None and data["wave"] != wave:
        fail(
            ("wave",),
            f"the codebook is for wave '{data['wave']}' but config/waves.tsv uses it for wave '{wave}'",
            expected=f"wave: {wave}",
        )
    wave = data["wave"]
    global_missing = _normalised_codes(data.get("missing", {}), doc, ("missing",))
    for reason in global_missing.values():
        if reason not in variables.missing_codes:
            fail(
                ("missing",),
                f"'{reason}' is not a missing code",
                value=reason,
                expected="one of " + ", ".join(variables.missing_codes),
            )

    mappings: dict[str, Mapping] = {}
    used_columns: dict[str, tuple] = {}

    def claim(column: str, keys: tuple) -> None:
        if column in used_columns:
            fail(
                keys,
                f"the raw column '{column}' is used twice (also at row {doc.line_of(used_columns[column])})",
                expected="each raw column mapped once",
            )
        used_columns[column] = keys

    claim(data["respondent_id"], ("respondent_id",))
    claim(data["organisation"]["column"], ("organisation", "column"))

    for name, spec in data["variables"].items():
        keys = ("variables", name)
        if name not in variables:
            fail(keys, f"'{name}' is not a harmonised variable", expected=f"a variable declared in {variables.path}")
        var = variables[name]
        if var.derive:
            fail(
                keys,
                f"'{name}' is derived from other variables and cannot be mapped from a raw column",
                expected="map the variables it is derived from",
            )
        if var.waves is not None and wave not in var.waves:
            fail(
                keys,
                f"'{name}' lists the waves that carry it in {variables.path}, and '{wave}' is not among them",
                expected=f"add {wave} to its waves (or remove its waves list), or remove the mapping",
            )
        if "columns" in spec and (not var.is_multi or "delimiter" in spec):
            fail(
                keys, "'columns' (one raw column per option) only applies to multi-select variables without a delimiter"
            )
        if var.is_multi and "column" in spec and "delimiter" not in spec:
            fail(
                keys,
                f"multi-select '{name}' in one raw column needs a 'delimiter'",
                expected="delimiter: ',' (or the separator used)",
            )
        if "delimiter" in spec and not var.is_multi:
            fail(keys, "'delimiter' only applies to multi-select variables")
        if spec.get("parse") and var.type != "integer":
            fail(keys, "'parse: year' only applies to integer variables")
        for column in [spec["column"]] if "column" in spec else list(spec["columns"]):
            claim(column, keys)
        codes = _normalised_codes(spec.get("codes", {}), doc, keys + ("codes",))
        missing = {**global_missing, **_normalised_codes(spec.get("missing", {}), doc, keys + ("missing",))}
        needs_codes = var.type in ("single", "yesno") or (var.is_multi and "column" in spec)
        if needs_codes and not codes:
            fail(
                keys,
                f"'{name}' is a {var.type} variable but no 'codes' map its raw values",
                expected="codes: raw code or label → " + ", ".join(var.categories),
            )
        if var.type in ("integer", "text") and codes:
            fail(
                keys + ("codes",),
                f"'{name}' is {var.type}: its raw values are read as they are, not through codes",
                expected="only 'missing' codes for an integer variable",
            )
        for raw, target in codes.items():
            if target not in var.categories and target not in variables.missing_codes:
                fail(
                    keys + ("codes",),
                    f"code '{raw}' maps to '{target}', which is neither a category of '{name}' nor a missing code",
                    value=target,
                    expected="one of " + ", ".join(list(var.categories) + list(variables.missing_codes)),
                )
        for target in missing.values():
            if target not in variables.missing_codes:
                fail(
                    keys + ("missing",),
                    f"'{target}' is not a missing code",
                    value=target,
                    expected="one of " + ", ".join(variables.missing_codes),
                )
        columns = dict(spec.get("columns", {}))
        for column, option in columns.items():
            if option not in var.categories:
                fail(
                    keys + ("columns",),
                    f"raw column '{column}' maps to '{option}', which is not an option of '{name}'",
                    value=option,
                    expected="one of " + ", ".join(var.categories),
                )
        if len(set(columns.values())) != len(columns):
            fail(keys + ("columns",), "an option is mapped from two raw columns", expected="one raw column per option")
        mappings[name] = Mapping(
            variable=var,
            column=spec.get("column"),
            columns=columns,
            selected=tuple(normalise_text(s) for s in spec.get("selected", ["1"])),
            delimiter=spec.get("delimiter"),
            codes=codes,
            missing=missing,
            parse=spec.get("parse"),
            ask_if=spec.get("ask_if"),
            exact_codes=frozenset(
                str(c)
                for c in [
                    *spec.get("codes", {}),
                    *spec.get("missing", {}),
                    *data.get("missing", {}),
                    *spec.get("selected", ["1"]),
                ]
            ),
        )

    for name, mapping in mappings.items():
        if mapping.ask_if:
            _check_ask_if(mapping, mappings, doc, ("variables", name, "ask_if"))

    for var in variables.variables.values():
        if var.waves is None or wave not in var.waves:
            continue
        if not var.derive and var.name not in mappings:
            raise ConfigError(
                f"'{var.name}' lists wave '{wave}' in {variables.path} but this codebook does not map it",
                file=path,
                row=doc.line_of(("variables",)),
                expected=f"a mapping for '{var.name}', or remove {wave} from its waves",
            )
        if var.derive:
            for source in derivation_sources(var):
                if source not in mappings and not variables[source].derive:
                    raise ConfigError(
                        f"derived variable '{var.name}' needs '{source}', which this codebook does not map",
                        file=path,
                        row=doc.line_of(("variables",)),
                        expected=f"a mapping for '{source}'",
                    )

    for column in data["drop"]:
        if column in used_columns:
            fail(("drop", column), f"the raw column '{column}' is both mapped and dropped", expected="one or the other")

    organisations = {
        normalise_text(str(code)): Organisation(str(code), attrs["region"], attrs.get("state"))
        for code, attrs in data["organisation"]["codes"].items()
    }
    cleaning = {**(cleaning_defaults or {}), **data.get("cleaning", {})}
    if cleaning_defaults is not None or "cleaning" in data:
        validate(cleaning, "codebook", pointer="/$defs/cleaning", path=path)
    file_spec = data["file"]
    codebook = Codebook(
        path=path,
        wave=wave,
        layout=file_spec.get("layout", "auto"),
        encoding=file_spec.get("encoding", "auto"),
        delimiter=file_spec.get("delimiter", "auto"),
        sheet=file_spec.get("sheet"),
        respondent_id=data["respondent_id"],
        organisation_column=data["organisation"]["column"],
        organisations=organisations,
        missing=global_missing,
        mappings=mappings,
        drop=dict(data["drop"]),
        cleaning=cleaning,
        carried=tuple(v.name for v in variables.carried(wave, frozenset(mappings))),
    )
    _check_cleaning_names(codebook, variables, doc)
    return codebook


def _normalised_codes(codes: dict, doc: LoadedYaml, keys: tuple) -> dict[str, str]:
    """Codes keyed by their normalised form; two raw codes that normalise alike are an error."""
    out: dict[str, str] = {}
    originals: dict[str, str] = {}
    for raw, target in codes.items():
        key = normalise_text(str(raw))
        if key in out:
            raise ConfigError(
                f"the codes '{originals[key]}' and '{raw}' are the same once case and spaces are ignored",
                file=doc.path,
                row=doc.line_of(keys + (raw,)),
                expected="each raw code listed once",
            )
        out[key] = str(target)
        originals[key] = str(raw)
    return out


def _check_ask_if(mapping: Mapping, mappings: dict[str, Mapping], doc: LoadedYaml, keys: tuple) -> None:
    cond = mapping.ask_if
    name = cond["variable"]

    def fail(problem: str, expected: str) -> None:
        raise ConfigError(
            f"the skip rule of '{mapping.variable.name}' {problem}",
            file=doc.path,
            row=doc.line_of(keys),
            expected=expected,
        )

    if name not in mappings:
        fail(f"names '{name}', which this codebook does not map", "a variable mapped in this codebook")
    if name == mapping.variable.name:
        fail("refers to the question itself", "an earlier question")
    source = mappings[name].variable
    if source.is_multi:
        if "option" not in cond or "in" in cond:
            fail(f"needs 'option' because '{name}' is multi-select", "option: one of " + ", ".join(source.categories))
        if cond["option"] not in source.categories:
            fail(
                f"names option '{cond['option']}', which '{name}' does not have",
                "one of " + ", ".join(source.categories),
            )
    else:
        if not source.is_categorical or "in" not in cond or "option" in cond:
            fail(
                f"needs 'in: [categories]' of the single-choice or yes/no variable '{name}'",
                "in: [" + ", ".join(source.categories) + "]",
            )
        unknown = set(cond["in"]) - set(source.categories)
        if unknown:
            fail(
                f"lists {sorted(unknown)}, which are not categories of '{name}'",
                "categories among " + ", ".join(source.categories),
            )


def expression_names(expression: str) -> set[str]:
    """The variable names a pandas query expression refers to."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(str(exc.msg)) from None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _check_cleaning_names(codebook: Codebook, variables: VariableSet, doc: LoadedYaml) -> None:
    known = {"org", "region"} | set(codebook.carried)
    rules = [("eligibility", r, "require") for r in codebook.cleaning.get("eligibility", [])]
    rules += [("inconsistent", r, "when") for r in codebook.cleaning.get("inconsistent", [])]
    for section, rule, key in rules:
        try:
            names = expression_names(rule[key])
        except ValueError as exc:
            raise ConfigError(
                f"the {section} rule '{rule['name']}' is not a valid expression ({exc})",
                file=codebook.path,
                row=doc.line_of(("cleaning", section)),
                value=rule[key],
                expected="a pandas query such as: age_entered < 18",
            ) from None
        unknown = names - known - {"True", "False", "None"}
        if unknown:
            raise ConfigError(
                f"the {section} rule '{rule['name']}' uses {sorted(unknown)}, which wave '{codebook.wave}' does not carry",
                file=codebook.path,
                row=doc.line_of(("cleaning", section)),
                value=rule[key],
                expected="variables carried by this wave",
            )
        for name in rule.get("variables", []):
            if name not in known:
                raise ConfigError(
                    f"the {section} rule '{rule['name']}' sets '{name}' to missing, which wave '{codebook.wave}' does not carry",
                    file=codebook.path,
                    row=doc.line_of(("cleaning", section)),
                    expected="variables carried by this wave",
                )
    for key in ("test_responses", "consent"):
        name = codebook.cleaning.get(key, {}).get("variable")
        if name and name not in known:
            raise ConfigError(
                f"the {key} rule uses '{name}', which wave '{codebook.wave}' does not carry",
                file=codebook.path,
                row=doc.line_of(("cleaning", key)),
                expected="a variable carried by this wave",
            )


def carried_by_wave(codebooks: list[str | Path], variables: VariableSet) -> dict[str, set[str]]:
    """Each wave's carried variables, from its codebook (waves in the order given)."""
    out = {}
    for path in codebooks:
        book = load_codebook(path, variables)
        out[book.wave] = set(book.carried)
    return out
