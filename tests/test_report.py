"""The report (survey_audit.stages.report): words instead of codes, the audit in one row, the withheld number as
[c] with no interval drawn, tests grouped with the claims family first at 3 significant digits, figures as small
multiples with the printed values, a dot plot per report chapter, a header from recorded facts, and the same
bytes twice. Oracles: the labels of the hand-written variables, numbers rounded by hand, sha256 of hand-made
release manifests, and the SVGs' own text elements."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest

from conftest import VARIABLES, write
from survey_audit.config.registry import Registry
from survey_audit.config.variables import load_variables
from survey_audit.stages.report import Labels, build_report, figure_svg, release_of, sig

CELLS = pd.DataFrame(
    {
        "wave": ["wave1", "wave1", "wave2", "wave2"],
        "by": [""] * 4,
        "by_value": ["all"] * 4,
        "variable": ["payment"] * 4,
        "weighting": ["unweighted"] * 4,
        "category": ["paid_in_cash", "paid_online"] * 2,
        "n": [40, 60, 55, 45],
        "pct": [40.0, 60.0, 55.0, 45.0],
        "pct_ci_low": [30.0, 50.0, 45.0, 35.0],
        "pct_ci_high": [50.0, 70.0, 65.0, 55.0],
        "flags": [""] * 4,
    }
)


def texts(svg: str) -> list[str]:
    """The text elements of an SVG (each text is one element)."""
    return [html_unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


@pytest.mark.parametrize(
    "title",
    [
        "Cost in $ and $$",
        "Paid $5 to $10 a day",  # two dollar signs: mathtext would set '5 to ' in italics and drop both
        r"Earned $\alpha$ or $\notacommand$",  # mathtext would stop on the unknown command (ValueError)
    ],
)
def test_a_title_with_dollar_signs_is_drawn_as_written(title):
    drawn = texts(figure_svg(CELLS, title))
    assert title in drawn
    assert {"paid_in_cash", "paid_online", "wave1", "wave2"} <= set(drawn)  # tick labels and panel titles


def test_a_figure_has_a_panel_per_wave_labels_printed_values_and_no_bar_for_a_withheld_cell(tmp_path):
    variables = load_variables(write(tmp_path / "v.yaml", VARIABLES))
    cells = CELLS.assign(variable="gender", category=["female", "male"] * 2)
    cells.loc[3, ["n", "pct", "pct_ci_low", "pct_ci_high"]] = None
    cells.loc[3, "flags"] = "small_base;suppressed"
    svg = figure_svg(cells, "Gender", Labels(variables, 30), printed={("wave1", "all", "female"): 41.0})
    drawn = texts(svg)
    assert {"Female", "Male"} <= set(drawn) and "female" not in drawn  # the variables' labels
    assert drawn.count("wave1") == 1 and drawn.count("wave2") == 1  # one panel (title) per wave
    assert drawn.count("[c]") == 1  # the withheld cell: [c], and neither bar nor interval
    assert "printed in the report" in drawn
    # bars in the one colour (no by-variable): one per shown percentage, each with its interval; none for [c]
    bars = re.findall(r'<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="([^"]+)"', svg)
    assert [fill for _, _, fill in bars] == ["#0072B2"] * 3 and svg.count('class="interval"') == 3
    assert re.findall(r'<rect class="bar"[^>]*fill="([^"]+)"', figure_svg(CELLS, "x")) == ["#0072B2"] * 4
    # the diamond at 41 on the axis of wave1's bar for female (40%), and the legend's diamond
    x0, width, _ = bars[0]
    (printed, key) = re.findall(r'<path class="printed" d="M([\d.]+) ', svg)
    assert float(printed) == pytest.approx(float(x0) + float(width) * 41 / 40, abs=0.1)


def test_sig_gives_three_significant_digits():
    assert [sig(v) for v in (0.000356123, 12.3456, 1234.5, "0.05", "", None, "inf")] == [
        "0.000356",
        "12.3",
        "1.23e+03",
        "0.05",
        "",
        "",
        "inf",
    ]


def test_release_of_names_the_newest_release_with_the_same_bytes(tmp_path):
    read = {"results/tests.csv": b"a,b\n1,2\n", "results/audit/published.csv": b"x\n"}
    digest = {p: hashlib.sha256(b).hexdigest() for p, b in read.items()}
    releases = []
    for name, outputs in (
        ("v2", digest),
        ("v10", digest),
        ("v11", {**digest, "results/tests.csv": "0" * 64}),  # newer, other bytes
    ):
        path = tmp_path / name / "manifest.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"outputs": {p: {"sha256": h} for p, h in outputs.items()}}))
        releases.append(str(path))
    assert release_of(read, releases) == "v10"  # v10 after v2, by number
    assert release_of(read, releases[2:]) == ""


def audit_row(**values) -> dict:
    row = dict.fromkeys(
        ["entry_id", "report", "wave", "section", "figure", "wording", "reliability", "claim", "printed",
         "recomputed", "recomputed_display", "ci_low", "ci_high", "ci_method", "difference", "verdict", "flags",
         "table_id", "checks", "note"],
        "",
    )  # fmt: skip
    return {**row, "report": "r", "reliability": "primary", "claim": "percentage", "verdict": "reproduced", **values}


def registry(entries) -> Registry:
    return Registry(path=None, report="r", title="t", wave="wave1", version=1, entries=tuple(entries))


def entry(id, section, value, figure="Executive summary", table="gender", category="female"):
    cell = {"table": table, "wave": "wave1", "by_value": "all", "category": category, "weighting": "unweighted"}
    return {"id": id, "section": section, "figure": figure, "value": value, "claim": {"type": "percentage"},
            "cell": cell}  # fmt: skip


def make_report(tmp_path) -> str:
    """A report of one table, an audit of three entries in two chapters (one withheld) and three tests."""
    labels = Labels(load_variables(write(tmp_path / "v.yaml", VARIABLES)), 30)
    gender = CELLS.assign(variable="gender", category=["female", "male"] * 2, ci_method="kg", base_n=100)
    gender.loc[3, ["n", "pct", "pct_ci_low", "pct_ci_high"]] = None
    gender.loc[3, "flags"] = "suppressed"
    audit = pd.DataFrame(
        [
            audit_row(entry_id="women", section="Who took part", printed="41%", wave="wave1", recomputed="40",
                      recomputed_display="40.00% (40/100)", ci_low="30.0", ci_high="50.0", ci_method="kg",
                      difference="-1", flags="base < 30; NCHS: suppress", table_id="gender",
                      note="a note at the end of the row"),
            audit_row(entry_id="men", section="Who took part", printed="44%", ci_method="kg",
                      flags="cell suppressed", table_id="gender", wave="wave2"),
            audit_row(entry_id="later", section="Leaving", printed="60%", recomputed="60",
                      recomputed_display="60.00% (60/100)", ci_low="50.0", ci_high="70.0", ci_method="kg",
                      difference="0", table_id="gender"),
        ]
    )  # fmt: skip
    registries = [
        registry(
            [
                entry("women", "Who took part", 41, figure="Figure 2"),
                entry("men", "Who took part", 44, category="male"),
                entry("later", "Leaving", 60),
            ]
        )
    ]
    tests = pd.DataFrame(
        {
            "test_id": ["gender:wave1", "gender:wave1-wave2:female", "gender:wave2"],
            "table_id": ["gender"] * 3,
            "wave": ["wave1", "wave1-wave2", "wave2"],
            "variable": ["gender"] * 3,
            "category": ["", "female", ""],
            "method": ["Rao-Scott F"] * 3,
            "statistic": ["12.3456789", "", "0.5"],
            "ndf": ["1", "1", "1"],
            "ddf": ["13", "", "13"],
            "p": ["0.000356123", "", "0.49"],
            "p_adjusted": ["0.00071224", "", "0.49"],
            "family": ["exploratory", "exploratory", "claims"],
            "adjustment": ["bh", "bh", "holm"],
            "flags": ["", "suppressed", ""],
        }
    )
    return build_report(
        tables={"gender": gender},
        titles={"gender": ("participants", "Gender identity")},
        chapters={"participants": "Survey participants"},
        tests=tests,
        audit=audit,
        flows={},
        logs={},
        synthetic=True,
        code_version="0.1.0",
        labels=labels,
        registries=registries,
        provenance={"release": "v4", "commit": "abc123", "config sha256": "f00d", "run date": "2026-12-01"},
    )


@pytest.fixture
def report(tmp_path):
    return make_report(tmp_path)


def test_the_audit_answers_in_one_row_and_a_withheld_number_shows_as_c(report):
    table = re.search(r'<table class="audit".*?</table>', report, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    women = next(r for r in rows if "<b>women</b>" in r)
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", women, re.S)]
    assert cells[1:6] == [["41%"], ["40.00%", "(40/100)"], ["30.0–50.0", "kg"], ["-1.00"], ["reproduced", "primary"]]
    assert " ".join(cells[6]) == "base &lt; 30; NCHS: suppress" and cells[-1][-1] == "row"  # flags; notes last
    men = next(r for r in rows if "<b>men</b>" in r)
    assert men.count("[c]") == 2  # recomputed and interval withheld
    # grouped by report and chapter, in the registry's order
    assert re.findall(r'<tr class="group"><th[^>]*>(.*?)</th>', table) == ["r: Who took part", "r: Leaving"]


def test_a_dot_plot_per_chapter_from_the_registry_not_a_fixed_list(report):
    plots = re.findall(r'<figure class="dotplot">(.*?)</figure>', report, re.S)
    assert len(plots) == 2
    first = texts(plots[0])
    assert "r: Who took part" in first and {"women (wave1)", "men (wave2)"} <= set(first)
    assert first.count("[c]") == 1  # the withheld recomputed value: no dot, no interval


def test_labels_flags_legend_and_figures(report):
    section = report[report.index('id="participants"') :]
    assert "<td>Female</td>" in section and "<td>female</td>" not in section
    assert "<td>cell suppressed</td>" in section  # the table's flag in words
    assert 'id="legend"' in report and "NCHS: suppress" in report and "Korn–Graubard" in report
    figure = re.search(r'<figure class="figure">(.*?)</figure>', report, re.S).group(1)
    assert any(t.startswith("Figure 2 (r): Gender identity") for t in texts(figure))


def test_tests_grouped_claims_family_first_with_three_significant_digits(report):
    section = report[report.index('id="tests"') : report.index('id="weighting"')]
    summaries = re.findall(r"<details( open)?><summary>(.*?)</summary>", section)
    assert summaries == [(" open", "claims family: 1 test(s)"), ("", "Gender identity (gender): 2 test(s)")]
    assert ">0.000356<" in section and ">12.3<" in section and ">0.000712<" in section
    assert "0.000356123" not in section


def test_header_print_css_self_contained_and_deterministic(report, tmp_path):
    header = re.search(r'<dl class="meta">(.*?)</dl>', report).group(1)
    assert re.findall(r"<dt>(.*?)</dt>", header) == ["code", "release", "commit", "config sha256", "run date"]
    assert "<dd>v4</dd>" in header and "<dd>abc123</dd>" in header
    style = re.search(r"<style>(.*?)</style>", report, re.S).group(1)
    printing = style[style.index("@media print") :]
    for rule in ("thead{display:table-header-group}", "details::details-content", "break-inside:avoid"):
        assert rule in printing
    # nothing to run or fetch: no script, every link an anchor within the page, no stylesheet from elsewhere
    assert "<script" not in report and not re.search(r'\b(src|href)="(?!#)', report)
    assert "url(" not in style and "@import" not in style
    assert make_report(tmp_path) == report  # the same bytes again


def test_the_header_dates_the_run_by_its_commit_not_the_clock(tmp_path):
    """Oracle: a commit made with a set committer date (read by provenance.commit_date); the header built from
    the commit and date the workflow read when it started; a tracked change is said."""
    import os
    import subprocess

    from survey_audit.provenance import commit_date
    from survey_audit.stages.report import header_provenance

    env = {**os.environ, "GIT_COMMITTER_DATE": "2020-02-03T04:05:06+00:00", "GIT_AUTHOR_DATE": "2020-02-03T04:05:06"}

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], env=env, check=True, capture_output=True, text=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a\n")
    git("add", "f.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    commit = git("rev-parse", "HEAD").stdout.strip()
    date = commit_date(tmp_path)
    assert date == "2020-02-03T04:05:06+00:00" and commit_date(tmp_path / "nowhere") is None
    header = header_provenance("v3", "abc", {"commit": commit, "dirty": False}, date)
    assert header == {
        "release": "v3",
        "commit": commit,
        "config sha256": "abc",
        "run date": "2020-02-03T04:05:06+00:00 (the commit's date, so that a rerun writes the same bytes)",
    }
    dirty = header_provenance("", "abc", {"commit": commit, "dirty": True}, date)
    assert dirty["commit"] == commit + " with uncommitted changes"
    assert header_provenance("", "abc", {"commit": None, "dirty": None}, None)["commit"] == "unknown (not a git checkout)"


def test_the_methods_section_shows_the_coverage_study_on_the_domain_df():
    """Oracle: a two-method summary written by hand; only the domain-df rows are shown, as percentages."""
    from survey_audit.stages.report import _methods_section

    rows = [
        ("kg", "domain", "central", 160, 0.9645, 0.9434, 0.0, 0.0173, 0.0182, 1.0),
        ("wald", "domain", "central", 160, 0.9375, 0.8711, 0.6, 0.0471, 0.0154, 0.9472),
        ("wald", "design", "central", 160, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1),
        ("kg", "domain", "all", 280, 0.9708, 0.9178, 0.0107, 0.0139, 0.0152, 1.0),
    ]
    columns = ["method", "df_convention", "scenarios", "n_scenarios", "mean_coverage", "min_coverage"]
    columns += ["share_below_94", "mean_miss_below", "mean_miss_above", "mean_width_vs_kg"]
    summary = pd.DataFrame(rows, columns=columns)
    html = _methods_section((summary, '<?xml version="1.0"?>\n<svg id="c"></svg>', "kg"))
    assert "Central scenarios (160)" in html and "All scenarios (280)" in html
    assert "96.5%" in html and "87.1%" in html and "60.0%" in html and "0.947×" in html
    assert "10.0%" not in html  # the design-df row is not shown
    assert "The configured method is <b>kg</b>" in html
    assert '<svg id="c"></svg>' in html and "<?xml" not in html
