"""Per-wave codebooks (``config/codebooks/{wave}.yaml``): how a wave's raw columns map onto the harmonised
variables, which columns are dropped and why, the organisations that recruited its respondents, and the
wave's cleaning rules.

A codebook is checked against its JSON Schema and then against the harmonised variables (a code mapped to a
category that does not exist, a skip rule naming a variable the wave does not carry...); every problem is
reported by file and row.

A codebook also says which raw columns are private: no message ever shows their values (see
:func:`private_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Collector, ConfigError
from .loading import LoadedYaml, load_validated, validate
from .variables import Variable, VariableSet, derivation_sources, expression_names, normalise_text


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
    private_columns: frozenset[str] = frozenset()  # raw columns whose values no message shows

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
    problems: Collector | None = None,
) -> Codebook:
    """Read a wave's codebook and check it against the harmonised variables (and, given ``wave``, that the wave
    sheet uses it for that wave). ``cleaning_defaults`` are the configuration's rules the codebook may override.

    Every problem is reported at once. Given ``problems``, they are added to it instead, and the codebook is
    returned with the mappings that passed (for a check that goes on to the raw file)."""
    doc = load_validated(path, "codebook")
    data = doc.data
    check = _Check(doc, variables)
    lenient = problems is not None
    problems = problems if lenient else Collector(f"the codebook {doc.path}")
    if wave is not None and data["wave"] != wave:
        with problems.guard():
            check.fail(
                ("wave",),
                f"the codebook is for wave '{data['wave']}' but config/waves.tsv uses it for wave '{wave}'",
                expected=f"wave: {wave}",
            )
    wave = data["wave"]
    global_missing: dict[str, str] = {}
    with problems.guard():
        global_missing = check.missing_codes(data.get("missing", {}), ("missing",))
    for column, keys in (
        (data["respondent_id"], ("respondent_id",)),
        (data["organisation"]["column"], ("organisation", "column")),
    ):
        with problems.guard():
            check.claim(column, keys)
    mappings: dict[str, Mapping] = {}
    for name, spec in data["variables"].items():
        with problems.guard():
            mappings[name] = _mapping(check, wave, name, spec, global_missing, data.get("missing", {}))
    for name, mapping in mappings.items():
        if mapping.ask_if and (
            mapping.ask_if["variable"] in mappings or mapping.ask_if["variable"] not in data["variables"]
        ):
            with problems.guard():
                _check_ask_if(mapping, mappings, doc, ("variables", name, "ask_if"))
    _check_coverage(check, wave, mappings, problems, set(data["variables"]))
    for column in data["drop"]:
        if column in check.used_columns:
            with problems.guard():
                check.fail(
                    ("drop", column),
                    f"the raw column '{column}' is both mapped and dropped",
                    expected="one or the other",
                )
    cleaning = {**(cleaning_defaults or {}), **data.get("cleaning", {})}
    with problems.guard():
        validate(cleaning, "codebook", pointer="/$defs/rules", path=doc.path)
    if not lenient:
        problems.raise_if_any()
    file_spec = data["file"]
    codebook = Codebook(
        path=doc.path,
        wave=wave,
        layout=file_spec["layout"],
        encoding=file_spec["encoding"],
        delimiter=file_spec["delimiter"],
        sheet=file_spec["sheet"],
        respondent_id=data["respondent_id"],
        organisation_column=data["organisation"]["column"],
        organisations={
            normalise_text(str(code)): Organisation(str(code), attrs["region"], attrs.get("state"))
            for code, attrs in data["organisation"]["codes"].items()
        },
        missing=global_missing,
        mappings=mappings,
        drop=dict(data["drop"]),
        cleaning=cleaning,
        carried=tuple(v.name for v in variables.carried(wave, frozenset(mappings))),
        private_columns=private_columns(data, variables),
    )
    with problems.guard():
        _check_cleaning_names(codebook, variables, doc)
    if not lenient:
        problems.raise_if_any()
    return codebook


def private_columns(data: Any, variables: VariableSet) -> frozenset[str]:
    """The raw columns whose values no message may show: the respondent id, every column the codebook drops
    (identifiers, contact details, locations, platform metadata, free text, and the unused: none is needed to
    explain a problem) and the column of every free-text question, or of a question whose variable is not
    declared (it may be one). Read leniently from the codebook's document, so that a codebook with problems of
    its own still protects its columns."""
    data = data if isinstance(data, dict) else {}
    columns = {data.get("respondent_id")} | set(data.get("drop") or ())
    for name, spec in (data.get("variables") or {}).items():
        if isinstance(spec, dict) and (name not in variables or variables[name].type == "text"):
            columns |= {spec.get("column")} | set(spec.get("columns") or ())
    return frozenset(str(c) for c in columns if c is not None)


class _Check:
    """A codebook under check: its document, the harmonised variables, and the raw columns used so far."""

    def __init__(self, doc: LoadedYaml, variables: VariableSet):
        self.doc = doc
        self.variables = variables
        self.used_columns: dict[str, tuple] = {}

    def fail(self, keys: tuple, problem: str, *, value: Any = None, expected: str | None = None) -> None:
        kwargs = {"value": value} if value is not None else {}
        raise ConfigError(problem, file=self.doc.path, row=self.doc.line_of(keys), expected=expected, **kwargs)

    def claim(self, column: str, keys: tuple) -> None:
        """Record that a raw column is used; each may be used once."""
        if column in self.used_columns:
            self.fail(
                keys,
                f"the raw column '{column}' is used twice (also at row {self.doc.line_of(self.used_columns[column])})",
                expected="each raw column mapped once",
            )
        self.used_columns[column] = keys

    def missing_codes(self, codes: dict, keys: tuple) -> dict[str, str]:
        """Raw missing codes (normalised) → missing reasons, each a declared missing code."""
        missing = _normalised_codes(codes, self.doc, keys)
        for reason in missing.values():
            if reason not in self.variables.missing_codes:
                self.fail(
                    keys,
                    f"'{reason}' is not a missing code",
                    value=reason,
                    expected="one of " + ", ".join(self.variables.missing_codes),
                )
        return missing


def _mapping(check: _Check, wave: str, name: str, spec: dict, global_missing: dict, raw_missing: dict) -> Mapping:
    """One harmonised variable's mapping, checked against the variable."""
    variables = check.variables
    keys = ("variables", name)
    if name not in variables:
        check.fail(keys, f"'{name}' is not a harmonised variable", expected=f"a variable declared in {variables.path}")
    var = variables[name]
    if var.derive:
        check.fail(
            keys,
            f"'{name}' is derived from other variables and cannot be mapped from a raw column",
            expected="map the variables it is derived from",
        )
    if var.waves is not None and wave not in var.waves:
        check.fail(
            keys,
            f"'{name}' lists the waves that carry it in {variables.path}, and '{wave}' is not among them",
            expected=f"add {wave} to its waves (or remove its waves list), or remove the mapping",
        )
    _check_mapping_form(check, var, spec, keys)
    for column in [spec["column"]] if "column" in spec else list(spec["columns"]):
        check.claim(column, keys)
    codes = _normalised_codes(spec.get("codes", {}), check.doc, keys + ("codes",))
    missing = {**global_missing, **check.missing_codes(spec.get("missing", {}), keys + ("missing",))}
    needs_codes = var.type in ("single", "yesno") or (var.is_multi and "column" in spec)
    if needs_codes and not codes:
        check.fail(
            keys,
            f"'{name}' is a {var.type} variable but no 'codes' map its raw values",
            expected="codes: raw code or label → " + ", ".join(var.categories),
        )
    if var.type in ("integer", "text") and codes:
        check.fail(
            keys + ("codes",),
            f"'{name}' is {var.type}: its raw values are read as they are, not through codes",
            expected="only 'missing' codes for an integer variable",
        )
    for raw, target in codes.items():
        if target not in var.categories and target not in variables.missing_codes:
            check.fail(
                keys + ("codes",),
                f"code '{raw}' maps to '{target}', which is neither a category of '{name}' nor a missing code",
                value=target,
                expected="one of " + ", ".join(list(var.categories) + list(variables.missing_codes)),
            )
    columns = dict(spec.get("columns", {}))
    for column, option in columns.items():
        if option not in var.categories:
            check.fail(
                keys + ("columns",),
                f"raw column '{column}' maps to '{option}', which is not an option of '{name}'",
                value=option,
                expected="one of " + ", ".join(var.categories),
            )
    if len(set(columns.values())) != len(columns):
        check.fail(
            keys + ("columns",), "an option is mapped from two raw columns", expected="one raw column per option"
        )
    return Mapping(
        variable=var,
        column=spec.get("column"),
        columns=columns,
        selected=tuple(normalise_text(s) for s in spec["selected"]),
        delimiter=spec.get("delimiter"),
        codes=codes,
        missing=missing,
        parse=spec.get("parse"),
        ask_if=spec.get("ask_if"),
        exact_codes=frozenset(
            str(c) for c in [*spec.get("codes", {}), *spec.get("missing", {}), *raw_missing, *spec["selected"]]
        ),
    )


def _check_mapping_form(check: _Check, var: Variable, spec: dict, keys: tuple) -> None:
    """The mapping's keys suit the variable's type (one column or one per option, a delimiter, year parsing)."""
    if "columns" in spec and (not var.is_multi or "delimiter" in spec):
        check.fail(
            keys, "'columns' (one raw column per option) only applies to multi-select variables without a delimiter"
        )
    if var.is_multi and "column" in spec and "delimiter" not in spec:
        check.fail(
            keys,
            f"multi-select '{var.name}' in one raw column needs a 'delimiter'",
            expected="delimiter: ',' (or the separator used)",
        )
    if "delimiter" in spec and not var.is_multi:
        check.fail(keys, "'delimiter' only applies to multi-select variables")
    if spec.get("parse") and var.type != "integer":
        check.fail(keys, "'parse: year' only applies to integer variables")


def _check_coverage(
    check: _Check, wave: str, mappings: dict[str, Mapping], problems: Collector, declared: set[str]
) -> None:
    """Every variable that names this wave among its waves is mapped, or derivable from mapped variables (a
    mapping that is declared but failed its own checks is not reported again)."""
    variables = check.variables
    for var in variables.variables.values():
        if var.waves is None or wave not in var.waves:
            continue
        if not var.derive and var.name not in mappings and var.name not in declared:
            with problems.guard():
                check.fail(
                    ("variables",),
                    f"'{var.name}' lists wave '{wave}' in {variables.path} but this codebook does not map it",
                    expected=f"a mapping for '{var.name}', or remove {wave} from its waves",
                )
        for source in derivation_sources(var) if var.derive else []:
            if source not in mappings and source not in declared and not variables[source].derive:
                with problems.guard():
                    check.fail(
                        ("variables",),
                        f"derived variable '{var.name}' needs '{source}', which this codebook does not map",
                        expected=f"a mapping for '{source}'",
                    )


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


def _check_cleaning_names(codebook: Codebook, variables: VariableSet, doc: LoadedYaml) -> None:
    known = {"org", "region"} | set(codebook.carried)
    rules = [("eligibility", r, "require") for r in codebook.cleaning["eligibility"]]
    rules += [("inconsistent", r, "when") for r in codebook.cleaning["inconsistent"]]
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
