"""The report's figures, written as SVG text directly: small multiples of percentages (bars with intervals) and dot
plots of printed against recomputed percentages. The report (:mod:`survey_audit.stages.report`) chooses what to
draw and in which words; this module only places shapes and text.

* **Scale**: every figure is one ``<svg>`` drawn on a canvas 1000 units wide (``viewBox``) and shown 100% wide, so
  it scales with its text to the page, in a browser or on an A4 landscape sheet.
* **Text** is SVG ``<text>``, escaped and set as written (a ``$`` is a dollar sign, never TeX), in the page's
  sans-serif font. Margins are measured from the labels, estimating a character at 0.6 em and a capital at
  0.75 em (wider than the average letters of the usual sans-serif fonts), and labels end at the axis they name,
  so none is cut; a title or label too long for its room wraps at spaces.
* **Look**: percentages on a 0–100 axis with ticks every 20; one colour per series, from the Okabe–Ito palette
  (distinguishable in colour-blind vision and in greyscale print); an interval as a dark line across its bar, or a
  coloured line through its dot; a value the report printed as a white diamond; a withheld value as its note
  (``[c]``) at the axis, with no bar, dot or interval.
* **Bytes**: coordinates have one decimal and no element has an id, so the same data give the same SVG.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

# Okabe–Ito: distinguishable in colour-blind vision and in greyscale print; one colour per series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WIDTH = 1000
FONT = "system-ui,-apple-system,Segoe UI,Roboto,sans-serif"  # the report page's
EM, CAPITAL = 0.6, 0.75  # estimated width of a character and of a capital letter, in font sizes
INK, MUTED, INTERVAL, GRID = "#1d2430", "#6b7480", "#222222", "#e5e7eb"
TITLE, LABEL, TICK, NOTE = 15, 12, 11, 10  # font sizes
TICKS = range(0, 101, 20)
PAD = 12  # around the drawing
BAND = 18  # the height of one bar's row
DOT_BAND = 22  # the height of one dot plot row


@dataclass(frozen=True)
class Mark:
    """One value to draw: a percentage (None: none drawn) with its interval, the printed value (None: not
    printed) and a note drawn at the axis where no value is (``[c]`` for a withheld one)."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    printed: float | None = None
    note: str = ""


def _n(x: float) -> str:
    return f"{x:.1f}"


def text_width(text: str, size: float) -> float:
    """The estimated width of a text set at ``size``: 0.6 em a character, 0.75 em a capital."""
    return size * (EM * len(text) + (CAPITAL - EM) * sum(c.isupper() for c in text))


def wrap(text: str, size: float, width: float) -> list[str]:
    """A text in lines no wider than ``width``, broken at spaces (a single longer word keeps its line)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(lines[-1] + " " + word, size) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _text(x: float, y: float, text: str, size: float, anchor: str = "start", fill: str = INK, css: str = "") -> str:
    """A text whose middle is at height ``y`` (its baseline a third of the size lower)."""
    attrs = f' text-anchor="{anchor}"' if anchor != "start" else ""
    attrs += f' fill="{fill}"' if fill != INK else ""
    attrs += f' class="{css}"' if css else ""
    return f'<text x="{_n(x)}" y="{_n(y + 0.35 * size)}" font-size="{size}"{attrs}>{html.escape(text)}</text>'


def _lines(x: float, y: float, lines: list[str], size: float, anchor: str = "start", css: str = "") -> str:
    """Lines of text centred as a block on height ``y``."""
    step = 1.25 * size
    top = y - step * (len(lines) - 1) / 2
    return "".join(_text(x, top + i * step, line, size, anchor, css=css) for i, line in enumerate(lines))


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1.0, css: str = "") -> str:
    attrs = f' class="{css}"' if css else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
        f'stroke-width="{width}"{attrs}/>'
    )


def _bar(x: float, y: float, width: float, height: float, fill: str, css: str = "bar") -> str:
    return f'<rect class="{css}" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" fill="{fill}"/>'


def _dot(x: float, y: float, fill: str) -> str:
    return f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{fill}"/>'


def _diamond(x: float, y: float) -> str:
    """The printed value's mark: a white diamond with a dark edge."""
    r = 4.5
    return (
        f'<path class="printed" d="M{_n(x)} {_n(y - r)}L{_n(x + r)} {_n(y)}L{_n(x)} {_n(y + r)}L{_n(x - r)} {_n(y)}Z" '
        'fill="#ffffff" stroke="#111111" stroke-width="1.2"/>'
    )


def _svg(height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" width="100%" '
        f'font-family="{FONT}"><rect width="100%" height="100%" fill="#ffffff"/>{"".join(body)}</svg>'
    )


def _title(text: str, y: float) -> tuple[str, float]:
    """The figure's title, centred and wrapped to the width; and the height below it."""
    lines = wrap(text, TITLE, WIDTH - 2 * PAD)
    step = 1.25 * TITLE
    markup = _lines(WIDTH / 2, y + step * (len(lines) - 1) / 2 + TITLE / 2, lines, TITLE, "middle", css="title")
    return markup, y + step * len(lines) + 6


def _axis(x0: float, x1: float, top: float, bottom: float, name: str, grid: bool = False) -> str:
    """A 0–100 axis under a plot (ticks every 20, the axis' name below), its left edge, and light vertical lines
    at the ticks when ``grid``."""
    parts = []
    for tick in TICKS:
        x = x0 + (x1 - x0) * tick / 100
        if grid:
            parts.append(_line(x, top, x, bottom, GRID))
        parts.append(_line(x, bottom, x, bottom + 4, INK))
        parts.append(_text(x, bottom + 13, str(tick), TICK, "middle"))
    parts.append(_line(x0, top, x0, bottom, INK))
    parts.append(_line(x0, bottom, x1, bottom, INK))
    parts.append(_text((x0 + x1) / 2, bottom + 30, name, LABEL, "middle"))
    return "".join(parts)


def _key(kind: str, colour: str, x: float, y: float) -> str:
    """A legend's symbol, 22 wide from ``x``: a bar, an interval, a dot with its interval, or the diamond."""
    if kind == "bar":
        return _bar(x + 3, y - 5, 16, 10, colour, css="key")
    if kind == "interval":
        return _line(x, y, x + 22, y, colour, 1.2)
    if kind == "dot":
        return _line(x, y, x + 22, y, colour, 1.8) + _dot(x + 11, y, colour)
    return _diamond(x + 11, y)


def _legend(items: list[tuple[str, str, str]], top: float, title: str = "") -> tuple[str, float]:
    """A legend under the plot, centred, in as many rows as the width needs: ``items`` are (kind, colour, label)
    with kind ``bar``, ``interval``, ``dot`` or ``printed``. Returns the markup and the height below it."""
    parts = []
    y = top
    if title:
        for line in wrap(title, LABEL, WIDTH - 2 * PAD):
            parts.append(_text(WIDTH / 2, y + LABEL / 2, line, LABEL, "middle"))
            y += 1.25 * LABEL
        y += 2
    widths = [22 + 6 + text_width(label, LABEL) for _, _, label in items]
    rows: list[list[int]] = []
    used = 0.0
    for i, width in enumerate(widths):
        if rows and used + 24 + width <= WIDTH - 2 * PAD:
            rows[-1].append(i)
            used += 24 + width
        else:
            rows.append([i])
            used = width
    for row in rows:
        x = (WIDTH - sum(widths[i] for i in row) - 24 * (len(row) - 1)) / 2
        middle = y + LABEL / 2 + 2
        for i in row:
            kind, colour, label = items[i]
            parts.append(_key(kind, colour, x, middle))
            parts.append(_text(x + 28, middle, label, LABEL))
            x += widths[i] + 24
        y += 1.6 * LABEL
    return "".join(parts), y


def _label_room(labels: list[str]) -> tuple[float, list[list[str]]]:
    """The left margin for row labels (ending at the axis): the longest label's width, or 40% of the canvas if
    that is less, but never less than the longest word; and each label in the lines that fit it."""
    longest = max((text_width(label, LABEL) for label in labels), default=0.0)
    word = max((text_width(w, LABEL) for label in labels for w in label.split(" ")), default=0.0)
    room = max(min(longest, 0.4 * WIDTH), word)
    return room, [wrap(label, LABEL, room) for label in labels]


def small_multiples(
    title: str,
    panels: list[str],
    categories: list[str],
    colours: list[str],
    marks: dict[tuple[int, int, int], Mark],
    legend: list[tuple[str, str, str]],
    legend_title: str = "",
    axis: str = "% of respondents",
) -> str:
    """Bars of percentages, one panel per item of ``panels`` side by side, ``categories`` down the side (labelled
    once, left of the first panel), one bar per series in its colour (``colours``) in each category's group.
    ``marks`` maps (panel, series, category) indices to what is drawn there (nothing where none)."""
    body, top = _title(title, PAD)
    room, label_lines = _label_room(categories)
    left = PAD + room + 10
    gap, right = 36, PAD + 8
    count = max(len(panels), 1)
    panel = (WIDTH - left - right - gap * (count - 1)) / count
    series = max(len(colours), 1)
    plot_top = top + 22
    groups = []  # each category's top and height
    y = plot_top
    for lines in label_lines:
        height = max(series * BAND, 1.25 * LABEL * len(lines)) + 8
        groups.append((y, height))
        y += height
    plot_bottom = max(y, plot_top + BAND)
    parts = [body]
    for (group_top, height), lines in zip(groups, label_lines):
        parts.append(_lines(left - 8, group_top + height / 2, lines, LABEL, "end", css="label"))
    for p, name in enumerate(panels):
        x0 = left + p * (panel + gap)
        parts.append(_text(x0 + panel / 2, top + 8, name, 13, "middle", css="panel"))
        parts.append(_axis(x0, x0 + panel, plot_top, plot_bottom, axis))
        for c, (group_top, height) in enumerate(groups):
            first = group_top + (height - series * BAND) / 2
            for s, colour in enumerate(colours):
                mark = marks.get((p, s, c))
                if mark is None:
                    continue
                middle = first + (s + 0.5) * BAND
                parts.append(_bar_mark(mark, x0, panel, middle, colour))
    legend_markup, bottom = _legend(legend, plot_bottom + 44, legend_title)
    parts.append(legend_markup)
    return _svg(bottom + PAD, parts)


def _bar_mark(mark: Mark, x0: float, width: float, middle: float, colour: str) -> str:
    def x(value: float) -> float:
        return x0 + width * value / 100

    parts = []
    if mark.value is None:
        if mark.note:
            parts.append(_text(x0 + 4, middle, mark.note, NOTE, fill=MUTED, css="note"))
    else:
        parts.append(_bar(x0, middle - 0.4 * BAND, x(mark.value) - x0, 0.8 * BAND, colour))
        if mark.low is not None and mark.high is not None:
            parts.append(_line(x(mark.low), middle, x(mark.high), middle, INTERVAL, 1.2, css="interval"))
    if mark.printed is not None:
        parts.append(_diamond(x(mark.printed), middle))
    return "".join(parts)


def dot_rows(
    title: str,
    rows: list[tuple[str, Mark]],
    legend: list[tuple[str, str, str]],
    colour: str = PALETTE[0],
    axis: str = "percentage",
) -> str:
    """One row per (label, mark): the value as a dot on its interval and the printed value as a diamond, on a
    0–100 axis with light vertical lines at the ticks; a note (``[c]``) right of the axis where no value is."""
    body, top = _title(title, PAD)
    room, label_lines = _label_room([label for label, _ in rows])
    left = PAD + room + 10
    right = WIDTH - PAD - 30  # room for a note right of 100
    plot_top = top + 6
    centres = []
    y = plot_top
    for lines in label_lines:
        height = max(DOT_BAND, 1.25 * LABEL * len(lines) + 6)
        centres.append(y + height / 2)
        y += height
    plot_bottom = max(y, plot_top + DOT_BAND)
    parts = [body, _axis(left, right, plot_top, plot_bottom, axis, grid=True)]

    def x(value: float) -> float:
        return left + (right - left) * value / 100

    for (_, mark), lines, middle in zip(rows, label_lines, centres):
        parts.append(_lines(left - 8, middle, lines, LABEL, "end", css="label"))
        if mark.value is None:
            if mark.note:
                parts.append(_text(right + 6, middle, mark.note, NOTE, fill=MUTED, css="note"))
        else:
            if mark.low is not None and mark.high is not None:
                parts.append(_line(x(mark.low), middle, x(mark.high), middle, colour, 1.8, css="interval"))
            parts.append(_dot(x(mark.value), middle, colour))
        if mark.printed is not None:
            parts.append(_diamond(x(mark.printed), middle))
    legend_markup, bottom = _legend(legend, plot_bottom + 44)
    parts.append(legend_markup)
    return _svg(bottom + PAD, parts)
