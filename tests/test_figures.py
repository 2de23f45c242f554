"""The report's figures as SVG text (survey_audit.stages.figures): labels never cut, text as written, bars and
dots where the numbers put them, a note and nothing else for a withheld value, the same bytes twice. Oracles:
positions worked out by hand from the 1000-unit canvas and the estimate of a character (0.6 em, a capital 0.75),
and the SVG parsed as XML by the standard library (the browser's own measure of the text is in test_browser.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from survey_audit.stages.figures import PALETTE, WIDTH, Mark, dot_rows, small_multiples, text_width, wrap

NS = "{http://www.w3.org/2000/svg}"
LEGEND = [("bar", PALETTE[0], "yes"), ("bar", PALETTE[1], "no"), ("interval", "#222222", "95% CI")]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def of_class(root: ET.Element, css: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == css]


def figure(labels=("Short", "a category label long enough to need a wide margin"), marks=None) -> str:
    marks = marks or {
        (0, 0, 0): Mark(40.0, 30.0, 50.0),
        (0, 1, 0): Mark(note="[c]"),
        (1, 0, 1): Mark(80.0, 70.0, 90.0, printed=75.0),
        (1, 1, 1): Mark(10.0),  # no interval
    }
    return small_multiples("Paid $5 to $10 & <more>", ["wave1", "wave2"], list(labels), PALETTE[:2], marks, LEGEND)


def test_the_svg_scales_to_the_page_and_text_is_drawn_as_written():
    root = parse(figure())
    assert root.get("viewBox").startswith(f"0 0 {WIDTH} ") and root.get("width") == "100%"
    drawn = [t.text for t in texts(root)]
    assert "Paid $5 to $10 & <more>" in drawn  # escaped in the markup, read back as written; no TeX
    assert "&amp; &lt;more&gt;" in figure()
    assert {"wave1", "wave2", "yes", "no", "95% CI", "% of respondents"} <= set(drawn)
    assert [d for d in drawn if d in {"0", "20", "40", "60", "80", "100"}] == ["0", "20", "40", "60", "80", "100"] * 2


def test_text_width_counts_capitals_wider():
    assert text_width("ab", 10) == pytest.approx(12.0) and text_width("Ab", 10) == pytest.approx(13.5)


def test_labels_end_at_the_axis_and_start_inside_the_canvas():
    """The long label is 50 small letters and spaces: 50 × 0.6 × 12 = 360 units, under 40% of the canvas, so it
    keeps one line, ends 8 units left of the axis (12 + 360 + 10 - 8 = 374) and starts at the canvas' margin."""
    root = parse(figure())
    labels = of_class(root, "label")
    assert [t.text for t in labels] == ["Short", "a category label long enough to need a wide margin"]
    assert {t.get("text-anchor") for t in labels} == {"end"}
    assert {float(t.get("x")) for t in labels} == {374.0}
    assert 374.0 - text_width(labels[1].text, 12) == pytest.approx(14.0)
    axis = min(float(e.get("x")) for e in of_class(root, "bar"))
    assert axis == pytest.approx(382.0)


def test_a_label_wider_than_the_room_wraps_at_spaces_and_keeps_its_words():
    long = "word " * 80
    assert wrap("a b c", 12, 1000) == ["a b c"]
    lines = wrap(long.strip(), 12, 0.4 * WIDTH)
    assert " ".join(lines) == long.strip() and all(text_width(line, 12) <= 0.4 * WIDTH for line in lines)
    root = parse(figure(labels=("x", long.strip())))
    assert [t.text for t in of_class(root, "label")][1:] == lines
    one_word = "Supercalifragilistic" * 30  # 600 characters, no space: the margin widens rather than cut it
    root = parse(dot_rows("t", [(one_word, Mark(50.0))], []))
    (label,) = of_class(root, "label")
    assert float(label.get("x")) - text_width(one_word, 12) >= 0


def test_bars_intervals_and_the_printed_diamond_sit_at_their_values():
    """Two panels share 1000 - 382 - 20 - 36 = 562 units: 281 each, the second starting at 382 + 281 + 36 = 699."""
    root = parse(figure())
    bars = [(e.get("fill"), float(e.get("x")), float(e.get("width"))) for e in of_class(root, "bar")]
    assert bars == [
        (PALETTE[0], 382.0, pytest.approx(0.4 * 281, abs=0.05)),
        (PALETTE[0], 699.0, pytest.approx(0.8 * 281, abs=0.05)),
        (PALETTE[1], 699.0, pytest.approx(0.1 * 281, abs=0.05)),
    ]
    intervals = [(float(e.get("x1")), float(e.get("x2"))) for e in of_class(root, "interval")]
    assert intervals == [
        (pytest.approx(382.0 + 0.3 * 281, abs=0.05), pytest.approx(382.0 + 0.5 * 281, abs=0.05)),
        (pytest.approx(699.0 + 0.7 * 281, abs=0.05), pytest.approx(699.0 + 0.9 * 281, abs=0.05)),
    ]
    (diamond,) = of_class(root, "printed")  # no printed key in this legend
    assert float(re.match(r"M([\d.]+) ", diamond.get("d")).group(1)) == pytest.approx(699.0 + 0.75 * 281, abs=0.05)


def test_a_withheld_value_draws_its_note_and_nothing_else():
    root = parse(figure())
    (note,) = of_class(root, "note")
    assert note.text == "[c]" and float(note.get("x")) == pytest.approx(382.0 + 4)
    # the first category's group holds the first series' bar and, below it, the note, in the same band
    (first, *_) = of_class(root, "bar")
    assert float(note.get("y")) > float(first.get("y")) + float(first.get("height"))
    shown, withheld = Mark(50.0, 40.0, 60.0, printed=52.0), Mark(note="[c]", printed=3.0)
    legend = [("dot", PALETTE[0], "recomputed"), ("printed", "", "printed")]
    rows = parse(dot_rows("t", [("shown", shown), ("withheld", withheld)], legend))
    assert len(of_class(rows, "dot")) == 1 + 1 and len(of_class(rows, "interval")) == 1  # and the legend's dot
    assert len(of_class(rows, "printed")) == 2 + 1  # printed values are drawn whether or not withheld
    assert [t.text for t in of_class(rows, "note")] == ["[c]"]


def test_the_legend_flows_into_rows_that_fit_the_canvas():
    items = [("bar", PALETTE[i % 8], f"a by-value label number {i}") for i in range(9)]
    root = parse(small_multiples("t", ["w"], ["c"], [PALETTE[0]], {}, items, legend_title="By what"))
    keys = of_class(root, "key")
    assert len(keys) == 9 and "By what" in [t.text for t in texts(root)]
    rows = sorted({float(k.get("y")) for k in keys})
    assert len(rows) > 1
    for label in texts(root):
        if label.text.startswith("a by-value"):
            assert float(label.get("x")) + text_width(label.text, 12) <= WIDTH


def test_the_same_figure_gives_the_same_bytes():
    assert figure() == figure()
    assert not re.search(r'\bid="', figure())
    numbers = re.findall(r' (?:x|y|width|height|x1|x2|y1|y2|cx|cy)="([^"]+)"', figure())
    assert all(re.fullmatch(r"-?\d+\.\d|100%", n) for n in numbers)
