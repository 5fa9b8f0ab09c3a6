"""The HTML report of a real run, opened in headless Chromium (the Debian package, driven by
Playwright): it loads with no console error and no request but the file itself, every chart
draws marks, the case filter works, and a screenshot is not blank."""

from __future__ import annotations

import shutil
import statistics
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, sync_playwright

from benchroute.testing import FakeServer
from tests.conftest import run_cli
from tests.reports._runs import cli_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs the chromium browser (apt-get install chromium; scripts/setup.sh installs it)",
)

CHARTS = {
    # chart container -> selector of the marks it must have drawn, and how many at least
    "chart-pareto-cost": (".scatterlayer .point", 3),
    "chart-pareto-latency": (".scatterlayer .point", 3),
    "chart-latency": (".boxlayer .trace path.box", 3),
    "chart-cost": (".barlayer .point path", 3),
}


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-run")
    with FakeServer() as fake:
        project, run_id = cli_run(folder, fake)
    output = folder / "report.html"
    proc = run_cli("report", run_id, "--config", str(project), "--format", "html", "--output", str(output))
    assert proc.returncode == 0, proc.stderr
    return output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # The Debian browser, not a Playwright download; as root Chromium needs --no-sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _png_pixels(data: bytes) -> tuple[int, int, list[int]]:
    """Decode an 8-bit RGB(A) PNG (what Chromium writes) into (width, height, grey values)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    grey: list[int] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                line[i] = (line[i] + predictor) & 0xFF
        grey.extend((line[i] + line[i + 1] + line[i + 2]) // 3 for i in range(0, stride, channels))
        previous = line
    return width, height, grey


def test_report_renders_offline_with_charts_and_filters(
    report_file: Path, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def on_dialog(dialog: Dialog) -> None:  # alert() from a model's output would land here
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: requests.append(r.url))
    url = report_file.as_uri()
    page.goto(url, wait_until="load")
    # Selector waits, not wait_for_function: the report's CSP forbids the eval that needs.
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart} svg.main-svg", state="attached", timeout=15_000)

    assert requests == [url]  # nothing but the file itself
    for chart, (marks, at_least) in CHARTS.items():
        container = page.locator(f"#{chart}")
        assert container.locator("svg.main-svg").count() >= 1, chart
        drawn = container.locator(marks).count()
        assert drawn >= at_least, f"{chart}: {drawn} marks ({marks})"
    legend = page.locator("#chart-pareto-cost .legendtext").all_text_contents()
    assert "Pareto frontier" in legend and "dominated" in legend

    rows = page.locator("#case-table tbody tr")
    visible = page.locator("#case-table tbody tr:visible")
    total = rows.count()
    assert total == 48 and visible.count() == total
    page.select_option("#filter-model", "cheap")
    assert visible.count() == 16
    assert page.locator("#shown-count").text_content() == "16"
    page.fill("#filter-text", "pwned")  # the hostile replies: shown as text, never run
    assert visible.count() == 4
    page.select_option("#filter-model", "")
    page.fill("#filter-text", "")
    page.select_option("#filter-status", "failed")
    assert visible.count() == 12
    page.select_option("#filter-suite", "recall")
    assert 0 < visible.count() < 12
    page.select_option("#filter-status", "")
    page.select_option("#filter-suite", "")
    assert visible.count() == total

    shot = tmp_path / "report.png"
    page.locator("#charts").screenshot(path=str(shot))
    width, height, grey = _png_pixels(shot.read_bytes())
    assert width > 600 and height > 400
    assert statistics.pstdev(grey) > 10  # a blank (or single-colour) capture is ~0
    assert len(set(grey)) > 50  # anti-aliased lines, text and fills, not a flat background
    page.close()
    assert problems == []


@pytest.mark.parametrize("width", [1280, 800])
def test_report_page_is_never_wider_than_the_window(report_file: Path, browser: Browser, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report_file.as_uri(), wait_until="load")
    page_width, window_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page_width <= window_width
    # The leaderboard keeps all its columns: its own box scrolls instead.
    box = page.locator("#leaderboard .table-scroll").first
    inner, outer = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert outer <= window_width and (width >= 1280 or inner > outer)
    page.close()
