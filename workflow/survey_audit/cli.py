"""The ``survey-audit`` command: run the workflow and use the library from the shell.

Each subcommand is a thin call into the library; problems with the user's inputs are reported as messages
(no traceback) with exit status 2, failures of the checked condition (such as a verification difference)
with exit status 1.

A run (``survey-audit run``, and the run ``release`` and ``verify`` start) records its process in
``.snakemake/survey-audit/run.pid`` while it works. Before it starts, a run refuses (exit status 1) while the
recorded process is alive, and removes Snakemake's lock of the directory when the run that took it is gone (a
``kill -9`` or a power cut leaves the lock, and Snakemake then refuses every run until ``--unlock``), saying so in
one line. When it ends, it says whether the results are stale (``results/STALE``, see
:mod:`survey_audit.stale`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import __version__, stale
from .errors import SurveyAuditError
from .tools import tab

PROFILE = Path("workflow") / "profiles" / "default"


def project_root() -> Path:
    """The project to run: the current directory when it holds the workflow, else the one this library is in."""
    here = Path.cwd()
    if (here / "Snakefile").is_file() and (here / PROFILE).is_dir():
        return here
    packaged = Path(__file__).resolve().parents[2]
    if (packaged / "Snakefile").is_file():
        return packaged
    raise SurveyAuditError(
        "no survey-audit project here",
        expected="a directory with the Snakefile, config/ and workflow/",
        hint="run the command from the project directory (the clone of the repository)",
    )


def snakemake_arguments(root: Path, extra: list[str]) -> list[str]:
    """Snakemake's arguments for a run: the project's profile (all cores), then the user's, verbatim."""
    return ["--workflow-profile", str(root / PROFILE), *extra]


def snakemake(root: Path, extra: list[str]) -> int:
    """Run Snakemake on the project with ``extra`` arguments, in this process when the library this command
    imported is the project's own (no second interpreter to start), else as a subprocess."""
    arguments = snakemake_arguments(root, extra)
    if Path(__file__).resolve().parent != (root / "workflow" / "survey_audit").resolve():
        return subprocess.call([sys.executable, "-m", "snakemake", *arguments], cwd=root)
    from snakemake.cli import main as snakemake_main

    cwd = Path.cwd()
    os.chdir(root)
    try:
        snakemake_main(arguments)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        os.chdir(cwd)
    return 0


RUN_RECORD = Path(".snakemake") / "survey-audit" / "run.pid"  # the process running the workflow, while it runs
LOCKS = Path(".snakemake") / "locks"  # where Snakemake keeps its lock of the directory


def run_workflow(root: Path, extra: list[str]) -> int:
    """Run the workflow, recording this process as the project's run (:data:`RUN_RECORD`) until it ends; first
    clear a lock a stopped run left (:func:`clear_stale_lock`), and at the end say so if the results are stale
    (``results/STALE``: the run failed, or was asked for some targets only after one that failed)."""
    refused = clear_stale_lock(root)
    if refused is not None:
        return refused
    record = root / RUN_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    mine = f"{os.getpid()} {_started(os.getpid()) or '-'}\n"
    record.write_text(mine, encoding="utf-8")
    try:
        status = snakemake(root, extra)
    finally:
        if record.is_file() and record.read_text(encoding="utf-8") == mine:
            record.unlink()
    why = stale.reason(root / "results")
    if why is not None:
        print(f"survey-audit: the results are stale ({Path('results') / stale.MARKER}): {why}", file=sys.stderr)
    return status


def clear_stale_lock(root: Path) -> int | None:
    """Before a run: refuse (exit status 1, touching nothing) while another run of the project is alive, and
    unlock the directory when Snakemake's lock outlived the run that took it (killed, or the machine stopped),
    saying so in one line. None when the run may go ahead.

    The run is the process :data:`RUN_RECORD` names, alive if a process with that id exists and started when
    the record says (so a recycled id is not taken for it). Without a live one, a lock is stale unless a
    Snakemake or survey-audit process (a job of the stopped run included) still works in the project's
    directory; where the processes cannot be listed (no ``/proc``), a lock is left alone."""
    pid, started = _recorded_run(root / RUN_RECORD)
    if pid is not None and _alive(pid, started):
        print(
            f"survey-audit: another run of this project is in progress (process {pid}); wait for it to finish",
            file=sys.stderr,
        )
        return 1
    if not any((root / LOCKS).glob("*.lock")):
        return None
    others = _workflow_processes(root)
    if others is None or others:
        what = f"process {others[0]} still works in it" if others else "the processes cannot be listed here"
        print(
            f"survey-audit: Snakemake's lock of this project is held and {what}; if no run is in progress, "
            "remove the lock with: survey-audit run --unlock",
            file=sys.stderr,
        )
        return 1
    status = snakemake(root, ["--unlock", "--quiet", "all"])
    if status != 0:
        return status
    which = f"process {pid}" if pid is not None else "no Snakemake process works in this project"
    print(
        f"survey-audit: Snakemake's lock was left by a run that is no longer running ({which}); unlocked it",
        file=sys.stderr,
    )
    return None


def _recorded_run(path: Path) -> tuple[int | None, str | None]:
    """The process id and start time :data:`RUN_RECORD` holds (None, None without a readable record)."""
    try:
        pid, started = path.read_text(encoding="utf-8").split()
        return int(pid), None if started == "-" else started
    except (OSError, ValueError):
        return None, None


def _stat(pid: int) -> list[str] | None:
    """The fields ``/proc`` gives of a process after its name (state first, parent second, start time at 19),
    or None where they cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _started(pid: int) -> str | None:
    """When a process started (clock ticks since boot), or None where that cannot be read."""
    fields = _stat(pid)
    return fields[19] if fields else None


def _alive(pid: int, started: str | None) -> bool:
    """Whether the process that had id ``pid`` and started at ``started`` still runs (a zombie, killed but
    not yet reaped, does not)."""
    if os.name != "posix":
        return False  # signal 0 would stop the process there; the lock is then left to the check of processes
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat(pid)
    if fields is None:
        return True
    return fields[0] not in ("Z", "X") and started in (None, fields[19])


def _workflow_processes(root: Path) -> list[int] | None:
    """The processes, other than this one and those that started it, that run Snakemake or survey-audit in
    ``root``: their command line names one of them and their working directory is ``root``. None where
    ``/proc`` does not list processes."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        return None
    mine, pid = set(), os.getpid()
    while pid > 1 and pid not in mine:
        mine.add(pid)
        fields = _stat(pid)
        pid = int(fields[1]) if fields else 1
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            here = Path(os.readlink(entry / "cwd")) == root.resolve()
        except OSError:
            continue
        if here and any(name in command for name in (b"snakemake", b"survey-audit", b"survey_audit")):
            found.append(int(entry.name))
    return sorted(found)


def cmd_run(args: list[str]) -> int:
    """``survey-audit run [SNAKEMAKE ARGS]``: every argument after ``run`` goes to Snakemake as it was typed."""
    return run_workflow(project_root(), args)


def cmd_ingest(args: argparse.Namespace) -> int:
    import shutil

    from .config.codebook import load_codebook
    from .config.plan import wave_view, write_view
    from .config.settings import load_config
    from .config.variables import load_variables
    from .formats import read_csv
    from .stages.clean import clean_wave
    from .stages.ingest import ingest_wave

    config_path = args.config or ("config/config.yaml" if Path("config/config.yaml").is_file() else None)
    config = load_config(config_path) if config_path else {}
    cleaning = config.get("cleaning", {})
    variables = args.variables or config.get("variables", "config/variables.yaml")
    wave = args.wave or load_codebook(args.codebook, load_variables(variables)).wave
    out = Path(args.out)
    # Work in a scratch directory; create the output directory and move the files there only when both
    # stages succeed, so a failed check leaves nothing behind.
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        variables = str(write_view(wave_view(config, wave, args.codebook, variables), tmp / f"{wave}.variables.yaml"))
        ingest_wave(
            raw=args.raw,
            codebook=args.codebook,
            variables=variables,
            wave=wave,
            cleaning_defaults=cleaning,
            respondents_out=tmp / f"{wave}.ingest.parquet",
            findings_out=tmp / f"{wave}.findings.csv",
            summary_out=tmp / f"{wave}.summary.json",
        )
        clean_wave(
            respondents=str(tmp / f"{wave}.ingest.parquet"),
            findings=str(tmp / f"{wave}.findings.csv"),
            codebook=args.codebook,
            variables=variables,
            wave=wave,
            cleaning_defaults=cleaning,
            analysed_out=tmp / f"{wave}.parquet",
            log_out=tmp / f"{wave}.log.csv",
            quarantine_out=tmp / f"{wave}.quarantine.csv",
            flow_out=tmp / f"{wave}.flow.csv",
            actions_out=tmp / f"{wave}.actions.csv",
        )
        flow = read_csv(tmp / f"{wave}.flow.csv")
        out.mkdir(parents=True, exist_ok=True)
        for file in sorted(tmp.iterdir()):
            shutil.move(str(file), out / file.name)
    print(f"{wave}: {flow['remaining'].iloc[0]} raw responses, {flow['remaining'].iloc[-1]} analysed")
    for row in flow.iloc[1:].itertuples(index=False):
        if row.excluded:
            print(f"  {row.rule}: {row.excluded} excluded")
    print(f"written to {out}/")
    return 0


def cmd_synthesize(args: argparse.Namespace) -> int:
    from .config.plan import build_plan
    from .config.settings import load_config
    from .formats import atomic_path, csv_text
    from .tools.synthetic import generate

    plan = build_plan(load_config(args.config))
    waves = args.wave or [w for w in plan.waves if Path(f"config/synthetic/{w}.yaml").is_file()]
    differs = []
    for wave in waves:
        spec = Path("config/synthetic") / f"{wave}.yaml"
        generated = generate(spec, plan.waves[wave].codebook, plan.view(wave))
        raw_path = Path("resources/synthetic") / f"{wave}.csv"
        defects_path = Path("resources/synthetic") / f"{wave}.defects.csv"
        outputs = {raw_path: generated.raw_bytes(), defects_path: csv_text(generated.defects).encode("utf-8")}
        if args.check:
            for path, data in outputs.items():
                same = path.is_file() and path.read_bytes() == data
                print(f"{path}: {'identical' if same else 'DIFFERS from a fresh generation'}")
                if not same:
                    differs.append(path)
        else:
            for path, data in outputs.items():
                with atomic_path(path) as tmp:
                    tmp.write_bytes(data)
            summary = generated.summary
            print(
                f"{wave}: {summary['raw_rows']} raw rows ({summary['analysed_respondents']} respondents, "
                f"{summary['excluded']} to be excluded) → {raw_path}, {defects_path}"
            )
    return 1 if differs else 0


def _run_workflow(quiet: bool = True) -> int:
    """Bring the results up to date (a no-op when they are)."""
    return run_workflow(project_root(), ["--quiet", "all"] if quiet else [])


def cmd_release(args: argparse.Namespace) -> int:
    from .tools.releases import code_state, freeze

    code_state(Path(args.results).resolve().parent, args.allow_dirty)  # refuse a dirty tree before the run
    if not args.no_run and _run_workflow() != 0:
        return 1
    target = freeze(args.name, results=args.results, note=args.note or "", allow_dirty=args.allow_dirty)
    print(f"release {args.name} frozen in {target}/ (changelog: {Path(args.results) / 'releases' / 'CHANGELOG.md'})")
    return 0


def _print_comparison(changes, old, new, args: argparse.Namespace, waves: set[str] | None = None) -> None:
    """Print a comparison (verdicts, tables, inputs) and, with ``--values``, the values, or write them to the
    file ``--values FILE`` names."""
    from .formats import write_text
    from .tools.releases import comparison_text, values_text

    to_screen = args.values == VALUES_ON_SCREEN
    print(comparison_text(changes, old, new, values=to_screen, waves=waves), end="")
    if args.values and not to_screen:
        write_text(values_text(changes, old, new), args.values)
        print(f"   the values are written to {args.values}")


VALUES_ON_SCREEN = "-"  # what --values without a file means


def cmd_verify(args: argparse.Namespace) -> int:
    from .tools.releases import CURRENT, compare, resolve

    if not args.no_run and _run_workflow() != 0 and stale.reason(args.results) != stale.failure(["verdicts"]):
        return 1  # the run failed before its results were complete (the verdict check runs last)
    release, current = resolve(args.name, args.results), resolve(CURRENT, args.results)
    _note_if_stale([CURRENT], args.results)
    waves = set(args.waves.split(",")) if args.waves else None
    changes = compare(release, current, waves)
    if args.exact:
        changes = changes.assign(noise=False)  # every difference counts
    if changes["noise"].all():
        noise = int(changes["noise"].sum())
        print(
            "verified: every table, test and audit value"
            + (f" of {', '.join(sorted(waves))}" if waves else "")
            + f" equals release {args.name}"
            + (f" ({noise} only in their last digits: another machine's floating-point rounding)" if noise else "")
        )
        return 0
    _print_comparison(changes, release, current, args, waves)
    print(f"NOT verified: the rerun differs from release {args.name}", file=sys.stderr)
    return 1


def cmd_diff(args: argparse.Namespace) -> int:
    from .formats import csv_text
    from .tools.releases import compare, resolve

    old, new = resolve(args.old, args.results), resolve(args.new, args.results)
    _note_if_stale([args.old, args.new], args.results)
    changes = compare(old, new)
    if args.format == "csv":
        print(csv_text(changes), end="")
    else:
        _print_comparison(changes, old, new, args)
    return 0


def _note_if_stale(names: list[str], results: str) -> None:
    """Say, before a comparison with the current results, that they are stale (results/STALE), and why."""
    from .tools.releases import CURRENT

    why = stale.reason(results)
    if CURRENT in names and why:
        print(f"NOTE: the current results are stale ({why}); they are compared as they are.", file=sys.stderr)


def cmd_trace(args: argparse.Namespace) -> int:
    from .tools.trace import trace

    print(trace(args.target, args.cell, results=args.results, internal=args.internal), end="")
    return 0


def cmd_check_wave(args: argparse.Namespace) -> int:
    from .config.settings import load_config
    from .intake.check import check_wave

    result = check_wave(load_config(args.config), args.wave)
    print(result.text(), end="")
    return 1 if result.problems else 0


def cmd_check_published(args: argparse.Namespace) -> int:
    from .config.loading import schema
    from .config.registry import load_registry
    from .stages.audit import check_published

    declared = schema("config")["properties"]["audit"]["properties"]["rounding"]
    rounding = tuple(args.rounding or declared["default"])
    unknown = [r for r in rounding if r not in declared["items"]["enum"]]
    if unknown:
        raise SurveyAuditError(
            f"unknown rounding rule {', '.join(unknown)}", expected=", ".join(declared["items"]["enum"])
        )
    failures = 0
    for path in args.files:
        registry = load_registry(path)
        checks = check_published(registry, rounding)
        failed = int((~checks["ok"]).sum())
        print(
            f"{path} ({registry.report}, {len(registry.entries)} entries): {len(checks)} checks"
            + (f", {failed} fail" if failed else ", all consistent")
        )
        width = max((len(e) for e in checks["entry"]), default=0)
        # one line per check, the failures first; each names its entry (or group of shares)
        for row in sorted(checks.itertuples(index=False), key=lambda r: r.ok):
            print(f"  {'ok  ' if row.ok else 'FAIL'}  {row.entry:<{width}}  {row.check}: {row.detail}")
        unchecked = [
            e["id"]
            for e in registry.entries
            if e["claim"]["type"] == "percentage" and e["value"] is not None and not e.get("base_n")
        ]
        if unchecked:
            print(
                f"  ({len(unchecked)} printed percentage(s) without a printed base, so without GRIM: {', '.join(unchecked)})"
            )
        failures += failed
    print("all consistent" if not failures else f"{failures} check(s) fail")
    return 1 if failures else 0


def cmd_new_wave(args: argparse.Namespace) -> int:
    from .config.variables import load_variables
    from .formats import csv_text, write_text
    from .tools.new_wave import check_wave_id, draft_codebook, summary

    check_wave_id(args.id)
    codebook_out = Path(args.codebook_out or f"config/codebooks/{args.id}.yaml")
    describe_out = Path(args.describe_out or f"results/new-wave/{args.id}.columns.csv")
    if codebook_out.exists() and not args.force:
        raise SurveyAuditError(
            "the codebook already exists; a draft would overwrite it",
            file=codebook_out,
            hint="pass --force to replace it, or write the draft elsewhere with --codebook-out",
        )
    draft = draft_codebook(args.rawfile, args.id, load_variables(args.variables), args.fielded)
    write_text(csv_text(draft.columns), describe_out)
    write_text(draft.codebook, codebook_out)
    print(summary(draft), end="")
    print(f"column description written to {describe_out}")
    print(f"draft codebook written to {codebook_out}")
    print(
        f"{draft.mapped} column(s) mapped, {draft.dropped} dropped, {draft.review} left for review"
        " (marked TODO in the draft)"
    )
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "run": (cmd_run, "run the workflow (extra arguments go to Snakemake, e.g. -n for a dry run)"),
    "ingest": (cmd_ingest, "check a raw export against its codebook: ingest and clean it, print the exclusion flow"),
    "synthesize": (
        cmd_synthesize,
        "regenerate the synthetic stand-in waves in resources/synthetic/ (--check compares)",
    ),
    "tab": (tab.run, tab.HELP),
    "release": (
        cmd_release,
        "freeze the public tables, tests, audit and manifest as results/releases/NAME, with the git commit",
    ),
    "verify": (
        cmd_verify,
        "rerun the workflow and compare with a frozen release: verdicts, tables, inputs, values (exit 1 if any differ)",
    ),
    "diff": (
        cmd_diff,
        "what changed between two releases (or a release and the current results): verdicts, tables, inputs, values",
    ),
    "trace": (
        cmd_trace,
        "follow a printed number (an audit entry, or a table cell) to its table row, job, config, code and raw file",
    ),
    "check-published": (
        cmd_check_published,
        "check a registry of published numbers on its own: GRIM, joint counts, sums, statcheck",
    ),
    "new-wave": (
        cmd_new_wave,
        "describe a new wave's raw export and draft its codebook (every unsure proposal marked TODO)",
    ),
    "check-wave": (
        cmd_check_wave,
        "check a wave's sheet row, codebook and raw file against each other: every problem at once",
    ),
}


PROJECT_COMMANDS = {"synthesize", "release", "verify", "diff", "trace", "check-wave"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="survey-audit",
        description="Reproduce the statistics of Thorn's survivor surveys and audit the reports' percentages.",
    )
    parser.add_argument("--version", action="version", version=f"survey-audit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help=COMMANDS["run"][1], description=COMMANDS["run"][1])
    run.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="arguments passed on to Snakemake")
    ingest = commands.add_parser("ingest", help=COMMANDS["ingest"][1], description=COMMANDS["ingest"][1])
    ingest.add_argument("raw", help="the raw export (CSV, XLSX, SPSS .sav or Stata .dta)")
    ingest.add_argument("--codebook", required=True, help="the wave's codebook (YAML)")
    ingest.add_argument("--variables", help="harmonised variables (default: the one config/config.yaml names)")
    ingest.add_argument("--wave", help="wave id (default: the codebook's)")
    ingest.add_argument(
        "--config", help="configuration with the default cleaning rules (default: config/config.yaml when present)"
    )
    ingest.add_argument("--out", default="results/ingest-check", help="directory for the outputs")
    synth = commands.add_parser("synthesize", help=COMMANDS["synthesize"][1], description=COMMANDS["synthesize"][1])
    synth.add_argument("--wave", action="append", help="a wave to generate (default: every wave with a spec)")
    synth.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    synth.add_argument("--config", default="config/config.yaml", help="the workflow configuration")
    release = commands.add_parser("release", help=COMMANDS["release"][1], description=COMMANDS["release"][1])
    release.add_argument("name", help="release name, e.g. v1")
    release.add_argument("--note", help="a line for the changelog")
    release.add_argument("--no-run", action="store_true", help="freeze the results as they are, without rerunning")
    release.add_argument(
        "--allow-dirty",
        action="store_true",
        help="release although tracked code or configuration has uncommitted changes (recorded in the release)",
    )
    release.add_argument("--results", default="results", help=argparse.SUPPRESS)
    verify = commands.add_parser("verify", help=COMMANDS["verify"][1], description=COMMANDS["verify"][1])
    verify.add_argument("name", help="the release to verify against")
    verify.add_argument("--no-run", action="store_true", help="compare the results as they are, without rerunning")
    verify.add_argument(
        "--exact", action="store_true", help="fail on any difference, last-digit floating-point rounding included"
    )
    verify.add_argument(
        "--waves",
        help="compare only what was computed on these waves alone (comma-separated, e.g. wave1,wave2): proves a "
        "release unchanged for the waves it covered after a wave was added",
    )
    verify.add_argument(
        "--values",
        nargs="?",
        const=VALUES_ON_SCREEN,
        metavar="FILE",
        help="also list every changed value (after the verdicts, tables and inputs), or write the list to FILE",
    )
    verify.add_argument("--results", default="results", help=argparse.SUPPRESS)
    diff = commands.add_parser("diff", help=COMMANDS["diff"][1], description=COMMANDS["diff"][1])
    diff.add_argument("old", help="a release name, or 'current'")
    diff.add_argument("new", nargs="?", default="current", help="a release name, or 'current' (the default)")
    diff.add_argument(
        "--format", choices=["text", "csv"], default="text", help="csv: every changed value, one row each"
    )
    diff.add_argument(
        "--values",
        nargs="?",
        const=VALUES_ON_SCREEN,
        metavar="FILE",
        help="also list every changed value (after the verdicts, tables and inputs), or write the list to FILE",
    )
    diff.add_argument("--results", default="results", help=argparse.SUPPRESS)
    trace = commands.add_parser("trace", help=COMMANDS["trace"][1], description=COMMANDS["trace"][1])
    trace.add_argument("target", help="an audit entry id (t15-advertised-online), or a table id with CELL")
    trace.add_argument(
        "cell",
        nargs="?",
        help="a cell of the table, as the audit names it: wave[/by_value]/category[/weighting] "
        "(e.g. wave1/online; the table's id may lead: advertised/wave1/online)",
    )
    trace.add_argument(
        "--internal",
        action="store_true",
        help="show the full internal values of a suppressed cell (not for publication)",
    )
    trace.add_argument("--results", default="results", help=argparse.SUPPRESS)
    check = commands.add_parser(
        "check-published", help=COMMANDS["check-published"][1], description=COMMANDS["check-published"][1]
    )
    check.add_argument("files", nargs="+", help="registry files, e.g. config/published/thorn-2018.yaml")
    check.add_argument(
        "--rounding",
        nargs="+",
        metavar="RULE",
        help="the rounding conventions under which a printed percentage counts as consistent: half_up, half_even, "
        "truncate (default: the audit's default, half_up and half_even)",
    )
    wave = commands.add_parser("check-wave", help=COMMANDS["check-wave"][1], description=COMMANDS["check-wave"][1])
    wave.add_argument("wave", help="the wave id, as in config/waves.tsv")
    wave.add_argument("--config", default="config/config.yaml", help="the workflow configuration")
    new_wave = commands.add_parser("new-wave", help=COMMANDS["new-wave"][1], description=COMMANDS["new-wave"][1])
    new_wave.add_argument("id", metavar="ID", help="the new wave's id, e.g. wave3")
    new_wave.add_argument("rawfile", metavar="RAWFILE", help="the raw export (CSV, XLSX, SPSS .sav or Stata .dta)")
    new_wave.add_argument(
        "--variables", default="config/variables.yaml", help="harmonised variables (default: config/variables.yaml)"
    )
    new_wave.add_argument("--codebook-out", help="the draft codebook (default: config/codebooks/ID.yaml)")
    new_wave.add_argument(
        "--describe-out", help="the description of the raw columns, CSV (default: results/new-wave/ID.columns.csv)"
    )
    new_wave.add_argument("--force", action="store_true", help="overwrite an existing codebook")
    new_wave.add_argument(
        "--fielded",
        nargs=2,
        type=int,
        metavar=("FROM", "TO"),
        help="the wave's first and last fielding years (ranges that end at them are open without)",
    )
    tab.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        # Everything after `run` belongs to Snakemake, exactly as typed (option values stay with their options).
        try:
            return cmd_run(argv[1:])
        except SurveyAuditError as exc:
            print(exc.message, file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = COMMANDS[args.command][0]
    try:
        if args.command in PROJECT_COMMANDS:
            # These work on the project's own files (config/, resources/, results/): run them from its root,
            # wherever the command was typed.
            os.chdir(project_root())
        return handler(args)
    except SurveyAuditError as exc:
        print(exc.message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
