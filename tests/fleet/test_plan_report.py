"""The plan's words are built in report from the plan's tables: headline, title with overrides, HTML, terminal."""

from __future__ import annotations

from pathlib import Path

from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.results import PlanResult, summarize
from computeplan.fleet.scenario import override_scenario
from computeplan.report.plan_report import headline, plan_html, plan_title, print_plan
from tests.fleet.helpers import inputs, scenario

FLEET = Path(__file__).parents[2] / "src" / "computeplan" / "fleet"


def solved(**over) -> PlanResult:
    sc = scenario(**over)
    return summarize(sc, inputs(sc), build_and_solve(sc, inputs(sc)))


def test_headline_is_built_in_report_from_the_tables():
    over = {"objective": "max_value", "power.available_w": [5e5, 5e5], "inference.0.value_usd_per_million_tokens": 1e4}
    result = solved(**over)
    lines = headline(result)
    # 500 chips x $17,520 of rent a year, two years: $17.52M for 0.5 MW x 2 years drawn (PUE 1)
    assert lines[0] == "Spend: $17.5M over 2 years (2026-2027), $17.52 per facility watt-year drawn."
    assert lines[1].startswith("Net present value $70.1M at a 0% cost of capital: value $87.6M less cost $17.5M")
    assert "Power: 0.50 MW on average, 0.50 MW at the peak (2026)." in lines
    assert "Peak chips in service: h100-sxm (rent) 500 in 2026." in lines
    assert any(line.startswith("Serving: 8.76e+09 output tokens of 1.75e+10 demanded (50%)") for line in lines)
    assert "Unmet demand: 8.76e+09 tokens in 2026, 2027." in lines
    assert any(line.startswith("Binding: power in 2026, 2027; worth up to $70.1B per GW-year of NPV") for line in lines)
    assert not hasattr(result, "headline")
    for path in FLEET.glob("*.py"):
        assert "headline" not in path.read_text(), f"{path.name}: prose about a plan belongs in report"


def test_title_names_the_overrides():
    result = solved()
    assert plan_title(result) == "tiny"
    sc = override_scenario(scenario(), {"money.discount_rate": "0.12"})
    again = summarize(sc, inputs(sc), build_and_solve(sc, inputs(sc)))
    assert plan_title(again) == "tiny (overrides: money.discount_rate=0.12)"
    assert again.to_dict()["overrides"] == {"money.discount_rate": "0.12"}


def test_html_and_terminal_render_a_tiny_plan(builtin, capsys):
    sc = override_scenario(scenario(), {"money.discount_rate": "0.12"})
    result = summarize(sc, inputs(sc), build_and_solve(sc, inputs(sc)))
    page = plan_html(result, builtin)
    assert "<h1>tiny (overrides: money.discount_rate=0.12)</h1>" in page
    assert page.count('<svg class="chart"') == 4 and "Spend: " in page  # no training: no training chart
    print_plan(result)
    out = capsys.readouterr().out
    assert out.startswith("tiny (overrides: money.discount_rate=0.12)") and "limited by" in out
