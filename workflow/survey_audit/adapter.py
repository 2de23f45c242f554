"""Running a workflow script under the project's error contract, and recording what the job used.

A :class:`~survey_audit.errors.SurveyAuditError` is shown as its message alone (no traceback) on standard
error and in the job's log, and the job exits with status 1; Snakemake then removes the job's outputs, so a
failed stage leaves nothing partial behind. Any other exception is a bug and keeps its traceback.

A job that succeeds ends its log with one line of what it cost (wall and CPU time, peak memory), and leaves a
provenance record beside its log (``{log}.provenance.json``), made of what the
job's ledger (:mod:`survey_audit.provenance`) saw rather than of the files as they are afterwards:

* ``inputs``: each declared input the job read, with the sha256 of the bytes it parsed;
* ``inputs_not_read``: each declared input the job never read, by path only (no hash: the job's results do
  not depend on its bytes, and a hash taken afterwards would suggest they did);
* ``reads_not_declared``: files the job read that its rule does not declare, with their hashes: a change to one
  of them would not rerun the job (empty while the rules declare everything their scripts read);
* ``modules``: the library modules (and schemas) the rule lists, hashed as the job starts (Python has imported
  the modules by then);
* ``params``: the configuration values the job received (the whole configuration, the ``config`` parameter,
  is left out: the manifest hashes it once);
* ``outputs``: each declared output with the sha256 of the bytes written, as the writer put it in place, and
  ``writes_not_declared`` anything else the job wrote.

A declared output that was not written through the ``formats`` writers has no recorded hash, which is a bug:
the job then fails. The manifest gathers these records, so every output can be traced to its data, config and
code.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import SurveyAuditError
from .formats import write_json
from .provenance import Ledger, ledger_path, read_bytes, recording

_STARTED = time.perf_counter()  # the script imports the adapter first: the job's time is counted from here


def run(snakemake: Any, main: Callable[[], None]) -> None:
    """Run a script's body, logging to the rule's log file."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        open(log_path, "w").close()  # the log starts empty; everything after appends to it
        handlers.append(logging.FileHandler(log_path, mode="a", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", handlers=handlers, force=True)
    with recording() as ledger, _standard_output_to(log_path):
        try:
            for module in _declared(snakemake.input).get("code", []):
                read_bytes(module)
            main()
        except SurveyAuditError as exc:
            logging.getLogger("survey_audit").error("%s", exc.message)
            sys.exit(1)
    if log_path:
        write_json(provenance_record(snakemake, ledger), provenance_path(log_path))
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(resources_line() + "\n")


@contextmanager
def _standard_output_to(log_path: str | None):
    """While the job runs, what its libraries print to standard output (a C library's banner, say) goes to its
    log, not the console: redirected at the level of the file descriptor, so that text printed from C is caught
    as well. Standard output is restored afterwards."""
    if not log_path:
        yield
        return
    sys.stdout.flush()
    saved, log = os.dup(1), os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.close(log)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def resources_line() -> str:
    """What the job cost: wall time since the adapter was imported, CPU time and the process's peak resident
    memory (exact: the kernel's high-water mark, not a sample). Written to the log only (logs are not outputs,
    so the results stay byte-identical); ``benchmarks/scale.py`` reads it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (
        f"INFO job resources: wall {time.perf_counter() - _STARTED:.2f} s, cpu {usage.ru_utime + usage.ru_stime:.2f} s,"
        f" peak memory {peak_memory_mb(usage):.1f} MB"
    )


def peak_memory_mb(usage: resource.struct_rusage) -> float:
    """The process's peak resident memory. On Linux ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` survives
    ``execve`` and so reports the Snakemake process that started the job when that was larger."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return usage.ru_maxrss / 1024
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return usage.ru_maxrss / 1024


def provenance_path(log_path: str | Path) -> Path:
    return Path(log_path).with_suffix(".provenance.json")


def _declared(files: Any) -> dict[str, list[str]]:
    """A job's named inputs or outputs, each as a list of paths as a ledger names them."""
    return {
        name: [ledger_path(f) for f in ([value] if isinstance(value, str) else value)] for name, value in files.items()
    }


def provenance_record(snakemake: Any, ledger: Ledger) -> dict:
    """What a finished job read and wrote, from its ledger."""
    inputs = _declared(snakemake.input)
    modules = {path: ledger.read[path] for path in inputs.pop("code", [])}
    declared = {path for paths in inputs.values() for path in paths} | set(modules)
    outputs = sorted({ledger_path(o) for o in snakemake.output})
    unrecorded = [path for path in outputs if path not in ledger.written]
    if unrecorded:
        raise RuntimeError(f"outputs written without the formats writers, so with no recorded hash: {unrecorded}")
    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "inputs": {
            name: {p: ledger.read[p] for p in paths if p in ledger.read}
            for name, paths in inputs.items()
            if any(p in ledger.read for p in paths)
        },
        "inputs_not_read": {
            name: [p for p in paths if p not in ledger.read]
            for name, paths in inputs.items()
            if any(p not in ledger.read for p in paths)
        },
        "reads_not_declared": {p: h for p, h in sorted(ledger.read.items()) if p not in declared},
        "modules": modules,
        "params": {name: value for name, value in snakemake.params.items() if name != "config"},
        "outputs": {path: ledger.written[path] for path in outputs},
        "writes_not_declared": {p: h for p, h in sorted(ledger.written.items()) if p not in set(outputs)},
    }
