"""The analysis plan: every declared file read and checked together, and what each scope's jobs need of it.

The workflow builds the plan once, when it starts: the wave sheet, the harmonised variables, each wave's
codebook (read against the wave's own view of the variables: its categories, its fielding years), the table
specs (pools resolved, those registry entries cite pinned), the registries and the weighting specs. It then
writes, per scope (a wave, or a pool of waves), the part of the plan that scope's jobs read:

* ``results/internal/plan/{scope}.variables.yaml``: the variables the scope carries, as the scope sees them
  (categories of its waves, ranges with its fielding years as numbers), in the format of ``config/variables.yaml``;
* ``results/internal/plan/{scope}.tables.json``: the resolved specs of the tables the scope is tabulated for (as
  that scope's job sees them: tabulated for the scope alone), and the state of each of its organisations (for
  the sample table);
* ``results/internal/plan/tables.json``: every resolved spec with all its scopes, for the jobs over all waves.

A file is rewritten only when its content changes, so its modification time, which Snakemake compares, moves
only then: adding a wave, or editing a variable or table that one wave carries, reruns that wave's jobs and
leaves every other wave's alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import yaml

from ..errors import ConfigError
from ..provenance import read_bytes
from .codebook import Codebook, load_codebook
from .registry import Registry, check_registry_cells, load_registry, pinned_pools
from .tables import (
    TableSpec,
    is_pool,
    load_table_specs,
    scope_waves,
    spec_document,
    spec_from_document,
    wave_trend_scope,
)
from .variables import FIELDING_BOUNDS, VariableSet, load_variables
from .waves import Wave, load_wave_sheet
from .weighting import WeightingSpec, load_weighting_spec

PLAN_DIR = Path("results/internal/plan")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where PyYAML has it


@dataclass(frozen=True)
class Plan:
    """Everything the configuration declares, checked against itself."""

    waves: dict[str, Wave]
    variables: VariableSet  # as declared (category waves, fielding bounds unresolved)
    codebooks: dict[str, Codebook]
    specs: list[TableSpec]
    registries: list[Registry]
    weighting: dict[str, WeightingSpec]

    @property
    def scopes(self) -> list[str]:
        """Every wave, then every pool a table asks for, in a stable order."""
        pools = sorted({s for spec in self.specs for s in spec.waves if is_pool(s)}, key=lambda s: (len(s), s))
        return [*self.waves, *pools]

    def fielding(self, scope: str) -> dict[str, tuple[int, int]]:
        return {w: (self.waves[w].fielded_from, self.waves[w].fielded_to) for w in scope_waves(scope)}

    def view(self, scope: str) -> VariableSet:
        """The variables a scope carries, as its waves see them."""
        return carried_view(self.variables, self.fielding(scope), self.codebooks)

    def tables(self, scope: str) -> list[TableSpec]:
        return [spec for spec in self.specs if scope in spec.waves]

    def states(self, scope: str) -> dict[str, str]:
        """The state of each organisation of the scope (``wave:org`` in a pool)."""
        out = {}
        for wave in scope_waves(scope):
            for org in self.codebooks[wave].organisations.values():
                out[f"{wave}:{org.code}" if is_pool(scope) else org.code] = org.state
        return out

    def claims(self) -> list[str]:
        """The test ids registry claims cite."""
        return sorted({e["claim"]["test"] for r in self.registries for e in r.entries if e["claim"].get("test")})


def build_plan(config: dict, root: str | Path = ".") -> Plan:
    """Read and cross-check every declared file named by a (validated) configuration; its paths are relative to
    the project directory ``root``."""
    root = Path(root)
    waves = load_wave_sheet(root / config["waves"], root)
    variables = load_variables(root / config["variables"])
    _check_wave_names(variables, waves)
    codebooks = {}
    for wave, row in waves.items():
        view = variables.for_waves({wave: (row.fielded_from, row.fielded_to)})
        codebooks[wave] = load_codebook(root / row.codebook, view, wave=wave, cleaning_defaults=config["cleaning"])
    carried = {wave: set(book.carried) for wave, book in codebooks.items()}
    registries = [load_registry(root / path) for path in config["published"]]
    specs = load_table_specs([root / p for p in config["tables"]], variables, carried, pinned_pools(registries))
    plan = Plan(waves, variables, codebooks, specs, registries, {})
    for registry in registries:
        check_registry_cells(registry, specs, plan.view)
    weighting = {
        w: load_weighting_spec(root / row.weighting, variables, carried) for w, row in waves.items() if row.weighting
    }
    for wave, spec in weighting.items():
        if spec.wave != wave:
            raise ConfigError(
                f"the wave sheet gives wave '{wave}' the weighting spec of wave '{spec.wave}'",
                file=spec.path,
                expected=f"wave: {wave}, or another spec in the sheet's weighting column",
            )
    return Plan(waves, variables, codebooks, specs, registries, weighting)


def carried_view(
    variables: VariableSet, fielding: dict[str, tuple[int, int]], codebooks: dict[str, Codebook]
) -> VariableSet:
    """The variables the waves of ``fielding`` carry (by their codebooks), as those waves see them."""
    carried = {name for wave in fielding for name in codebooks[wave].carried}
    return variables.for_waves(fielding, names=[n for n in variables.variables if n in carried])


def wave_view(
    config: dict, wave: str, codebook: str | Path, variables: str | Path, root: str | Path = "."
) -> VariableSet:
    """The variables one wave's jobs read, resolved as :func:`build_plan` resolves them (the wave's categories,
    its fielding years from the wave sheet), for a codebook and variables file given outside the plan (such as a
    new wave's codebook under review). The sheet is read only when a range ends at a fielding year."""
    root = Path(root)
    declared = load_variables(root / variables)
    if any(end in FIELDING_BOUNDS for var in declared.variables.values() for end in var.range or ()):
        fielding = {wave: _fielding_years(config, wave, root)}
    else:
        fielding = {wave: (0, 0)}  # no range ends at a fielding year: any years give the same view
    book = load_codebook(
        root / codebook, declared.for_waves(fielding), wave=wave, cleaning_defaults=config.get("cleaning", {})
    )
    return carried_view(declared, fielding, {wave: book})


def _fielding_years(config: dict, wave: str, root: Path) -> tuple[int, int]:
    if "waves" not in config:
        raise ConfigError(
            f"the fielding years of wave '{wave}', where ranges such as [1960, fielded_to] end, are unknown: no"
            " configuration names the wave sheet",
            expected="a config/config.yaml whose 'waves' names the wave sheet (config/waves.tsv)",
            hint="run the command from the project directory, or pass --config",
        )
    sheet = root / config["waves"]
    waves = load_wave_sheet(sheet, root)
    if wave not in waves:
        raise ConfigError(
            f"wave '{wave}' is not in the wave sheet, so its fielding years, where ranges such as"
            " [1960, fielded_to] end, are unknown",
            file=sheet,
            value=wave,
            expected="a row for the wave (the sheet lists " + ", ".join(waves) + ")",
            hint="add the wave's row, with fielded_from and fielded_to, to the wave sheet",
        )
    return waves[wave].fielded_from, waves[wave].fielded_to


def write_view(view: VariableSet, path: str | Path) -> Path:
    """Write a view of the variables in the format of ``config/variables.yaml`` (rewritten only if it changed)."""
    path = Path(path)
    write_if_changed(path, yaml.dump(view.document(), Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=120))
    return path


def _check_wave_names(variables: VariableSet, waves: dict[str, Wave]) -> None:
    """Every wave a variable or category is restricted to is a wave of the sheet (a typo would hide it)."""
    for var in variables.variables.values():
        named = set(var.waves or ()) | {w for ws in var.category_waves.values() for w in ws}
        unknown = sorted(named - set(waves))
        if unknown:
            raise ConfigError(
                f"variable '{var.name}' names wave(s) {', '.join(unknown)}, which the wave sheet does not list",
                file=variables.path,
                expected="waves of config/waves.tsv: " + ", ".join(waves),
            )


def write_plan(plan: Plan, directory: str | Path = PLAN_DIR) -> None:
    """Write each scope's part of the plan, rewriting a file only when its content changes."""
    directory = Path(directory)
    for scope in plan.scopes:
        write_view(plan.view(scope), directory / f"{scope}.variables.yaml")
        tables = {
            "scope": scope,
            "waves": scope_waves(scope),
            "tables": [spec_document(replace(spec, waves=(scope,))) for spec in plan.tables(scope)],
            "states": plan.states(scope),
            "wave_trends": [spec.id for spec in plan.tables(scope) if wave_trend_scope(spec) == scope],
        }
        write_if_changed(directory / f"{scope}.tables.json", json.dumps(tables, indent=1, sort_keys=True) + "\n")
    every = {"tables": [spec_document(spec) for spec in plan.specs], "states": {}, "wave_trends": []}
    write_if_changed(directory / "tables.json", json.dumps(every, indent=1, sort_keys=True) + "\n")


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless the file already holds exactly it (its modification time then stays)."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class ScopeTables(NamedTuple):
    """A scope's part of the table plan: its table specs (each with the scope as its only wave), the states of
    its organisations, and the tables whose trend across waves is tested in it."""

    specs: list[TableSpec]
    states: dict[str, str]
    wave_trends: list[str]


def read_scope_tables(path: str | Path) -> ScopeTables:
    """A scope's part of the table plan (or the plan of every table) as :func:`write_plan` wrote it."""
    data = json.loads(read_bytes(path))
    return ScopeTables([spec_from_document(d) for d in data["tables"]], data["states"], data["wave_trends"])
