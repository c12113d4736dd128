"""The campaign report in a real browser (headless Chromium): every chart laid out, no script
error, nothing loaded from outside the page; a screenshot is kept under test-artifacts/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dialer_cli.report.render import render
from tests.support import browser
from tests.support.report_data import report_data

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts") / "report"
CHARTS = {
    "dials-per-second",
    "concurrent-calls",
    "outcomes",
    "dispositions",
    "compliance",
    "cost-by-outcome",
    "variants",
}


def body_attributes(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))


@pytest.fixture(scope="module")
def report_file() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "report.html"
    page.write_text(render(report_data()), encoding="utf-8")
    return page


def test_every_chart_renders_without_script_errors(report_file: Path) -> None:
    # WHEN the report of a realistic campaign is opened offline in Chromium
    loaded = browser.load(report_file)
    # THEN its script ran to the end, and every chart it promised was laid out with marks
    marks = body_attributes(loaded.dom)
    assert marks.get("data-report-ready") == "1", marks
    drawn = set(re.findall(r'<figure data-expect-chart="([\w-]+)" data-drawn="1"', loaded.dom))
    assert drawn == CHARTS, f"not drawn: {CHARTS - drawn}"
    assert marks["data-charts-expected"] == marks["data-charts-drawn"] == str(len(CHARTS))
    # AND nothing was written to the console: no script error, no blocked load (the page's CSP
    # forbids every fetch, so a reference to a CDN would show here)
    assert loaded.console == []


def test_the_check_sees_a_script_error_and_an_outside_load(tmp_path: Path, report_file: Path) -> None:
    # The same page with a failing script and an image from a CDN: the harness must notice both
    broken = tmp_path / "broken.html"
    broken.write_text(
        report_file.read_text().replace(
            "<script>", '<img src="https://cdn.example.com/x.png"><script>notDefined();</script><script>', 1
        )
    )
    console = " | ".join(browser.load(broken).console)
    assert "notDefined is not defined" in console
    assert "cdn.example.com" in console


def test_a_screenshot_is_kept(report_file: Path) -> None:
    shot = browser.screenshot(report_file, ARTIFACTS / "report.png")
    assert shot.stat().st_size > 20_000  # a blank page is a few kB
