"""Which library modules a script depends on, and hashes of files, so that provenance can be recorded and
Snakemake reruns exactly the jobs whose code changed.

Snakemake tracks a script's own modification time but not the modules it imports; the rules therefore list
:func:`module_closure` of their script as inputs.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "survey_audit"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(name: str, package_dir: Path) -> Path | None:
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    rest = parts[1:]
    if not rest:
        return package_dir / "__init__.py"
    candidate = package_dir.joinpath(*rest).with_suffix(".py")
    if candidate.is_file():
        return candidate
    init = package_dir.joinpath(*rest, "__init__.py")
    return init if init.is_file() else None


def _imports(path: Path, package_dir: Path) -> set[Path]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = package_dir in path.resolve().parents
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and inside:
                base = PACKAGE  # the package is flat: relative imports resolve to it
                module = f"{base}.{node.module}" if node.module else base
            elif node.level:
                continue
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    files = {_module_file(name, package_dir) for name in names}
    return {f.resolve() for f in files if f is not None}


@functools.cache
def module_closure(script: str | Path, package_dir: str | Path = PACKAGE_DIR) -> tuple[Path, ...]:
    """The library modules a script imports, directly or through other modules, sorted by path."""
    package_dir = Path(package_dir).resolve()
    seen: set[Path] = set()
    todo = list(_imports(Path(script), package_dir))
    if todo:
        todo.append((package_dir / "__init__.py").resolve())
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_imports(current, package_dir) - seen)
    return tuple(sorted(seen))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
