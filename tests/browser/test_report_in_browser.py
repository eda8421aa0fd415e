"""The HTML plan report in a real headless browser (Debian chromium driven by Playwright).

`.ci/run` installs chromium when missing; this test is skipped only where no chromium binary exists at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from computeplan import api
from computeplan.catalog import load_catalog
from computeplan.report.plan_report import plan_html

ROOT = Path(__file__).parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_report_loads_without_errors_and_every_chart_renders(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    catalog = load_catalog()
    result = api.plan(ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml", catalog=catalog)
    page_file = tmp_path / "plan.html"
    page_file.write_text(plan_html(result, catalog), encoding="utf-8")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 1600})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        charts = page.locator("svg.chart")
        assert charts.count() == 5
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 200
            assert charts.nth(i).locator("rect").count() > 3
        assert "Answers" in page.inner_text("body")
        page.screenshot(path=str(artifacts / "plan-report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(url.startswith("file:") for url in requests), "the report must work offline"
