"""User-facing errors: messages an analyst can act on without reading a traceback.

Every error names where the problem is (file, row, column), what was found and what was expected. Rows are
the line numbers a text editor or spreadsheet shows for the file (header lines included), so the analyst can
go straight to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_UNSET = object()


class SurveyAuditError(Exception):
    """Base class for problems with the user's inputs, configuration or requests."""

    kind = "Problem"

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = _UNSET,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.value = value
        self.expected = expected
        self.hint = hint
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        text = f"{self.kind}"
        if self.where:
            text += f" in {self.where}"
        text += f": {self.problem}"
        if self.value is not _UNSET:
            text += f"\n  found:    {_show(self.value)}"
        if self.expected:
            text += f"\n  expected: {self.expected}"
        if self.hint:
            text += f"\n  what to do: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.message


class InputError(SurveyAuditError):
    """A raw data file does not match what its codebook declares."""

    kind = "Input problem"


class ConfigError(SurveyAuditError):
    """A configuration file, codebook, table spec or registry is invalid."""

    kind = "Configuration problem"


class DesignError(SurveyAuditError):
    """A survey design or estimation request cannot be computed as asked."""

    kind = "Design problem"


class VerificationError(SurveyAuditError):
    """Recomputed results differ from a frozen release."""

    kind = "Verification failed"


def _show(value: Any) -> str:
    if value is None:
        return "(nothing)"
    if isinstance(value, str):
        if value == "":
            return "(an empty value)"
        return repr(value)
    return str(value)
