"""``survey-audit new-wave``: describe a new wave's raw export and draft its codebook.

An analyst adding a survey wave must map every raw column onto the harmonised variables of
``config/variables.yaml`` (or drop it, saying why). This module writes the first draft: a description of every
raw column and a codebook in which every proposal the matching is unsure of carries a ``# TODO:`` comment
saying why. The draft is a starting point to review, never a codebook to use unread.

Methods
-------
**Reading.** The export is read with :func:`survey_audit.intake.readers.read_raw` (layout, encoding and
delimiter detected), so the draft's ``file:`` section holds what was detected. Question text is the platform
layout's second header row, or the variable labels of SPSS and Stata files; value labels are those files'
code → label sets.

**Profiling** (one pass of vectorised string operations per column). A value is blank when it is empty after
stripping whitespace. The inferred type is the first that holds for every non-blank value: ``integer``
(whole numbers; ``categorical`` instead when a value label names something other than a missing code),
``number``, ``date`` (ISO ``2016-03-26[ 09:48]`` or ``3/26/2016``), ``categorical`` with a delimiter (lists of
whole-number codes such as ``1,3,5``: a multi-select stored in one column, profiled by its codes), ``categorical``
(value labels, or at most 20 distinct answers of at most 40 characters), else ``text``.

**Privacy.** The respondents are survivors of child sexual exploitation. The values of a column are withheld
(never printed or written: only the counts of non-blank and distinct values, the blank share and the minimum
and maximum length) when its name holds an identifying word (ip, email, name, lat, lon, id, address,
reference, ...), when a value is an e-mail address or every value an IP address, when it is free text (a ``text`` column whose name
says so — text, comment, other, specify... — or with values longer than 40 characters of which more than half
are distinct, or with many distinct values containing spaces), when it holds dates and times (quasi-
identifiers), when it has many distinct values (more than 50, and more than half the non-blank values; for a
multi-select, counted on its codes) and for the column proposed as respondent id. Identifying columns (the
first two reasons, and ``text`` columns with many distinct values and no spaces: codes of persons) are never
proposed for a harmonised variable; free text only for a ``text`` variable; other withheld columns only for an
``integer`` variable, which the codebook reads without listing values. So no codes are ever drafted from a
withheld column, and no withheld value reaches the description, the draft or the printed summary.

**Units.** Columns named ``stem_1``, ``stem_2``... (at least two with the same stem) whose values take at most
two distinct values form one *group*: a multi-select stored as one column per option, whose question text is
the part before the last ``" - "`` shared by its members and whose option texts are the parts after it. Every
other column is a unit of its own. The respondent id and the organisation are chosen first (below) and are
not units.

**Words.** Names and texts are split at non-alphanumerics, camelCase and letter–digit boundaries, case-folded;
one-letter words, numbers and a short list of stopwords (articles, prepositions, auxiliaries, "selected",
"choice") are left out. Two words match when equal, or when one starts with the other and both have at least
three letters (``adv`` ~ ``advertised``, ``monitor`` ~ ``monitored``). Answers and categories are compared as
*phrases*: :func:`~survey_audit.config.variables.normalise_text`, parentheses and punctuation removed, the
final "s" of words of more than three letters removed (plurals); a category is named by its key (``dont_know`` → "dont know") and by each part
of its label split at "/".

**Score.** Each unit is scored against each harmonised variable it may hold (not derived, not restricted to
other waves, of a type the unit's type allows: integer → integer, single, yes/no; date → an integer variable
whose name or label says "year", read with ``parse: year``; categorical → single, yes/no; categorical with a
delimiter and groups → multi-select; free text and other text → text):

    score = 0.5 · text + 0.25 · name + 0.25 · answers            (each part from 0 to 1)

* ``text``: the Dice coefficient of the words of the question text and of the variable's label (matched words
  of both counted over the words of both);
* ``name``: the share of the words of the column name (a group's stem) that match a word of the variable's
  name or label (``age_first`` ~ ``age_entered`` through "first" in its label);
* ``answers``: how the answers fit the variable: for categorical variables, the share of the value labels
  (or text answers, or option texts of a group) that name a category, missing codes left out; for unlabelled
  whole-number codes, 1 when they fit the category order (1..k or 0..k-1, below); for an integer variable, the
  share of the values (years of dates) within its range; 1 for free text and a text variable.

A pair is a candidate only with some text or name evidence (answers alone propose nothing) and a score of at
least 0.25 (below it a proposal is noise: the column is dropped for review instead). Candidates are
accepted greedily, best score first (ties: column order, then variable order), each unit and each variable at
most once. An accepted pair is *confident* when its score is at least 0.5 and leads the best other candidate
of its unit and of its variable by at least 0.1; otherwise it carries a ``# TODO:`` naming the weak score or
the close rival.

**Codes and missing codes.** A categorical mapping's ``codes`` come from, in this order: value labels (a code
whose label names a category maps to it; one whose label names a missing code of ``config/variables.yaml``
becomes a missing code; other labels are written with the placeholder ``TODO`` and listed in a TODO
comment); text answers (each distinct
answer, spelled as its most frequent spelling, matched the same way; a text answer naming a missing code
stays in the mapping's codes, as ``config/codebooks/wave2.yaml`` writes them); unlabelled whole-number codes
(a guess, always with a TODO: codes 1..k, or 0..k-1, are taken in the order of the categories, except 0/1 of a
yes/no question, read as no/yes; codes that fit neither order are each written with the placeholder
``TODO``). Observed codes that neither the codes nor a missing code read (such as 99) are listed in a TODO. A placeholder is deliberate: the codebook does not load until
the analyst has named the category. Labelled missing codes that
mean the same missing answer in every column go to the codebook's ``missing:``, the others to their
mapping's ``missing:``. A group's options are matched by option text, else by the number after the stem (a
TODO; a member matching neither gets the placeholder ``TODO``); its ``selected`` value is 1 unless the labels or a single observed value say otherwise. Two more
TODOs point at what the export suggests but a codebook cannot say unread: integer values outside the
variable's range (missing codes, or answers cleaning will set to missing?) and a question more than half blank
(asked of a subgroup only? then it needs its skip logic, ``ask_if``, which the draft never guesses).

**Respondent id and organisation.** The respondent id is the column whose non-blank values are at least 90%
distinct (at most 10% blank) and whose name or question text holds an id word (participant, respondent, pid,
case, caseid, subject, code, id: the very words, as for organisations), preferring columns the survey platform did not add; a platform id (ResponseId)
gets a TODO. The organisation is the column, at most half distinct, whose name or text holds an organisation
word (org, organisation, agency, partner, provider, program, center, ...); its codes are the observed values,
each with ``region: TODO``.

**Drops.** Every other column is dropped, with a reason guessed from its name and values, in this order:
identifier (id, ip, reference words, or identifying values), contact (email, name words), location (lat, lon,
location, address, zip words), metadata (dates, platform words such as progress, duration, status,
language), free text, else unused. The drop is confident only for the survey platform's own columns
(:data:`survey_audit.tools.synthetic.PLATFORM_COLUMNS`, but for Status and RecordedDate, which the project's
codebooks map) and columns of e-mail or IP addresses; every other drop carries ``# TODO: review``. The
harmonised variables no column was proposed for are listed in a comment.

**Outputs.** The draft is YAML text written line by line in column and variable order, with strings quoted
whenever YAML would read them as anything but the same string. The description is a CSV, one row per raw
column in file order (written by :func:`survey_audit.formats.csv_text`): a CSV opens in the spreadsheet the
analyst reviews the export in, sorts and filters there, and diffs line by line between two drafts. Neither
holds a time stamp or a machine path, so the same export gives the same bytes.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import yaml

from ..config.loading import validate
from ..config.variables import Variable, VariableSet, normalise_text
from ..errors import ConfigError
from ..intake.readers import RawTable, read_raw
from .synthetic import PLATFORM_COLUMNS

# The survey platform's own columns, which a codebook drops without a second look; the platform's Status and
# RecordedDate are not among them, as the project's codebooks map them (response_type, survey_year).
PLATFORM_DROPS = frozenset(PLATFORM_COLUMNS) - {"Status", "RecordedDate"}

WEIGHTS = {"text": 0.5, "name": 0.25, "answers": 0.25}
PROPOSE = 0.25  # score a pair needs to be proposed at all (name evidence alone, for instance)
CONFIDENT = 0.5  # score a proposal needs to be taken without a TODO
MARGIN = 0.1  # lead it needs over the best rival of its column and of its variable
SHOWN_VALUES = 20  # observed values listed per column in the description
MANY_DISTINCT = 50  # more distinct values than this (and than half the non-blank values) are withheld
CATEGORICAL_DISTINCT = 20  # at most this many distinct short text answers make a categorical column
LONG_TEXT = 40  # characters beyond which a text answer is long
ID_DISTINCT_SHARE = 0.9  # share of distinct non-blank values a respondent id needs

STOPWORDS = frozenset(
    "an and are as at be by choice did do does for from if in is it of on or selected that the this to was were"
    " with you your".split()
)
IDENTIFIER_WORDS = frozenset({"id", "pid", "uuid", "ip", "ipaddress", "reference", "token"})
CONTACT_WORDS = frozenset({"email", "mail", "name", "firstname", "lastname", "surname"})
LOCATION_WORDS = frozenset(
    {"lat", "latitude", "lon", "lng", "longitude", "location", "address", "zip", "zipcode", "postcode", "city"}
)
IDENTIFYING_WORDS = IDENTIFIER_WORDS | CONTACT_WORDS | (LOCATION_WORDS - {"location", "city"})
FREE_TEXT_WORDS = frozenset({"text", "comment", "comments", "other", "specify", "note", "notes", "feedback", "remarks"})
METADATA_WORDS = frozenset(
    {"start", "end", "date", "time", "progress", "duration", "seconds", "finished", "status", "recorded"}
    | {"distribution", "channel", "language", "timestamp", "submitted", "user", "agent", "browser", "device"}
)
RESPONDENT_WORDS = frozenset(
    {"participant", "respondent", "pid", "case", "caseid", "subject", "code", "id", "identifier"}
)
ORGANISATION_WORDS = frozenset(
    {"org", "organisation", "organization", "agency", "partner", "recruiter", "provider", "program", "programme"}
    | {"center", "centre"}
)
SELECTED_LABELS = frozenset({"yes", "selected", "checked", "chosen", "ticked"})

_INTEGER = r"[+-]?\d+"
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DATE = (
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?|\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
)
_CODE_LIST = r"\d+(?:\s*[,;|]\s*\d+)+"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_GROUP_MEMBER = re.compile(r"(.+)_(\d+)")
_PLAIN_SCALAR = re.compile(r"[A-Za-z_][A-Za-z0-9_ ().-]*")


# --------------------------------------------------------------------------------------------- words


def words(text: str) -> list[str]:
    """The words of a column name or text (see *Words* in the module documentation), in order."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=\D)(?=\d)|(?<=\d)(?=\D)", " ", text)
    found = [w.casefold() for w in re.split(r"[\W_]+", spaced) if w]
    return [w for w in found if len(w) > 1 and not w.isdigit() and w not in STOPWORDS]


def _match(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))


def _matched(these: list[str], those: set[str]) -> int:
    """How many of ``these`` words match one of ``those``."""
    return sum(any(_match(w, o) for o in those) for w in these)


def phrase(text: str) -> str:
    """An answer or category as compared (see *Words*): "Don't know" and "dont_know" → "dont know"."""
    text = re.sub(r"\([^)]*\)", " ", normalise_text(text.replace("_", " ")))
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.sub(r"[^\w\s]", "", text).split())


def _names(key: str, label: str) -> set[str]:
    """The phrases that name a category or missing code: its key and each part of its label."""
    return {phrase(key)} | {phrase(part) for part in label.split("/")} - {""}


def _lookup(answer: str, table: dict[str, str]) -> str | None:
    """The category (or missing code) of ``table`` (key → label) an answer or value label names."""
    said = phrase(answer)
    return next((key for key, label in table.items() if said in _names(key, label)), None)


# --------------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """What the export says about one raw column (values only in ``counts``, empty when withheld)."""

    position: int
    name: str
    type: str
    question: str
    labels: dict[str, str]
    rows: int
    non_blank: int
    distinct: int
    min_length: int | None
    max_length: int | None
    delimiter: str | None = None
    counts: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))  # value (or code) → count
    numbers: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))  # integers, years of dates
    addresses: str = ""  # "e-mail" or "IP" when the values are such addresses
    withheld: str = ""  # why the values are not shown ("" when they are)
    identifying: bool = False
    free_text: bool = False

    @property
    def name_words(self) -> list[str]:
        return words(self.name)

    @property
    def blank_share(self) -> float:
        return 1 - self.non_blank / self.rows if self.rows else 1.0


def profile_columns(raw: RawTable, missing_codes: dict[str, str]) -> list[Profile]:
    """A :class:`Profile` of every raw column, in file order (see *Profiling* and *Privacy*)."""
    return [_profile(raw, name, position, missing_codes) for position, name in enumerate(raw.columns, start=1)]


def _profile(raw: RawTable, name: str, position: int, missing_codes: dict[str, str]) -> Profile:
    values = raw.frame[name].astype(str)
    stripped = values.str.strip()
    filled, originals = stripped[stripped != ""], values[stripped != ""]
    lengths = filled.str.len()
    labels = dict(raw.value_labels.get(name, {}))
    name_words = set(words(name))
    kind, delimiter = _infer_type(filled, labels, missing_codes, bool(name_words & FREE_TEXT_WORDS))
    if delimiter:
        counts = filled.str.split(re.escape(delimiter), regex=True).explode().str.strip().value_counts()
    else:
        counts = originals.value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    numbers = pd.Series(dtype="float64")
    if kind in ("integer", "categorical") and not delimiter and filled.str.fullmatch(_INTEGER).all():
        labelled_missing = [code for code, label in labels.items() if _lookup(label, missing_codes) is not None]
        numbers = pd.to_numeric(filled[~filled.isin(labelled_missing)]).astype(float)
    elif kind == "date":
        numbers = pd.to_numeric(filled.str.extract(r"(\d{4})", expand=False)).astype(float)
    distinct = len(counts) if delimiter else filled.nunique()
    addresses = (
        "e-mail"
        if filled.str.fullmatch(_EMAIL).any()
        else "IP"
        if len(filled) and filled.str.fullmatch(_IPV4).all()
        else ""
    )
    many = distinct > MANY_DISTINCT and distinct > len(filled) / 2
    spaced = bool(filled.str.contains(r"\s").any())
    free_text = kind == "text" and (
        bool(name_words & FREE_TEXT_WORDS)
        or (bool(len(lengths)) and lengths.max() > LONG_TEXT and filled.nunique() > len(filled) / 2)
        or (many and spaced)
    )
    identifying = bool(name_words & IDENTIFYING_WORDS) or bool(addresses) or (kind == "text" and many and not spaced)
    withheld = next(
        (
            reason
            for reason, applies in [
                ("identifying column name", bool(name_words & IDENTIFYING_WORDS)),
                (f"{addresses} addresses", bool(addresses)),
                ("free text", free_text),
                ("dates and times", kind == "date"),
                ("many distinct values", many),
            ]
            if applies
        ),
        "",
    )
    return Profile(
        position=position,
        name=name,
        type=kind,
        question=raw.question_text.get(name, ""),
        labels=labels,
        rows=len(values),
        non_blank=len(filled),
        distinct=int(distinct),
        min_length=int(lengths.min()) if len(lengths) else None,
        max_length=int(lengths.max()) if len(lengths) else None,
        delimiter=delimiter,
        counts=counts if not withheld else pd.Series(dtype="int64"),
        numbers=numbers,
        addresses=addresses,
        withheld=withheld,
        identifying=identifying and not free_text,
        free_text=free_text,
    )


def _infer_type(
    filled: pd.Series, labels: dict[str, str], missing_codes: dict[str, str], free_text_name: bool
) -> tuple[str, str | None]:
    """The inferred type of a column's non-blank values, and the delimiter of a list of codes; short answers in a
    column whose name says free text (``race_4_TEXT``, ``comments``) stay text."""
    answer_labels = any(_lookup(label, missing_codes) is None for label in labels.values())
    if filled.empty:
        return ("categorical" if answer_labels else "text"), None
    if filled.str.fullmatch(_INTEGER).all():
        return ("categorical" if answer_labels else "integer"), None
    if filled.str.fullmatch(_NUMBER).all():
        return "number", None
    if filled.str.fullmatch(_DATE).all():
        return "date", None
    lists = filled.str.fullmatch(_CODE_LIST) | filled.str.fullmatch(r"\d+")
    if lists.all():
        used = filled.str.extract(r"\d\s*([,;|])", expand=False).dropna().unique()
        if len(used) == 1:
            return "categorical", str(used[0])
    if labels or (
        not free_text_name and filled.nunique() <= CATEGORICAL_DISTINCT and filled.str.len().max() <= LONG_TEXT
    ):
        return "categorical", None
    return "text", None


# --------------------------------------------------------------------------------------------- units and scores


@dataclass(frozen=True)
class Unit:
    """What one proposal maps: a single column, or a group of one column per option."""

    profiles: tuple[Profile, ...]
    question: str
    options: tuple[str, ...] = ()  # a group's option texts, one per member ("" when unknown)
    stem: str | None = None

    @property
    def name(self) -> str:
        return self.stem if self.stem is not None else self.profiles[0].name

    @property
    def position(self) -> int:
        return self.profiles[0].position


def build_units(profiles: list[Profile]) -> list[Unit]:
    """Groups of one column per option, and every other column on its own, in file order."""
    stems: dict[str, list[Profile]] = {}
    for p in profiles:
        member = _GROUP_MEMBER.fullmatch(p.name)
        if member and not p.withheld and p.distinct <= 2 and p.type in ("integer", "categorical", "text"):
            stems.setdefault(member.group(1), []).append(p)
    grouped = {stem: members for stem, members in stems.items() if len(members) >= 2}
    in_group = {p.name for members in grouped.values() for p in members}
    units = [Unit((p,), p.question) for p in profiles if p.name not in in_group]
    for stem, members in grouped.items():
        parts = [m.question.rpartition(" - ") for m in members]
        shared = {question for question, dash, _ in parts if dash}
        same = len(shared) == 1 and all(dash for _, dash, _ in parts)
        question = shared.pop() if same else ""
        options = tuple(option if same else "" for _, _, option in parts)
        units.append(Unit(tuple(members), question, options, stem))
    return sorted(units, key=lambda u: u.position)


@dataclass(frozen=True)
class Score:
    total: float
    text: float
    name: float
    answers: float

    def __str__(self) -> str:
        return f"score {self.total:.2f} (text {self.text:.2f}, name {self.name:.2f}, answers {self.answers:.2f})"


def eligible(unit: Unit, var: Variable) -> bool:
    """Whether a unit's type allows the variable (see *Score*)."""
    p = unit.profiles[0]
    if unit.stem is not None:
        return var.is_multi
    if p.identifying:
        return False
    if p.free_text or p.type == "text":
        return var.type == "text"
    if p.type == "date":
        return var.type == "integer" and "year" in words(var.name) + words(var.label)
    if p.withheld:
        return var.type == "integer"
    allowed = {"integer": ("integer", "single", "yesno"), "categorical": ("single", "yesno")}.get(p.type, ())
    return var.is_multi if p.delimiter else var.type in allowed


def score(unit: Unit, var: Variable, missing_codes: dict[str, str]) -> Score:
    """The unit's score as the variable's column(s): ``0.5·text + 0.25·name + 0.25·answers``."""
    label_words = words(var.label)
    question = words(unit.question)
    text = (_matched(question, set(label_words)) + _matched(label_words, set(question))) / (
        len(question) + len(label_words) or 1
    )
    name_words = words(unit.name)
    name = _matched(name_words, set(words(var.name)) | set(label_words)) / (len(name_words) or 1)
    answers = _answers_fit(unit, var, missing_codes)
    total = WEIGHTS["text"] * text + WEIGHTS["name"] * name + WEIGHTS["answers"] * answers
    return Score(round(total, 6), text, name, answers)


def _answers_fit(unit: Unit, var: Variable, missing_codes: dict[str, str]) -> float:
    p = unit.profiles[0]
    if var.type == "text":
        return float(p.free_text)
    if var.type == "integer":
        if p.numbers.empty or var.range is None:
            return float(not p.numbers.empty)
        low, high = var.range
        return float(p.numbers.between(low, high).mean())
    if unit.stem is not None:
        if any(unit.options):
            return sum(_lookup(o, var.categories) is not None for o in unit.options) / len(unit.options)
        return float(len(unit.profiles) <= len(var.categories))
    answers = _answer_texts(p, var, missing_codes)
    if answers:
        return sum(_lookup(a, var.categories) is not None for a in answers) / len(answers)
    return float(bool(_positional_codes(p, var)))


def _answer_texts(p: Profile, var: Variable, missing_codes: dict[str, str]) -> list[str]:
    """The value labels, else the non-numeric answers, of a column; those naming only a missing code left out."""
    texts = list(p.labels.values()) or [str(v) for v in p.counts.index if not re.fullmatch(_NUMBER, str(v).strip())]
    return [t for t in texts if _lookup(t, var.categories) is not None or _lookup(t, missing_codes) is None]


# --------------------------------------------------------------------------------------------- proposals


@dataclass
class Proposal:
    """A harmonised variable proposed for a unit, with its codebook entry and what is left to check."""

    variable: Variable
    unit: Unit
    score: Score
    todo: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # group member → option
    codes: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # labelled missing codes of this column
    selected: list[str] = field(default_factory=list)


def assign(units: list[Unit], variables: list[Variable], missing_codes: dict[str, str]) -> list[Proposal]:
    """Greedy one-to-one assignment of variables to units, best score first (see *Score*)."""
    order = {v.name: i for i, v in enumerate(variables)}
    scored = [(u, v, score(u, v, missing_codes)) for u in units for v in variables if eligible(u, v)]
    candidates = [c for c in scored if (c[2].text > 0 or c[2].name > 0) and c[2].total >= PROPOSE]
    candidates.sort(key=lambda c: (-c[2].total, c[0].position, order[c[1].name]))
    taken_units: set[int] = set()  # units by position (a group's is its first column's)
    taken_vars: set[str] = set()
    proposals = []
    for unit, var, s in candidates:
        if unit.position in taken_units or var.name in taken_vars:
            continue
        taken_units.add(unit.position)
        taken_vars.add(var.name)
        proposal = Proposal(var, unit, s)
        if s.total < CONFIDENT:
            proposal.todo.append(f"weak match, {s}")
        rivals = [(c[2].total, c[1].name) for c in candidates if c[0] is unit and c[1] is not var]
        rivals += [(c[2].total, f"column {c[0].name}") for c in candidates if c[1] is var and c[0] is not unit]
        close = [
            f"{who} ({total:.2f})" for total, who in sorted(rivals, key=lambda r: -r[0]) if s.total - total < MARGIN
        ]
        if close:
            proposal.todo.append(f"as likely: {', '.join(close)} against {s.total:.2f}")
        proposals.append(proposal)
    return sorted(proposals, key=lambda p: p.unit.position)


def _positional_codes(p: Profile, var: Variable) -> dict[str, str]:
    """Unlabelled whole-number codes taken in category order (1..k or 0..k-1; 0/1 of yes/no as no/yes), or {}."""
    if p.labels or p.counts.empty or not all(re.fullmatch(_INTEGER, str(c).strip()) for c in p.counts.index):
        return {}
    keys = list(var.categories)
    small = {code for code in (int(str(c).strip()) for c in p.counts.index) if 0 <= code <= len(keys)}
    if not small:
        return {}
    if var.type == "yesno" and small <= {0, 1}:
        return {"1": "yes", "0": "no"}
    if small <= set(range(1, len(keys) + 1)):
        return {str(i + 1): key for i, key in enumerate(keys)}
    if small <= set(range(len(keys))):
        return {str(i): key for i, key in enumerate(keys)}
    return {}


def complete(proposal: Proposal, missing_codes: dict[str, str]) -> None:
    """Fill in a proposal's codes, options and missing codes, adding a TODO for each guess (see *Codes*)."""
    var, unit = proposal.variable, proposal.unit
    p = unit.profiles[0]
    if unit.stem is not None:
        _group_options(proposal)
    elif var.is_categorical or var.is_multi:
        _codes(proposal, p, missing_codes)
    elif p.labels:  # an integer or text variable: only labelled missing codes are read
        for code, label in p.labels.items():
            reason = _lookup(label, missing_codes)
            if reason is not None:
                proposal.missing[code] = reason
    if var.type == "integer" and var.range is not None and not p.numbers.empty:
        outside = int((~p.numbers.between(*var.range)).sum())
        if outside:
            proposal.todo.append(
                f"{outside} value(s) outside the range {var.range[0]}–{var.range[1]} of {var.name}: missing codes,"
                " or answers cleaning will set to missing?"
            )
    if var.type != "text" and p.blank_share > 0.5 and unit.stem is None:
        proposal.todo.append(
            f"{p.blank_share:.0%} blank: if the question was asked of a subgroup only, add its ask_if (skip logic)"
        )


def _codes(proposal: Proposal, p: Profile, missing_codes: dict[str, str]) -> None:
    var = proposal.variable
    if p.labels:
        unmatched = []
        for code, label in p.labels.items():
            target = _lookup(label, var.categories)
            reason = _lookup(label, missing_codes)
            if target is not None:
                proposal.codes[code] = target
            elif reason is not None:
                proposal.missing[code] = reason
            else:
                proposal.codes[code] = "TODO"
                unmatched.append(f'"{code}" = "{label}"')
        if unmatched:
            proposal.todo.append(f"value labels naming no category of {var.name} (TODO below): {', '.join(unmatched)}")
        return
    answers = [str(v) for v in p.counts.index]
    if answers and not all(re.fullmatch(_INTEGER, a.strip()) for a in answers):
        spelling: dict[str, str] = {}
        for answer in answers:  # most frequent first: the first spelling of each normalised answer is kept
            spelling.setdefault(normalise_text(answer), answer)
        unmatched = []
        for answer in spelling.values():
            target = _lookup(answer, var.categories) or _lookup(answer, missing_codes)
            proposal.codes[answer] = target or "TODO"
            if target is None:
                unmatched.append(f'"{answer}"')
        if unmatched:
            proposal.todo.append(f"answers naming no category of {var.name} (TODO below): {', '.join(unmatched)}")
        return
    proposal.codes = _positional_codes(p, var)
    if proposal.codes:
        proposal.todo.append(
            "the export has no value labels: codes guessed in the order of the categories; check the questionnaire"
        )
    else:
        proposal.codes = {a.strip(): "TODO" for a in answers} or {"TODO": "TODO"}
        proposal.todo.append(f"map each raw code to one of: {', '.join(var.categories)}")


def flag_unmapped_codes(proposal: Proposal, missing: dict[str, str]) -> None:
    """A TODO listing the observed codes of a coded mapping that neither its codes nor a missing code read."""
    if proposal.unit.stem is not None or not proposal.codes:
        return
    read = {normalise_text(c) for c in [*proposal.codes, *proposal.missing, *missing]}
    counts = proposal.unit.profiles[0].counts
    left = [f"{code} (n = {int(n)})" for code, n in counts.items() if normalise_text(str(code)) not in read]
    if left:
        proposal.todo.append(f"observed codes not mapped: {', '.join(left)}; missing codes?")


def _group_options(proposal: Proposal) -> None:
    var, unit = proposal.variable, proposal.unit
    keys = list(var.categories)
    by_text = {m.name: _lookup(o, var.categories) if o else None for m, o in zip(unit.profiles, unit.options)}
    taken = {o for o in by_text.values() if o}
    guessed, left = [], []
    for member in unit.profiles:
        option = by_text[member.name]
        if option is None:
            number = int(_GROUP_MEMBER.fullmatch(member.name).group(2))
            candidate = keys[number - 1] if 1 <= number <= len(keys) else None
            if candidate is not None and candidate not in taken:
                option = candidate
                taken.add(option)
                guessed.append(member.name)
            else:
                option = "TODO"
                left.append(member.name)
        proposal.columns[member.name] = option
    if guessed:
        proposal.todo.append(f"options of {', '.join(guessed)} guessed from the number after the stem")
    if left:
        proposal.todo.append(f"no option found for {', '.join(left)} (TODO below): name it, or drop the column")
    values = sorted({str(v).strip() for m in unit.profiles for v in m.counts.index})
    labels = {code: label for m in unit.profiles for code, label in m.labels.items()}
    chosen = sorted(c for c, label in labels.items() if phrase(label) in SELECTED_LABELS)
    if chosen:
        proposal.selected = chosen
    elif len(values) == 1:
        proposal.selected = values
    elif values:
        proposal.selected = ["1"]
        proposal.todo.append(
            f"the columns hold {', '.join(values)}: ingest reads the 'selected' values, blanks and missing codes only"
        )
    if proposal.selected == ["1"]:
        proposal.selected = []  # the schema's default


def shared_missing(proposals: list[Proposal]) -> dict[str, str]:
    """Labelled missing codes that mean the same in every column they label, moved to the codebook's ``missing:``
    (those that do not stay with their mapping)."""
    meanings: dict[str, set[str]] = {}
    for proposal in proposals:
        for code, reason in proposal.missing.items():
            meanings.setdefault(code, set()).add(reason)
        for code in proposal.codes:
            meanings.setdefault(code, set()).add("")  # used as an answer somewhere: not a global missing code
    shared = {code: next(iter(r)) for code, r in meanings.items() if len(r) == 1 and "" not in r}
    for proposal in proposals:
        proposal.missing = {c: r for c, r in proposal.missing.items() if c not in shared}
    return dict(sorted(shared.items(), key=lambda item: _code_order(item[0])))


def _code_order(code: str) -> tuple:
    return (0, int(code), "") if re.fullmatch(r"[+-]?\d+", code) else (1, 0, code)


# --------------------------------------------------------------------------------------------- id, organisation, drops


@dataclass(frozen=True)
class Choice:
    """The column proposed as respondent id or organisation (``None``: none found), and why it is unsure."""

    column: str | None
    todo: str = ""


def _mentions(p: Profile, vocabulary: frozenset[str]) -> tuple[bool, bool]:
    """Whether the column's name, and its question text, hold a word of ``vocabulary`` (the very word: these
    short lists spell out their abbreviations, and a prefix would let "part" stand for "partner")."""
    return bool(set(p.name_words) & vocabulary), bool(set(words(p.question)) & vocabulary)


def choose_respondent_id(profiles: list[Profile]) -> Choice:
    """The column of respondent ids (see *Respondent id and organisation*)."""
    unique = [
        p
        for p in profiles
        if p.non_blank
        and p.distinct >= ID_DISTINCT_SHARE * p.non_blank
        and p.blank_share <= 1 - ID_DISTINCT_SHARE
        and p.type not in ("date", "number")
        and not p.free_text
        and any(_mentions(p, RESPONDENT_WORDS))
    ]
    if not unique:
        return Choice(None, "no column of respondent ids found: name the column that identifies each respondent")
    best = min(unique, key=lambda p: (p.name in PLATFORM_COLUMNS, not _mentions(p, RESPONDENT_WORDS)[0], p.position))
    if best.name in PLATFORM_COLUMNS:
        return Choice(best.name, "the platform's response id: use the respondent's own code if the export has one")
    return Choice(best.name)


def choose_organisation(profiles: list[Profile], respondent_id: str | None) -> Choice:
    """The column of recruiting organisations (see *Respondent id and organisation*)."""
    found = [
        p
        for p in profiles
        if p.name != respondent_id
        and p.non_blank
        and not p.withheld
        and p.type in ("integer", "categorical")
        and not p.delimiter
        and p.distinct <= p.non_blank / 2
        and any(_mentions(p, ORGANISATION_WORDS))
    ]
    if not found:
        return Choice(None, "no column of organisations found: name the column of the recruiting organisation")
    return Choice(min(found, key=lambda p: (not _mentions(p, ORGANISATION_WORDS)[0], p.position)).name)


def drop_reason(p: Profile) -> tuple[str, bool]:
    """A dropped column's guessed reason, and whether the drop is confident (see *Drops*)."""
    name_words = set(p.name_words)
    if name_words & IDENTIFIER_WORDS or p.addresses == "IP":
        reason = "identifier"
    elif name_words & CONTACT_WORDS or p.addresses == "e-mail":
        reason = "contact"
    elif name_words & LOCATION_WORDS:
        reason = "location"
    elif p.identifying:
        reason = "identifier"
    elif p.type == "date" or name_words & METADATA_WORDS:
        reason = "metadata"
    elif p.free_text:
        reason = "free text"
    else:
        reason = "unused"
    return reason, p.name in PLATFORM_DROPS or bool(p.addresses)


# --------------------------------------------------------------------------------------------- the draft


@dataclass(frozen=True)
class Draft:
    """A drafted codebook and the description of the export it was drafted from."""

    wave: str
    raw: RawTable
    codebook: str  # YAML text
    columns: pd.DataFrame  # the description, one row per raw column
    mapped: int  # columns proposed without a TODO (variables, respondent id, organisation)
    dropped: int  # columns dropped confidently
    review: int  # columns whose proposal or drop carries a TODO
    unmapped: tuple[str, ...]  # harmonised variables no column was proposed for


def check_wave_id(wave: str) -> None:
    """A wave id the wave sheet will accept (its schema is the one rule): it names files
    (``config/codebooks/{wave}.yaml``, so it can never point outside the directory it is written to), scopes and
    test ids."""
    try:
        validate(wave, "waves", pointer="/properties/wave")
    except ConfigError as exc:
        raise ConfigError(f"'{wave}' is not a usable wave id", value=wave, expected=exc.expected) from None


OPEN_FIELDING = (1900, 2100)  # fielding years that leave calendar-bound ranges open


def draft_codebook(
    raw_path: str | Path, wave: str, variables: VariableSet, fielding: tuple[int, int] | None = None
) -> Draft:
    """Read a raw export and draft the codebook of ``wave`` for it (see the module documentation). The variables
    are seen as the wave sees them: with its fielding years (``fielding``) as the ends of the ranges that move
    with the calendar, or those ends left open when they are not known yet."""
    check_wave_id(wave)
    variables = variables.for_waves({wave: fielding or OPEN_FIELDING})
    raw = read_raw(raw_path)
    profiles = profile_columns(raw, variables.missing_codes)
    respondent = choose_respondent_id(profiles)
    organisation = choose_organisation(profiles, respondent.column)
    if respondent.column is not None:  # the respondent id is never shown
        profiles = [p if p.name != respondent.column or p.withheld else _withhold(p, "respondent id") for p in profiles]
    candidates = [v for v in variables.variables.values() if not v.derive and (v.waves is None or wave in v.waves)]
    units = build_units([p for p in profiles if p.name not in (respondent.column, organisation.column)])
    proposals = assign(units, candidates, variables.missing_codes)
    for proposal in proposals:
        complete(proposal, variables.missing_codes)
    missing = shared_missing(proposals)
    for proposal in proposals:
        flag_unmapped_codes(proposal, missing)
    used = {m.name for p in proposals for m in p.unit.profiles}
    drops = {p.name: drop_reason(p) for p in profiles if p.name not in used | {respondent.column, organisation.column}}
    proposed = {p.variable.name for p in proposals}
    unmapped = tuple(v.name for v in candidates if v.name not in proposed)
    org_profile = next((p for p in profiles if p.name == organisation.column), None)
    text = render(raw, wave, respondent, organisation, org_profile, missing, proposals, drops, unmapped)
    decisions = _decisions(respondent, organisation, proposals, drops)
    settled = [kind for kind, _, todo in decisions.values() if not todo]
    return Draft(
        wave=wave,
        raw=raw,
        codebook=text,
        columns=describe(profiles, decisions),
        mapped=settled.count("mapped"),
        dropped=settled.count("dropped"),
        review=len(decisions) - len(settled),
        unmapped=unmapped,
    )


def _withhold(p: Profile, reason: str) -> Profile:
    return replace(p, withheld=reason, counts=pd.Series(dtype="int64"))


def _decisions(
    respondent: Choice, organisation: Choice, proposals: list[Proposal], drops: dict[str, tuple[str, bool]]
) -> dict[str, tuple[str, str, str]]:
    """Each raw column's decision: mapped or dropped, the proposal as the description shows it, and its TODO
    ("" when confident)."""
    out = {}
    if respondent.column is not None:
        out[respondent.column] = ("mapped", "respondent_id", respondent.todo)
    if organisation.column is not None:
        out[organisation.column] = ("mapped", "organisation", organisation.todo)
    for p in proposals:
        todo = "; ".join(p.todo)
        if p.unit.stem is None:
            out[p.unit.name] = ("mapped", f"{p.variable.name} ({p.score.total:.2f})", todo)
        for column, option in p.columns.items():
            out[column] = ("mapped", f"{p.variable.name}: {option} ({p.score.total:.2f})", todo)
    for column, (reason, confident) in drops.items():
        out[column] = ("dropped", f"drop: {reason}", "" if confident else "review")
    return out


# --------------------------------------------------------------------------------------------- outputs


def describe(profiles: list[Profile], decisions: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    """The description of every raw column, in file order: what the file says, counts, the observed values (when
    not withheld) and the draft's proposal."""
    rows = []
    for p in profiles:
        shown = [f"{json.dumps(str(v), ensure_ascii=False)} ({int(n)})" for v, n in p.counts.head(SHOWN_VALUES).items()]
        if len(p.counts) > SHOWN_VALUES:
            shown.append(f"… {len(p.counts) - SHOWN_VALUES} more")
        _, proposal, todo = decisions[p.name]
        labels = "; ".join(f"{code} = {label}" for code, label in p.labels.items())
        rows.append(
            {
                "position": p.position,
                "column": p.name,
                "type": p.type,
                "delimiter": p.delimiter or "",
                "question_text": p.question,
                "value_labels": "" if p.withheld else labels,
                "non_blank": p.non_blank,
                "blank_share": round(p.blank_share, 4),
                "distinct": p.distinct,
                "min_length": p.min_length,
                "max_length": p.max_length,
                "values": "; ".join(shown),
                "withheld": p.withheld,
                "proposal": proposal,
                "todo": todo,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("min_length", "max_length"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _yaml(value: str) -> str:
    """A string as a YAML scalar: plain when YAML reads it back as the same string, else double-quoted."""
    if _PLAIN_SCALAR.fullmatch(value) and value == value.strip() and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _key(code: str) -> str:
    """A raw code as a mapping key: always quoted, as the project's codebooks write them."""
    return json.dumps(code, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


def render(
    raw: RawTable,
    wave: str,
    respondent: Choice,
    organisation: Choice,
    org_profile: Profile | None,
    missing: dict[str, str],
    proposals: list[Proposal],
    drops: dict[str, tuple[str, bool]],
    unmapped: tuple[str, ...],
) -> str:
    """The draft codebook as YAML text (see *Outputs*)."""
    details = ", ".join(filter(None, [f"{raw.layout} layout", raw.encoding, f"sheet {raw.sheet}" if raw.sheet else ""]))
    header = (
        f"DRAFT codebook of {wave}, written by `survey-audit new-wave` from {raw.path.name} ({details}; {len(raw)}"
        f" responses, {len(raw.columns)} columns). Its proposals match column names, question text and value labels"
        " against the harmonised variables (method: survey_audit.tools.new_wave). Review every TODO before use."
        " Schema: workflow/schemas/codebook.schema.yaml."
    )
    lines = [f"# {line}" for line in textwrap.wrap(header, width=110)]
    lines += [
        f"wave: {_yaml(wave)}",
        f'description: "TODO: describe {wave} (fielding years, organisations, states, export)"',
        "file:",
        f"  layout: {raw.layout}",
        "  encoding: auto",
    ]
    if raw.delimiter is not None:
        lines.append("  delimiter: auto")
    if raw.sheet is not None:
        lines.append(f"  sheet: {_yaml(raw.sheet)}")
    lines.append(_with_todo(f"respondent_id: {_yaml(respondent.column or 'TODO')}", respondent.todo))
    lines += ["organisation:", _with_todo(f"  column: {_yaml(organisation.column or 'TODO')}", organisation.todo)]
    lines += _organisation_codes(org_profile)
    if missing:
        lines.append("missing:")
        lines += [f"  {_key(code)}: {_yaml(reason)}" for code, reason in missing.items()]
    else:
        lines.append('# TODO: missing codes (e.g. "98": dont_know) for the whole file: no value label names one')
    lines.append("variables:" if proposals else "variables: {}")
    for p in proposals:
        lines += _mapping_lines(p)
    if unmapped:
        todo = f"TODO: no raw column proposed for: {', '.join(unmapped)}"
        lines += [f"  # {line}" for line in textwrap.wrap(todo, width=110)]
    lines.append("drop:" if drops else "drop: {}")
    for column, (reason, confident) in drops.items():
        lines.append(_with_todo(f"  {_yaml(column)}: {_yaml(reason)}", "" if confident else "review"))
    lines.append("# TODO: cleaning rules (eligibility, inconsistent answers): see config/codebooks/wave2.yaml")
    return "\n".join(lines) + "\n"


def _with_todo(line: str, todo: str) -> str:
    return f"{line}  # TODO: {_comment(todo)}" if todo else line


def _organisation_codes(p: Profile | None) -> list[str]:
    """The organisation's codes: each observed value (one per normalised spelling), its label as a comment."""
    if p is None or p.counts.empty:
        return ["  codes:", '    "TODO": {region: TODO}']
    spelling: dict[str, str] = {}
    for code in p.counts.index:
        spelling.setdefault(normalise_text(str(code)), str(code).strip())
    codes = sorted(spelling.values(), key=_code_order)
    lines = ["  codes:  # TODO: the region (design stratum) and state of each organisation"]
    for code in codes:
        label = p.labels.get(code)
        lines.append(f"    {_key(code)}: {{region: TODO}}" + (f"  # {_comment(label)}" if label else ""))
    return lines


def _mapping_lines(p: Proposal) -> list[str]:
    """One variable's mapping: its score, its TODOs, then the codebook keys (the question text as a comment)."""
    unit = p.unit
    lines = [f"  {_yaml(p.variable.name)}:  # {p.score}"]
    lines += [f"    # TODO: {_comment(todo)}" for todo in p.todo]
    question = f'  # "{_comment(unit.question)}"' if unit.question else ""
    if unit.stem is None:
        lines.append(f"    column: {_yaml(unit.name)}{question}")
    else:
        lines.append(f"    columns:{question}")
        lines += [f"      {_yaml(column)}: {_yaml(option)}" for column, option in p.columns.items()]
    if p.selected:
        lines.append("    selected: [" + ", ".join(_key(s) for s in p.selected) + "]")
    if unit.profiles[0].delimiter and unit.stem is None:
        lines.append(f"    delimiter: {_key(unit.profiles[0].delimiter)}")
    if unit.profiles[0].type == "date":
        lines.append("    parse: year")
    for key, table in (("codes", p.codes), ("missing", p.missing)):
        if table:
            lines.append(f"    {key}:")
            lines += [f"      {_key(code)}: {_yaml(target)}" for code, target in table.items()]
    return lines


def summary(draft: Draft) -> str:
    """A readable summary of the description: one line per raw column (never a value), then the counts."""
    c = draft.columns
    raw = draft.raw
    width = max(6, int(c["column"].str.len().max()))
    lines = [
        f"{draft.wave}: {len(raw)} responses, {len(raw.columns)} columns in {raw.path.name} ({raw.layout} layout)",
        f"{'pos':>4}  {'column':<{width}}  {'type':<15}  {'blank':>6}  {'distinct':>8}  proposal",
    ]
    for row in c.itertuples(index=False):
        kind = row.type + (f" '{row.delimiter}'" if row.delimiter else "")
        note = f"  [values withheld: {row.withheld}]" if row.withheld else ""
        todo = "  TODO" if row.todo else ""
        lines.append(
            f"{row.position:>4}  {row.column:<{width}}  {kind:<15}  {row.blank_share:>6.1%}  {row.distinct:>8}"
            f"  {row.proposal}{todo}{note}"
        )
    if draft.unmapped:
        lines.append(f"no column proposed for: {', '.join(draft.unmapped)}")
    return "\n".join(lines) + "\n"
