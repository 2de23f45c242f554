"""The HTML report a reviewer opens in a browser or prints: the audit of every published number first, then
each chapter's tables and figures, the tests, the weighting, the cleaning flow and the disclosure control.

One self-contained file (``results/report/index.html``): styles inline, figures as inline SVG, no scripts, no
network. It is written deterministically, so it can be hashed like any table: the same inputs, configuration
and code give the same bytes.

* **Header**: the release the results are (the newest release under ``results/releases/`` whose recorded
  hashes of the tables, tests and audit equal those read here; none if they differ from every release), the
  git commit of the code (and whether tracked files had uncommitted changes), the configuration's hash (as the
  manifest computes it) and the run's date, which is the *commit's* date, not the clock's: a rerun of the same
  commit writes the same bytes. The report job reruns whenever its inputs or its code change, so the commit it
  names has the code that wrote it.
* **Words, not codes**: categories, options and by-values carry their labels from the harmonised variables
  (``config/variables.yaml``; the missing codes' labels for a code such as ``dont_know``), flags are spelled out
  (:data:`survey_audit.stages.conventions.FLAGS`), and a legend gives the flags, the interval methods and the
  verdicts.
* **The audit** answers each entry in one row (printed, recomputed with its count, interval, difference in
  points, verdict, flags, table link), grouped by report and chapter (the registry's ``section``), and one dot
  plot per chapter sets each printed percentage against the recomputed one with its interval.
* **Figures**: every table a registry entry cites as a printed *Figure* is drawn as small multiples, one panel
  per wave (or pool), one colour per by-value (the same in every panel), with the intervals as bars and the
  printed values marked where the registry transcribes them.
* **Tests** are grouped in collapsible sections (``<details>``): the claims family first, then one per table;
  numbers with 3 significant digits.
* **Print**: an ``@media print`` sheet sizes every table to the page (long words wrap), breaks tables between
  rows only, repeats their headers, and opens every collapsed section.

The report reads only the public outputs (disclosure control applied): a number not printed for disclosure
control shows as ``[c]`` (confidential, the symbol of the UK Government Statistical Service's guidance), and no
interval or bar is drawn for it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from .. import __version__, formats
from ..config.loading import load_yaml
from ..config.registry import Registry, load_registry
from ..config.variables import VariableSet, load_variables
from ..provenance import read_bytes, sha256_bytes
from .conventions import CI_METHOD_TEXT, FLAGS, MEAN_COLUMNS, PROPORTION_COLUMNS, flag_labels
from .figures import INTERVAL, PALETTE, Mark, dot_rows, small_multiples

VERDICT_CLASS = {
    "reproduced": "good",
    "holds": "good",
    "differs": "bad",
    "fails": "bad",
    "not computable": "warn",
    "not transcribed": "muted",
}
VERDICT_TEXT = {
    "reproduced": "the recomputed value, rounded as printed, equals the printed value",
    "differs": "it does not, under either rounding convention",
    "holds": "a qualitative claim, in its checkable form, holds on the recomputed table or test",
    "fails": "it does not",
    "not computable": "no table cell or test can check it (the note says why)",
    "not transcribed": "the printed value is not public, or not yet entered in the registry",
}
MARGIN_NUMBERS = ["n", "unweighted_share", "target_share", "target", "achieved", "difference"]
FIGURE = re.compile(r"Figure \d+")
CONFIDENTIAL = "[c]"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:2px solid #d8dee6;padding-bottom:.2rem}
h3{margin-top:1.6rem;font-size:1.05rem}
.banner{background:#8a1c1c;color:#fff;padding:.8rem 1.5rem;font-weight:600}
.banner span{font-weight:400}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.86rem;background:#fff;max-width:100%}
th,td{border:1px solid #d8dee6;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.group th{background:#dde3ea;text-align:left}
table.audit{width:100%;table-layout:fixed}
.good{color:#11683a;font-weight:600}.bad{color:#a01919;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.muted{color:#6b7480}.small{font-size:.8rem;color:#4b5563}.flag{color:#8a5a00}
nav a{margin-right:.8rem}figure{margin:.5rem 0 1.2rem}figcaption{font-size:.85rem;color:#4b5563}
figure svg{max-width:100%;height:auto}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.9rem}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
@page{size:A4 landscape;margin:10mm}
@media print{
body{background:#fff;font-size:9pt}
main{max-width:none;padding:0}
nav{display:none}
.banner{background:none;color:#8a1c1c;border:2px solid #8a1c1c;padding:.3rem .5rem}
table{width:100%;font-size:7pt;max-width:100%}
th,td{padding:.1rem .25rem;overflow-wrap:anywhere}
table.audit td.num{white-space:normal}
thead{display:table-header-group}
tr,figure,svg,.dotplot{break-inside:avoid}
figure svg{max-height:175mm}
h2,h3,summary{break-after:avoid}
details::details-content{content-visibility:visible;display:contents}
summary{list-style:none}
a{color:inherit;text-decoration:none}
}
"""


def _e(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _table(
    frame: pd.DataFrame, numeric: set[str] = frozenset(), classes: dict[str, dict[str, str]] | None = None
) -> str:
    classes = classes or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            css = []
            if column in numeric:
                css.append("num")
            if column in classes and str(value) in classes[column]:
                css.append(classes[column][str(value)])
            attr = f' class="{" ".join(css)}"' if css else ""
            cells.append(f"<td{attr}>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def sig(value, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (empty for a missing one; ``inf`` as written)."""
    if value is None or value == "" or pd.isna(value):
        return ""
    return f"{float(value):.{digits}g}"


def _fmt_pct(value) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}%"


def _count(values: pd.Series, hidden: pd.Series) -> list[str]:
    """Counts as printed: a suppressed one as ``[c]``."""
    return [CONFIDENTIAL if h else "" if pd.isna(v) else str(int(v)) for v, h in zip(values, hidden)]


def _share(values: pd.Series) -> pd.Series:
    """Shares as percentages: a withheld one as ``[c]``."""
    return values.map(lambda v: CONFIDENTIAL if pd.isna(v) else f"{100 * v:.1f}%")


def _suppressed(cells: pd.DataFrame) -> pd.Series:
    return cells["flags"].fillna("").str.split(";").map(lambda flags: "suppressed" in flags)


class Labels:
    """Words for the codes of the outputs: variables' labels, categories' and options' labels (a missing code's
    label where a variable lists one as a category), and flags in words."""

    def __init__(self, variables: VariableSet | None = None, small_base: int | str = "tabulation.small_base"):
        self.variables = variables
        self.small_base = small_base

    def variable(self, name: str) -> str:
        return self.variables.label(name) if self.variables is not None else name

    def category(self, variable: str, code: str) -> str:
        return self.variables.category_label(variable, code) if self.variables is not None else code

    def flags(self, flags: str) -> str:
        return "; ".join(flag_labels(flags or "", self.small_base))


def _cell_view(cells: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """The columns a reader needs, formatted: the estimate, its interval and method, n and base, flags."""
    view = pd.DataFrame({"wave": cells["wave"]})
    if (cells["by_value"] != "all").any():
        by = cells["by"].iloc[0] or "by"
        view[labels.variable(by)] = [labels.category(by, v) for v in cells["by_value"]]
    view["category"] = [labels.category(v, c) for v, c in zip(cells["variable"], cells["category"])]
    estimate = "mean" if "mean" in cells else "pct" if "pct" in cells else None
    suppressed = _suppressed(cells)
    if estimate:
        hidden = suppressed & cells[estimate].isna()
        shown = cells[estimate].map(
            (lambda v: "" if pd.isna(v) else f"{float(v):.2f}") if estimate == "mean" else _fmt_pct
        )
        view["mean" if estimate == "mean" else "percent"] = shown.mask(hidden, CONFIDENTIAL)
        view["95% CI"] = [
            "" if pd.isna(lo) else f"{float(lo):.1f}–{float(hi):.1f}"
            for lo, hi in zip(cells[f"{estimate}_ci_low"], cells[f"{estimate}_ci_high"])
        ]
        view["CI method"] = cells["ci_method"]
    view["n"] = _count(cells["n"], suppressed & cells["n"].isna())
    view["base"] = _count(cells["base_n"], suppressed & cells["base_n"].isna())
    if (cells["weighting"] != "unweighted").any():
        view["weighting"] = cells["weighting"]
    view["flags"] = [labels.flags(f) for f in cells["flags"].fillna("")]
    return view


def _scopes(waves) -> list[str]:
    """Waves in order, then pools."""
    return sorted(dict.fromkeys(waves), key=lambda w: ("+" in w, w))


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)


def figure_svg(
    cells: pd.DataFrame,
    title: str,
    labels: Labels | None = None,
    printed: dict[tuple[str, str, str], float] | None = None,
) -> str:
    """Small multiples of a table's percentages: one panel per wave (or pool), categories down the side, one bar
    per by-value in a colour of its own (the same in every panel), the confidence interval as a line across each
    bar, and a white diamond where the report printed the value (``printed``: (wave, by_value, category) →
    percent). A withheld percentage draws no bar and no interval, only ``[c]``. Every text is drawn as written:
    a title with dollar signs is a title about money, not TeX (:mod:`survey_audit.stages.figures` writes the
    SVG's text elements itself)."""
    labels = labels or Labels()
    printed = printed or {}
    data = cells[cells["weighting"] == "unweighted"]
    waves = _scopes(data["wave"])
    by_values = list(dict.fromkeys(data["by_value"]))
    categories = list(dict.fromkeys(data["category"]))
    place = [{name: i for i, name in enumerate(names)} for names in (waves, by_values, categories)]
    variable = data["variable"].iloc[0] if len(data) else ""
    by = data["by"].iloc[0] if len(data) and data["by"].iloc[0] else ""
    marks = {}
    for row in data.itertuples(index=False):
        withheld = pd.isna(row.pct) and "suppressed" in str(row.flags).split(";")
        key = (place[0][row.wave], place[1][row.by_value], place[2][row.category])
        marks[key] = Mark(
            value=_number(row.pct),
            low=_number(row.pct_ci_low),
            high=_number(row.pct_ci_high),
            printed=printed.get((row.wave, row.by_value, row.category)),
            note=CONFIDENTIAL if withheld else "",
        )
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(by_values))]
    legend = [("bar", c, labels.category(by, b) if by else "percentage") for b, c in zip(by_values, colours)]
    legend.append(("interval", INTERVAL, "95% CI"))
    if printed:
        legend.append(("printed", "", "printed in the report"))
    return small_multiples(
        title,
        waves,
        [labels.category(variable, c) for c in categories],
        colours,
        marks,
        legend,
        legend_title=labels.variable(by) if by else "",
    )


def dotplot_svg(points: pd.DataFrame, title: str) -> str:
    """Printed against recomputed percentages of one chapter: a row per entry, the recomputed value as a dot with
    its interval, the printed value as a white diamond. A withheld recomputed value draws nothing but ``[c]``."""
    rows = [
        (
            row.label,
            Mark(
                value=_number(row.recomputed),
                low=_number(row.ci_low),
                high=_number(row.ci_high),
                printed=_number(row.printed_value),
                note=CONFIDENTIAL if pd.isna(row.recomputed) else "",
            ),
        )
        for row in points.itertuples(index=False)
    ]
    legend = [("dot", PALETTE[0], "recomputed, with 95% CI"), ("printed", "", "printed")]
    return dot_rows(title, rows, legend)


def build_report(
    *,
    tables: dict[str, pd.DataFrame],
    titles: dict[str, tuple[str, str]],
    chapters: dict[str, str],
    tests: pd.DataFrame,
    audit: pd.DataFrame,
    flows: dict[str, pd.DataFrame],
    logs: dict[str, pd.DataFrame],
    synthetic: bool,
    code_version: str,
    weighting: dict[str, tuple[dict, pd.DataFrame]] | None = None,
    disclosure: str = "",
    labels: Labels | None = None,
    registries: list[Registry] = (),
    provenance: dict[str, str] | None = None,
    coverage: tuple[pd.DataFrame, str, str] | None = None,
) -> str:
    """The report's HTML. ``titles`` maps a table id to (chapter, title); ``chapters`` a chapter id to its title;
    ``provenance`` the header's release, commit, config hash and date; ``coverage`` the coverage study's summary,
    its figure (SVG text) and the configured interval method."""
    labels = labels or Labels()
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>survey-audit report</title>'
        f"<style>{STYLE}</style></head><body>",
        _header(synthetic, code_version, titles, chapters, provenance or {}),
        _legend(labels),
        _audit_section(audit, registries),
        *(
            _chapter_section(chapter, chapters[chapter], tables, titles, labels, registries)
            for chapter in _chapters(titles, chapters)
        ),
        _tests_section(tests, labels, {t: title for t, (_, title) in titles.items()}),
        _methods_section(coverage),
        _weighting_section(weighting or {}),
        _cleaning_section(flows, logs),
        _disclosure_section(disclosure),
        "</main></body></html>\n",
    ]
    return "".join(parts)


def _header(synthetic: bool, code_version: str, titles: dict, chapters: dict, provenance: dict[str, str]) -> str:
    parts = []
    if synthetic:
        parts.append(
            '<div class="banner">SYNTHETIC DATA <span>— every number below is computed from the generated stand-in '
            "for the confidential survey. The audit verdicts check the pipeline, not the reports.</span></div>"
        )
    parts.append("<main><h1>Survivor surveys: recomputed statistics and audit of the published numbers</h1>")
    meta = {"code": f"survey-audit {code_version}", **provenance}
    parts.append('<dl class="meta">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta.items()) + "</dl>")
    parts.append(
        '<p class="small">Tables, tests and this report are written deterministically; '
        "<code>results/manifest.json</code> gives the sha256 of every file and what produced it.</p>"
    )
    nav = ['<a href="#legend">Legend</a>', '<a href="#audit">Audit</a>'] + [
        f'<a href="#{c}">{_e(chapters[c])}</a>' for c in _chapters(titles, chapters)
    ]
    nav += ['<a href="#tests">Tests</a>', '<a href="#methods">Methods</a>', '<a href="#weighting">Weighting</a>']
    nav += ['<a href="#cleaning">Cleaning</a>']
    nav += ['<a href="#disclosure">Disclosure control</a>']
    parts.append("<nav>" + "".join(nav) + "</nav>")
    return "".join(parts)


def _legend(labels: Labels) -> str:
    def rows(items) -> str:
        return "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in items)

    flags = [(label.format(small_base=labels.small_base), text) for label, text in FLAGS.values()]
    return (
        '<h2 id="legend">Legend</h2><details open><summary>Verdicts, flags, interval methods, symbols</summary>'
        '<table class="legend"><thead><tr><th>verdict</th><th>meaning</th></tr></thead><tbody>'
        + rows(VERDICT_TEXT.items())
        + "</tbody></table>"
        '<table class="legend"><thead><tr><th>flag</th><th>meaning</th></tr></thead><tbody>'
        + rows(flags)
        + "</tbody></table>"
        '<table class="legend"><thead><tr><th>interval method</th><th>meaning</th></tr></thead><tbody>'
        + rows(CI_METHOD_TEXT.items())
        + "</tbody></table>"
        f'<p class="small"><b>{CONFIDENTIAL}</b>: a number withheld by disclosure control (no interval or bar is '
        "drawn for it). ◇ in a figure: the value the report printed. Percentages show the unweighted numerator and "
        "base; differences are in percentage points; test statistics and p-values have 3 significant digits.</p>"
        "</details>"
    )


AUDIT_HEAD = [
    ("entry", "18%"),
    ("printed", "8%"),
    ("recomputed (n/base)", "10%"),
    ("95% CI", "8%"),
    ("difference", "7%"),
    ("verdict", "9%"),
    ("flags", "9%"),
    ("table", "10%"),
    ("checks and notes", "21%"),
]


def _audit_row(r) -> str:
    anchor = (
        f'<a href="#table-{_e(r.table_id)}">{_e(r.table_id)}</a>'
        if r.table_id and ":" not in r.table_id
        else _e(r.table_id)
    )
    withheld = "cell suppressed" in str(r.flags)
    recomputed = _e(r.recomputed_display) or (CONFIDENTIAL if withheld else "")
    ci = "" if r.ci_low == "" else f"{float(r.ci_low):.1f}–{float(r.ci_high):.1f}"
    ci = CONFIDENTIAL if withheld and r.ci_method else ci
    method = f'<div class="small">{_e(r.ci_method)}</div>' if r.ci_method else ""
    difference = "" if r.difference == "" else f"{float(r.difference):+.2f}"
    notes = "; ".join(x for x in (r.checks, r.note) if x)
    return (
        f'<tr><td><b>{_e(r.entry_id)}</b><div class="small">{_e(r.wording)}</div></td>'
        f"<td>{_e(r.printed) or '<span class=muted>(claim)</span>'}</td>"
        f'<td class="num">{recomputed}</td><td class="num">{ci}{method}</td><td class="num">{difference}</td>'
        f'<td class="{VERDICT_CLASS.get(r.verdict, "")}">{_e(r.verdict)}'
        f'<div class="small">{_e(r.reliability)}</div></td>'
        f'<td class="flag">{_e(r.flags)}</td>'
        f'<td>{anchor}<div class="small">{_e(r.figure)}</div></td><td class="small">{_e(notes)}</td></tr>'
    )


def _audit_section(audit: pd.DataFrame, registries: list[Registry]) -> str:
    parts = ['<h2 id="audit">Audit of the published numbers</h2>']
    parts.append(
        '<p class="small">Each number the reports printed, recomputed from the tables below and rounded as printed, '
        "in one row: the printed value, the recomputed one with its count, its 95% interval and method, the "
        "difference in percentage points, the verdict (see the legend), the flags of the cell it rests on (a flag "
        "never changes the verdict; it says how far the recomputed value can be trusted) and the table. "
        "Reliability says how sure the attribution is: primary (the report or its publisher), secondary (cited "
        "by others), disputed (contradicts a primary source).</p>"
    )
    tally = audit.groupby(["report", "verdict"]).size().unstack(fill_value=0)
    tally = tally[[v for v in VERDICT_CLASS if v in tally.columns]]
    parts.append('<div class="tally">' + _table(tally.reset_index(), numeric=set(tally.columns)) + "</div>")
    parts.append(_dotplots(audit, registries))
    shown = audit[audit["verdict"] != "not transcribed"]
    colgroup = "<colgroup>" + "".join(f'<col style="width:{w}">' for _, w in AUDIT_HEAD) + "</colgroup>"
    head = "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h, _ in AUDIT_HEAD) + "</tr></thead>"
    body = []
    for (report, section), part in shown.groupby(["report", "section"], sort=False):
        body.append(f'<tr class="group"><th colspan="{len(AUDIT_HEAD)}">{_e(report)}: {_e(section)}</th></tr>')
        body.extend(_audit_row(r) for r in part.itertuples(index=False))
    parts.append(f'<table class="audit" id="audit-table">{colgroup}{head}<tbody>{"".join(body)}</tbody></table>')
    hidden = audit[audit["verdict"] == "not transcribed"]
    if len(hidden):
        parts.append(
            f'<p class="small">{len(hidden)} further entries are figures whose values are not public '
            "(not transcribed); their recomputed values are in the tables below.</p>"
        )
    return "".join(parts)


def _dotplots(audit: pd.DataFrame, registries: list[Registry]) -> str:
    """One printed-versus-recomputed dot plot per report chapter (the registry's sections, in their order), of
    the entries that printed a percentage."""
    values = {e["id"]: e for r in registries for e in r.entries}
    rows = []
    for r in audit.itertuples(index=False):
        entry = values.get(r.entry_id)
        if entry is None or entry["claim"]["type"] != "percentage" or entry["value"] is None:
            continue
        rows.append(
            {
                "report": r.report,
                "section": r.section,
                "label": f"{r.entry_id} ({r.wave})",
                "printed_value": float(entry["value"]),
                "recomputed": float(r.recomputed) if r.recomputed != "" else None,
                "ci_low": float(r.ci_low) if r.ci_low != "" else None,
                "ci_high": float(r.ci_high) if r.ci_high != "" else None,
            }
        )
    if not rows:
        return ""
    frame = pd.DataFrame(rows).astype({"recomputed": float, "ci_low": float, "ci_high": float})
    parts = ["<h3>Printed against recomputed, by chapter</h3>"]
    for (report, section), part in frame.groupby(["report", "section"], sort=False):
        title = f"{report}: {section}"
        parts.append(
            f'<figure class="dotplot">{dotplot_svg(part.reset_index(drop=True), title)}'
            f"<figcaption>{_e(title)}: each printed percentage (◇) and the recomputed one with its 95% "
            "interval.</figcaption></figure>"
        )
    return "".join(parts)


def _printed_values(registries: list[Registry], table_id: str) -> dict[tuple[str, str, str], float]:
    """The percentages the reports printed for a table's unweighted cells, where the registry transcribes them."""
    return {
        (e["cell"]["wave"], e["cell"]["by_value"], e["cell"]["category"]): float(e["value"])
        for r in registries
        for e in r.entries
        if e.get("cell")
        and e["cell"]["table"] == table_id
        and e["cell"].get("category")
        and e["cell"]["weighting"] == "unweighted"
        and e["claim"]["type"] == "percentage"
        and e["value"] is not None
    }


def figure_captions(registries: list[Registry]) -> dict[str, str]:
    """The tables the reports printed as figures (a registry entry cites a *Figure* and the table's cell), with
    the figures' names: the report and figure numbers."""
    cited: dict[str, list[str]] = {}
    for registry in registries:
        for entry in registry.entries:
            if not entry.get("cell"):
                continue
            for figure in FIGURE.findall(entry.get("figure") or ""):
                name = f"{figure} ({registry.report})"
                names = cited.setdefault(entry["cell"]["table"], [])
                if name not in names:
                    names.append(name)
    return {table: ", ".join(names) for table, names in cited.items()}


def _chapter_section(
    chapter: str, title: str, tables: dict[str, pd.DataFrame], titles: dict, labels: Labels, registries
) -> str:
    parts = [f'<h2 id="{chapter}">{_e(title)}</h2>']
    figures = figure_captions(registries)
    for table_id, (table_chapter, table_title) in titles.items():
        if table_chapter != chapter or table_id not in tables:
            continue
        cells = tables[table_id]
        parts.append(f'<h3 id="table-{table_id}">{_e(table_title)} <span class="small">({table_id})</span></h3>')
        if table_id in figures and "pct" in cells:
            printed = _printed_values(registries, table_id)
            caption = f"{figures[table_id]}, recomputed: one panel per wave; bars are percentages, lines 95% CIs"
            caption += ", ◇ the printed values." if printed else "; no printed value is public."
            parts.append(
                f'<figure class="figure">{figure_svg(cells, figures[table_id] + ": " + table_title, labels, printed)}'
                f"<figcaption>{_e(caption)}</figcaption></figure>"
            )
        parts.append(_table(_cell_view(cells, labels), numeric={"mean", "percent", "n", "base", "95% CI"}))
    return "".join(parts)


TEST_NUMBERS = ["statistic", "ndf", "ddf", "p", "p_adjusted"]


def _tests_view(tests: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    view = pd.DataFrame(
        {
            "test": tests["test_id"],
            "scope": tests["wave"],
            "outcome": [labels.category(v, c) if c else "" for v, c in zip(tests["variable"], tests["category"])],
            "method": tests["method"],
        }
    )
    for column in TEST_NUMBERS:
        view[column] = tests[column].map(sig)
    view["family"] = tests["family"] + " (" + tests["adjustment"] + ")"
    view["flags"] = [labels.flags(f) for f in tests["flags"]]
    return view


def _tests_section(tests: pd.DataFrame, labels: Labels, titles: dict[str, str]) -> str:
    parts = ['<h2 id="tests">Tests</h2>']
    if not len(tests):
        return "".join(parts)
    parts.append(
        '<p class="small">The claims family (the tests the reports\' claims rest on, adjusted by Holm within each '
        "report) first, then the tests of each table. Numbers have 3 significant digits; a blank number is not "
        "computable or withheld (see flags).</p>"
    )
    claims = tests["family"] == "claims"
    groups = [("claims family", tests[claims], True)]
    rest = tests[~claims]
    groups += [
        (f"{titles.get(t, t)} ({t})", part, False) for t, part in rest.groupby("table_id", sort=True) if len(part)
    ]
    for name, part, open_ in groups:
        parts.append(
            f"<details{' open' if open_ else ''}><summary>{_e(name)}: {len(part)} test(s)</summary>"
            + _table(_tests_view(part, labels), numeric=set(TEST_NUMBERS))
            + "</details>"
        )
    return "".join(parts)


COVERAGE_COLUMNS = {
    "method": "interval method",
    "mean_coverage": "mean coverage",
    "min_coverage": "lowest coverage",
    "share_below_94": "scenarios below 94%",
    "mean_miss_below": "misses below",
    "mean_miss_above": "misses above",
    "mean_width_vs_kg": "width vs kg",
}


def _methods_section(coverage: tuple[pd.DataFrame, str, str] | None) -> str:
    """How well the intervals cover the truth with as few organisations as the waves have (the coverage study of
    ``validation/``, committed with the code): its summary on the domain df, and its figure."""
    parts = ['<h2 id="methods">Methods: do the intervals hold with 14 and 24 organisations?</h2>']
    if coverage is None:
        return "".join(parts)
    summary, figure, default = coverage
    parts.append(
        '<p class="small">Every interval treats the recruiting organisation as the primary sampling unit, so it rests '
        "on 13 (wave 1) or 23 (wave 2) degrees of freedom, fewer in a domain. The coverage study "
        "(<code>validation/coverage.py</code>, rerunnable and seeded) draws thousands of samples from populations "
        "shaped like each wave (its organisation sizes, intra-organisation correlation from 0 to 0.2, true "
        "proportions from 1% to 50%, domains down to 15% of a wave) and counts how often each method's 95% interval "
        f"holds the truth. The configured method is <b>{_e(default)}</b>. Central scenarios: a proportion of 5% or "
        "more and a correlation of 0.1 or less.</p>"
    )
    for scenarios, title in (("central", "Central scenarios"), ("all", "All scenarios")):
        part = summary[(summary["df_convention"] == "domain") & (summary["scenarios"] == scenarios)]
        view = part[list(COVERAGE_COLUMNS)].rename(columns=COVERAGE_COLUMNS).copy()
        for column in ("mean coverage", "lowest coverage", "scenarios below 94%", "misses below", "misses above"):
            view[column] = [f"{100 * v:.1f}%" for v in view[column]]
        view["width vs kg"] = [f"{v:.3f}×" for v in view["width vs kg"]]
        n = int(part["n_scenarios"].iloc[0]) if len(part) else 0
        parts.append(f"<h3>{title} ({n}), domain degrees of freedom</h3>")
        parts.append(_table(view, numeric=set(COVERAGE_COLUMNS.values()) - {"interval method"}))
    body = figure[figure.index("<svg") :] if "<svg" in figure else ""
    parts.append(
        f'<figure class="coverage">{body}<figcaption>Coverage of the 95% intervals against the true proportion, '
        "one panel per wave, domain and intra-organisation correlation, one line per method (domain df); the "
        "grey line is 95%. Source: <code>validation/coverage.svg</code>; the study's design, results and the "
        "reasons for the configured method are in <code>validation/README.md</code>.</figcaption></figure>"
    )
    return "".join(parts)


def _weighting_section(weighting: dict[str, tuple[dict, pd.DataFrame]]) -> str:
    parts = ['<h2 id="weighting">Weighting</h2>']
    parts.append(
        '<p class="small">The reports\' percentages are unweighted, and so are the tables above unless a row says '
        "<i>weighted</i>: those are a sensitivity analysis with the weights below.</p>"
    )
    for wave, (diagnostics, margins) in sorted(weighting.items()):
        w = diagnostics["weights"]
        parts.append(f"<h3>{_e(wave)}: {_e(diagnostics['weighting'])}</h3><p>{_e(diagnostics['description'])}</p>")
        summary = pd.DataFrame(
            [
                {
                    "respondents": w["n"],
                    "Kish design effect": sig(w["kish_deff"]),
                    "effective n": sig(w["kish_neff"]),
                    "weights from": sig(w["min"]),
                    "to": sig(w["max"]),
                    "max/min": sig(w["ratio_max_min"]),
                }
            ]
        )
        parts.append(_table(summary))
        for step in diagnostics.get("steps", []):
            parts.append(
                f'<p class="small">{_e(step["method"])}: {step["iterations"]} iteration(s), '
                f"{'converged' if step['converged'] else 'NOT converged'}, largest error "
                f"{_e(sig(step['max_abs_error']))}.</p>"
            )
        if len(margins):
            view = margins.assign(
                n=_count(margins["n"], margins["n"].isna()),
                target=_share(margins["target_share"]),
                achieved=_share(margins["achieved"]),
                unweighted=_share(margins["unweighted_share"]),
            )[["variable", "category", "n", "unweighted", "target", "achieved"]]
            parts.append(_table(view, numeric={"n", "unweighted", "target", "achieved"}))
    return "".join(parts)


def _cleaning_section(flows: dict[str, pd.DataFrame], logs: dict[str, pd.DataFrame]) -> str:
    parts = ['<h2 id="cleaning">Cleaning</h2>']
    for wave in sorted(flows):
        flow = flows[wave].assign(
            excluded=lambda f: _count(f["excluded"], f["excluded"].isna()),
            remaining=lambda f: _count(f["remaining"], f["remaining"].isna()),
        )
        parts.append(f"<h3>{_e(wave)}: exclusion flow</h3>")
        parts.append(_table(flow, numeric={"excluded", "remaining"}))
        log = logs[wave].assign(rows_affected=lambda f: _count(f["rows_affected"], f["rows_affected"].isna()))
        parts.append(f"<h3>{_e(wave)}: cleaning log</h3>")
        parts.append(_table(log, numeric={"rows_affected"}))
    return "".join(parts)


def _disclosure_section(disclosure: str) -> str:
    lines = [line for line in disclosure.splitlines() if line.strip()]
    return (
        '<h2 id="disclosure">Disclosure control</h2><p class="small">The respondents are survivors of child sexual '
        "exploitation: no number in this report points at fewer people than the threshold below. "
        f"{CONFIDENTIAL} marks a number not printed, because it is small or because it would give a small one "
        "back by subtraction; the audit verdicts are computed on the full values.</p><ul>"
        + "".join(f"<li>{_e(line)}</li>" for line in lines[1:])
        + "</ul>"
    )


def _chapters(titles: dict[str, tuple[str, str]], chapters: dict[str, str]) -> list[str]:
    """The chapters that have tables, in the order the configuration lists their table files."""
    present = {chapter for chapter, _ in titles.values()}
    return [c for c in chapters if c in present]


def release_of(read: dict[str, bytes], releases: list[str]) -> str:
    """The newest release (by name: v10 after v9) whose manifest records, for every public file read here, the
    same sha256: the release these results are; empty when none does."""
    hashes = {path: sha256_bytes(data) for path, data in read.items()}

    def number(path: str) -> tuple:
        name = Path(path).parent.name
        return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))

    for path in sorted(releases, key=number, reverse=True):
        outputs = json.loads(read_bytes(path))["outputs"]
        if all(outputs.get(p, {}).get("sha256") == h for p, h in hashes.items()):
            return Path(path).parent.name
    return ""


def header_provenance(release: str, config_sha256: str, code_version: dict, date: str | None) -> dict[str, str]:
    """The header's lines: release, commit (:func:`survey_audit.provenance.git_state`, read when the workflow
    starts, so a commit reruns the report), configuration hash and the run's date (the commit's date)."""
    commit = code_version.get("commit")
    return {
        "release": release or "none (these results match no release under results/releases/)",
        "commit": (commit + (" with uncommitted changes" if code_version.get("dirty") else ""))
        if commit
        else "unknown (not a git checkout)",
        "config sha256": config_sha256,
        "run date": (date or "unknown") + " (the commit's date, so that a rerun writes the same bytes)",
    }


def write_report(
    *,
    tables: list[str],
    specs: list[str],
    tests: str,
    audit: str,
    flows: list[str],
    logs: list[str],
    diagnostics: list[str],
    margins: list[str],
    disclosure: str,
    variables: str,
    registries: list[str],
    releases: list[str],
    config_sha256: str,
    code_version: dict,
    commit_date: str | None,
    coverage: str,
    coverage_figure: str,
    ci_method: str,
    small_base: int,
    synthetic: bool,
    report_out: str,
) -> None:
    """Stage function: read the public results (and each weighted wave's diagnostics, which print no count
    smaller than the wave), the labels and the registries, and write the HTML report."""
    read = {
        "dtype": {"by_value": str, "category": str, "by": str, "flags": str},
        "keep_default_na": False,
        "na_values": {c: [""] for c in (*PROPORTION_COLUMNS, *MEAN_COLUMNS, "n", "base_n", "excluded_n")},
    }
    frames = {Path(p).stem: formats.read_csv(p, **read) for p in tables}
    chapters = {}
    titles = {}
    for path in specs:
        data = load_yaml(path).data
        named = "; ".join(f"{report}: {title}" for report, title in sorted(data.get("reports", {}).items()))
        chapters[data["chapter"]] = data["title"] + (f" ({named})" if named else "")
        for item in data["tables"]:
            titles[item["id"]] = (data["chapter"], item["title"])
    flow_frames = {Path(p).stem: formats.read_csv(p, dtype={"excluded": "Int64", "remaining": "Int64"}) for p in flows}
    log_frames = {
        Path(p).stem: formats.read_csv(p, keep_default_na=False, na_values={"rows_affected": [""]}) for p in logs
    }
    release = release_of({p: read_bytes(p) for p in (*tables, tests, audit)}, releases)
    html_text = build_report(
        tables=frames,
        titles=titles,
        chapters=chapters,
        tests=formats.read_csv(tests, dtype=str, keep_default_na=False),
        audit=formats.read_csv(audit, dtype=str, keep_default_na=False),
        flows=flow_frames,
        logs=log_frames,
        synthetic=synthetic,
        code_version=__version__,
        weighting={
            Path(d).name.split(".")[0]: (
                json.loads(read_bytes(d)),
                formats.read_csv(m, keep_default_na=False, na_values={c: [""] for c in MARGIN_NUMBERS}),
            )
            for d, m in zip(diagnostics, margins)
        },
        disclosure=read_bytes(disclosure).decode("utf-8"),
        labels=Labels(load_variables(variables), small_base),
        registries=[load_registry(p) for p in registries],
        provenance=header_provenance(release, config_sha256, code_version, commit_date),
        coverage=(formats.read_csv(coverage), read_bytes(coverage_figure).decode("utf-8"), ci_method),
    )
    formats.write_text(html_text, report_out)
