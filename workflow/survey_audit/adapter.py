"""Running a workflow script under the project's error contract.

A :class:`~survey_audit.errors.SurveyAuditError` is shown as its message alone (no traceback) on standard
error and in the job's log, and the job exits with status 1; Snakemake then removes the job's outputs, so a
failed stage leaves nothing partial behind. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from .errors import SurveyAuditError


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
