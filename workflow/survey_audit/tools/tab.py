"""``survey-audit tab``: design-based estimates, models and tests on any CSV or Parquet file, from the shell.

::

    survey-audit tab DATA (--row VAR [--col VAR] | --glm "Y ~ X + Z" [--family gaussian|binomial]
                           [--test-terms X,Z] | --ttest Y --by G | --quantile Y [--probs 0.25,0.5,0.75]
                           [--by G] [--qrule math|school])
                     [--weight W] [--cluster C] [--strata S] [--fpc F] [--domain "stype == 'M'"]
                     [--ci kg|kg_nchs|logit|xlogit|wilson|wald] [--level 0.95] [--df domain|design]
                     [--lonely-psu fail|remove|certainty|adjust|average] [--format table|csv|json]

DATA is a CSV or Parquet file. One analysis per call:

* ``--row`` (with ``--col``): every category of the row variable gets its weighted percentage, standard error,
  confidence interval, design effect and unweighted n (within each column group), and with ``--col`` the
  Rao–Scott test of association is reported (second-order F, with the first-order chi-square, Wald and
  adjusted Wald tests).
* ``--glm``: a design-based regression, R ``svyglm``: ``gaussian`` (linear, the default) or ``binomial``
  (logistic; fitted as R's ``svyglm`` does, with ``quasibinomial``, whose coefficients are the binomial ones).
  The formula is ``outcome ~ term + term``: main effects only, always with an intercept; a numeric column is one
  slope, a text, boolean or categorical column (or ``factor(column)``) gets treatment-coded dummies with its
  first level (sorted text, or the categorical's order) as the reference, as R's default
  (``relevel(column, ref = "no")`` names another); a column name with spaces or symbols goes in backticks. A logistic outcome is 0/1, boolean, or two-level text (the first level
  sorted is 0). Every coefficient gets its sandwich SE, t on the residual df (design df + 1 - coefficients),
  p, CI and design effect, and every term a Wald F test (R ``regTermTest``); ``--test-terms X,Z`` adds the
  joint test of several terms.
* ``--ttest Y --by G``: R ``svyttest(Y ~ G)``, the difference in mean Y between the two groups of G.
* ``--quantile Y``: R ``svyquantile`` (``qrule = "math"`` by default, Woodruff interval), per group of
  ``--by`` if given.

``csv`` and ``json`` carry full precision (``csv``: the estimates, then a blank line and the tests); ``table``
rounds for reading. ``--ci`` applies to ``--row`` percentages; ``--level`` to every interval.

Problems with the request (unknown column, negative or missing weights, missing design variables, a lonely PSU
under ``--lonely-psu fail``, a bad domain expression, an unsupported formula) are reported as messages with exit
status 2.
"""

from __future__ import annotations

import argparse

HELP = (
    "design-based percentages, SEs, CIs and design effects of a variable (by another, with Rao–Scott tests),"
    " regressions, t-tests and quantiles"
)
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
    p.add_argument("--row", help="the variable to tabulate")
    p.add_argument("--col", help="a second variable: tabulate --row within each of its categories and test association")
    p.add_argument("--glm", metavar="FORMULA", help='a design-based regression (R svyglm), e.g. "y ~ x + z"')
    p.add_argument(
        "--family",
        choices=("gaussian", "binomial", "quasibinomial"),
        default="gaussian",
        help="--glm family: gaussian (linear, default) or binomial (logistic, fitted as quasibinomial as R's svyglm)",
    )
    p.add_argument("--test-terms", metavar="X,Z", help="--glm: also test these terms jointly (Wald F, regTermTest)")
    p.add_argument("--ttest", metavar="Y", help="the difference in mean Y between the two groups of --by (svyttest)")
    p.add_argument("--quantile", metavar="Y", help="quantiles of Y with Woodruff intervals (svyquantile)")
    p.add_argument("--probs", default="0.25,0.5,0.75", help="--quantile probabilities (default: 0.25,0.5,0.75)")
    p.add_argument("--qrule", choices=("math", "school"), default="math", help="--quantile rule (default: math, as R)")
    p.add_argument("--by", help="--ttest: the two-group variable; --quantile: quantiles within each group")
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
    from ..stats import estimates, models, quantiles, significance
    from ..stats.design import svydesign

    modes = [
        flag
        for flag, value in (
            ("--row", args.row),
            ("--glm", args.glm),
            ("--ttest", args.ttest),
            ("--quantile", args.quantile),
        )
        if value is not None
    ]
    if len(modes) != 1:
        raise InputError(
            "give one analysis" if not modes else f"give one analysis, not {' and '.join(modes)}",
            expected="--row VAR (with --col), --glm FORMULA, --ttest Y --by G, or --quantile Y",
        )
    mode = modes[0]
    if mode == "--ttest" and args.by is None:
        raise InputError("--ttest needs --by: the variable whose two groups are compared", expected="--by GROUP")
    frame = _read(args.data)
    named = [("--row", args.row), ("--col", args.col), ("--ttest", args.ttest), ("--quantile", args.quantile)]
    if mode in ("--ttest", "--quantile"):
        named.append(("--by", args.by))
    for role, name in named:
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
    tests = None
    if mode == "--row":
        table = estimates.proportions(
            design, args.row, by=args.col, domain=args.domain, ci=args.ci, level=args.level, df=args.df
        )
        if args.col is None:
            table = table.drop(columns=["by", "by_value"])
        else:
            table = table.rename(columns={"by_value": args.col}).drop(columns=["by"])
            tests = significance.association_tests(design, args.row, args.col, domain=args.domain, df=args.df)
    elif mode == "--glm":
        family = "gaussian" if args.family == "gaussian" else "quasibinomial"
        fit = models.svyglm(design, args.glm, family=family, domain=args.domain, df=args.df)
        table = fit.coefficients(args.level)
        sets = [[term] for term in fit.terms]
        if args.test_terms:
            sets.append([t.strip() for t in args.test_terms.split(",") if t.strip()])
        tests = pd.concat([models.regtermtest(fit, terms) for terms in sets], ignore_index=True) if sets else None
    elif mode == "--ttest":
        table = models.svyttest(design, args.ttest, args.by, domain=args.domain, df=args.df, level=args.level)
    else:
        try:
            probs = [float(p) for p in args.probs.split(",")]
        except ValueError:
            raise InputError(
                "--probs must be numbers separated by commas", value=args.probs, expected="0.25,0.5,0.75"
            ) from None
        table = quantiles.svyquantile(
            design, args.quantile, probs, by=args.by, domain=args.domain, level=args.level, qrule=args.qrule, df=args.df
        )
        if args.by is None:
            table = table.drop(columns=["by", "by_value"])
        else:
            table = table.rename(columns={"by_value": args.by}).drop(columns=["by"])
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
        "analysis": {"--row": "percentages", "--glm": "svyglm", "--ttest": "svyttest", "--quantile": "svyquantile"}[
            mode
        ],
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
        render = {"--row": _text, "--glm": _glm_text, "--ttest": _ttest_text, "--quantile": _quantile_text}[mode]
        out.write(render(info, table, tests, args, np, pd))
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


def _header(info, args) -> list[str]:
    return [
        f"{info['data']}: {info['rows']} rows; weights {info['weights']} (sum {info['sum_of_weights']:.6g}); "
        f"clusters {info['clusters']} ({info['psus']} PSUs); strata {info['strata']} ({info['n_strata']}); "
        f"design df {info['design_df']}",
        f"domain: {info['domain']}; {args.level:.0%} intervals, {args.df} df",
        "",
    ]


def _number(value, digits: int = 4) -> str:
    import math

    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}g}"


def _glm_text(info, table, tests, args, np, pd) -> str:
    """The coefficient table of a model, then a Wald test per term (and the joint one asked for)."""
    family = "linear (gaussian)" if args.family == "gaussian" else "logistic (quasibinomial; log-odds)"
    lines = _header(info, args) + [f"svyglm({args.glm}), {family}:"]
    shown = pd.DataFrame(
        {
            "term": table["term"],
            "estimate": table["estimate"].map(_number),
            "SE": table["se"].map(_number),
            "t": table["statistic"].map(lambda v: f"{v:.3f}"),
            "df": table["df"].map(lambda v: f"{v:g}"),
            "p": table["p"].map(_number),
            "CI": [f"{_number(lo)} to {_number(hi)}" for lo, hi in zip(table["ci_low"], table["ci_high"])],
            "deff": table["deff"].map(lambda v: _number(v, 3)),
        }
    )
    lines.append(shown.to_string(index=False))
    if tests is not None and len(tests):
        lines += ["", "Wald tests of terms (regTermTest):"]
        for row in tests.itertuples(index=False):
            lines.append(
                f"  {row.terms}: F = {row.statistic:.4f}, ndf = {row.ndf:g}, ddf = {row.ddf:g}, p = {row.p:.4g}"
            )
    return "\n".join(lines) + "\n"


def _ttest_text(info, table, tests, args, np, pd) -> str:
    row = table.iloc[0]
    lines = _header(info, args) + [
        f"Design-based t-test of mean {args.ttest} between the groups of {args.by} ({row['contrast']}, n = {row['n']}):",
        f"  difference = {_number(row['estimate'], 6)}, SE = {_number(row['se'], 6)}, t = {row['statistic']:.4f}, "
        f"df = {row['df']:g}, p = {row['p']:.4g}",
        f"  {row['level']:.0%} CI {_number(row['ci_low'], 6)} to {_number(row['ci_high'], 6)}",
    ]
    return "\n".join(lines) + "\n"


def _quantile_text(info, table, tests, args, np, pd) -> str:
    lines = _header(info, args) + [f"Quantiles of {args.quantile} (qrule {args.qrule}, Woodruff intervals):"]
    shown = pd.DataFrame()
    if args.by is not None:
        shown[args.by] = table[args.by].astype(str)
    shown["p"] = table["probability"].map(lambda v: f"{v:g}")
    shown["n"] = table["n"]
    shown["quantile"] = table["estimate"].map(lambda v: _number(v, 6))
    shown["SE"] = table["se"].map(_number)
    shown["CI"] = [f"{lo:.6g} to {hi:.6g}" for lo, hi in zip(table["ci_low"], table["ci_high"])]
    shown["df"] = table["df"].map(lambda v: f"{v:g}")
    lines.append(shown.to_string(index=False))
    if table[["ci_low", "ci_high"]].isna().any().any():
        lines += [
            "",
            "CI notes: nan: the interval's probability falls outside 0 to 1, so the bound does not exist (as R)",
        ]
    return "\n".join(lines) + "\n"
