"""``survey-audit tab``: design-based estimates of one variable, or of one variable by another, from the shell.

::

    survey-audit tab DATA --row VAR [--col VAR] [--weight W] [--cluster C] [--strata S] [--fpc F]
                     [--domain "stype == 'M'"] [--ci kg|kg_nchs|logit|xlogit|wilson|wald] [--level 0.95]
                     [--df domain|design] [--lonely-psu fail|remove|certainty|adjust|average]
                     [--format table|csv|json]

DATA is a CSV or Parquet file. With ``--row`` only, every category of the row variable gets its weighted
percentage, standard error, confidence interval, design effect and unweighted n; with ``--col`` too, the row
variable is tabulated within each column group and the Rao–Scott test of association is reported (second-order
F, with the first-order chi-square, Wald and adjusted Wald tests). ``csv`` and ``json`` carry full precision
(``csv``: the estimates, then a blank line and the tests); ``table`` rounds for reading.

Problems with the request (unknown column, negative or missing weights, missing design variables, a lonely PSU
under ``--lonely-psu fail``, a bad domain expression) are reported as messages with exit status 2.
"""

from __future__ import annotations

import argparse

HELP = "design-based percentages, SEs, CIs and design effects of a variable (by another, with Rao–Scott tests)"
CI_CHOICES = ("kg", "kg_nchs", "logit", "xlogit", "wilson", "wald")
CI_NAMES = {
    "kg": "Korn–Graubard",
    "kg_nchs": "Korn–Graubard (NCHS, n_eff truncated at n)",
    "logit": "logit",
    "xlogit": "xlogit",
    "wilson": "survey Wilson",
    "wald": "Wald",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``tab`` subcommand on the ``survey-audit`` parser's subparsers."""
    p = subparsers.add_parser("tab", help=HELP, description=__doc__.split("\n\n")[0].split("::")[0].strip())
    p.add_argument("data", metavar="DATA", help="respondents, one per row: a CSV or Parquet file")
    p.add_argument("--row", required=True, help="the variable to tabulate")
    p.add_argument("--col", help="a second variable: tabulate --row within each of its categories and test association")
    p.add_argument("--weight", help="column of survey weights (default: every respondent weighs 1)")
    p.add_argument("--cluster", help="column of the clusters (PSUs), e.g. the recruiting organisation")
    p.add_argument("--strata", help="column of the strata")
    p.add_argument("--fpc", help="column of the finite population correction (PSUs in the population, or a fraction)")
    p.add_argument("--domain", help="a subpopulation, as a pandas query over the columns, e.g. \"stype == 'M'\"")
    p.add_argument("--ci", choices=CI_CHOICES, default="kg", help="confidence interval method (default: kg)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument(
        "--df",
        choices=("domain", "design"),
        default="domain",
        help="degrees of freedom of domains (default: domain, as R)",
    )
    p.add_argument(
        "--lonely-psu",
        choices=("fail", "remove", "certainty", "adjust", "average"),
        default="fail",
        help="strata with a single PSU (default: fail, as R)",
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``survey-audit tab``: print the estimates (and tests) for the request in ``args``."""
    import json
    import sys

    import numpy as np
    import pandas as pd

    from ..errors import DesignError, InputError
    from ..stats import estimates, significance
    from ..stats.design import svydesign

    frame = _read(args.data)
    for role, name in (("--row", args.row), ("--col", args.col)):
        if name is not None and name not in frame.columns:
            raise DesignError(
                f"the {role} variable '{name}' is not a column of the data",
                file=args.data,
                value=name,
                expected="one of " + ", ".join(map(str, frame.columns[:40])),
            )
    if not 0 < args.level < 1:
        raise InputError("the confidence level must be between 0 and 1", value=args.level, expected="e.g. 0.95")
    design = svydesign(
        frame, weights=args.weight, cluster=args.cluster, strata=args.strata, fpc=args.fpc, lonely_psu=args.lonely_psu
    )
    table = estimates.proportions(
        design, args.row, by=args.col, domain=args.domain, ci=args.ci, level=args.level, df=args.df
    )
    if args.col is None:
        table = table.drop(columns=["by", "by_value"])
    else:
        table = table.rename(columns={"by_value": args.col}).drop(columns=["by"])
    tests = None
    if args.col is not None:
        tests = significance.association_tests(design, args.row, args.col, domain=args.domain, df=args.df)
    info = {
        "data": str(args.data),
        "rows": design.n,
        "weights": args.weight or "none (each respondent 1)",
        "sum_of_weights": float(design.weights.sum()),
        "clusters": args.cluster or "none (each respondent its own PSU)",
        "psus": design.n_psus,
        "strata": args.strata or "none",
        "n_strata": design.n_strata,
        "design_df": design.degf,
        "domain": args.domain or "all respondents",
        "ci": args.ci,
        "level": args.level,
        "df_convention": args.df,
        "lonely_psu": args.lonely_psu,
    }
    out = sys.stdout
    if args.format == "json":
        doc = {"design": info, "estimates": _records(table), "tests": _records(tests) if tests is not None else []}
        out.write(json.dumps(doc, indent=2, allow_nan=False, default=_jsonable) + "\n")
    elif args.format == "csv":
        table.to_csv(out, index=False, lineterminator="\n")
        if tests is not None:
            out.write("\n")
            tests.to_csv(out, index=False, lineterminator="\n")
    else:
        out.write(_text(info, table, tests, args, np, pd))
    return 0


def _read(path: str):
    from pathlib import Path

    from .. import formats
    from ..errors import InputError

    file = Path(path)
    if not file.is_file():
        raise InputError("the data file does not exist", file=path, expected="a CSV or Parquet file")
    suffix = file.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return formats.read_parquet(file)
        if suffix in (".csv", ".txt", ".tsv"):
            return formats.read_csv(file, sep="\t" if suffix == ".tsv" else ",", low_memory=False)
    except Exception as exc:  # the readers raise many types for a malformed file
        raise InputError(f"the data file cannot be read ({type(exc).__name__}: {exc})", file=path) from None
    raise InputError("unknown data file type", file=path, value=suffix or "(no extension)", expected=".csv or .parquet")


def _records(frame) -> list[dict]:
    import math

    records = frame.to_dict(orient="records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                record[key] = None if math.isnan(value) else ("Inf" if value > 0 else "-Inf")
    return records


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


def _text(info, table, tests, args, np, pd) -> str:
    """A readable rendering: percentages with one decimal, SEs in percentage points."""
    lines = [
        f"{info['data']}: {info['rows']} rows; weights {info['weights']} (sum {info['sum_of_weights']:.6g}); "
        f"clusters {info['clusters']} ({info['psus']} PSUs); strata {info['strata']} ({info['n_strata']}); "
        f"design df {info['design_df']}",
        f"domain: {info['domain']}; {CI_NAMES[args.ci]} {args.level:.0%} intervals, {args.df} df",
        "",
    ]
    shown = pd.DataFrame()
    if args.col is not None:
        shown[args.col] = table[args.col].astype(str)
    shown[args.row] = table["category"].astype(str)
    shown["n"] = table["n"]
    shown["base"] = table["base_n"]
    shown["%"] = (100 * table["estimate"]).map(lambda v: "" if np.isnan(v) else f"{v:.1f}")
    shown["SE"] = (100 * table["se"]).map(lambda v: "" if np.isnan(v) else f"{v:.2f}")
    shown["CI"] = [
        "" if np.isnan(lo) else f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(table["ci_low"], table["ci_high"])
    ]
    shown["deff"] = table["deff"].map(lambda v: "" if np.isnan(v) else f"{v:.2f}")
    shown["df"] = table["df"].map(lambda v: f"{v:g}")
    notes = sorted(set(table["ci_method"]) - {args.ci})
    lines.append(shown.to_string(index=False))
    if notes:
        lines.append("")
        lines.append("CI notes: " + "; ".join(_note(n) for n in notes))
    if tests is not None:
        lines.append("")
        lines.append(f"Tests of association of {args.row} and {args.col}:")
        for row in tests.itertuples(index=False):
            if row.test == "F":
                lines.append(
                    f"  Rao–Scott F = {row.statistic:.4f}, ndf = {row.ndf:.4f}, ddf = {row.ddf:.4f}, p = {row.p:.4g}"
                    f"   (X² = {row.chisq:.4f}, tr Δ = {row.trace_delta:.4f}, d0 = {row.d0:.4f})"
                )
            elif row.test == "Chisq":
                lines.append(f"  first-order chi-square: X² = {row.statistic:.4f}, df = {row.ndf:g}, p = {row.p:.4g}")
            else:
                label = "Wald" if row.test == "Wald" else "adjusted Wald"
                lines.append(
                    f"  {label} F = {row.statistic:.4f}, ndf = {row.ndf:g}, ddf = {row.ddf:g}, p = {row.p:.4g}"
                )
    return "\n".join(lines) + "\n"


def _note(method: str) -> str:
    return {
        "exact_boundary": "0% or 100%: exact Clopper–Pearson interval with n_eff = n (NCHS rule)",
        "none_df<1": "fewer than 1 degree of freedom: no design-based interval",
        "empty_base": "no respondents in the base",
    }.get(method, method)
