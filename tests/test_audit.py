"""The audit's arithmetic: rounding conventions, percentage-GRIM, sums, statcheck and verdicts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from conftest import bundled_plan
from survey_audit.config.loading import validate
from survey_audit.config.registry import Registry
from survey_audit.stages.audit import AUDIT_COLUMNS, audit
from survey_audit.stats.consistency import grim_percentage, rounds_to, statcheck, sum_check

BOTH = ("half_up", "half_even")


def test_rounding_conventions_differ_only_on_exact_halves():
    assert rounds_to(Fraction(125, 2), 63, 0, ("half_up",))  # 62.5 → 63
    assert not rounds_to(Fraction(125, 2), 63, 0, ("half_even",))  # 62.5 → 62
    assert rounds_to(Fraction(125, 2), 62, 0, BOTH)
    assert rounds_to(Fraction(7200, 115), 63, 0, BOTH)  # 72/115 = 62.61%
    assert not rounds_to(Fraction(7100, 115), 63, 0, BOTH)  # 71/115 = 61.74%


@pytest.mark.parametrize(
    ("printed", "decimals", "n", "expected"),
    [
        (78.6, 1, 14, [11]),  # consistent (k = 11)
        (78.4, 1, 14, []),  # inconsistent
        (2.2, 1, 183, [4]),
        (2.3, 1, 183, []),
        (12.50, 2, 16, [2]),
        (50.0, 1, 7, []),
        (63, 0, 115, [72, 73]),
        (45, 0, 243, [109, 110]),
    ],
)
def test_percentage_grim(printed, decimals, n, expected):
    assert grim_percentage(printed, decimals, n) == expected


def test_grim_at_a_large_base_names_the_run_of_counts_not_every_count():
    from survey_audit.stages.audit import grim_check

    ok, text = grim_check(43, 0, 1_000_000, BOTH)
    assert ok
    assert text == "k = 425000 (only with half-up rounding: 425000/1000000 = 42.5%), 425001 to 434999 (9,999 counts)"
    assert grim_check(63, 0, 115, BOTH) == (True, "k = 72, 73")  # a small base: each count


def test_sums_within_rounding():
    assert sum_check([98, 2, 1], 0, complete=True)[0]  # 101: within 3 × 0.5
    assert sum_check([45, 27, 21, 8], 0, complete=True)[0]  # 101
    assert not sum_check([60, 30, 5], 0, complete=True)[0]  # 95
    assert not sum_check([70, 40], 0, complete=False)[0]  # 110 > 100 + 1


def test_statcheck_accepts_consistent_and_flags_inconsistent():
    ok, _ = statcheck("F", "5.19", 1.49, 20.92, "= .022")  # recomputes to 0.0219
    assert ok
    bad, _ = statcheck("F", "5.19", 1.49, 20.92, "= .012")
    assert not bad
    assert statcheck("chisq", "3.84", 1, None, "< .06")[0]
    assert not statcheck("chisq", "1.00", 1, None, "< .05")[0]


def cells(rows):
    return pd.DataFrame(rows, columns=["table_id", "wave", "by_value", "category", "weighting", "n", "base_n", "pct"])


def registry(*entries):
    return Registry(path=None, report="r", title="t", wave="w1", version=1, entries=tuple(entries))


def entry(id, claim, printed=None, value=None, cell=None, **extra):
    base = {
        "id": id,
        "section": "s",
        "figure": "f",
        "wording": "w",
        "base": "b",
        "printed": printed,
        "value": value,
        "reliability": "primary",
        "source": "x",
        "claim": claim,
    }
    if cell:
        base["cell"] = cell
    entry = {**base, **extra}
    validate(entry, "registry", pointer="/$defs/entry")  # as load_registry does: fills in the schema's defaults
    return entry


def test_verdicts():
    table = cells(
        [
            ["adv", "w1", "all", "online", "unweighted", 72, 115, 100 * 72 / 115],
            ["adv", "w1", "all", "street", "unweighted", 50, 115, 100 * 50 / 115],
            ["u12", "w1", "all", "yes", "unweighted", 43, 260, 100 * 43 / 260],
        ]
    )
    online = {"table": "adv", "wave": "w1", "category": "online"}
    reg = registry(
        entry("a", {"type": "percentage"}, "63%", 63, online),
        entry("b", {"type": "percentage"}, "75%", 75, online, reliability="disputed", conflicts_with=["a"]),
        entry("c", {"type": "one_in"}, "1 in 6", 6, {"table": "u12", "wave": "w1", "category": "yes"}),
        entry("d", {"type": "majority"}, "the majority", None, online),
        entry("e", {"type": "range", "low": 40, "high": 50}, "almost half", None, {**online, "category": "street"}),
        entry("f", {"type": "largest"}, None, None, online),
        entry("g", {"type": "percentage"}, None, None, online),
        entry("h", {"type": "percentage"}, "5%", 5, {**online, "table": "nope"}),
    )
    out = audit([reg], table, pd.DataFrame(), BOTH, small_base=30).set_index("entry_id")
    assert out.loc["a", "verdict"] == "reproduced"
    assert "GRIM vs recomputed base 115: consistent (k = 72, 73)" in out.loc["a", "checks"]
    assert out.loc["b", "verdict"] == "differs" and "conflicts with a" in out.loc["b", "note"]
    assert out.loc["c", "verdict"] == "reproduced"  # 43/260 = 16.5% → 1 in 6.05
    assert out.loc["d", "verdict"] == "holds"
    assert out.loc["e", "verdict"] == "holds"  # 43.5%
    assert out.loc["f", "verdict"] == "holds"
    assert out.loc["g", "verdict"] == "not transcribed"
    assert out.loc["h", "verdict"] == "not computable"


def test_bundled_registries_name_existing_cells():
    from survey_audit.config.registry import check_registry_cells

    plan = bundled_plan()
    for registry in plan.registries:
        check_registry_cells(registry, plan.specs, plan.view)
        assert all(e["id"].startswith("t15-" if registry.report == "thorn-2015" else "t18-") for e in registry.entries)


def test_a_misspelt_category_is_reported_with_its_row(root, tmp_path):
    from survey_audit.config.registry import check_registry_cells, load_registry
    from survey_audit.errors import ConfigError

    plan = bundled_plan()
    text = (root / "config" / "published" / "thorn-2015.yaml").read_text()
    broken = tmp_path / "registry.yaml"
    broken.write_text(text.replace("wave: wave1, category: backpage}", "wave: wave1, category: backpages}", 1))
    with pytest.raises(ConfigError) as info:
        check_registry_cells(load_registry(broken), plan.specs, plan.view)
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if "category: backpages" in text)
    assert info.value.row == line and "backpage, craigslist" in info.value.expected


def test_check_published_on_the_bundled_registries(root):
    from survey_audit.config.registry import load_registry
    from survey_audit.stages.audit import check_published

    checks = check_published(load_registry(root / "config" / "published" / "thorn-2018.yaml"), BOTH)
    assert checks["ok"].all()
    race = checks[checks["entry"] == "t18-race-african-american"].iloc[0]
    assert race["check"] == "GRIM" and race["detail"] == "45% of 243: k = 109, 110"
    sums = checks[checks["check"] == "sum"].set_index("entry")["detail"]
    assert sums["t18-gender"] == "sum 101 (100 ± 1.5)"
    # the joint counts, solved by hand: 98% of 260 is 254–256, 2% is 4–6, 1% is 2–3; only 254 + 4 + 2 makes 260
    counts = checks[checks["check"] == "counts"].set_index("entry")["detail"]
    assert counts["t18-gender"] == "of 260, the only counts are 254/4/2 (female/male/other)"
    assert counts["t18-race"].startswith("of 243, the only counts are 109/65/50/19")
    # orientation: offsets from 173/64/12/4/2 (sum 255) must add to 5, four shares of 0–2 and one of 0–1:
    # [x^5] + [x^4] of (1 + x + x²)^4 = 16 + 19 = 35 vectors
    assert counts["t18-orientation"].startswith("of 260, 35 solutions, e.g. 173/64/14/6/3, ")


def test_every_printed_share_in_the_shipped_registries_states_its_base(root):
    """A printed percentage carries its base n, or `base_n: null` saying that none was printed."""
    import yaml

    for path in sorted((root / "config" / "published").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["entries"]:
            if entry["claim"]["type"] == "percentage" and entry["value"] is not None:
                assert "base_n" in entry, (path.name, entry["id"])
    from survey_audit.config.registry import load_registry

    gender = [
        e
        for e in load_registry(root / "config" / "published" / "thorn-2018.yaml").entries
        if e.get("group") in ("t18-gender", "t18-orientation")
    ]
    assert len(gender) == 8 and {e["base_n"] for e in gender} == {260}


def test_check_published_flags_an_impossible_percentage(tmp_path, root):
    from survey_audit.config.registry import load_registry
    from survey_audit.stages.audit import check_published

    text = (root / "config" / "published" / "thorn-2018.yaml").read_text()
    path = tmp_path / "r.yaml"
    path.write_text(
        text.replace(
            'printed: "45%"\n    value: 45\n    base_n: 243',
            'printed: "45.1%"\n    value: 45.1\n    decimals: 1\n    base_n: 243',
        )
    )
    checks = check_published(load_registry(path), BOTH).set_index("entry")
    assert not checks.loc["t18-race-african-american", "ok"]
    # 109/243 = 44.856%, 110/243 = 45.267%: the values a base of 243 prints next to 45.1%
    assert checks.loc["t18-race-african-american", "detail"] == (
        "45.1% of 243: no whole number of respondents gives it; nearest possible: 44.9% (109/243) or 45.3% (110/243)"
    )


PLANTED = """
report: planted
title: A registry with planted errors
published: "2024"
wave: w1
registry_version: 1
chapters: [{title: Participants}]
entries:
  - {id: a-12, section: Participants, figure: Table 1, wording: a, base: all, printed: "12%", value: 12,
     base_n: 26, group: q, group_complete: true, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: b-12, section: Participants, figure: Table 1, wording: b, base: all, printed: "12%", value: 12,
     base_n: 26, group: q, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: c-12, section: Participants, figure: Table 1, wording: c, base: all, printed: "12%", value: 12,
     base_n: 26, group: q, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: d-62, section: Participants, figure: Table 1, wording: d, base: all, printed: "62%", value: 62,
     base_n: 26, group: q, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: grim-63, section: Participants, figure: Table 2, wording: e, base: all, printed: "63%", value: 63,
     base_n: 26, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: tie-63, section: Participants, figure: Table 2, wording: f, base: all, printed: "63%", value: 63,
     base_n: 8, reliability: primary, source: planted, claim: {type: percentage}}
  - {id: chisq-df, section: Participants, figure: Table 3, wording: g, base: all, printed: "χ²(2) = 3.84, p < .05",
     value: null, reliability: primary, source: planted,
     claim: {type: statistic, distribution: chisq, df1: 2, statistic_printed: "3.84", p_printed: "< .05"}}
"""


def test_check_published_finds_every_planted_error_through_the_command_line(tmp_path, capsys):
    """Oracles by hand: 12% of 26 is only 3/26 (11.5%) and 62% only 16/26 (61.5%), so 3 + 3 + 3 + 16 = 25 ≠ 26
    although the shares sum to 98 (within 100 ± 2); 63% of 26 lies between 16/26 = 61.5% and 17/26 = 65.4%;
    5/8 = 62.5% prints as 63% only when rounded half up; χ²(2) = 3.84 gives p = .147, χ²(1) gives p = .050."""
    from survey_audit.cli import main

    path = tmp_path / "planted.yaml"
    path.write_text(PLANTED)
    assert main(["check-published", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{path} (planted, 7 entries): 9 checks, 3 fail"
    failures = [line.split() for line in lines if line.startswith("  FAIL")]
    assert [f[1:3] for f in failures] == [["grim-63", "GRIM:"], ["chisq-df", "statcheck:"], ["q", "counts:"]]
    text = "\n".join(" ".join(line.split()) for line in lines)  # the columns' padding aside
    assert (
        "FAIL grim-63 GRIM: 63% of 26: no whole number of respondents gives it; "
        "nearest possible: 62% (16/26) or 65% (17/26)"
    ) in text
    assert "FAIL q counts: no counts sum to 26: the only counts, 3/3/3/16 (a-12/b-12/c-12/d-62), sum to 25" in text
    assert "p = .147 would fit the printed statistic and df; df = 1 would fit p < .05" in text
    assert "ok tie-63 GRIM: 63% of 8: k = 5 (only with half-up rounding: 5/8 = 62.5%)" in text
    assert "ok q sum: sum 98 (100 ± 2)" in text
    assert lines[-1] == "3 check(s) fail"
    # under half-even rounding alone, 5/8 = 62.5% prints as 62%: the tie fails, and the nearest values say so
    assert main(["check-published", str(path), "--rounding", "half_even"]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "FAIL tie-63 GRIM: 63% of 8: no whole number of respondents gives it; nearest possible: 62% (5/8)" in text


def test_a_data_free_entry_needs_no_table_cell(tmp_path):
    from survey_audit.config.registry import load_registry

    path = tmp_path / "planted.yaml"
    path.write_text(PLANTED)
    reg = load_registry(path)
    out = audit([reg], cells([]), pd.DataFrame(), BOTH, small_base=30).set_index("entry_id")
    assert out.loc["grim-63", "verdict"] == "not computable"
    assert "data-free entry" in out.loc["grim-63", "note"]
    assert out.loc["grim-63", "checks"].startswith("GRIM vs printed base 26: INCONSISTENT (")
    assert "counts check FAILS: no counts sum to 26:" in out.loc["a-12", "checks"]
    assert out.loc["chisq-df", "verdict"] == "fails" and "df = 1 would fit p < .05" in out.loc["chisq-df", "note"]


def test_a_section_outside_the_reports_chapters_is_refused(tmp_path):
    from survey_audit.config.registry import load_registry
    from survey_audit.errors import ConfigError

    path = tmp_path / "planted.yaml"
    path.write_text(
        PLANTED.replace("{id: grim-63, section: Participants", "{id: grim-63, section: Help and assistance")
    )
    with pytest.raises(ConfigError) as info:
        load_registry(path)
    assert "'Help and assistance', which is not one of the report's chapters" in str(info.value)


def test_a_claim_never_rests_on_a_flagged_or_failed_test():
    table = cells(
        [
            ["t", "w1", "yes", "online", "unweighted", 30, 40, 75.0],
            ["t", "w1", "no", "online", "unweighted", 10, 40, 25.0],
        ]
    )
    tests = pd.DataFrame(
        {
            "test_id": ["t:w1", "t:w1-w2:online", "t:w2"],
            "p": [0.001, 0.001, None],
            "p_adjusted": [0.002, None, None],
            "method": ["Rao-Scott F", "independent samples", "not computable: one level"],
            "direction": ["", "increasing", ""],
            "flags": ["", "boundary_estimate", ""],
        }
    )
    cell = {"table": "t", "wave": "w1", "category": "online"}
    association = {"type": "association", "higher": "yes", "lower": "no"}
    reg = registry(
        entry("ok", {**association, "test": "t:w1"}, None, None, cell),
        entry("flagged", {"type": "trend", "test": "t:w1-w2:online", "direction": "increasing"}),
        entry("failed", {**association, "test": "t:w2"}, None, None, cell),
    )
    out = audit([reg], table, tests, BOTH, small_base=30).set_index("entry_id")
    assert out.loc["ok", "verdict"] == "holds"
    assert (
        out.loc["flagged", "verdict"] == "not computable" and "flagged boundary_estimate" in out.loc["flagged", "note"]
    )
    assert out.loc["failed", "verdict"] == "not computable" and "one level" in out.loc["failed", "note"]


def test_a_claim_on_a_model_test_holds_by_its_p_and_the_sign_of_its_coefficient():
    method = "design-based Wald F(1, 19) of x in svyglm(y ~ x + region, family = gaussian) (R regTermTest)"
    tests = pd.DataFrame(
        {
            "test_id": ["m:w1:model", "m:w2:model", "m:w3:model"],
            "test": ["model"] * 3,
            "method": [method] * 3,
            "statistic": [60.745, 60.745, 1.2],
            "p": [1.0e-7, 1.0e-7, 0.28],
            "p_adjusted": [3.0e-7, 3.0e-7, 0.56],
            "estimate": [5.48, -5.48, 0.4],
            "direction": ["positive", "negative", "positive"],
            "flags": ["", "", ""],
        }
    )
    claim = {"type": "association", "direction": "positive"}
    reg = registry(*(entry(w, {**claim, "test": f"m:{w}:model"}) for w in ("w1", "w2", "w3")))
    out = audit([reg], cells([]), tests, BOTH, small_base=30).set_index("entry_id")
    assert list(out["verdict"]) == ["holds", "fails", "fails"]  # significant and positive; negative; p = 0.56
    row = out.loc["w1"]
    assert (row["table_id"], row["table_file"], row["cell"]) == ("m:w1:model", "results/tests.csv", "")
    assert row["note"] == (
        f"test m:w1:model: {method}: F = 60.7, p = 3e-07 (adjusted); direction: positive (coefficient +5.48)"
    )
    assert out.loc["w2", "note"].endswith("direction: negative (coefficient -5.48)")


def test_an_association_on_a_model_test_must_say_its_sign(tmp_path):
    from survey_audit.config.registry import load_registry
    from survey_audit.errors import ConfigError

    path = tmp_path / "planted.yaml"
    path.write_text(
        PLANTED.replace(
            "entries:\n",
            "entries:\n  - {id: model-claim, section: Participants, figure: f, wording: w, base: b, printed: x, value: null,\n"
            "     reliability: primary, source: s, claim: {type: association, test: 'm:w1:model', higher: yes, lower: no}}\n",
            1,
        )
    )
    with pytest.raises(ConfigError) as info:
        load_registry(path)
    assert "claims an association on a model's test without the sign to check" in str(info.value)
    assert "direction: positive or negative" in str(info.value)


def test_an_audit_row_answers_in_one_row():
    """Printed, recomputed with its count, interval and method, difference in points, verdict, the cell's flags
    in words and where the table is. Oracle: 72/115 = 62.6087%, 63 − 62.6087 by hand; the flags' words are
    those of conventions.FLAGS."""
    table = cells([["adv", "w1", "all", "online", "unweighted", 72, 115, 100 * 72 / 115]]).assign(
        pct_ci_low=[51.2], pct_ci_high=[73.1], ci_method=["kg"], flags=["small_base;nchs_suppress"]
    )
    online = {"table": "adv", "wave": "w1", "category": "online"}
    reg = registry(
        entry("a", {"type": "percentage"}, "63%", 63, online),
        entry("n", {"type": "count"}, "72", 72, online),
    )
    out = audit([reg], table, pd.DataFrame(), BOTH, small_base=120).set_index("entry_id")
    row = out.loc["a"]
    assert row["printed"] == "63%" and row["recomputed_display"] == "62.61% (72/115)"
    assert (row["ci_low"], row["ci_high"], row["ci_method"]) == (51.2, 73.1, "kg")
    assert row["difference"] == pytest.approx(7200 / 115 - 63)
    assert row["verdict"] == "reproduced"
    assert row["flags"] == "base < 120; NCHS: suppress"
    assert (row["table_id"], row["table_file"]) == ("adv", "results/tables/adv.csv")
    count = out.loc["n"]  # a count has no interval, but its cell's flags still show
    assert pd.isna(count["ci_low"]) and count["ci_method"] == "" and count["flags"] == "base < 120; NCHS: suppress"
    assert list(out.reset_index().columns) == AUDIT_COLUMNS


def test_the_summary_says_a_verdicts_flags_beside_it():
    from survey_audit.stages.audit import summary_text

    table = cells([["adv", "w1", "all", "online", "unweighted", 72, 115, 100 * 72 / 115]]).assign(
        flags=["nchs_suppress"]
    )
    reg = registry(entry("a", {"type": "percentage"}, "63%", 63, {"table": "adv", "wave": "w1", "category": "online"}))
    frame = audit([reg], table, pd.DataFrame(), BOTH, small_base=30)
    line = next(line for line in summary_text(frame, False).splitlines() if line.startswith("a "))
    assert line.endswith("reproduced (NCHS: suppress)")


def test_the_2018_registry_follows_the_reports_table_of_contents(root):
    """Oracle: the 2018 report's table of contents (p. 3), as transcribed in the project's reference notes."""
    from survey_audit.config.registry import load_registry

    registry = load_registry(root / "config" / "published" / "thorn-2018.yaml")
    contents = [(c["title"], c["page"]) for c in registry.meta["chapters"]]
    assert contents == [
        ("Executive Summary", 4),
        ("Introduction", 12),
        ("Overview of Survey & Participants", 17),
        ("Recruitment & Grooming", 23),
        ("Experience in the Life", 28),
        ("Tech Use & Access in the Life", 32),
        ("Advertising", 37),
        ("Interaction with Buyers", 42),
        ("Exiting the Life", 46),
        ("Discussion & Implications", 50),
        ("Recommendations", 58),
    ]
    sections = {e["section"] for e in registry.entries}
    assert sections == {
        "Overview of Survey & Participants",
        "Recruitment & Grooming",
        "Tech Use & Access in the Life",
        "Advertising",
        "Interaction with Buyers",
        "Exiting the Life",
    }
    help_entries = [e for e in registry.entries if e.get("cell", {}).get("table") == "help_wanted"]
    assert help_entries and {e["section"] for e in help_entries} == {"Exiting the Life"}
    # the tables follow the same chapters, and the 2015 report keeps its own
    titles = {(spec.chapter, dict(spec.report_chapters)["thorn-2018"]) for spec in bundled_plan().specs}
    assert ("grooming", "Recruitment & Grooming") in titles and ("help", "Exiting the Life") in titles
    assert {dict(s.report_chapters)["thorn-2015"] for s in bundled_plan().specs} == {
        c["title"] for c in load_registry(root / "config" / "published" / "thorn-2015.yaml").meta["chapters"]
    }


def test_a_table_chapter_the_report_does_not_have_is_refused(root):
    from dataclasses import replace

    from survey_audit.config.registry import check_registry_cells, load_registry
    from survey_audit.errors import ConfigError

    plan = bundled_plan()
    specs = [
        replace(s, report_chapters=(("thorn-2018", "Help and assistance"),)) if s.id == "help_wanted" else s
        for s in plan.specs
    ]
    with pytest.raises(ConfigError) as info:
        check_registry_cells(load_registry(root / "config" / "published" / "thorn-2018.yaml"), specs, plan.view)
    assert "table 'help_wanted' is titled 'Help and assistance' in thorn-2018" in str(info.value)
    assert Path(info.value.file) == root / "config" / "tables" / "help.yaml"
