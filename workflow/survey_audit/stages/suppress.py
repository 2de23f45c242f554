"""The suppress stage: which counts the public outputs withhold, decided from the full internal results before
anything is published.

Every count a public output prints (each table's unweighted cells, each wave's exclusion flow, each weighted
wave's margins) and the relations among them are modelled (:func:`survey_audit.stages.disclosure.model`). Primary
suppression withholds every count of 1 to ``min_count - 1`` people (or with such a complement); complementary
suppression, further counts until none can be recovered from the others
(:func:`survey_audit.stats.disclosure.protect`), wave by wave in the order the waves are released, so a later wave
never changes what an earlier release withheld. A count whose percentage the reports printed is known to every
reader of the reports, so withholding it protects little: it is chosen as a complement last.

What is withheld depends on the counts alone, not on the tests or the audit, so the stage runs beside them; the
publish stage then blanks what it withholds. ``results/internal/suppressed.csv`` records each withheld count, its
value and why (for the data holder; never released), one row per count named by its key's parts
(:func:`cell_text`), which the publish stage reads back (:func:`read_suppressed`).
"""

from __future__ import annotations

import pandas as pd

from .. import formats
from ..config.registry import load_registry
from ..errors import Found, VerificationError
from ..stats.disclosure import Key, Problem, protect, sensitive
from .disclosure import REPORTED, Counts, load_model, release_stages


def suppress(
    *,
    cells: list[str],
    flows: dict[str, str],
    margins: dict[str, str],
    references: dict[str, dict[str, str]],
    variables: list[str],
    tables: str,
    registries: list[str],
    min_count: int,
    suppressed_out: str,
) -> None:
    """Stage function: decide what to suppress and record it."""
    full, _, _, counts = load_model(cells, flows, margins, variables, tables, references)
    entries = [entry for path in registries for entry in load_registry(path).entries]
    counts.problem.tier.update(dict.fromkeys(reported_counts(counts, full, entries), REPORTED))
    suppressed = protect(counts.problem, min_count, release_stages(counts, list(flows)))
    formats.write_csv(suppression_record(counts.problem, suppressed, min_count), suppressed_out)


def reported_counts(counts: Counts, full: pd.DataFrame, entries) -> set:
    """The counts whose percentage the reports printed: known to any reader of the reports whatever this
    pipeline prints, so withholding one protects little, and one is chosen as a complementary suppression last
    (a small one is still not printed here: the report's rounding is the report's disclosure, and the audit only
    says whether it holds)."""
    printed = {
        (e["cell"]["table"], e["cell"]["wave"], e["cell"]["by_value"], e["cell"].get("category", ""))
        for e in entries
        if e.get("cell") and e.get("value") is not None and e["cell"].get("weighting", "unweighted") == "unweighted"
    }
    where = full.loc[counts.rows.index, ["table_id", "wave", "by_value", "category"]].itertuples(index=False, name=None)
    return {n for n, place in zip(counts.rows["n"], where) if n is not None and place in printed}


def cell_text(key: Key) -> str:
    """How the record names a count: its key's parts, joined."""
    return " | ".join(map(str, key))


def _named(problem: Problem) -> dict[str, Key]:
    """Every count of the model by the name the record gives it; the names tell the counts apart."""
    named = {cell_text(key): key for key in problem.values}
    if len(named) != len(problem.values):
        raise RuntimeError("two counts of the disclosure model share a name in the suppression record")
    return named


def suppression_record(problem: Problem, suppressed: set[Key], k: int) -> pd.DataFrame:
    """What was suppressed and why (internal: it says which counts were small), one row per count in the order of
    their names."""
    _named(problem)
    rows = [
        {
            "cell": cell_text(key),
            "value": problem.values[key],
            "reason": "primary: a count, or its complement, below the threshold"
            if sensitive(problem.values[key], k)
            else "complementary: would give back a suppressed count",
        }
        for key in suppressed
    ]
    return pd.DataFrame(rows, columns=["cell", "value", "reason"]).sort_values("cell", kind="stable")


def read_suppressed(path: str, problem: Problem, k: int) -> set[Key]:
    """The counts of the model a suppression record withholds. The record must be the one made from the same
    results: one that names a count the model does not hold, or leaves a small count printed, is older than the
    cells (the suppress rule was kept from rerunning) and stops the job."""
    named = _named(problem)
    listed = {row["cell"] for row in formats.read_csv_records(path)}
    found = {named[name] for name in listed if name in named}
    unknown = sorted(listed - named.keys())
    printed_small = sorted(cell_text(key) for key in (problem.sensitive_cells(k) & problem.published) - found)
    if unknown or printed_small:
        raise VerificationError(
            "the suppression record was not made from these results: "
            + (f"it names {len(unknown)} count(s) they do not hold" if unknown else "")
            + (" and " if unknown and printed_small else "")
            + (f"it leaves {len(printed_small)} count(s) below the threshold printed" if printed_small else ""),
            file=path,
            value=Found((unknown or printed_small)[0]),
            expected="the record the suppress rule writes from the same cells, flows and margins",
            hint="rerun the suppress rule (survey-audit run -R suppress) before publishing",
        )
    return found
