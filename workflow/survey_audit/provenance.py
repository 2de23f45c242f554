"""Which library modules a script depends on, and what each job read and wrote, so that provenance can be
recorded and Snakemake reruns exactly the jobs whose code changed.

Snakemake tracks a script's own modification time but not the modules it imports; the rules therefore list
:func:`module_closure` of their script as inputs. The closure follows absolute and relative imports through
the package's layers, and counts the ``__init__`` of every package on the way (Python runs them on import).
Each module is parsed once per process, however many scripts share it, and, with a cache file, once per
change: the workflow keeps what each module imports, keyed by the file's size and modification time, so a
run does not parse the library again to learn what it already knew. What is parsed is a module's import
statements alone (every line that begins one, wherever it stands, with the parenthesised names that follow),
which Python's parser reads in a fortieth of the time the whole module takes; a statement it cannot read that
way (one continued with a backslash, say) sends the whole module to the parser instead.

Every file the library parses is read through :func:`read_bytes`: the file's bytes are read once and handed
to the parser from memory, so the sha256 a job records is the hash of exactly the bytes its results were
computed from, even if the file changes while the job runs or afterwards. Within :func:`recording` (the
adapter opens one around each job) a :class:`Ledger` collects these hashes, and the hash of every file the
``formats`` writers put in place, taken as it is written. A file read twice by one job must give the same
bytes both times, else the job stops: its results would rest on two different files.

:func:`git_state` says which commit of the project's code and configuration a run or a release stands on, and
which of their tracked files differ from it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

PACKAGE = "survey_audit"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_parts(path: Path, package_dir: Path) -> tuple[list[str], bool]:
    """The dotted name of a module file of the package, as parts, and whether it is a package ``__init__``."""
    relative = path.relative_to(package_dir).with_suffix("")
    parts = [PACKAGE, *relative.parts]
    if parts[-1] == "__init__":
        return parts[:-1], True
    return parts, False


def _module_files(name: str, package_dir: Path) -> list[Path]:
    """The files Python runs to import a dotted module name of the package: the ``__init__`` of each package on
    the way, then the module itself (nothing for a name that is not a module, such as a function)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return []
    files = []
    for depth in range(1, len(parts) + 1):
        rest = parts[1:depth]
        init = package_dir.joinpath(*rest, "__init__.py")
        module = package_dir.joinpath(*rest).with_suffix(".py") if rest else None
        if init.is_file():
            files.append(init)
        elif module is not None and module.is_file():
            files.append(module)
            break
        else:
            break
    return files


_known: dict[str, list] = {}  # path → [size, modification time, module files it imports]: the cache's content


def _imports(path: Path, package_dir: Path) -> frozenset[Path]:
    """The package modules one file imports directly."""
    stat = path.stat()
    entry = _known.get(str(path))
    if entry is None or entry[:2] != [stat.st_size, stat.st_mtime_ns]:
        files = {
            str(f.resolve()) for name in _imported_names(path, package_dir) for f in _module_files(name, package_dir)
        }
        entry = [stat.st_size, stat.st_mtime_ns, sorted(files)]
        _known[str(path)] = entry
    return frozenset(map(Path, entry[2]))


# A line that begins an import statement, at any indentation (an import inside a function counts), with the
# parenthesised names of a ``from`` import that runs over several lines.
_IMPORT_STATEMENT = re.compile(r"^[ \t]*(?:from[ \t]+\.*[\w.]*[ \t]+import[ \t]*(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", re.M)


def _import_statements(text: str, filename: str) -> ast.Module:
    """The import statements of a module's source, parsed (see the module's docstring). A line of a docstring
    that reads like an import adds a name that is no module of the package, or none."""
    statements = "\n".join(match.group(0).strip() for match in _IMPORT_STATEMENT.finditer(text))
    try:
        return ast.parse(statements, filename=filename)
    except SyntaxError:
        return ast.parse(text, filename=filename)


def _imported_names(path: Path, package_dir: Path) -> set[str]:
    """The dotted names a file imports, relative imports resolved."""
    tree = _import_statements(path.read_text(encoding="utf-8"), str(path))
    inside = package_dir in path.parents
    package: list[str] = []
    if inside:
        parts, is_package = _module_parts(path, package_dir)
        package = parts if is_package else parts[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not inside:
                    continue
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@functools.cache
def module_closure(
    script: str | Path, package_dir: str | Path = PACKAGE_DIR, cache: str | Path | None = None
) -> tuple[Path, ...]:
    """The library modules a script imports, directly or through other modules, sorted by path. ``cache`` is a
    file that keeps what each module imports between runs."""
    if cache is not None:
        _load(Path(cache))
    package_dir = Path(package_dir).resolve()
    seen: set[Path] = set()
    todo = list(_imports(Path(script).resolve(), package_dir))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_imports(current, package_dir) - seen)
    if cache is not None:
        _save(Path(cache))
    return tuple(sorted(seen))


CACHE_FORMAT = 2  # bump when what a cache entry holds changes: an older cache is then rebuilt


def _load(cache: Path) -> None:
    if not _known and cache.is_file():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            return  # a damaged cache is rebuilt
        if isinstance(data, dict) and data.get("format") == CACHE_FORMAT:
            _known.update(data["files"])


def _save(cache: Path) -> None:
    text = json.dumps({"format": CACHE_FORMAT, "files": _known}, sort_keys=True)
    if cache.is_file() and cache.read_text(encoding="utf-8") == text:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(cache)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class Ledger:
    """The files one job read and wrote: path (relative to the working directory, as the workflow names it) →
    sha256 of the bytes read, or of the bytes written."""

    read: dict[str, str] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)


_ledger: Ledger | None = None  # the ledger of the running job, while :func:`recording` is open


@contextmanager
def recording() -> Iterator[Ledger]:
    """Record, for the block's duration, the hash of every file read through :func:`read_bytes` and written
    through the ``formats`` writers."""
    global _ledger
    outer, _ledger = _ledger, Ledger()
    try:
        yield _ledger
    finally:
        _ledger = outer


def ledger_path(path: str | Path) -> str:
    """How a ledger names a file: its path relative to the working directory, with forward slashes."""
    return Path(os.path.relpath(path)).as_posix()


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, read once: the one place the library reads a file it parses. The open ledger records
    their sha256."""
    data = Path(path).read_bytes()
    if _ledger is not None:
        name, digest = ledger_path(path), sha256_bytes(data)
        if _ledger.read.setdefault(name, digest) != digest:
            raise InputError(
                "the file changed while the job was reading it: two reads gave different contents",
                file=name,
                expected="inputs left unchanged while the workflow runs",
                hint="let the file be, then run the workflow again",
            )
    return data


def record_written(path: str | Path, digest: str) -> None:
    """Note in the open ledger that ``path`` now holds bytes with sha256 ``digest`` (the writers call this as
    they put a file in place)."""
    if _ledger is not None:
        _ledger.written[ledger_path(path)] = digest


# What a run reads of the repository: its code and configuration, the bundled data and the coverage study the
# report shows. Releases (results/releases/), tests and documentation change no number, so a change to them
# leaves the tree clean.
CODE_PATHS = ("Snakefile", "pyproject.toml", "workflow", "config", "resources", "validation")


def git_state(root: str | Path = ".") -> dict[str, Any]:
    """The git commit of the project, and the tracked files of its code and configuration (:data:`CODE_PATHS`)
    that differ from it, staged or not: ``{"commit", "dirty", "changed"}`` (commit and dirty None outside a
    repository). Untracked files do not count: real exports stay out of git (``data/``), and code that a
    tracked file does not import changes nothing."""
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "changed": []}
    paths = (f":(top){p}" for p in CODE_PATHS)
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", *paths) or ""
    changed = sorted({line[3:].split(" -> ")[-1].strip('"') for line in status.splitlines() if line.strip()})
    return {"commit": commit.strip(), "dirty": bool(changed), "changed": changed}


def commit_date(root: str | Path = ".") -> str | None:
    """The committer date of the project's commit (ISO 8601), or None outside a repository: a date the same
    commit always gives, unlike the clock's (the report dates its run by it)."""
    date = (_git(root, "show", "-s", "--format=%cI", "HEAD") or "").strip()
    return date or None


def _git(root: str | Path, *args: str) -> str | None:
    """What ``git args`` prints in ``root``, or None when git fails (not a repository, no git)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout
