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
    result = solved(**{"objective": "max_value", "power.available_w": [5e5, 5e5]})
    lines = headline(result)
    assert lines[0] == "Total spend $0.0B over 2 years (2026-2027); peak draw 0.00 GW."
    assert lines[1] == "Chip-years bought: h100-sxm (rent): 0.00M."
    assert lines[2] == "Tokens served: 8.76e+09 output tokens in all."
    assert lines[3].startswith("Binding: power in 2026, 2027; highest shadow price ")
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
    assert page.count('<svg class="chart"') == 5 and "Total spend" in page
    print_plan(result)
    out = capsys.readouterr().out
    assert out.startswith("tiny (overrides: money.discount_rate=0.12)") and "limited by" in out
