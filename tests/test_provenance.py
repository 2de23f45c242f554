"""Rules list the library modules their script imports, so a change to one reruns exactly what uses it."""

from __future__ import annotations

from survey_audit.provenance import module_closure


def names(script):
    return {p.name for p in module_closure(script)}


def test_closure_follows_imports_transitively(root):
    ingest = names(root / "workflow" / "scripts" / "ingest.py")
    assert {"harmonise.py", "readers.py", "codebook.py", "loading.py", "errors.py", "__init__.py"} <= ingest
    assert "audit.py" not in ingest and "tabulate.py" not in ingest and "design.py" not in ingest


def test_weight_stage_does_not_depend_on_ingest_code(root):
    weight = names(root / "workflow" / "scripts" / "weight.py")
    assert "weighting.py" in weight and "readers.py" not in weight
