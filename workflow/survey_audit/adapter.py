"""Running a workflow script under the project's error contract, and recording what the job used.

A :class:`~survey_audit.errors.SurveyAuditError` is shown as its message alone (no traceback) on standard
error and in the job's log, and the job exits with status 1; Snakemake then removes the job's outputs, so a
failed stage leaves nothing partial behind. Any other exception is a bug and keeps its traceback.

A job that succeeds leaves a provenance record beside its log (``{log}.provenance.json``): its inputs with their
sha256, the library modules it imported, the parameters (configuration values) it received and the outputs
it wrote. The manifest gathers these records, so every output can be traced to its data, config and code.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import SurveyAuditError
from .formats import write_json
from .provenance import sha256_file


def run(snakemake: Any, main: Callable[[], None]) -> None:
    """Run a script's body, logging to the rule's log file."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        main()
    except SurveyAuditError as exc:
        logging.getLogger("survey_audit").error("%s", exc.message)
        sys.exit(1)
    if log_path:
        write_json(provenance_record(snakemake), provenance_path(log_path))


def provenance_path(log_path: str | Path) -> Path:
    return Path(log_path).with_suffix(".provenance.json")


def provenance_record(snakemake: Any) -> dict:
    """What a finished job used and wrote (the 'config' parameter, the whole configuration, is left out: the
    manifest hashes it once)."""
    inputs: dict[str, dict[str, str]] = {}
    for name, value in snakemake.input.items():
        files = [value] if isinstance(value, str) else list(value)
        inputs[name] = {Path(f).as_posix(): sha256_file(f) for f in files}
    modules = inputs.pop("code", {})
    params = {name: value for name, value in snakemake.params.items() if name != "config"}
    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "inputs": inputs,
        "modules": modules,
        "params": params,
        "outputs": sorted(Path(o).as_posix() for o in snakemake.output),
    }
