"""The ``survey-audit`` command: run the workflow and use the library from the shell.

Each subcommand is a thin call into the library; problems with the user's inputs are reported as messages
(no traceback) with exit status 2, failures of the checked condition (such as a verification difference)
with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .errors import SurveyAuditError

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


def snakemake_command(root: Path, extra: list[str]) -> list[str]:
    """The Snakemake command line for a run: the project's profile (all cores), plus the user's arguments."""
    return [sys.executable, "-m", "snakemake", "--workflow-profile", str(root / PROFILE), *extra]


def cmd_run(args: argparse.Namespace) -> int:
    root = project_root()
    command = snakemake_command(root, args.snakemake_args)
    env = dict(os.environ)
    return subprocess.call(command, cwd=root, env=env)


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "run": (cmd_run, "run the workflow (extra arguments go to Snakemake, e.g. -n for a dry run)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="survey-audit",
        description="Reproduce the statistics of Thorn's survivor surveys and audit the reports' percentages.",
    )
    parser.add_argument("--version", action="version", version=f"survey-audit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help=COMMANDS["run"][1], description=COMMANDS["run"][1])
    run.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="arguments passed on to Snakemake")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        # Everything after `run` belongs to Snakemake, including options argparse does not know.
        args.snakemake_args = [*args.snakemake_args, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    handler = COMMANDS[args.command][0]
    try:
        return handler(args)
    except SurveyAuditError as exc:
        print(exc.message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
