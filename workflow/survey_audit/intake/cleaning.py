"""Cleaning: the wave's rules applied in a fixed order, each logged with the rows it touched.

Rules, in order (each configured per wave in its codebook, defaults in config/config.yaml):

1. ``test_responses`` – platform previews and test submissions are excluded;
2. ``consent`` – responses without consent are excluded;
3. ``missing_organisation`` – a response that names no recruiting organisation cannot be placed in the design;
4. ``duplicate_id`` / ``duplicate_answers`` – responses sharing a respondent id, or submitting the same answers
   twice, keep only the most complete (ties: the first in the file);
5. ``incomplete`` – fewer than the configured share of asked questions answered;
6. ``out_of_range`` – integer answers outside the variable's valid range (set to missing or excluded);
7. ``inconsistent`` – configured cross-checks such as entering the life before birth (set to missing or
   excluded);
8. ``eligibility`` – configured conditions such as being trafficked before 18;
9. ``skip_logic`` – answers to questions that were not asked are set to missing; unanswered questions that were
   not asked are recorded as ``not_asked``.

Raw rows = analysed + quarantined, checked on every run. A wave with no response left after the rules stops
here, with its exclusion flow, rather than in a later stage that has nothing to weight or tabulate. Derived
variables are computed last, from the cleaned values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.codebook import Codebook
from ..config.variables import NO_ANSWER, NOT_ASKED, STRAY_TEXT, Variable, VariableSet, expression_names
from ..errors import ConfigError, InputError, Problems

ACTION_COLUMNS = ["source_row", "respondent_id", "rule", "variable", "action", "reason"]
LOG_COLUMNS = ["order", "rule", "rows_affected", "action", "description"]
FLOW_COLUMNS = ["step", "rule", "excluded", "remaining"]
QUARANTINE_COLUMNS = ["respondent_id", "source_row", "rule", "reason"]


@dataclass
class Cleaned:
    """The analysed respondents of a wave, and the record of how they were obtained."""

    analysed: pd.DataFrame
    log: pd.DataFrame
    quarantine: pd.DataFrame
    flow: pd.DataFrame
    actions: pd.DataFrame


class _Run:
    """Book-keeping shared by the rules: which rows are still in, every action taken (kept as column chunks, one
    per rule and variable, so that recording costs no Python per row), and the problems the guard found."""

    def __init__(self, frame: pd.DataFrame, guard: dict):
        self.frame = frame  # a rule's change copies only the columns it changes (copy on write), never the frame
        self.active = np.ones(len(frame), dtype=bool)
        self.actions: list[pd.DataFrame] = []
        self.log: list[dict] = []
        self.flow: list[dict] = [{"step": 0, "rule": "raw responses", "excluded": 0, "remaining": len(frame)}]
        self.guard = guard
        self.problems: list[InputError] = []

    def exclude(
        self, rule: str, mask: np.ndarray, reason: str | pd.Categorical, description: str, *, guarded: bool = False
    ) -> None:
        """Exclude the active rows of ``mask``, for one ``reason`` or a reason per row (a categorical); a
        ``guarded`` rule (one that judges answers, not the response itself) may not exclude more than the guard's
        share of the remaining responses."""
        mask = np.asarray(mask, dtype=bool) & self.active
        if guarded:
            self._check_share(rule, "excludes", int(mask.sum()), int(self.active.sum()), "responses")
        reasons = reason if isinstance(reason, str) else np.asarray(reason[mask], dtype=object)
        self._act(mask, rule, "", "excluded", reasons)
        self.active &= ~mask
        self._log(rule, int(mask.sum()), "excluded", description)
        self.flow.append(
            {"step": len(self.flow), "rule": rule, "excluded": int(mask.sum()), "remaining": int(self.active.sum())}
        )

    def set_missing(self, rule: str, var: Variable, mask: np.ndarray, reason_code: str, reason: str) -> int:
        mask = np.asarray(mask, dtype=bool) & self.active
        answered = self.active & self.frame[var.value_columns[0]].notna().to_numpy() if var.value_columns else mask
        self._check_share(rule, "sets to missing", int(mask.sum()), int(answered.sum()), f"answers to '{var.name}'")
        for column in var.value_columns:
            self.frame.loc[mask, column] = pd.NA
        self.frame.loc[mask, var.missing_column] = reason_code
        self._act(mask, rule, var.name, "set to missing", reason)
        return int(mask.sum())

    def _check_share(self, rule: str, verb: str, changed: int, of: int, what: str) -> None:
        """A rule that changes more than the guard's share of a wave's answers to one question (or of its
        responses) points at a codebook or range mistake, not at the data: a problem, not a line in the log."""
        share, floor = self.guard["max_share"], self.guard["min_rows"]
        if changed >= floor and of and changed > share * of:
            self.problems.append(
                InputError(
                    f"the cleaning rule '{rule}' {verb} {changed} of {of} {what} ({changed / of:.0%})",
                    expected=f"at most {share:.0%} (cleaning → guard → max_share in config/config.yaml)",
                    hint="check the variable's range (fielding years?), the codebook's codes and the rule itself",
                )
            )

    def _act(self, mask: np.ndarray, rule: str, variable: str, action: str, reason) -> None:
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        self.actions.append(
            pd.DataFrame(
                {
                    "source_row": self.frame["source_row"].to_numpy()[rows].astype(np.int64),
                    "respondent_id": self.frame["respondent_id"].array.take(rows),
                    "rule": rule,
                    "variable": variable,
                    "action": action,
                    "reason": reason,
                }
            )
        )

    def _log(self, rule: str, rows: int, action: str, description: str) -> None:
        self.log.append(
            {
                "order": len(self.log) + 1,
                "rule": rule,
                "rows_affected": rows,
                "action": action,
                "description": description,
            }
        )


def clean(respondents: pd.DataFrame, findings: pd.DataFrame, codebook: Codebook, variables: VariableSet) -> Cleaned:
    """Apply a wave's cleaning rules to its respondent frame, in the order of the module docstring."""
    rules = codebook.cleaning
    run = _Run(respondents.reset_index(drop=True), rules["guard"])
    wave_vars = {v.name: v for v in codebook.variables(variables)}
    questions = _questions(codebook, wave_vars)
    answered = _answered(run.frame, questions)
    _normalise_text(run, findings)
    _screen(run, rules)
    _deduplicate(run, rules["duplicates"], questions, answered)
    if "completeness" in rules:
        _completeness(run, rules["completeness"]["min_share_answered"], codebook, questions, answered)
    _out_of_range(run, rules["out_of_range"], wave_vars)
    _inconsistent(run, rules["inconsistent"], codebook, wave_vars)
    _eligibility(run, rules["eligibility"], codebook)
    _skip_logic(run, codebook, rules["skip_violations"])
    if run.problems:
        for problem in run.problems:
            problem.file = str(codebook.path)
        raise Problems(run.problems, subject=f"the cleaning of wave {codebook.wave}")
    if not run.active.any():
        raise _nobody_left(run, codebook)
    return _cleaned(run, len(respondents), variables, codebook)


def _nobody_left(run: _Run, codebook: Codebook) -> InputError:
    """The error for a wave whose every response was excluded: nothing could be weighted or tabulated. The
    exclusion flow says which rules emptied it."""
    steps = [f"{step['rule']} excluded {step['excluded']}" for step in run.flow[1:] if step["excluded"]]
    return InputError(
        f"no respondent of wave '{codebook.wave}' is left after cleaning: {run.flow[0]['remaining']} raw responses, "
        + ", ".join(steps or ["none excluded"])
        + ", 0 analysed",
        file=codebook.path,
        expected="at least one response that passes every cleaning rule",
        hint="a rule that excludes everyone usually has a wrong code or condition: check the codebook's codes of its"
        " variable and the rule (cleaning in the codebook, or in config/config.yaml); survey-audit ingest RAW"
        " --codebook CB prints the same flow",
    )


def _normalise_text(run: _Run, findings: pd.DataFrame) -> None:
    """Record the values ingest matched to their code only once stray case or whitespace was ignored."""
    stray = findings[findings["finding"] == STRAY_TEXT] if len(findings) else findings
    run._log(
        "normalise_text",
        int(stray["source_row"].nunique()) if len(stray) else 0,
        "normalised",
        "values matched their code only once stray case or whitespace was ignored; accepted as that code",
    )
    if len(stray):
        run.actions.append(
            pd.DataFrame(
                {
                    "source_row": stray["source_row"].to_numpy(dtype=np.int64),
                    "respondent_id": stray["respondent_id"].to_numpy(),
                    "rule": "normalise_text",
                    "variable": stray["variable"].to_numpy(),
                    "action": "normalised",
                    "reason": "stray case or whitespace in column " + stray["column"].astype(str),
                }
            )
        )


def _screen(run: _Run, rules: dict) -> None:
    """Test and preview responses, responses without consent, and responses naming no organisation."""
    frame = run.frame
    if "test_responses" in rules:
        spec = rules["test_responses"]
        mask = frame[spec["variable"]].isin(spec["exclude"]).to_numpy()
        run.exclude(
            "test_responses",
            mask,
            "platform preview or test response",
            f"{spec['variable']} is one of {', '.join(spec['exclude'])}",
        )
    if "consent" in rules:
        spec = rules["consent"]
        mask = (frame[spec["variable"]] != spec["require"]).fillna(True).to_numpy()
        run.exclude("consent", mask, "consent not given", f"{spec['variable']} is not {spec['require']}")
    run.exclude(
        "missing_organisation",
        frame["org"].isna().to_numpy(),
        "no recruiting organisation recorded",
        "the response names no recruiting organisation, so it cannot be placed in the survey design",
    )


def _deduplicate(run: _Run, rule: dict, questions: list[Variable], answered: np.ndarray) -> None:
    """Responses sharing a respondent id, or submitting the same answers: the most complete is kept."""
    if rule["same_id"]:
        mask = _duplicates(run.frame["respondent_id"].to_numpy(), answered, run.active)
        run.exclude(
            "duplicate_id",
            mask,
            "a more complete response with the same respondent id is kept",
            "responses sharing a respondent id: the most complete is kept",
        )
    if rule["same_answers"]:
        mask = _duplicates(_answer_keys(run.frame, questions), answered, run.active)
        run.exclude(
            "duplicate_answers",
            mask,
            "the same answers were submitted in an earlier response",
            "responses with identical answers to every question: the first is kept",
        )


def _completeness(run: _Run, share: float, codebook: Codebook, questions: list[Variable], answered) -> None:
    """Responses answering less than ``share`` of the questions they were asked."""
    asked = _asked_counts(run.frame, codebook, questions)
    ratio = np.divide(answered, asked, out=np.zeros(len(run.frame)), where=asked > 0)
    run.exclude(
        "incomplete",
        ratio < share,
        f"fewer than {share:.0%} of the asked questions answered",
        f"share of asked questions answered below {share:g}",
    )


def _out_of_range(run: _Run, action: str, wave_vars: dict[str, Variable]) -> None:
    """Integer answers outside their variable's valid range: set to missing, or the response excluded."""
    mask_any = np.zeros(len(run.frame), dtype=bool)
    for var in wave_vars.values():
        if var.type != "integer" or var.range is None or var.derive:
            continue
        values = run.frame[var.name]
        low, high = var.range
        mask = (values.notna() & ((values < low) | (values > high))).fillna(False).to_numpy(dtype=bool) & run.active
        if action == "set_missing":
            run.set_missing("out_of_range", var, mask, "out_of_range", f"{var.name} outside {low}–{high}")
        mask_any |= mask
    if action == "exclude":
        run.exclude(
            "out_of_range",
            mask_any,
            "an answer outside its valid range",
            "integer answers outside their valid range",
            guarded=True,
        )
    else:
        run._log("out_of_range", int(mask_any.sum()), "set to missing", "integer answers outside their valid range")


def _inconsistent(run: _Run, rules: list[dict], codebook: Codebook, wave_vars: dict[str, Variable]) -> None:
    """Configured cross-checks: the answers set to missing, or the response excluded."""
    for rule in rules:
        mask = _query(run.frame, rule["when"], codebook, rule["name"]) & run.active
        if rule["action"] == "exclude":
            run.exclude(rule["name"], mask, rule["reason"], rule["when"], guarded=True)
        else:
            for name in rule.get("variables", []):
                run.set_missing(rule["name"], wave_vars[name], mask, "inconsistent", rule["reason"])
            run._log(rule["name"], int(mask.sum()), "set to missing", rule["when"])


def _eligibility(run: _Run, rules: list[dict], codebook: Codebook) -> None:
    """Configured conditions every analysed respondent meets (unknown: excluded or kept, as the rule says)."""
    for rule in rules:
        condition = _query(run.frame, rule["require"], codebook, rule["name"], missing_as=None)
        unknown = np.isnan(condition)
        fails = (condition == 0) | (unknown & (rule["missing"] == "exclude"))
        reasons = pd.Categorical.from_codes(
            unknown.astype(np.int8), [rule["reason"], rule["reason"] + " (cannot be established: answer missing)"]
        )
        run.exclude(rule["name"], fails, reasons, rule["require"], guarded=True)


def _cleaned(run: _Run, raw_rows: int, variables: VariableSet, codebook: Codebook) -> Cleaned:
    """The analysed respondents (derived variables computed last) and the record of the run."""
    analysed = derive(run.frame[run.active].reset_index(drop=True), variables, codebook.carried)
    actions = pd.concat(run.actions, ignore_index=True) if run.actions else pd.DataFrame(columns=ACTION_COLUMNS)
    actions = (
        actions[ACTION_COLUMNS].sort_values(["source_row", "rule", "variable"], kind="stable").reset_index(drop=True)
    )
    quarantine = (
        actions[actions["action"] == "excluded"][QUARANTINE_COLUMNS]
        .sort_values("source_row", kind="stable")
        .reset_index(drop=True)
    )
    check_conservation(raw_rows, len(analysed), len(quarantine), codebook.wave)
    return Cleaned(
        analysed=analysed,
        log=pd.DataFrame(run.log, columns=LOG_COLUMNS),
        quarantine=quarantine,
        flow=pd.DataFrame(run.flow, columns=FLOW_COLUMNS),
        actions=actions,
    )


def check_conservation(raw: int, analysed: int, quarantined: int, wave: str) -> None:
    """Every raw row is either analysed or quarantined, exactly once."""
    if raw != analysed + quarantined:
        raise AssertionError(
            f"wave {wave}: {raw} raw rows but {analysed} analysed + {quarantined} quarantined = "
            f"{analysed + quarantined}; a cleaning rule lost or duplicated rows"
        )


def _questions(codebook: Codebook, wave_vars: dict[str, Variable]) -> list[Variable]:
    """The analysis questions a respondent could answer (mapped, not derived, not free text)."""
    return [
        wave_vars[name]
        for name in codebook.mappings
        if wave_vars[name].role == "analysis" and wave_vars[name].type != "text"
    ]


def _answered(frame: pd.DataFrame, questions: list[Variable]) -> np.ndarray:
    """Number of questions each respondent answered (a missing code such as don't know counts as an answer)."""
    if not questions:
        return np.zeros(len(frame))
    return sum((frame[q.missing_column] != NO_ANSWER).fillna(True).to_numpy(dtype=int) for q in questions)


_KEY_LIMIT = 2**62  # combined answer keys that could reach this are renumbered first


def _answer_keys(frame: pd.DataFrame, questions: list[Variable]) -> np.ndarray:
    """One integer per distinct combination of organisation and answers (missing answers equal to each other):
    each column factorised, the codes combined column by column as digits of a mixed-radix number, renumbered
    densely whenever the next digit could overflow; columnar and exact (no hashing collisions), and never more
    than two integer columns in memory."""
    columns = ["org"] + [c for q in questions for c in (*q.value_columns, q.missing_column)]
    keys = np.zeros(len(frame), dtype=np.int64)
    bound = 1  # every key is below this
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        radix = max(len(uniques), 1)
        if bound * radix >= _KEY_LIMIT:
            keys, distinct = pd.factorize(keys)
            bound = len(distinct)
        keys = keys * radix + codes
        bound *= radix
    return pd.factorize(keys)[0]


def _duplicates(keys: np.ndarray, answered: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Rows to drop from duplicate groups: all but the most complete (earliest on ties) active row."""
    pos = np.flatnonzero(active)
    order = pos[np.lexsort((pos, -np.asarray(answered)[pos], keys[pos]))]
    sorted_keys = keys[order]
    mask = np.zeros(len(keys), dtype=bool)
    mask[order[1:][sorted_keys[1:] == sorted_keys[:-1]]] = True
    return mask


def _asked_mask(frame: pd.DataFrame, codebook: Codebook, name: str) -> np.ndarray:
    """Per respondent: 1.0 asked, 0.0 not asked, NaN unknown (the routing question itself unanswered)."""
    cond = codebook.mappings[name].ask_if
    if not cond:
        return np.ones(len(frame))
    source = codebook.mappings[cond["variable"]].variable
    if source.is_multi:
        values = frame[source.option_column(cond["option"])]
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    values = frame[source.name]
    result = values.isin(cond["in"]).to_numpy(dtype=float, copy=True)
    result[values.isna().to_numpy()] = np.nan
    return result


def _asked_counts(frame: pd.DataFrame, codebook: Codebook, questions: list[Variable]) -> np.ndarray:
    return (
        sum(np.nan_to_num(_asked_mask(frame, codebook, q.name), nan=1.0) for q in questions)
        if questions
        else np.zeros(len(frame))
    )


def _skip_logic(run: _Run, codebook: Codebook, action: str) -> None:
    frame = run.frame
    violations = relabelled = 0
    for name, mapping in codebook.mappings.items():
        if not mapping.ask_if:
            continue
        var = mapping.variable
        asked = _asked_mask(frame, codebook, name)
        not_asked = (asked == 0) & run.active
        unanswered = (frame[var.missing_column] == NO_ANSWER).fillna(False).to_numpy(dtype=bool)
        violating = not_asked & ~unanswered
        if action == "set_missing":
            violations += run.set_missing(
                "skip_logic",
                var,
                violating,
                "answered_when_not_asked",
                f"{name} answered although it is asked only when {_describe_condition(mapping.ask_if)}",
            )
        else:
            violations += int(violating.sum())
        recode = not_asked & unanswered
        frame.loc[recode, var.missing_column] = NOT_ASKED
        relabelled += int(recode.sum())
    run._log(
        "skip_logic",
        violations,
        "set to missing" if action == "set_missing" else "kept",
        "answers to questions the routing did not ask",
    )
    run._log(
        "not_asked",
        relabelled,
        "recorded as not asked",
        "blank answers to questions the routing did not ask (not counted as missing answers)",
    )


def _describe_condition(cond: dict) -> str:
    if "option" in cond:
        return f"{cond['variable']} includes {cond['option']}"
    return f"{cond['variable']} is {' or '.join(cond['in'])}"


def _query(
    frame: pd.DataFrame, expression: str, codebook: Codebook, name: str, missing_as: float | None = 0.0
) -> np.ndarray:
    """Evaluate a rule's expression per row: 1.0 true, 0.0 false; where a variable it uses is missing, NaN
    (or ``missing_as``)."""

    names = expression_names(expression)
    try:
        result = frame.eval(expression)
    except Exception as exc:  # pandas raises many types for a bad expression
        raise ConfigError(
            f"the cleaning rule '{name}' cannot be evaluated ({exc})",
            file=codebook.path,
            value=expression,
            expected="a pandas expression over the wave's variables",
        ) from None
    result = pd.Series(result, index=frame.index).astype("boolean")
    values = result.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    missing = np.zeros(len(frame), dtype=bool)
    for column in names & set(frame.columns):
        missing |= frame[column].isna().to_numpy()
    values[missing] = np.nan
    if missing_as is not None:
        values = np.nan_to_num(values, nan=missing_as)
        return values.astype(bool)
    return values


# --------------------------------------------------------------------------------------------- derived variables


def derive(frame: pd.DataFrame, variables: VariableSet, carried: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Add the derived variables among ``carried`` (a wave's variables), in declaration order, from cleaned
    values. A derived value's missing reason is its source's (for several sources, the first that has one), or
    no answer; categories are built from their codes, never from a column of labels."""
    frame = frame.copy(deep=False)  # the caller's frame keeps its columns (copy on write)
    reasons = list(variables.missing_reasons)
    reason_index = pd.Index(reasons)
    no_answer = reason_index.get_indexer([NO_ANSWER])[0]
    for var in (variables[name] for name in carried):
        if not var.derive:
            continue
        method, spec = next(iter(var.derive.items()))
        categories = list(var.categories)
        if method == "all_of":
            sources = [variables[name] for name in spec]
            known = np.logical_and.reduce([frame[v.name].notna().to_numpy() for v in sources])
            match = np.logical_and.reduce([frame[v.name].isin(spec[v.name]).to_numpy() for v in sources])
            value = _yes_no(known, match, categories)
            reason_sources = [v.missing_column for v in sources]
        elif method == "difference":
            a, b = (frame[name] for name in spec)
            value = (a - b).astype("Int64")
            reason_sources = [variables[name].missing_column for name in spec]
        else:
            source = variables[spec["variable"]]
            reason_sources = [source.missing_column]
            if method == "bins":
                values = frame[source.name]
                codes = np.searchsorted(
                    np.asarray(spec["breaks"]), values.to_numpy(dtype=float, na_value=np.nan), side="right"
                )
                codes = np.where(values.isna().to_numpy(), -1, np.minimum(codes, len(categories) - 1))
                value = pd.Categorical.from_codes(codes, categories=categories)
            elif method == "below":
                values = frame[source.name]
                below = values.to_numpy(dtype=float, na_value=np.nan) < spec["value"]
                value = _yes_no(values.notna().to_numpy(), below, categories)
            elif method == "recode":
                value = pd.Categorical(frame[source.name].map(spec["map"]), categories=categories)
            else:  # any_of
                chosen = np.zeros(len(frame), dtype=bool)
                for option in spec["options"]:
                    chosen |= frame[source.option_column(option)].fillna(False).to_numpy(dtype=bool)
                answered = frame[source.option_column(next(iter(source.categories)))].notna().to_numpy()
                value = _yes_no(answered, chosen, categories)
        frame[var.name] = value
        has_value = pd.Series(value).notna().to_numpy()
        present, codes = _first_reason(frame, reason_sources, reason_index)
        missing = np.where(has_value, -1, np.where(present, codes, no_answer))
        frame[var.missing_column] = pd.Categorical.from_codes(missing, categories=reasons)
    return frame


def _yes_no(known: np.ndarray, yes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """"yes" where ``yes``, "no" elsewhere, missing where not ``known``: a categorical of ``categories`` (a label
    that is not one of them is missing)."""
    yes_code, no_code = pd.Index(categories).get_indexer(["yes", "no"])
    return pd.Categorical.from_codes(np.where(known, np.where(yes, yes_code, no_code), -1), categories=categories)


def _first_reason(frame: pd.DataFrame, columns: list[str], reasons: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per row, whether any of the missing-reason ``columns`` holds a value, and the first such value as a code
    into ``reasons`` (-1 for a value that is not one of them)."""
    present = np.zeros(len(frame), dtype=bool)
    codes = np.full(len(frame), -1, dtype=np.int64)
    for column in reversed(columns):
        values = frame[column].array
        if not isinstance(values, pd.Categorical):
            values = pd.Categorical(values)
        here = values.codes >= 0
        lookup = np.append(reasons.get_indexer(values.categories), -1)  # code -1 (missing) looks up the -1
        codes = np.where(here, lookup[values.codes], codes)
        present |= here
    return present, codes
