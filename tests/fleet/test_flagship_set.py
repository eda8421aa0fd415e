"""The flagship set (Trainium only, diversified, own build) as a reader meets it: answers in words, goodput that
agrees with ``computeplan goodput``, MFU within 1, rents checked against the owner's cost, and the comparison of the
three plans (table, JSON, ``plan --vary``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import computeplan
from computeplan.catalog import load_catalog
from computeplan.errors import ScenarioError
from computeplan.fleet.compare import FIGURES, compare_plans, vary_grid
from computeplan.report.plan_report import headline, plan_html
from tests.cli.test_cli import run

SCENARIOS = Path(__file__).parents[2] / "scenarios"
FLAGSHIP = SCENARIOS / "cloud-commitment-100b-5gw.yaml"
SET = [FLAGSHIP, SCENARIOS / "portfolio-diversified.yaml", SCENARIOS / "own-build.yaml"]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def plans(catalog):
    return [computeplan.plan(path, catalog=catalog) for path in SET]


def test_the_flagship_states_its_answers_in_words(plans, catalog):
    lines = headline(plans[0], catalog)
    text = "\n".join(lines)
    assert lines[0].startswith("Spend: $")
    assert "Contract aws-2026: $100.0B committed" in text  # the commitment, a floor
    assert re.search(r"At this plan's cost per watt, \$100\.0B buys [\d.]+ GW-years: [\d.]+ GW on average", text)
    assert re.search(r"Filling the [\d.]+ GW available from 20\d\d to the end would cost \$", text)
    assert "Peak chips in service: trn2 Rainier (installed) 500k in 2026 (installed base)" in text
    assert "Llama-3-405B-equivalents" in text and "Unmet demand" in text
    assert "(announced: projected figures)" in text  # Trainium4
    assert re.search(r"Performance model per chip: .*uncalibrated", text)
    assert "{" not in text  # no Python dicts in the words


def test_goodput_in_the_plan_is_what_the_goodput_command_prints(plans):
    training = plans[0].training
    days = plans[0].scenario.training[0].run_days
    busy = training[training["training_flop"] > 0]
    assert len(busy) >= 5
    for _, row in busy.iterrows():
        alone = computeplan.goodput("llama3-405b", round(row["goodput_fleet_chips"]), days=days)
        assert abs(row["goodput"] - alone.goodput) <= 0.02
        # a job is no larger than the fleet that runs it (to the settling's tolerance: half a point of goodput)
        assert row["goodput_fleet_chips"] <= row["training_chips"] * 1.02


def test_no_mfu_above_one_and_every_rent_checked(plans):
    for plan in plans:
        mfu = plan.rates["mfu"].dropna()
        assert len(mfu) and (mfu > 0).all() and (mfu <= 1).all()
        rented = [r for r in plan.inputs.rates if "(rent)" in r.option or "Rainier" in r.option]
        assert set(plan.cost_plus.index) >= {r.option for r in rented}
        assert set(plan.cost_plus["verdict"]) == {"within"}  # the scenarios price rents at cost plus 35%


def test_the_three_plans_differ_where_they_should(plans):
    comparison = compare_plans(plans, ["trainium", "diversified", "own"])
    figures = comparison.figures
    assert list(figures.index) == list(FIGURES)
    assert figures.at["owned_share", "own"] > 0.2 and figures.at["owned_share", "trainium"] == 0
    assert figures.at["peak_power_w", "diversified"] > figures.at["peak_power_w", "trainium"]
    assert comparison.differences["trainium"].abs().max() == 0
    assert comparison.differences.at["npv_usd", "own"] == pytest.approx(
        figures.at["npv_usd", "own"] - figures.at["npv_usd", "trainium"]
    )
    json.dumps(comparison.to_dict(), allow_nan=False)


def test_the_cost_of_capital_moves_the_own_build(catalog, plans):
    dear = computeplan.plan(SET[2], overrides={"money.discount_rate": "0.15"}, catalog=catalog)
    assert dear.totals.owned_share < plans[2].totals.owned_share
    assert dear.peak_chips()["gb300 (own)"] < plans[2].peak_chips()["gb300 (own)"]


def test_plan_html_has_readable_charts(plans, catalog):
    page = plan_html(plans[0], catalog)
    assert "Training compute delivered (Llama-3-405B-equivalents)" in page
    assert "frontier run size" not in page  # the 1e31 FLOP line that flattened the chart is gone
    assert "unspent commitment" not in page  # a zero category gets no legend entry


def test_vary_grid_is_every_combination_and_refuses_malformed_specs():
    grid = vary_grid(["money.discount_rate=0.05,0.1", "power.available_w=[1 GW, 2 GW],5 GW"])
    assert grid == [
        {"money.discount_rate": "0.05", "power.available_w": "[1 GW, 2 GW]"},
        {"money.discount_rate": "0.05", "power.available_w": "5 GW"},
        {"money.discount_rate": "0.1", "power.available_w": "[1 GW, 2 GW]"},
        {"money.discount_rate": "0.1", "power.available_w": "5 GW"},
    ]
    with pytest.raises(ScenarioError, match="expected key=v1,v2"):
        vary_grid(["money.discount_rate"])
    with pytest.raises(ScenarioError, match="no empty ones"):
        vary_grid(["money.discount_rate=0.1,"])


def test_compare_and_vary_on_the_cli(capsys, tmp_path):
    page = tmp_path / "compare.html"
    code, out, err = run(capsys, "compare", str(SET[0]), str(SET[2]), "--json", "--html", str(page))
    assert code == 0, err
    data = json.loads(out)
    assert [p["name"] for p in data["plans"]] == ["cloud-commitment-100b-5gw", "own-build"]
    assert data["units"]["npv_usd"] == "USD" and data["plans"][1]["figures"]["owned_share"] > 0
    assert "<table>" in page.read_text() and page.read_text().count('<svg class="chart"') == 2
    code, out, err = run(capsys, "plan", str(SET[0]), "--vary", "money.discount_rate=0.05,0.12", "--json")
    assert code == 0, err
    names = [p["name"] for p in json.loads(out)["plans"]]
    assert names == ["money.discount_rate=0.05", "money.discount_rate=0.12"]
    code, _, err = run(capsys, "plan", str(SET[0]), "--vary", "money.discount_rate")
    assert code == 2 and "expected key=v1,v2" in err


def test_break_even_prices_on_the_cli(capsys):
    code, out, err = run(capsys, "plan", str(SET[2]), "--break-even", "--json")
    assert code == 0, err
    flips = {row["option"]: row for row in json.loads(out)["break_even"]}
    own = flips["gb300 (own)"]
    # the contract caps the rented watts and the 90% service floor needs more tokens than they serve (prefills
    # interleaved with decode included), so the owned GB300s stay chosen at any price searched
    assert own["mode"] == "buy" and own["chosen"] and own["price"] == 47_000 and own["break_even"] is None
    assert not flips["trn3 (rent)"]["chosen"] and flips["trn3 (rent)"]["break_even"] < 1.94
    code, out, err = run(capsys, "plan", str(SET[2]), "--break-even")
    assert code == 0 and "- trn3 (rent) would be chosen below $" in out and "gb300 (own) is chosen at any price" in out


def test_a_period_below_its_service_floor_prices_no_limit(plans):
    """Where tokens fall short of a service floor the LP pays its last-resort penalty per token, and a limit's dual
    in that period is that penalty (the flagship's contract capacity read $76.7T per GW-year in 2035): no price."""
    flagship = plans[0]
    short = flagship.serving[flagship.serving["shortfall_tokens"] > 1e-6 * flagship.serving["tokens_demanded"]]
    below = {str(p) for p, _ in short.index}
    assert below  # the flagship serves below its 90% floor in its last year
    binding = flagship.binding
    assert binding[binding["period"].astype(str).isin(below)]["shadow_price"].isna().all()
    gw_year = binding[binding["unit"].str.startswith("USD per GW-year")]["shadow_price"].dropna()
    assert len(gw_year) and (gw_year < 1e12).all()  # $25.4B per GW-year at the 5 GW contract in 2030
