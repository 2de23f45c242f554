"""The report in a real browser: headless Chromium (Debian's ``chromium``) loads ``results/report/index.html`` of
the shared workflow run, and the test checks that the audit table and every figure render with no text cut, that
the page asks the network for nothing, and that the printed PDF cuts no column. Oracles: the browser's own DOM,
measure of text, network log and PDF (read with poppler's ``pdftotext``); a planted external image shows that the
network check sees a request, a planted figure text that the measure sees a cut.

Chromium is started with its background services off and every host name resolving to nothing
(``--host-resolver-rules``), so no request can leave the machine during the test; the network log (``--log-net-log``)
then shows whether the *page* asked for any: a request the page makes carries the page's origin (a file://
isolation key), while the browser's own housekeeping (update checks, sign-in) carries ``not an origin``.

Locally the test is skipped when ``chromium`` or ``pdftotext`` is missing; in CI (``SURVEY_AUDIT_REQUIRE_CHROMIUM=1``,
set by ``.ci/run``, which installs both) a missing one fails it. The screenshot and the PDF are kept under the
test's output directory, and their paths printed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-pings",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("SURVEY_AUDIT_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")  # session, as the workflow run is: looked for first, before the run
def chromium() -> str:
    return tool("chromium", "chromium")


@pytest.fixture(scope="session")
def pdftotext() -> str:
    return tool("pdftotext", "poppler-utils")


def browse(chromium: str, page: Path, out: Path, name: str, *action: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Run headless Chromium on a file with one action (--dump-dom, --print-to-pdf=..., --screenshot=...),
    logging every network request to ``out/name.netlog.json``."""
    netlog = out / f"{name}.netlog.json"
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={out / (name + '.profile')}", f"--log-net-log={netlog}", *action,
         page.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done, netlog


def page_requests(netlog: Path) -> list[str]:
    """The URLs of the network requests the page made (its origin a file://), from Chromium's network log."""
    text = netlog.read_text().rstrip().rstrip(",")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log whose browser stopped before closing it
        log = json.loads(text + "]}")
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    urls: dict[int, str] = {}
    from_page: set[int] = set()
    for event in log["events"]:
        params, source = event.get("params", {}), event["source"]["id"]
        if names[event["type"]] == "REQUEST_ALIVE" and "url" in params:
            urls[source] = params["url"]
        if names[event["type"]] == "URL_REQUEST_START_JOB" and (
            params.get("initiator") not in (None, "not an origin")
            or "file://" in params.get("network_isolation_key", "")
        ):
            from_page.add(source)
    return sorted(urls[s] for s in from_page if s in urls)


@pytest.fixture(scope="module")
def rendered(chromium, workflow_run, tmp_path_factory):
    """The report's DOM as Chromium built it, and the network requests the page made."""
    out = tmp_path_factory.mktemp("browser")
    report = workflow_run / "results" / "report" / "index.html"
    done, netlog = browse(chromium, report, out, "dom", "--dump-dom")
    return report, done.stdout, page_requests(netlog), out


def svgs(markup: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", markup, re.S)


def test_the_audit_table_and_every_figure_render(rendered):
    report, dom, _, _ = rendered
    source = report.read_text()
    table = re.search(r'<table class="audit" id="audit-table">.*?</table>', dom, re.S)
    assert table, "the audit table is not in the rendered page"
    rows = re.findall(r"<tr>\s*<td>", table.group(0))
    assert len(rows) == len(re.findall(r"<tr><td>", re.search(r'id="audit-table">.*?</table>', source, re.S)[0]))
    assert len(rows) > 40
    figures = re.findall(r'<figure class="(figure|dotplot|coverage)">(.*?)</figure>', dom, re.S)
    assert len(figures) == source.count("<figure ")
    assert {kind for kind, _ in figures} == {"figure", "dotplot", "coverage"}
    for _, figure in figures:
        (svg,) = svgs(figure)  # each figure is one inline SVG the parser accepted whole
        assert re.search(r'<svg[^>]*viewBox="0 0 [\d.]+ [\d.]+"', svg)
        assert len(re.findall(r"<text\b", svg)) > 5  # titles, ticks and legend were parsed as text


MEASURE = """<script>
addEventListener("load", () => {
  const outside = [];
  for (const svg of document.querySelectorAll("figure.figure svg, figure.dotplot svg")) {
    const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
    for (const text of svg.querySelectorAll("text")) {
      const box = text.getBBox();
      if (box.x < 0 || box.y < 0 || box.x + box.width > width || box.y + box.height > height) {
        outside.push(text.textContent);
      }
    }
  }
  const pre = document.createElement("pre");
  pre.id = "outside";
  pre.textContent = JSON.stringify(outside);
  document.body.append(pre);
});
</script>"""
PLANTED = '<figure class="figure"><svg viewBox="0 0 100 20"><text x="-40" y="12">planted</text></svg></figure>'


def test_no_text_of_a_figure_runs_outside_its_drawing(rendered, chromium):
    """Oracle: the browser's own measure (getBBox) of every text of the figures, in the font it drew them with, in a
    copy of the report with a measuring script and one planted figure whose text starts left of its drawing: the
    planted text is the only one outside (no label, title or legend of the report's figures is cut)."""
    report, _, _, out = rendered
    page = out / "measured.html"
    page.write_text(report.read_text().replace("</main>", PLANTED + "</main>").replace("</body>", MEASURE + "</body>"))
    done, _ = browse(chromium, page, out, "measure", "--virtual-time-budget=10000", "--dump-dom")
    found = re.search(r'<pre id="outside">(.*?)</pre>', done.stdout, re.S)
    assert found, "the measuring script did not run"
    assert json.loads(html.unescape(found.group(1))) == ["planted"]


def test_the_page_requests_nothing_from_the_network(rendered):
    _, _, requests, _ = rendered
    assert requests == []


def test_the_network_check_sees_a_request_the_page_makes(chromium, tmp_path):
    """The oracle of the check above: a page with an external image is caught."""
    page = tmp_path / "leak.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/leak.png"></body></html>')
    _, netlog = browse(chromium, page, tmp_path, "leak", "--dump-dom")
    assert page_requests(netlog) == ["http://example.invalid/leak.png"]


def test_the_printed_report_cuts_no_column(rendered, chromium, pdftotext):
    report, dom, _, out = rendered
    pdf = out / "report.pdf"
    _, netlog = browse(chromium, report, out, "pdf", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert page_requests(netlog) == []
    print(f"\nprinted report: {pdf}")
    boxes = out / "report.bbox.html"
    subprocess.run([pdftotext, "-bbox", str(pdf), str(boxes)], check=True, timeout=300)
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', boxes.read_text(), re.S)
    assert pages
    words = []
    for width, _, body in pages:
        for x_min, x_max, word in re.findall(r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)"[^>]*>(.*?)</word>',
                                             body):  # fmt: skip
            assert float(x_min) >= 0 and float(x_max) <= float(width) + 0.5, f"'{word}' runs off the page"
            words.append(html.unescape(word))
    text = "".join(words)
    # the audit's last column is printed: its header, and the end of every row's notes
    assert "checksandnotes" in text
    table = re.search(r'<table class="audit" id="audit-table">.*?</table>', dom, re.S).group(0)
    for row in re.findall(r"<tr>(\s*<td.*?)</tr>", table, re.S):
        last = html.unescape(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1]))
        tail = "".join(last.split())[-12:]
        assert tail in text, f"the notes ending '{tail}' are not in the printed report"
    # and every figure's title was drawn (the figures' text is SVG text, which the PDF keeps)
    for svg in svgs(dom):
        title = max((html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)), key=len)
        assert "".join(title.split()) in text, title


def test_a_screenshot_is_kept(rendered, chromium):
    report, _, _, out = rendered
    shot = out / "report.png"
    _, netlog = browse(chromium, report, out, "shot", "--window-size=1280,2400", f"--screenshot={shot}")
    assert page_requests(netlog) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    print(f"\nscreenshot of the report: {shot}")
