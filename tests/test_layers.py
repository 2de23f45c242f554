"""The library's layers import downward only, and the statistics layer does no I/O. Oracle: the import
statements themselves, read with Python's own parser."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "workflow" / "survey_audit"
# Lowest first: a module may import its own layer and the layers before it.
LAYERS = ["ground", "stats", "config", "intake", "stages", "tools", "cli"]
GROUND = {"__init__", "errors", "formats", "provenance", "adapter", "stale"}


def layer_of(dotted: str) -> str | None:
    """The layer of a module of the package (``survey_audit.stats.design`` → stats), None outside it."""
    parts = dotted.split(".")
    if parts[0] != "survey_audit":
        return None
    if len(parts) == 1 or parts[1] in GROUND:
        return "ground"
    return parts[1] if parts[1] in LAYERS else None


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved; a name imported from a package counted as the
    package and as a possible submodule)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_imports_a_higher_layer(path):
    own = LAYERS.index(layer_of(module_name(path)))
    above = sorted(m for m in imports(path) if layer_of(m) and LAYERS.index(layer_of(m)) > own)
    assert not above, f"{module_name(path)} ({LAYERS[own]}) imports {above}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "stats").glob("*.py")), ids=lambda p: p.name)
def test_the_statistics_layer_does_no_io_and_reads_no_configuration(path):
    used = imports(path)
    inside = {m for m in used if m.startswith("survey_audit.")}
    assert inside <= {m for m in inside if m.startswith(("survey_audit.stats", "survey_audit.errors"))}, inside
    assert not used & {"pathlib", "json", "yaml", "os", "io", "csv", "pyarrow"}, used
    text = path.read_text(encoding="utf-8")
    assert "open(" not in text and "read_" not in text.replace("read_only", "")


def test_every_module_belongs_to_a_layer():
    assert all(layer_of(module_name(path)) for path in MODULES)
    assert {layer_of(module_name(path)) for path in MODULES} == set(LAYERS)


def test_parsing_the_workflow_imports_no_heavy_library():
    # What workflow/rules/common.smk imports while Snakemake parses the workflow (every run, dry run and no-op
    # pays for it): the configuration layer, the checks and the plan, never SciPy's statistics or statsmodels.
    import subprocess
    import sys

    parsed = ["survey_audit.config.plan", "survey_audit.config.settings", "survey_audit.config.tables"]
    parsed += ["survey_audit.intake.check", "survey_audit.provenance", "survey_audit.stages.verdicts"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in parsed)
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('statsmodels', 'matplotlib') or m == 'scipy.stats'))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT / "workflow")}
    )
    assert done.stdout.strip() == "[]"
    # and the statistics package still exports its API by name
    from survey_audit import stats

    assert stats.svyglm.__module__ == "survey_audit.stats.models" and "svyglm" in dir(stats)
