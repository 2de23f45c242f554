"""The HTML report a reviewer opens in a browser: the audit of every published number first, then each
chapter's tables and figures, the tests, the cleaning flow and the provenance of the run.

One self-contained file (``results/report/index.html``): styles inline, figures as inline SVG, no scripts, no
network. It is written deterministically (fixed SVG ids, no dates), so it can be hashed like any table.
Percentages show the unweighted numerator and base beside them, and every interval names its method. The report
reads only the public outputs (disclosure control applied): a number not printed for disclosure control shows
as ``[c]`` (confidential, the symbol of the UK Government Statistical Service's guidance).
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import pandas as pd

from .. import __version__, formats
from ..config.loading import load_yaml
from ..provenance import read_bytes
from .tabulate import MEAN_COLUMNS, PROPORTION_COLUMNS

VERDICT_CLASS = {
    "reproduced": "good",
    "holds": "good",
    "differs": "bad",
    "fails": "bad",
    "not computable": "warn",
    "not transcribed": "muted",
}
MARGIN_NUMBERS = ["n", "unweighted_share", "target_share", "target", "achieved", "difference"]
CHAPTER_ORDER = ["participants", "recruitment", "grooming", "life", "advertising", "buyers", "help", "exit"]
FIGURE_TABLES = {
    "groom_methods_by_period": "Figure 3 (2015)",
    "buyer_contact": "Figure 13 (2015)",
    "help_wanted": "Figure 15 (2015)",
    "exit_technology": "Figure 19 (2015)",
}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:2px solid #d8dee6;padding-bottom:.2rem}
h3{margin-top:1.6rem;font-size:1.05rem}
.banner{background:#8a1c1c;color:#fff;padding:.8rem 1.5rem;font-weight:600}
.banner span{font-weight:400}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.86rem;background:#fff}
th,td{border:1px solid #d8dee6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good{color:#11683a;font-weight:600}.bad{color:#a01919;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.muted{color:#6b7480}.small{font-size:.8rem;color:#4b5563}
nav a{margin-right:.8rem}figure{margin:.5rem 0 1.2rem}figcaption{font-size:.85rem;color:#4b5563}
.tally td{font-size:.95rem}table.audit td:first-child{min-width:16rem;max-width:26rem}table.audit td:last-child{max-width:22rem}
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


CONFIDENTIAL = "[c]"


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


def _cell_view(cells: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader needs, formatted: the estimate, its interval and method, n and base, flags."""
    view = pd.DataFrame({"wave": cells["wave"]})
    if (cells["by_value"] != "all").any():
        view[cells["by"].iloc[0] or "by"] = cells["by_value"]
    view["category"] = cells["category"]
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
    view["flags"] = cells["flags"].fillna("")
    return view


def _svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "survey-audit", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure_svg(cells: pd.DataFrame, title: str) -> str:
    """A horizontal bar chart of a table's percentages per wave (grouped by the by-variable when there is one).
    Every text is drawn as written: a title with dollar signs is a title about money, not TeX (matplotlib would
    otherwise read the text between two ``$`` as mathtext, and stop on what it cannot parse)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = cells[(cells["weighting"] == "unweighted") & cells["pct"].notna()]
    series = [
        (f"{w}" + ("" if b == "all" else f" · {b}"), part)
        for (w, b), part in data.groupby(["wave", "by_value"], sort=False)
    ]
    categories = list(dict.fromkeys(data["category"]))
    height = 0.8 / max(len(series), 1)
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(categories) * max(1.5, len(series) * 0.6) + 0.8))
        palette = ["#1f5f8b", "#e07b39", "#5a9e4b", "#8e5ea2", "#b8a22a", "#c2504d"]
        for index, (label, part) in enumerate(series):
            values = part.set_index("category").reindex(categories)["pct"].astype(float)
            positions = [c + index * height for c in range(len(categories))]
            ax.barh(positions, values, height=height, label=label, color=palette[index % len(palette)])
        ax.set_yticks([c + height * (len(series) - 1) / 2 for c in range(len(categories))], categories)
        ax.invert_yaxis()
        ax.set_xlabel("percentage of respondents")
        ax.set_xlim(0, 100)
        ax.set_title(title, fontsize=10)
        if len(series) > 1:
            ax.legend(fontsize=7, loc="lower right")
        ax.spines[["top", "right"]].set_visible(False)
        svg = _svg(fig)
    plt.close(fig)
    return svg


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
) -> str:
    """The report's HTML. ``titles`` maps a table id to (chapter, title); ``chapters`` a chapter id to its title."""
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>survey-audit report</title>'
        f"<style>{STYLE}</style></head><body>",
        _header(synthetic, code_version, titles, chapters),
        _audit_section(audit),
        *(_chapter_section(chapter, chapters[chapter], tables, titles) for chapter in _chapters(titles, chapters)),
        _tests_section(tests),
        _weighting_section(weighting or {}),
        _cleaning_section(flows, logs),
        _disclosure_section(disclosure),
        "</main></body></html>\n",
    ]
    return "".join(parts)


def _header(synthetic: bool, code_version: str, titles: dict, chapters: dict) -> str:
    parts = []
    if synthetic:
        parts.append(
            '<div class="banner">SYNTHETIC DATA <span>— every number below is computed from the generated stand-in '
            "for the confidential survey. The audit verdicts check the pipeline, not the reports.</span></div>"
        )
    parts.append("<main><h1>Survivor surveys: recomputed statistics and audit of the published numbers</h1>")
    parts.append(
        f'<p class="small">survey-audit {_e(code_version)}. Tables, tests and this report are written '
        "deterministically; <code>results/manifest.json</code> gives the sha256 of every file and what "
        "produced it.</p>"
    )
    nav = ['<a href="#audit">Audit</a>'] + [
        f'<a href="#{c}">{_e(chapters[c])}</a>' for c in _chapters(titles, chapters)
    ]
    nav += ['<a href="#tests">Tests</a>', '<a href="#weighting">Weighting</a>', '<a href="#cleaning">Cleaning</a>']
    nav += ['<a href="#disclosure">Disclosure control</a>']
    parts.append("<nav>" + "".join(nav) + "</nav>")
    return "".join(parts)


def _audit_section(audit: pd.DataFrame) -> str:
    parts = ['<h2 id="audit">Audit of the published numbers</h2>']
    parts.append(
        '<p class="small">Each number the reports printed, recomputed from the tables below and rounded as printed. '
        "<b>reproduced</b>/<b>differs</b>: a printed value; <b>holds</b>/<b>fails</b>: a qualitative claim in its "
        "checkable form; <b>not transcribed</b>: the value is not public. Reliability says how sure the attribution "
        "is: primary (the report or its publisher), secondary (cited by others), disputed (contradicts a primary "
        "source).</p>"
    )
    tally = audit.groupby(["report", "verdict"]).size().unstack(fill_value=0)
    tally = tally[[v for v in VERDICT_CLASS if v in tally.columns]]
    parts.append('<div class="tally">' + _table(tally.reset_index(), numeric=set(tally.columns)) + "</div>")
    shown = audit[audit["verdict"] != "not transcribed"]
    rows = []
    for r in shown.itertuples(index=False):
        anchor = (
            f'<a href="#table-{_e(r.table_id)}">{_e(r.table_id)}</a>'
            if r.table_id and ":" not in r.table_id
            else _e(r.table_id)
        )
        notes = "; ".join(x for x in (r.checks, r.note, getattr(r, "flags", "")) if x)
        rows.append(
            f'<tr><td><b>{_e(r.entry_id)}</b><div class="small">{_e(r.wording)}</div></td>'
            f"<td>{_e(r.printed) or '<span class=muted>(claim)</span>'}</td>"
            f"<td>{_e(r.recomputed_display) or (CONFIDENTIAL if 'cell suppressed' in str(r.flags) else '')}</td>"
            f'<td class="{VERDICT_CLASS.get(r.verdict, "")}">{_e(r.verdict)}</td>'
            f'<td>{_e(r.reliability)}<div class="small">{_e(r.figure)}</div></td>'
            f'<td>{anchor}</td><td class="small">{_e(notes)}</td></tr>'
        )
    parts.append(
        '<table class="audit"><thead><tr><th>entry</th><th>printed</th><th>recomputed</th><th>verdict</th>'
        "<th>reliability</th><th>table</th><th>checks and notes</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    hidden = audit[audit["verdict"] == "not transcribed"]
    if len(hidden):
        parts.append(
            f'<p class="small">{len(hidden)} further entries are figures whose values are not public '
            "(not transcribed); their recomputed values are in the tables below.</p>"
        )
    return "".join(parts)


def _chapter_section(chapter: str, title: str, tables: dict[str, pd.DataFrame], titles: dict) -> str:
    parts = [f'<h2 id="{chapter}">{_e(title)}</h2>']
    for table_id, (table_chapter, table_title) in titles.items():
        if table_chapter != chapter or table_id not in tables:
            continue
        cells = tables[table_id]
        parts.append(f'<h3 id="table-{table_id}">{_e(table_title)} <span class="small">({table_id})</span></h3>')
        if table_id in FIGURE_TABLES and "pct" in cells and cells["pct"].notna().any():
            parts.append(
                f"<figure>{figure_svg(cells, FIGURE_TABLES[table_id] + ': ' + table_title)}"
                f"<figcaption>{_e(FIGURE_TABLES[table_id])}, recomputed.</figcaption></figure>"
            )
        parts.append(_table(_cell_view(cells), numeric={"mean", "percent", "n", "base", "95% CI"}))
    return "".join(parts)


def _tests_section(tests: pd.DataFrame) -> str:
    parts = ['<h2 id="tests">Tests</h2>']
    if len(tests):
        columns = [
            c
            for c in ("test_id", "method", "statistic", "ndf", "ddf", "p", "family", "adjustment", "p_adjusted")
            if c in tests.columns
        ]
        parts.append(_table(tests[columns], numeric={"statistic", "ndf", "ddf", "p", "p_adjusted"}))
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
                    "Kish design effect": f"{w['kish_deff']:.3f}",
                    "effective n": f"{w['kish_neff']:.1f}",
                    "weights from": f"{w['min']:.3f}",
                    "to": f"{w['max']:.3f}",
                    "max/min": f"{w['ratio_max_min']:.2f}",
                }
            ]
        )
        parts.append(_table(summary))
        for step in diagnostics.get("steps", []):
            parts.append(
                f'<p class="small">{_e(step["method"])}: {step["iterations"]} iteration(s), '
                f"{'converged' if step['converged'] else 'NOT converged'}, largest error "
                f"{_e(step['max_abs_error'])}.</p>"
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
    present = {chapter for chapter, _ in titles.values()}
    ordered = [c for c in CHAPTER_ORDER if c in present]
    return ordered + sorted(present - set(ordered))


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
    synthetic: bool,
    report_out: str,
) -> None:
    """Stage function: read the public results (and each weighted wave's diagnostics, which print no count
    smaller than the wave) and write the HTML report."""
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
    html_text = build_report(
        tables=frames,
        titles=titles,
        chapters=chapters,
        tests=formats.read_csv(tests, keep_default_na=False),
        audit=formats.read_csv(audit, keep_default_na=False),
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
    )
    formats.write_text(html_text, report_out)
