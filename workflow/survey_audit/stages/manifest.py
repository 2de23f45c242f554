"""The run manifest: what every output is, what produced it, and with which code, config and packages.

``results/manifest.json`` is assembled from the provenance records the run's jobs left beside their logs (see
:mod:`survey_audit.adapter`), not from the files as they are when the manifest is written: the hash it gives
for a raw export is that of the bytes the ingest job parsed, and for an output that of the bytes its job
wrote. The manifest stage hashes no data file itself. It records, for every output, its sha256 and the job
that wrote it (rule, wildcards, the inputs it read with their hashes, the library modules, the configuration
values); for every file the jobs read and none wrote (raw exports, codebooks, weighting specs, registries, table
specs, the plan files derived from the configuration), its sha256 and the jobs that read it; the library
modules and schemas the jobs ran with; and the hash of the configuration, the code version (package version, git
commit and the tracked files of code and configuration that differed from it), the versions of the packages that
compute the numbers, the registry versions, and whether the data are synthetic.

The code version is read from git when the workflow starts and given to the manifest job as a parameter, so a
new commit, or a change to a tracked file of code or configuration, reruns the manifest (Snakemake reruns a job
whose parameters changed): an up-to-date manifest always names the commit the results stand on, and a release
checks that it names the commit the release is made from.

The configuration files that only the workflow's start parses (``config/config.yaml``, the wave sheet, the
variables) are read by the manifest job itself, as are the table specs and registries: their entries name the
``manifest`` among their readers, with the hash of the file as the manifest read it (so a table spec or
registry that changed after a job read it is caught like any other file). What the jobs used of the
configuration is in ``config_sha256`` (the configuration the run parsed) and in the plan files they read.

Every job saw a file one way: if two records give a file different hashes (it changed while the workflow ran,
between one job writing or reading it and another reading it), the manifest stage fails, naming the file and
the jobs, rather than describe results that rest on two versions of it. The manifest carries no timestamp, so
the same inputs, config and code give the same manifest.
"""

from __future__ import annotations

import json
import platform
from collections import defaultdict
from importlib import metadata
from typing import Any

from .. import __version__, formats
from ..adapter import provenance_path
from ..config.loading import canonical_hash
from ..config.registry import load_registry
from ..errors import Collector, InputError, SurveyAuditError
from ..provenance import ledger_path, read_bytes, sha256_bytes

PACKAGES = [
    "snakemake",
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "pyyaml",
    "jsonschema",
    "openpyxl",
    "python-calamine",
    "pyreadstat",
]
MANIFEST_JOB = "manifest"


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def job_records(logs: list[str]) -> list[dict]:
    """The provenance records of the jobs that log to ``logs``, in a stable order. The records are the run's
    own provenance, read as they are (not as inputs of the results)."""
    records = []
    for log in logs:
        path = provenance_path(log)
        if not path.is_file():
            raise SurveyAuditError(
                "a job of the workflow left no provenance record, so the manifest cannot say what it used",
                file=path,
                expected="the record a job writes beside its log when it succeeds",
                hint="run the workflow again (survey-audit run); if the record is still missing, rerun that job "
                "with -R and its rule",
            )
        records.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(records, key=lambda r: (r["rule"], sorted(r["wildcards"].items())))


def job_label(record: dict) -> str:
    """A job as a reader names it: its rule, and its wildcards in brackets."""
    wildcards = ", ".join(f"{k}={v}" for k, v in sorted(record["wildcards"].items()))
    return f"{record['rule']} ({wildcards})" if wildcards else record["rule"]


def _sightings(records: list[dict]) -> dict[str, dict[str, dict[str, set[str]]]]:
    """path → sha256 → 'read' or 'written' → the jobs that saw the file with that hash."""
    seen: dict[str, dict[str, dict[str, set[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for record in records:
        job = job_label(record)
        for files in (*record["inputs"].values(), record.get("reads_not_declared", {}), record.get("modules", {})):
            for path, digest in files.items():
                seen[path][digest]["read"].add(job)
        for path, digest in {**record.get("outputs", {}), **record.get("writes_not_declared", {})}.items():
            seen[path][digest]["written"].add(job)
    return seen


def file_hashes(records: list[dict]) -> dict[str, str]:
    """The one sha256 the jobs saw of every file they read or wrote. Raises an :class:`InputError` naming each
    file the jobs saw with different contents, and the jobs."""
    problems = Collector("the job records of this run")
    hashes = {}
    for path, digests in sorted(_sightings(records).items()):
        if len(digests) == 1:
            hashes[path] = next(iter(digests))
            continue
        seen = "; ".join(
            f"{verb} by {', '.join(sorted(jobs))} as sha256 {digest[:12]}…"
            for digest, verbs in sorted(digests.items())
            for verb, jobs in sorted(verbs.items(), reverse=True)
        )
        problems.add(
            InputError(
                f"the jobs of this run saw different contents of the file, so it changed while the workflow ran: "
                f"{seen}",
                file=path,
                expected="each file unchanged from the moment a job writes or reads it to the end of the run",
                hint="leave the inputs and results alone while the workflow runs, then run it again: survey-audit run",
            )
        )
    problems.raise_if_any()
    return hashes


def build_manifest(
    *,
    config: dict,
    records: list[dict],
    outputs: list[str],
    registries: dict[str, int],
    synthetic: bool,
    code_version: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a run, as a JSON-ready dict, from the ``records`` of its jobs (the manifest job's own
    reads among them). ``outputs`` are the files the manifest must describe: each needs the record of the job
    that wrote it. Intermediate files the records mention are described too, so a table can be followed back
    through every stage to the raw export. ``code_version`` is the :func:`~survey_audit.provenance.git_state`
    the run started from."""
    hashes = file_hashes(records)
    producer = {path: r for r in records for path in (*r.get("outputs", {}), *r.get("writes_not_declared", {}))}
    missing = sorted({ledger_path(p) for p in outputs} - set(producer))
    if missing:
        raise SurveyAuditError(
            f"no job record says it wrote {len(missing)} output(s), so the manifest cannot describe them",
            file=missing[0],
            expected="a record, beside each job's log, of every output the job wrote",
            hint="run the workflow again: survey-audit run",
        )
    modules = {path for r in records for path in r.get("modules", {})}
    readers = defaultdict(set)
    for record in records:
        for files in (*record["inputs"].values(), record.get("reads_not_declared", {})):
            for path in files:
                readers[path].add(job_label(record))
    return {
        "project": "survey-audit",
        "synthetic": synthetic,
        "synthetic_note": (
            "The data are a synthetic stand-in generated by the project; every number here checks the "
            "pipeline, not the reports."
            if synthetic
            else "The data are the survey's real responses."
        ),
        "code_version": {"package": __version__, "git": code_version},
        "python": platform.python_version(),
        "packages": package_versions(),
        "config_sha256": canonical_hash(config),
        "registry_versions": dict(sorted(registries.items())),
        "library_modules": {path: hashes[path] for path in sorted(modules)},
        "inputs": {
            path: {"sha256": hashes[path], "read_by": sorted(jobs)}
            for path, jobs in sorted(readers.items())
            if path not in producer
        },
        "outputs": {
            path: {
                "sha256": hashes[path],
                "rule": record["rule"],
                "wildcards": record["wildcards"],
                "inputs": record["inputs"],
                "inputs_not_read": record["inputs_not_read"],
                "reads_not_declared": record["reads_not_declared"],
                "modules": record["modules"],
                "config": record["params"],
            }
            for path, record in sorted(producer.items())
        },
    }


def write_manifest(
    *,
    config: dict,
    config_files: list[str],
    registries: list[str],
    logs: list[str],
    outputs: list[str],
    synthetic: bool,
    code_version: dict[str, Any],
    manifest_out: str,
) -> None:
    """The manifest of the jobs that log to ``logs``: every file they read and wrote with its sha256 and
    provenance, and the code, config and package versions."""
    versions = {r.report: r.version for r in map(load_registry, registries)}
    own = {
        "rule": MANIFEST_JOB,
        "wildcards": {},
        "inputs": {
            name: {ledger_path(p): sha256_bytes(read_bytes(p)) for p in files}
            for name, files in (("config_files", config_files), ("registries", registries))
        },
    }
    manifest = build_manifest(
        config=config,
        records=[*job_records(logs), own],
        outputs=outputs,
        registries=versions,
        synthetic=synthetic,
        code_version=code_version,
    )
    formats.write_json(manifest, manifest_out)
