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


def _render(html_text: str, name: str, tmp_path: Path, *, width: int, min_rects: int) -> tuple[int, str]:
    """Open the page in headless chromium, check every chart is drawn at a readable size, screenshot it to
    test-artifacts/NAME.png, and assert no console error and no request leaves the file: (charts, body text)."""
    playwright = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / f"{name}.html"
    page_file.write_text(html_text, encoding="utf-8")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 1600})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        charts = page.locator("svg.chart")
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 200
            assert charts.nth(i).locator("rect").count() > min_rects
        count, text = charts.count(), page.inner_text("body")
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(url.startswith("file:") for url in requests), "the report must work offline"
    return count, text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_report_loads_without_errors_and_every_chart_renders(tmp_path):
    catalog = load_catalog()
    result = api.plan(ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml", catalog=catalog)
    charts, text = _render(plan_html(result, catalog), "plan-report", tmp_path, width=1000, min_rects=3)
    assert charts == 5 and "Answers" in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_compare_report_loads_offline_without_errors(tmp_path):
    from computeplan.fleet.compare import compare_plans
    from computeplan.report.compare_report import comparison_html

    catalog = load_catalog()
    names = ["cloud-commitment-100b-5gw", "portfolio-diversified", "own-build"]
    plans = [api.plan(ROOT / "scenarios" / f"{name}.yaml", catalog=catalog) for name in names]
    page = comparison_html(compare_plans(plans, names), catalog)
    charts, text = _render(page, "compare-report", tmp_path, width=1200, min_rects=10)
    assert charts == 2
    assert "net present value" in text and "own-build minus first" in text
    assert all(name in text for name in names)
