"""Whether the results are current: the marker a run leaves until it succeeds.

A run replaces results job by job, so a run that fails or is stopped leaves the results of the jobs before it
beside those of the jobs it finished: they no longer come from one set of data, configuration and code. So
that such results never look current, the workflow's handlers keep a marker, ``results/STALE``, holding one
line that says why:

* when a run starts executing jobs (Snakemake's ``onstart``; a dry run or a run with nothing to do changes no
  result and does not count) it writes "a run started and has not finished", which a run stopped by a kill
  leaves behind;
* when a run fails (``onerror``) it writes the jobs that failed: "the last run failed at rule audit" (the
  verdict check, :mod:`survey_audit.stages.verdicts`, runs last and fails a run whose every result is written
  when a primary printed number stopped reproducing: "the last run failed at rule verdicts", which ``verify``
  still compares, and ``release`` refuses);
* when a run that was asked for every result succeeds (``onsuccess``; the default target, nothing left out by
  ``--until``, ``--omit-from``, ``--batch`` or ``--allowed-rules``) it removes the marker. A run asked for some
  targets only brought those up to date, so it puts back what the marker said when it started (or removes it,
  if there was none).

While the marker exists, the report (``results/report/index.html``) carries a banner saying so: a block between
two fixed comments, put right after ``<body>`` and taken out again when the marker goes, so the report returns
to exactly the bytes its job wrote. The report's modification time is kept, so Snakemake does not take the
edited report for a new one. ``survey-audit release`` refuses to freeze stale results and ``survey-audit run``
prints the marker when it ends.

Only the standard library is used: the workflow imports this module when it parses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MARKER = "STALE"
REPORT = Path("report") / "index.html"
RUNNING = "a run started and has not finished (it is still running, or it was stopped)"
_BEGIN, _END = "<!-- survey-audit:stale -->", "<!-- /survey-audit:stale -->"
_BANNER = re.compile(re.escape(_BEGIN) + ".*?" + re.escape(_END), re.S)

_before: str | None = None  # what the marker said when this process's run started


def reason(results: str | Path = "results") -> str | None:
    """Why the results are stale, or None when they are current."""
    path = Path(results) / MARKER
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def banner(why: str) -> str:
    """The report's banner for stale results."""
    return (
        f'{_BEGIN}<div class="banner" role="alert">THESE RESULTS ARE STALE <span>— {_escape(why)}. They may not '
        "match the current data, configuration or code: run <code>survey-audit run</code> and let it finish."
        f"</span></div>{_END}"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mark(why: str, results: str | Path = "results") -> None:
    """Mark the results stale, saying ``why``, in the marker and in the report's banner."""
    _replace(Path(results) / MARKER, why + "\n")
    _edit_report(Path(results) / REPORT, why)


def clear(results: str | Path = "results") -> None:
    """Mark the results current: remove the marker and the report's banner."""
    (Path(results) / MARKER).unlink(missing_ok=True)
    _edit_report(Path(results) / REPORT, None)


def starting(results: str | Path = "results") -> None:
    """A run starts executing jobs."""
    global _before
    _before = reason(results)
    mark(RUNNING, results)


def failure(jobs: list[str]) -> str:
    """Why the results are stale after a run failed at ``jobs`` ('rule' or 'rule (wildcards)')."""
    if not jobs:
        return "the last run failed before it finished"
    return f"the last run failed at rule{'s' if len(jobs) > 1 else ''} {', '.join(jobs)}"


def failed(jobs: list[str], results: str | Path = "results") -> None:
    """A run failed; ``jobs`` are the failed jobs ('rule' or 'rule (wildcards)')."""
    mark(failure(jobs), results)


def succeeded(whole: bool, results: str | Path = "results") -> None:
    """A run succeeded; ``whole`` when it was asked for every result."""
    if whole or _before is None:
        clear(results)
    else:
        mark(_before, results)


def _edit_report(report: Path, why: str | None) -> None:
    """Put the banner saying ``why`` in the report (replacing one already there), or take it out (None)."""
    if not report.is_file():
        return
    text = report.read_bytes().decode("utf-8")  # as written: no line ends translated
    bare = _BANNER.sub("", text, count=1)
    edited = bare if why is None else re.sub(r"<body[^>]*>", lambda m: m.group(0) + banner(why), bare, count=1)
    if edited != text:
        times = report.stat()
        _replace(report, edited)
        os.utime(report, ns=(times.st_atime_ns, times.st_mtime_ns))


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)
