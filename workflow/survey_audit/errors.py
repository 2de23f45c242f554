"""User-facing errors: messages an analyst can act on without reading a traceback.

Every error names where the problem is (file, row, column), what was found and what was expected. Rows are
the line numbers a text editor or spreadsheet shows for the file (header lines included), so the analyst can
go straight to them.

The respondents are survivors of child sexual exploitation, and messages end up in terminals, logs and issue
trackers. Every value read from a raw export that a message would show goes through :func:`raw_value`: the value
is shown only when its column is neither identifying nor free text (the codebook's respondent id, every column it
drops, every free-text question) and the value itself looks like a short code (no more than ``SHORT_CODE``
characters, no ``@``, no run of ``LONG_DIGITS`` digits such as a phone number). Any other value is described,
never shown: its kind, its length and where in it the problem is (``a text of 23 characters``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UNSET = object()
SHORT_CODE = 12  # characters of the longest raw value a message may show
LONG_DIGITS = 7  # a run of this many digits (a phone or account number) is never shown
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")


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


class Problems(SurveyAuditError):
    """Several problems found at once (a check that lists every problem rather than stopping at the first)."""

    def __init__(self, problems: list[SurveyAuditError], *, subject: str):
        self.problems = list(problems)
        self.subject = subject
        super().__init__(f"{len(self.problems)} problem(s) in {subject}")

    @property
    def message(self) -> str:
        lines = [f"{len(self.problems)} problem(s) in {self.subject}:"]
        for number, problem in enumerate(self.problems, start=1):
            first, *rest = problem.message.split("\n")
            lines.append(f"{number}. {first}")
            lines.extend("   " + line for line in rest)
        return "\n".join(lines)


class ConfigProblems(Problems, ConfigError):
    """Several configuration problems at once."""


class InputProblems(Problems, InputError):
    """Several input problems at once."""


class Collector:
    """Gathers problems so that a check reports all of them at once: ``add`` one, ``guard`` a block that may
    raise one, ``raise_if_any`` at the end."""

    def __init__(self, subject: str):
        self.subject = subject
        self.problems: list[SurveyAuditError] = []

    def add(self, problem: SurveyAuditError) -> None:
        if isinstance(problem, Problems):
            self.problems.extend(problem.problems)
        else:
            self.problems.append(problem)

    def guard(self):
        """A context manager that records a :class:`SurveyAuditError` raised in its block instead of raising."""
        return _Guard(self)

    def raise_if_any(self) -> None:
        if len(self.problems) == 1:
            raise self.problems[0]
        if self.problems:
            kinds = {type(p) for p in self.problems}
            kind = next((k for k in (ConfigProblems, InputProblems) if kinds <= {k.__bases__[1]}), Problems)
            raise kind(self.problems, subject=self.subject)


class _Guard:
    def __init__(self, collector: Collector):
        self.collector = collector

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, SurveyAuditError):
            self.collector.add(error)
            return True
        return False


def _show(value: Any) -> str:
    if value is None:
        return "(nothing)"
    if isinstance(value, str):
        if value == "":
            return "(an empty value)"
        return repr(value)
    return str(value)


class Found:
    """A 'found' value shown as written (not quoted again) in an error message."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return str(other) == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def raw_value(value: str, *, private: bool, at: int | None = None, show: Callable[[str], str] | None = None):
    """What a message may say about a value read from a raw export (see the module documentation): the value
    itself (as ``show`` writes it; by default the value as it is, which a message quotes) or, when its column is
    ``private`` (identifying or free text) or the value does not look like a short code, a description of it
    that holds nothing of its content (:func:`describe`; ``at`` is the position of the problem in the value,
    0-based)."""
    value = str(value)
    if private or not _short_code(value):
        return Found(describe(value, at))
    return value if show is None else Found(show(value))


def _short_code(value: str) -> bool:
    return len(value) <= SHORT_CODE and "@" not in value and not re.search(rf"\d{{{LONG_DIGITS}}}", value)


def describe(value: str, at: int | None = None) -> str:
    """A raw value by its kind and length only: ``an e-mail address of 21 characters``, ``a number of 3
    characters``, ``a text of 40 characters on 2 lines``, with the position of a problem in it."""
    if value == "":
        return "(an empty value)"
    stripped = value.strip()
    kind = "an e-mail address" if _EMAIL.match(stripped) else "a number" if _NUMBER.match(stripped) else "a text"
    text = f"{kind} of {len(value)} character{'s' if len(value) != 1 else ''}"
    lines = len(re.findall(r"\r\n|\r|\n", value)) + 1
    if lines > 1:
        text += f" on {lines} lines"
    if at is not None:
        text += f", at character {at + 1}"
    return text
