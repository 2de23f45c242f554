"""Strict loading of the project's YAML configuration files, validated against their JSON Schemas.

YAML is read with duplicate keys rejected (PyYAML keeps the last one silently) and with the line of every
node remembered, so that a schema violation can be reported as "file, row N: what is wrong". Every file is
validated against a JSON Schema (2020-12) under ``workflow/schemas/``, and validation fills in the schema's
``default`` of every key left out: the schemas are the one place a default is written down. Files and schemas
are read through :func:`~survey_audit.provenance.read_bytes`, so a job records the hash of the very bytes it
parsed.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..errors import ConfigError
from ..provenance import read_bytes

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML document with the line number (1-based) of each node, keyed by its path."""

    path: Path
    data: Any
    lines: dict[tuple, int]

    def line_of(self, keys: tuple) -> int | None:
        """Line of the deepest existing node along ``keys``."""
        keys = tuple(keys)
        while keys not in self.lines and keys:
            keys = keys[:-1]
        return self.lines.get(keys)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's, where PyYAML has it) that refuses duplicate mapping keys and, as YAML 1.2 does, reads
    only true/false as booleans (so that categories such as ``yes``, ``no`` or ``on`` stay words)."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"the key '{key}' appears twice in the same block (first on row {seen[key]})",
                file=getattr(loader, "_path", None),
                row=key_node.start_mark.line + 1,
                expected="each key once; merge the two entries",
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _node_lines(node: yaml.Node, prefix: tuple, out: dict[tuple, int]) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _scalar_key(key_node)
            _node_lines(value_node, prefix + (key,), out)
            out[prefix + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, prefix + (index,), out)


def _scalar_key(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":int"):
            return int(node.value)
        if node.tag.endswith(":bool"):
            return node.value.lower() in ("true", "yes", "on")
        return node.value
    return str(node.start_mark)


def load_yaml(path: str | Path) -> LoadedYaml:
    """Parse a YAML file strictly; errors name the file and row."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("the file does not exist", file=path, hint="check the path in the configuration")
    text = read_bytes(path).decode("utf-8")
    try:
        loader = _StrictLoader(text)
        loader._path = str(path)  # type: ignore[attr-defined]
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"this is not valid YAML ({exc.problem})",
            file=path,
            row=mark.line + 1 if mark else None,
            hint="check indentation and quoting around this row",
        ) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return LoadedYaml(path, data, lines)


@functools.cache
def schema(name: str) -> dict:
    """The JSON Schema ``workflow/schemas/{name}.schema.yaml``."""
    return yaml.load(read_bytes(SCHEMA_DIR / f"{name}.schema.yaml").decode("utf-8"), Loader=_StrictLoader)


@functools.cache
def _registry() -> Registry:
    """All project schemas, so that one may refer to another by its $id."""
    resources = []
    for file in sorted(SCHEMA_DIR.glob("*.schema.yaml")):
        contents = schema(file.name.removesuffix(".schema.yaml"))
        resources.append((contents["$id"], Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def _fill_defaults(validator, properties, instance, schema):
    """The ``properties`` keyword, setting the ``default`` of each absent property before descending into it
    (so a nested object that defaults to ``{}`` then receives its own keys' defaults)."""
    if isinstance(instance, dict):
        for name, subschema in properties.items():
            if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                instance[name] = copy.deepcopy(subschema["default"])
    yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)


_FillingValidator = validators.extend(Draft202012Validator, {"properties": _fill_defaults})


def validator(schema_name: str, pointer: str = "", *, fill: bool = False) -> Draft202012Validator:
    """A validator for a project schema, or for the sub-schema at a JSON pointer within it; with ``fill`` it
    writes the schema's defaults into the document it validates."""
    root = schema(schema_name)
    target = {"$ref": f"{root['$id']}#{pointer}"} if pointer else root
    return (_FillingValidator if fill else Draft202012Validator)(target, registry=_registry())


def validate(
    doc: LoadedYaml | Any, schema_name: str, *, path: str | Path | None = None, pointer: str = "", keys: tuple = ()
) -> None:
    """Validate a document (or the part of it at ``keys``) against a project schema (or the sub-schema at
    ``pointer``), reporting the first problem by file and row, and fill in the schema's defaults (a default is
    itself valid, so filling never hides or adds a problem)."""
    data = doc.data if isinstance(doc, LoadedYaml) else doc
    for key in keys:
        data = data[key]
    file = doc.path if isinstance(doc, LoadedYaml) else path
    errors = sorted(
        validator(schema_name, pointer, fill=True).iter_errors(data),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if not errors:
        return
    error = min(errors, key=_error_rank)
    keys = tuple(keys) + tuple(error.absolute_path)
    row = doc.line_of(keys) if isinstance(doc, LoadedYaml) else None
    location = " → ".join(str(k) for k in keys) or "(top level)"
    raise ConfigError(
        f"at '{location}': {_describe(error)}",
        file=file,
        row=row,
        expected=_expected(error),
    )


def _error_rank(error) -> tuple:
    # Prefer the most specific error (deepest path), then the schema's own order.
    return (-len(error.absolute_path), str(error.validator))


def _describe(error) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key(s) {', '.join(repr(e) for e in extra)}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "enum":
        return f"{error.instance!r} is not an accepted value"
    if error.validator == "not":
        return f"{error.instance!r} is reserved"
    if error.validator == "pattern":
        return f"{error.instance!r} is not in the form this key takes"
    return error.message


def _expected(error) -> str | None:
    sch = error.schema
    if error.validator == "enum":
        return "one of " + ", ".join(repr(v) for v in sch["enum"])
    if error.validator == "additionalProperties":
        return "only the keys " + ", ".join(repr(k) for k in sch.get("properties", {}))
    if error.validator == "pattern" and "description" not in sch:
        return f"text matching {sch['pattern']}"
    return sch.get("description")


def load_validated(path: str | Path, schema_name: str) -> LoadedYaml:
    """Load a YAML file and validate it against the named schema."""
    doc = load_yaml(path)
    validate(doc, schema_name)
    return doc


def canonical_hash(obj: Any) -> str:
    """sha256 of an object's canonical JSON (sorted keys), for hashing configuration."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
