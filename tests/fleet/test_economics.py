"""The fleet's economics on hand-made inputs: net present value, take-or-pay, installed base, contracts, ramps,
owned chips' salvage, shadow prices checked against finite differences, and the properties a planner must keep
(more budget or one more option never lowers the value; a dearer cost of capital never favours owning)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.errors import ScenarioError
from computeplan.fleet.inputs import ramp_share
from computeplan.fleet.lp import Constraint, build_and_solve, salvage_share
from computeplan.fleet.results import PlanResult, summarize
from computeplan.fleet.scenario import Scenario, override_scenario
from tests.fleet.helpers import inputs, scenario

RENT_YEAR = 8760 * 2.0  # the helpers' rent: $2/h for a year
# a chip-year serves 8.76e6 tokens; at $10,000 per million tokens it earns $87,600: worth renting
RICH = {"objective": "max_value", "inference.0.value_usd_per_million_tokens": 1e4}


def solve(sc: Scenario, inp=None) -> PlanResult:
    inp = inputs(sc) if inp is None else inp
    return summarize(sc, inp, build_and_solve(sc, inp))


def npv(sc: Scenario, inp=None) -> float:
    return solve(sc, inp).totals.npv_usd


# ----------------------------------------------------------------------------------------------- hand-computed parts


def test_a_supply_ramp_gives_a_first_year_its_share_of_volume():
    years = np.array([2026.0, 2027.0, 2028.0])
    # volume from mid-2026, full a year later: 2026 averages 0.125 of full, 2027 0.875, 2028 all of it
    assert ramp_share(2026.5, 1.0, years, 1.0).tolist() == pytest.approx([0.125, 0.875, 1.0])
    # a step in the second quarter: three quarters of 2026's volume
    assert ramp_share(2026.25, 0.0, years, 1.0).tolist() == pytest.approx([0.75, 1.0, 1.0])
    quarters = 2026 + np.arange(4) / 4
    assert ramp_share(2026.25, 0.0, quarters, 0.25).tolist() == pytest.approx([0.0, 1.0, 1.0, 1.0])


def test_an_owned_chip_is_worth_its_book_value_at_the_end_or_its_resale_when_it_retires():
    sc = scenario(**{"years": 10, "power.available_w": [1e12] * 10, "inference.0.tokens_per_day.values": [1.0] * 10})
    inp = replace(
        inputs(sc, token_demand=[1.0] * 10),
        lifetime_periods=np.array([4.0]),
        residual_value=np.array([0.2]),
    )
    share = salvage_share(inp, 1, 0.1)
    # bought in year 8 of 10, four-year life: half its life left at the end, book 0.2 + 0.8 x 0.5, discounted 10 years
    assert share[0, 8] == pytest.approx((0.2 + 0.8 * 0.5) * 1.1**-10)
    # bought in year 2: retires in year 6 and is resold for 20% then
    assert share[0, 2] == pytest.approx(0.2 * 1.1**-6)


def test_the_installed_base_serves_first_and_its_rent_is_spent():
    sc = scenario(**{"chips.0.installed": {"chips": 1000, "until_year": 2026}})
    result = solve(sc)
    fleet = result.fleet["chips_in_service"]
    assert fleet.loc[("2026", "h100-sxm (rent)")] == pytest.approx(1000.0)  # the base covers 2026's demand
    assert result.fleet["chips_added"].loc[("2026", "h100-sxm (rent)")] == pytest.approx(0.0)
    assert result.fleet["chips_added"].loc[("2027", "h100-sxm (rent)")] == pytest.approx(1000.0)
    assert result.periods["rent_usd"].tolist() == pytest.approx([1000 * RENT_YEAR] * 2)


def test_a_contract_capacity_binds_and_is_priced_per_gw_year():
    sc = scenario(
        **RICH,
        **{
            "contracts": [{"name": "cloud", "capacity_w": [5e5, 5e5]}],
            "chips.0.contract": "cloud",
        },
    )
    result = solve(sc)
    assert result.fleet["chips_in_service"].max() == pytest.approx(500.0)
    rows = result.binding[result.binding["constraint"] == Constraint.CONTRACT_CAPACITY]
    assert set(rows["about"]) == {"cloud"} and len(rows) == 2
    # a GW-year more is 1e6 more chips earning $87,600 for $17,520 of rent
    assert rows["shadow_price"].iloc[0] == pytest.approx((87_600 - RENT_YEAR) * 1e6, rel=1e-6)
    assert result.contracts.loc["cloud", "peak_power_w"] == pytest.approx(5e5)


def test_a_contract_commitment_is_a_take_or_pay_floor_on_its_options_alone():
    sc = scenario(
        **RICH,
        **{
            "contracts": [{"name": "cloud", "commitment_usd": 1e8}],
            "chips.0.contract": "cloud",
        },
    )
    result = solve(sc, inputs(sc, supply=100.0))
    spent = 200 * RENT_YEAR  # 100 chips a year, each a year
    row = result.contracts.loc["cloud"]
    assert row["spent_usd"] == pytest.approx(spent) and row["unspent_paid_usd"] == pytest.approx(1e8 - spent)
    assert result.totals.unspent_commitment_usd == pytest.approx(1e8 - spent)
    with pytest.raises(ScenarioError, match=r"chips.0.contract: no contract 'clowd' \(did you mean 'cloud'\?\)"):
        override_scenario(scenario(**{"contracts": [{"name": "cloud"}]}), {"chips.0.contract": "clowd"})


def test_min_cost_unmet_demand_is_reported_with_its_shortfall():
    sc = scenario(**{"power.available_w": [2.5e5, 1e12]})
    result = solve(sc)
    assert result.serving["shortfall_tokens"].tolist() == pytest.approx([0.75 * 8.76e9, 0.0])
    assert any(w.startswith("unmet demand in 2026") for w in result.warnings)


def test_a_service_floor_must_be_served_even_at_a_loss():
    # tokens earn $3 per million, far below their cost: a max_value plan serves only the floor
    sc = scenario(**{"objective": "max_value", "inference.0.service_floor": 0.4})
    result = solve(sc)
    assert result.serving["tokens_served"].tolist() == pytest.approx([0.4 * 8.76e9] * 2)
    assert result.totals.npv_usd < 0


# ---------------------------------------------------------------------------------------- shadow prices vs re-solves


def test_power_shadow_price_matches_a_finite_difference():
    base = {**RICH, "money.discount_rate": 0.1, "power.available_w": [5e5, 5e5]}
    result = solve(scenario(**base))
    price = float(result.binding[result.binding["constraint"] == Constraint.POWER]["shadow_price"].iloc[0])
    step = 1e4  # W for the first year: 1e-5 GW-years
    relaxed = npv(scenario(**{**base, "power.available_w": [5e5 + step, 5e5]}))
    finite = (relaxed - result.totals.npv_usd) / (step / 1e9)
    assert price == pytest.approx(finite, rel=0.1)


def test_budget_shadow_price_matches_a_finite_difference():
    base = {**RICH, "money.discount_rate": 0.1, "money.budget_total_usd": 5e6}
    result = solve(scenario(**base))
    rows = result.binding[result.binding["constraint"] == Constraint.BUDGET_TOTAL]
    price = float(rows["shadow_price"].iloc[0])
    assert rows["unit"].iloc[0] == "USD per USD of NPV" and price > 0
    step = 1e4
    finite = (npv(scenario(**{**base, "money.budget_total_usd": 5e6 + step})) - result.totals.npv_usd) / step
    assert price == pytest.approx(finite, rel=0.1)


# ------------------------------------------------------------------------------------------------------- properties


@settings(max_examples=15, deadline=None)
@given(budget=st.floats(1e5, 2e7), more=st.floats(0.0, 2e7))
def test_more_budget_never_lowers_the_value(budget, more):
    low = npv(scenario(**RICH, **{"money.budget_total_usd": budget}))
    high = npv(scenario(**RICH, **{"money.budget_total_usd": budget + more}))
    assert high >= low - 1e-6 * max(abs(low), 1.0)


@settings(max_examples=15, deadline=None)
@given(price=st.floats(0.5, 20.0), rate=st.floats(0.0, 0.3))
def test_adding_an_option_never_lowers_the_value(price, rate):
    one = scenario(**RICH, **{"money.discount_rate": rate, "power.available_w": [5e5, 5e5]})
    second = {**one.chips[0].model_dump(), "price_usd_per_hour": price, "label": "other"}
    two = Scenario.model_validate({**one.model_dump(), "chips": [one.chips[0].model_dump(), second]})
    rents = np.array([RENT_YEAR, price * 8760])
    with_two = replace(inputs(two), rent_usd_per_chip_period=rents)
    assert npv(two, with_two) >= npv(one) - 1e-6 * max(abs(npv(one)), 1.0)


def _rent_or_buy(rate: float, capex_years: float) -> tuple[Scenario, object]:
    """Four years of flat demand; one option rents at $R a year, the other buys at ``capex_years`` x R (four-year
    life, no resale, no energy cost): buying wins when the rent's annuity at ``rate`` exceeds ``capex_years``."""
    sc = scenario(
        **{
            "years": 4,
            "power.available_w": [1e12] * 4,
            "power.electricity_usd_per_kwh": 0.0,
            "inference.0.tokens_per_day.values": [1.0] * 4,
            "money.discount_rate": rate,
        }
    )
    rent = {**sc.chips[0].model_dump(), "lifetime_years": 4, "last_year": 2029}
    buy = {**rent, "mode": "buy", "capex_usd": capex_years * RENT_YEAR, "price_usd_per_hour": None, "label": "own"}
    two = Scenario.model_validate({**sc.model_dump(), "chips": [rent, buy]})
    inp = replace(
        inputs(two, token_demand=[8.76e9] * 4),
        lifetime_periods=np.array([4.0, 4.0]),
        rent_usd_per_chip_period=np.array([RENT_YEAR, 0.0]),
        capex_usd_per_chip=np.array([0.0, capex_years * RENT_YEAR]),
        energy_paid=np.array([0.0, 1.0]),
    )
    return two, inp


def test_the_cost_of_capital_changes_a_plan_that_can_build():
    # buying costs 3.5 years of rent up front; renting four years costs 4 at 0% but 3.49 at 10%
    cheap_money = solve(*_rent_or_buy(0.0, 3.5))
    dear_money = solve(*_rent_or_buy(0.10, 3.5))
    assert cheap_money.totals.owned_share == pytest.approx(1.0)
    assert dear_money.totals.owned_share == pytest.approx(0.0)


@settings(max_examples=15, deadline=None)
@given(low=st.floats(0.0, 0.4), step=st.floats(0.0, 0.4), capex_years=st.floats(2.0, 5.0))
def test_a_dearer_cost_of_capital_never_raises_the_owned_share(low, step, capex_years):
    owned_low = solve(*_rent_or_buy(low, capex_years)).totals.owned_share
    owned_high = solve(*_rent_or_buy(low + step, capex_years)).totals.owned_share
    assert owned_high <= owned_low + 1e-6


def test_an_infeasible_plan_names_the_yearly_budgets_when_they_are_the_limit():
    # the installed base's rent alone ($17.5M a year) is above a $10M yearly budget: nothing else is to blame
    sc = scenario(
        **{
            "chips.0.installed": {"chips": 1000, "until_year": 2027},
            "money.budget_per_year_usd": [1e7, 1e7],
        }
    )
    solution = build_and_solve(sc, inputs(sc))
    assert solution.status == 2
    assert solution.message.startswith("infeasible: the yearly budgets (money.budget_per_year_usd) cannot hold")
    assert "spend accounting" not in solution.message


def test_break_even_prices_are_where_the_choice_flips():
    from computeplan.fleet.breakeven import break_even

    one = scenario()
    cheap = {**one.chips[0].model_dump(), "label": "cheap"}
    dear = {**one.chips[0].model_dump(), "label": "dear", "price_usd_per_hour": 3.0}
    two = Scenario.model_validate({**one.model_dump(), "chips": [cheap, dear]})
    inp = replace(inputs(two), rent_usd_per_chip_period=np.array([2.0, 3.0]) * 8760)
    flips = break_even(two, inp)
    # the same chip at $2 and $3 an hour: the dear one is chosen below $2, the cheap one stays up to $3
    assert not flips.loc["dear", "chosen"] and flips.loc["dear", "break_even"] == pytest.approx(2.0, rel=0.02)
    assert flips.loc["cheap", "chosen"] and flips.loc["cheap", "break_even"] == pytest.approx(3.0, rel=0.02)


# ------------------------------------------------------------------ found in review (each failed before its fix)


def test_a_contract_and_a_total_commitment_of_the_same_money_overlap():
    sc = scenario(
        **RICH,
        **{
            "contracts": [{"name": "cloud", "commitment_usd": 1e8}],
            "chips.0.contract": "cloud",
            "money.commitment_usd": 1e8,
        },
    )
    result = solve(sc, inputs(sc, supply=100.0))
    spent = 200 * RENT_YEAR
    assert result.totals.unspent_commitment_usd == pytest.approx(1e8 - spent)  # once, not twice
    assert result.totals.spend_usd == pytest.approx(1e8)


def test_min_cost_training_is_not_capped_by_runs_per_year():
    sc = scenario(
        **{
            "inference": [],
            "training": [{"model": "llama3-8b", "run_flop": {"values": [1e21, 1e21]}, "runs_per_year": 0.5}],
        }
    )
    result = solve(sc, inputs(sc, train_rate=1e18, train_demand=(1e21, 1e21)))
    assert result.training["training_flop"].tolist() == pytest.approx([1e21, 1e21])
    assert result.training["shortfall_flop"].sum() == pytest.approx(0.0, abs=1e9)


def test_a_facility_powers_only_its_life():
    sc = scenario(
        **RICH,
        **{
            "years": 3,
            "power.available_w": [0.0, 0.0, 0.0],
            "power.buildable_w_per_year": 1e6,
            "power.build_lead_years": 0,
            "power.capex_usd_per_w": 0.01,
            "power.facility_life_years": 1,
            "inference.0.tokens_per_day.values": [1.0] * 3,
            "chips.0.last_year": 2028,
        },
    )
    result = solve(sc, inputs(sc, token_demand=[8.76e9] * 3))
    built = result.periods["facility_built_w"].to_numpy()
    # a one-year facility must be rebuilt every year to keep 1,000 chips (1 MW) running
    assert built.tolist() == pytest.approx([1e6, 1e6, 1e6])


def test_labels_that_collide_after_numbering_stay_unique():
    from computeplan.fleet.inputs import unique_labels

    assert unique_labels(["a", "a", "a #1"]) == ["a #2", "a #3", "a #1"]
    assert unique_labels(["a", "b", "a"]) == ["a #1", "b", "a #2"]


def test_the_reported_npv_is_the_one_the_plan_was_solved_for(catalog_flagship_variant):
    result, scenario_ = catalog_flagship_variant
    solution = build_and_solve(scenario_, result.inputs)  # the inputs of the last solve, goodput settled
    assert -solution.objective * solution.units.usd == pytest.approx(result.totals.npv_usd, rel=1e-6)


@pytest.fixture(scope="module")
def catalog_flagship_variant():
    """The flagship without its training cap and on a small contract: the plan trains on fewer chips than the
    jobs it priced, so the jobs are settled and the plan solved again."""
    import computeplan
    from computeplan.fleet.scenario import load_scenario
    from tests.fleet.test_flagship_set import FLAGSHIP

    overrides = {
        "years": "3",
        "training.0.runs_per_year": "null",
        "contracts.0.capacity_w": "50 MW",
        "chips.0.installed.chips": "1000",
        "inference.0.service_floor": "0",
        "inference.0.value_usd_per_million_tokens": "0.01",
        "contracts.0.commitment_usd": "0",
    }
    result = computeplan.plan(FLAGSHIP, overrides=overrides)
    return result, load_scenario(FLAGSHIP, overrides)
