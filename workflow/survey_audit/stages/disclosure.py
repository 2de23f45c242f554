"""Disclosure control of the public outputs: the model of what they print, and the disclosure stage, the attack
check run on every build.

The respondents are survivors of child sexual exploitation: no published number may single anyone out. The
rules (``config: disclosure``; the threshold's default is in the schema):

* a **count of people** printed anywhere (a cell's numerator ``n``, its base, the respondents it leaves out for
  lack of an answer, a weighting margin, a step of the exclusion flow, a count in the audit, a test's base) is
  suppressed when it is below ``min_count`` but not zero, and so is a count whose **complement** is (a cell of
  58 in a base of 60 says that 2 people did not);
* every number computed from a suppressed count goes with it: a percentage with its base, its SE and interval,
  design effect, effective n and weighted totals, a target share taken from another wave, a difference between
  waves, the audit's recomputed value;
* **complementary suppression**: the outputs add up (categories to their base; base and non-response to the
  by-group; by-groups to the whole table; a domain to the whole; waves to their pool; exclusion steps to the
  flow and the flow to the analysed respondents; weighting margins to the tables they repeat, targets to the
  wave they come from). :func:`model` writes every such relation down, and
  :func:`survey_audit.stats.disclosure.protect` suppresses further counts until none can be recovered: the
  possible values of a small count span at least ``min_count``, and no other suppressed count is pinned.

The suppress stage (:mod:`survey_audit.stages.suppress`) asks the model, built from the full internal results, what
to suppress, and the publish stage blanks it. The disclosure stage (:func:`check`) rebuilds it, marks as printed
exactly what the public files print, and attacks it again, independently of how the suppression was chosen; it
stops the run when a suppressed count can be recovered or a small count is printed. The rules apply to the
synthetic stand-in as to real data, so a reviewer sees what a real release would show.

Relations across variables (a derived variable and its sources, two questions asked of the same people) are
not modelled: the tables of one variable are protected against each other, the sample, the flow and the
weighting margins. Nor are test statistics (a Rao–Scott F or a p-value is not linear in the counts): a wave
comparison of a withheld cell is withheld whole, and a test's base below the threshold is not printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import formats
from ..config.tables import ALL, is_pool, scope_waves
from ..config.variables import load_variables
from ..errors import SurveyAuditError
from ..provenance import read_bytes
from ..stats.disclosure import Problem, attack, sensitive

SUPPRESSED = "suppressed"
# Complementary suppression's order of preference: a count before a base (withholding a base withholds every
# percentage of the group), a base before a count the reports printed (withholding it protects little).
BASE, REPORTED = 1, 2
# The fields of each kind of key, after the kind itself.
LAYOUT = {
    "n": ("scope", "variable", "domain", "by", "by_value", "category"),
    "complement": ("scope", "variable", "domain", "by", "by_value", "category"),
    "base": ("scope", "variable", "domain", "by", "by_value"),
    "excluded": ("scope", "variable", "domain", "by", "by_value"),
    "group": ("scope", "domain", "by", "by_value"),
}
ESTIMATE_COLUMNS = [
    "pct", "pct_se", "pct_ci_low", "pct_ci_high", "mean", "mean_se", "mean_ci_low", "mean_ci_high",
    "deff", "n_eff", "weighted_n",
]  # fmt: skip


def _get(key: tuple, name: str):
    return key[1 + LAYOUT[key[0]].index(name)]


def _with(key: tuple, **changes) -> tuple:
    fields = list(key)
    for name, value in changes.items():
        fields[1 + LAYOUT[key[0]].index(name)] = value
    return tuple(fields)


def _key(kind: str, row, **extra) -> tuple:
    values = {"scope": row.wave, "variable": row.variable, "domain": row.domain, "by": row.by,
              "by_value": row.by_value, "category": row.category, **extra}  # fmt: skip
    return (kind, *(values[name] for name in LAYOUT[kind]))


@dataclass
class Counts:
    """Every count the public outputs print, the hidden counts they relate to, and where each is printed."""

    problem: Problem
    rows: pd.DataFrame  # per unweighted table row: the keys of its count, base and non-response count
    flows: dict[str, list[tuple[tuple, tuple]]]  # per wave: each step's excluded and remaining
    margins: dict[str, list[tuple[tuple, tuple | None]]]  # per weighted wave: each row's count and target


def model(
    cells: pd.DataFrame,
    multi: set[str],
    flows: dict[str, pd.DataFrame],
    margins: dict[str, pd.DataFrame],
    references: dict[str, dict[str, str]],
    domains: dict[str, tuple[str, str]] | None = None,
) -> Counts:
    """The counts of the public outputs and their relations, from the full internal results: every table's
    unweighted cells (``multi``: the multi-select variables, whose options do not add up to their base), each
    wave's exclusion flow, each weighted wave's margins (``references``: the wave each margin's targets come
    from); ``domains`` maps a domain's label to the variable and category that define it, where it is one."""
    problem = Problem()
    unweighted = cells[cells["weighting"] == "unweighted"]
    people = unweighted[unweighted["variable"] != "sample"]
    keys = []
    for row in people.itertuples(index=False):
        n = problem.cell(_key("n", row), row.n, published=True) if row.category != "mean" else None
        base = problem.cell(_key("base", row), row.base_n, published=True)
        problem.tier[base] = BASE
        excluded = problem.cell(_key("excluded", row), row.excluded_n, published=True)
        group = problem.cell(_key("group", row), row.base_n + row.excluded_n, published=False)
        problem.relate({group: 1, base: -1, excluded: -1})
        keys.append((n, base, excluded))
    for row in unweighted[
        (unweighted["variable"] == "sample") & (unweighted["category"] == "respondents")
    ].itertuples():
        wave_total = problem.cell(("group", row.wave, ALL, "", ALL), row.n, published=True)
        problem.fixed.add(wave_total)  # a wave's respondents are printed in the reports themselves
    _categories(problem, people, multi)
    _pools(problem)
    _wholes(problem)
    _groups(problem, domains or {})
    flow_keys = {wave: _flow(problem, wave, flow) for wave, flow in flows.items()}
    margin_keys = {wave: _margins(problem, wave, margin, references.get(wave, {})) for wave, margin in margins.items()}
    rows = pd.DataFrame(keys, columns=["n", "base", "excluded"], index=people.index)
    return Counts(problem, rows, flow_keys, margin_keys)


def load_model(
    cells: list[str],
    flows: dict[str, str],
    margins: dict[str, str],
    variables: list[str],
    tables: str,
    references: dict[str, dict[str, str]],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame], Counts]:
    """The full cells of every scope, each wave's exclusion flow and each weighted wave's margins (by wave), and
    their :func:`model`, read from the internal results (``variables``: the scopes' variables, for the
    multi-select ones; ``tables``: the tables' specs, for their domains)."""
    full = pd.concat([formats.read_parquet(p) for p in cells], ignore_index=True)
    flow_frames = {wave: formats.read_csv(path) for wave, path in flows.items()}
    margin_frames = {wave: formats.read_csv(path, keep_default_na=False) for wave, path in margins.items()}
    domains = domain_categories(json.loads(read_bytes(tables))["tables"])
    counts = model(full, multi_select(variables), flow_frames, margin_frames, references, domains)
    return full, flow_frames, margin_frames, counts


def _categories(problem: Problem, people: pd.DataFrame, multi: set[str]) -> None:
    """A single-choice variable's categories add up to their base; a multi-select option and its complement
    (who answered the item without choosing it) do."""
    counted = people[people["category"] != "mean"]
    for _, group in counted.groupby(["wave", "variable", "domain", "by", "by_value"], sort=False):
        first = group.iloc[0]
        base = _key("base", first)
        if first["variable"] in multi:
            for row in group.itertuples(index=False):
                complement = problem.cell(_key("complement", row), row.base_n - row.n, published=False)
                problem.relate({base: 1, _key("n", row): -1, complement: -1})
        else:
            problem.relate({base: 1, **{_key("n", row): -1 for row in group.itertuples(index=False)}})


def _pools(problem: Problem) -> None:
    """A pool's counts are the sums of its waves'."""
    present = set(problem.values)
    for key in sorted(present, key=repr):
        if key[0] in LAYOUT and is_pool(_get(key, "scope")):
            parts = [_with(key, scope=wave) for wave in scope_waves(_get(key, "scope"))]
            if all(p in present for p in parts):
                problem.relate({key: 1, **{p: -1 for p in parts}})


def _wholes(problem: Problem) -> None:
    """The whole (no by-variable; no domain) holds at least what its by-groups, or a domain, hold: the rest
    (respondents missing the by-variable, or outside the domain) is a hidden count."""
    present = set(problem.values)
    families: dict[tuple, list[tuple]] = {}
    for key in sorted(present, key=repr):
        if key[0] in LAYOUT and key[0] != "complement" and _get(key, "by"):
            families.setdefault(_with(key, by_value=None), []).append(key)
    for family, members in families.items():
        whole = _with(family, by="", by_value=ALL)
        if whole in present:
            rest = problem.cell(
                ("rest", *family), problem.values[whole] - sum(problem.values[m] for m in members), published=False
            )
            problem.relate({whole: 1, **{m: -1 for m in members}, rest: -1})
    for key in sorted(present, key=repr):
        if key[0] in LAYOUT and key[0] != "complement" and _get(key, "domain") != ALL:
            whole = _with(key, domain=ALL)
            if whole in present:
                rest = problem.cell(("rest", *key), problem.values[whole] - problem.values[key], published=False)
                problem.relate({whole: 1, key: -1, rest: -1})


def _groups(problem: Problem, domains: dict[str, tuple[str, str]]) -> None:
    """A by-group's respondents are a count of the by-variable's own table, and so are a domain's respondents
    of the table of the variable that defines it."""
    for key in sorted(problem.values, key=repr):
        if key[0] != "group":
            continue
        _, scope, domain, by, by_value = key
        if by and domain == ALL:
            same = ("n", scope, by, ALL, "", ALL, by_value)
        elif not by and domain in domains:
            same = ("n", scope, domains[domain][0], ALL, "", ALL, domains[domain][1])
        else:
            continue
        if same in problem.values:
            problem.relate({key: 1, same: -1})


DOMAIN_FORMS = [
    re.compile(r"^\s*(?P<variable>\w+?)__(?P<category>\w+)\s*==\s*True\s*$"),
    re.compile(r"^\s*(?P<variable>\w+)\s*==\s*(?P<quote>['\"])(?P<category>[^'\"]+)(?P=quote)\s*$"),
]


def release_stages(counts: Counts, waves: list[str]) -> list[set]:
    """The cells in the order their waves are released (``waves``, in fielding order): a cell belongs to the
    stage of the last wave it involves (a pool's to its last wave's; a weighting margin's to the later of its
    wave and the wave its targets come from)."""
    order = {wave: i for i, wave in enumerate(waves)}

    def stage(key: tuple) -> int:
        kind = key[0]
        if kind == "rest":
            scope = key[2]
        elif kind in LAYOUT:
            scope = _get(key, "scope")
        else:  # a flow step, a weighting margin or target: (kind, wave, ...)
            scope = key[1]
        return max(order[wave] for wave in scope_waves(scope))

    staged = {key: stage(key) for key in counts.problem.values}
    for relation in counts.problem.relations:  # a target repeats a count of the wave it comes from
        targets = [key for key in relation if key[0] == "target"]
        for key in targets:
            staged[key] = max(staged[k] for k in relation)
    stages: list[set] = [set() for _ in waves]
    for key, index in staged.items():
        stages[index].add(key)
    return stages


def domain_categories(specs: list[dict]) -> dict[str, tuple[str, str]]:
    """The domains that are one category of one variable (``x == 'a'``, ``x__option == True``), by label."""
    found = {}
    for spec in specs:
        for form in DOMAIN_FORMS:
            match = form.match(spec.get("domain") or "")
            if match:
                found[spec["domain_label"]] = (match["variable"], match["category"])
                break
    return found


def _flow(problem: Problem, wave: str, flow: pd.DataFrame) -> list[tuple[tuple, tuple]]:
    """An exclusion flow: each step's remaining responses are the previous step's minus its exclusions, and the
    last step's are the wave's analysed respondents."""
    keys, previous = [], None
    for row in flow.itertuples(index=False):
        excluded = problem.cell(("flow-excluded", wave, row.step), row.excluded, published=True)
        remaining = problem.cell(("flow-remaining", wave, row.step), row.remaining, published=True)
        if previous is None:
            problem.fixed.add(remaining)  # the responses received: a count of submissions, not of anyone's answer
        else:
            problem.relate({previous: 1, excluded: -1, remaining: -1})
        previous = remaining
        keys.append((excluded, remaining))
    analysed = ("group", wave, ALL, "", ALL)
    if analysed in problem.values:
        problem.relate({previous: 1, analysed: -1})
    return keys


def _margins(problem: Problem, wave: str, margin: pd.DataFrame, references: dict[str, str]) -> list:
    """A weighting margin's counts repeat the wave's table of the variable (its 'missing' category: the
    respondents the table leaves out); a target share taken from another wave repeats that wave's count."""
    keys = []
    for row in margin.itertuples(index=False):
        count = problem.cell(("margin", wave, row.variable, row.category), row.n, published=True)
        own = _margin_cell(wave, row.variable, row.category)
        if own in problem.values:
            problem.relate({own: 1, count: -1})
        target = None
        source = references.get(row.variable)
        theirs = _margin_cell(source, row.variable, row.category) if source else None
        if theirs in problem.values:
            target = problem.cell(("target", wave, row.variable, row.category), problem.values[theirs], published=True)
            problem.relate({theirs: 1, target: -1})
        keys.append((count, target))
    return keys


def _margin_cell(wave: str, variable: str, category: str) -> tuple:
    if category == "missing":
        return ("excluded", wave, variable, ALL, "", ALL)
    return ("n", wave, variable, ALL, "", ALL, category)


# --------------------------------------------------------------------------------------------- the public view


def hidden_rows(counts: Counts, cells: pd.DataFrame, suppressed: set) -> pd.DataFrame:
    """For every table row (weighted rows follow their unweighted twin): whether its count, its base and its
    non-response count are suppressed."""
    flags = counts.rows.apply(lambda keys: keys.map(lambda k: k in suppressed if k is not None else False))
    twin = ["wave", "variable", "domain", "by", "by_value", "category"]
    lookup = cells.loc[flags.index, twin].join(flags.rename(columns=lambda c: f"hide_{c}"))
    out = cells[twin].merge(lookup.drop_duplicates(twin), on=twin, how="left")
    columns = ["hide_n", "hide_base", "hide_excluded"]
    out = out[columns].fillna(False).astype(bool)
    out.index = cells.index
    return out.rename(columns=lambda c: c.removeprefix("hide_"))


def public_cells(cells: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """The cells as the public tables print them: a suppressed count blank, with a suppressed count or base
    every number computed from them, and the row flagged ``suppressed``."""
    out = cells.copy()
    for column in ("n", "base_n", "excluded_n"):
        out[column] = out[column].astype("Int64")
    out.loc[hidden["n"], "n"] = pd.NA
    out.loc[hidden["base"], "base_n"] = pd.NA
    out.loc[hidden["excluded"], "excluded_n"] = pd.NA
    out.loc[hidden["base"], "weighted_base"] = np.nan
    estimate_hidden = hidden["n"] | hidden["base"]
    for column in ESTIMATE_COLUMNS:
        if column in out:
            out.loc[estimate_hidden, column] = np.nan
    flagged = hidden.any(axis=1)
    out.loc[flagged, "flags"] = [_flag(f) for f in out.loc[flagged, "flags"]]
    return out


def _flag(flags) -> str:
    return ";".join([f for f in str(flags if isinstance(flags, str) else "").split(";") if f] + [SUPPRESSED])


def public_flow(flow: pd.DataFrame, keys: list[tuple[tuple, tuple]], suppressed: set) -> pd.DataFrame:
    out = flow.copy().astype({"excluded": "Int64", "remaining": "Int64"})
    out.loc[[k[0] in suppressed for k in keys], "excluded"] = pd.NA
    out.loc[[k[1] in suppressed for k in keys], "remaining"] = pd.NA
    return out


def public_log(log: pd.DataFrame, flow: pd.DataFrame, k: int) -> pd.DataFrame:
    """A wave's cleaning log as published: an exclusion rule's count is its step of the public flow (suppressed
    alike); another rule's count (answers set to missing, values normalised) is not printed below ``k``."""
    out = log.copy().astype({"rows_affected": "Int64"})
    excluded = dict(zip(flow["rule"], flow["excluded"]))
    for i, (rule, action, rows) in enumerate(zip(out["rule"], out["action"], out["rows_affected"])):
        if action == "excluded" and rule in excluded:
            out.loc[i, "rows_affected"] = excluded[rule]
        elif sensitive(rows, k):
            out.loc[i, "rows_affected"] = pd.NA
    return out


def public_margins(margin: pd.DataFrame, keys: list, suppressed: set) -> pd.DataFrame:
    out = margin.copy().astype({"n": "Int64"})
    counts = np.array([count in suppressed for count, _ in keys], dtype=bool)
    targets = np.array([target is not None and target in suppressed for _, target in keys], dtype=bool)
    out.loc[counts, "n"] = pd.NA
    out.loc[counts, "unweighted_share"] = np.nan
    out.loc[targets, ["target_share", "target", "achieved", "difference"]] = np.nan
    return out


# --------------------------------------------------------------------------------------------- the attack check


def check(
    *,
    cells: list[str],
    flows: list[str],
    margins: list[str],
    variables: list[str],
    tables: str,
    waves: list[str],
    weighted: list[str],
    references: dict[str, dict[str, str]],
    public_tables: list[str],
    public_flows: list[str],
    public_margins: list[str],
    public_tests: str,
    public_audit: str,
    min_count: int,
    report_out: str,
) -> None:
    """Stage function: attack the public outputs with everything they print together, and stop the run if a
    suppressed count can be recovered or a count below the threshold is printed. ``cells``, ``flows`` and
    ``margins`` are the full internal results (the true counts); the ``public_*`` files what is printed."""
    full, _, _, counts = load_model(
        cells, dict(zip(waves, flows)), dict(zip(weighted, margins)), variables, tables, references
    )
    problem = counts.problem
    printable = set(problem.published)
    printed = _printed(counts, full, public_tables, dict(zip(waves, public_flows)), dict(zip(weighted, public_margins)))
    problem.published = printed
    findings = [
        f"{'printed' if e.key in printed else 'recoverable'}: {_describe(e.key)}"
        + ("" if e.key in printed else f" (its possible values: {e.low:g} to {e.high:g})")
        for e in attack(problem, printable - printed, min_count)
    ]
    findings += _small_counts(public_tests, public_audit, min_count)
    if findings:
        raise SurveyAuditError(
            f"the public outputs would disclose {len(findings)} count(s) of fewer than {min_count} people, or a "
            "suppressed count",
            value="; ".join(findings[:8]) + (" ..." if len(findings) > 8 else ""),
            expected="every small count suppressed, and no suppressed count recoverable from the others",
            hint="the suppression missed a relation between outputs: report it; nothing is public until it passes",
        )
    lines = [
        "Disclosure check of the public outputs",
        f"rule: counts of 1 to {min_count - 1} people (or with a complement of 1 to {min_count - 1}) are not printed",
        f"counts the outputs print: {len(printed)}; suppressed: {len(printable - printed)}",
        "attack: no suppressed count can be recovered from the printed ones; no count below the threshold is printed",
    ]
    formats.write_text("\n".join(lines) + "\n", report_out)


def _printed(counts: Counts, full: pd.DataFrame, tables: list[str], flows: dict, margins: dict) -> set:
    """The counts a public file prints: a count itself, or a percentage with its base."""
    printed = {k for k in counts.problem.published if k[0] == "group"}  # the sample table
    read = {"dtype": str, "keep_default_na": False}
    public = pd.concat([formats.read_csv(p, **read) for p in tables], ignore_index=True)
    # Every row of a cell (unweighted and weighted) prints its unweighted counts.
    prints = pd.DataFrame(
        {
            "n": (public["n"] != "") | ((public.get("pct", "") != "") & (public["base_n"] != "")),
            "base": public["base_n"] != "",
            "excluded": public["excluded_n"] != "",
        }
    )
    prints.index = pd.MultiIndex.from_frame(public[["table_id", "wave", "by_value", "category"]])
    prints = prints.groupby(level=[0, 1, 2, 3]).any()
    where = full.loc[counts.rows.index, ["table_id", "wave", "by_value", "category"]]
    for keys, place in zip(counts.rows.itertuples(index=False), where.itertuples(index=False, name=None)):
        if place in prints.index:
            shown = prints.loc[place]
            printed |= {
                key for key, column in zip(keys, ("n", "base", "excluded")) if key is not None and shown[column]
            }
    for wave, path in flows.items():
        flow = formats.read_csv(path, **read)
        for (excluded, remaining), row in zip(counts.flows[wave], flow.itertuples(index=False)):
            printed |= {k for k, v in ((excluded, row.excluded), (remaining, row.remaining)) if v != ""}
    for wave, path in margins.items():
        margin = formats.read_csv(path, **read)
        for (count, target), row in zip(counts.margins[wave], margin.itertuples(index=False)):
            printed |= {count} if row.n != "" else set()
            printed |= {target} if target is not None and row.target_share != "" else set()
    return printed


def _small_counts(public_tests: str, public_audit: str, k: int) -> list[str]:
    """Counts below the threshold printed as a test's base or in the audit's display of a cell."""
    found = []
    tests = formats.read_csv(public_tests, dtype=str, keep_default_na=False)
    found += [
        f"printed: the base of test {t}" for t, n in zip(tests["test_id"], tests["n"]) if n and sensitive(float(n), k)
    ]
    audit = formats.read_csv(public_audit, dtype=str, keep_default_na=False)
    for entry, display in zip(audit["entry_id"], audit["recomputed_display"]):
        for numerator, base in re.findall(r"\((\d+)/(\d+)\)", display):
            if sensitive(int(numerator), k) or sensitive(int(base) - int(numerator), k):
                found.append(f"printed: the counts in the audit of {entry}")
    return found


def _describe(key: tuple) -> str:
    """A key as words (never a value)."""
    if key[0] in LAYOUT:
        fields = dict(zip(LAYOUT[key[0]], key[1:]))
        where = ", ".join(f"{k} {v}" for k, v in fields.items() if v not in ("", ALL, None))
        return f"{key[0]} ({where})"
    return " ".join(map(str, key))


def multi_select(variables: list[str]) -> set[str]:
    """The multi-select variables of the scopes' views of the variables."""
    return {name for path in variables for name, var in load_variables(path).variables.items() if var.is_multi}
