"""The fleet LP on hand-solvable cases, its result tables, its solver messages, and its properties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.errors import Infeasible, ScenarioError
from computeplan.fleet.lp import (
    Constraint,
    Entries,
    LinearProgram,
    Units,
    build_and_solve,
    choose_units,
    in_service,
    solve,
)
from computeplan.fleet.results import PlanResult, in_service_chips, summarize
from tests.fleet.helpers import inputs, scenario

CHIP = "h100-sxm (rent)"


def solve_plan(sc, inp) -> PlanResult:
    return summarize(sc, inp, build_and_solve(sc, inp))


def test_one_chip_one_workload_needs_demand_over_throughput():
    sc = scenario()
    # demand 8.76e9 tokens a year at 1,000 tokens per chip-hour over 8,760 hours: exactly 1,000 chips
    result = solve_plan(sc, inputs(sc))
    for period in ("2026", "2027"):
        row = result.fleet.loc[(period, CHIP)]
        assert row["chips_in_service"] == pytest.approx(1000.0)
        assert row["serving_chip_hours"] == pytest.approx(1000 * 8760.0)
        assert row["spend_usd"] == pytest.approx(1000 * 8760 * 2.0)
        assert row["power_w"] == pytest.approx(1000 * 1000.0)
        p = result.periods.loc[period]
        assert p["tokens_served"] == pytest.approx(8.76e9)
        assert p["spend_usd"] == pytest.approx(1000 * 8760 * 2.0)
        assert p["power_w"] == pytest.approx(1000 * 1000.0)
        assert p["usd_per_million_tokens"] == pytest.approx(2.0 / 1000 * 1e6)
    assert result.totals.spend_usd == pytest.approx(2 * 1000 * 8760 * 2.0)
    assert result.chip_years()[CHIP] == pytest.approx(2000.0)


def test_solved_tables_are_indexed_by_what_they_are_about():
    sc = scenario(**{"training": [{"model": "llama3-8b", "run_flop": {"values": [1e20, 1e20]}}]})
    result = solve_plan(sc, inputs(sc, train_rate=1e15, train_demand=(1e20, 1e20)))
    assert result.fleet.index.names == ["period", "option"]
    assert list(result.fleet.index) == [("2026", CHIP), ("2027", CHIP)]
    assert result.to_frame() is not result.fleet and result.to_frame().equals(result.fleet)
    assert {"chips_added", "chips_in_service", "training_chip_hours", "serving_chip_hours", "spend_usd"} <= set(
        result.fleet.columns
    )
    assert result.periods.index.name == "period" and list(result.periods.index) == ["2026", "2027"]
    assert {"power_w", "spend_usd", "training_flop", "tokens_served", "token_shortfall", "limited_by"} <= set(
        result.periods.columns
    )
    assert result.training.index.names == ["period", "workload"]
    assert list(result.training.index) == [("2026", "train llama3-8b"), ("2027", "train llama3-8b")]
    assert list(result.serving.index) == [("2026", "serve llama3-70b"), ("2027", "serve llama3-70b")]
    assert list(result.binding.columns) == ["constraint", "period", "about", "shadow_price", "unit"]
    # training 1e20 FLOP at 1e15 FLOP per chip-hour: 1e5 chip-hours more, so 1,000 + 1e5 / 8,760 chips
    assert result.fleet.loc[("2026", CHIP), "training_chip_hours"] == pytest.approx(1e5)
    assert result.fleet.loc[("2026", CHIP), "chips_in_service"] == pytest.approx(1000 + 1e5 / 8760)


def test_lifetime_carries_chips_into_later_years():
    sc = scenario(
        **{
            "chips": [
                {
                    "chip": "h100-sxm",
                    "first_year": 2026,
                    "last_year": 2026,
                    "supply_per_year": 1e6,
                    "lifetime_years": 2,
                    "price_usd_per_hour": 2.0,
                }
            ]
        }
    )
    result = solve_plan(sc, inputs(sc))
    assert result.fleet.loc[("2026", CHIP), "chips_added"] == pytest.approx(1000.0)
    assert result.fleet.loc[("2027", CHIP), "chips_added"] == pytest.approx(0.0)
    assert result.fleet.loc[("2027", CHIP), "chips_in_service"] == pytest.approx(1000.0)


def test_in_service_sums_the_additions_within_each_lifetime():
    sc = scenario()
    inp = inputs(sc)
    inp = type(inp)(**{**inp.__dict__, "lifetime_periods": np.array([2.0])})
    add = np.array([[1.0, 10.0]])
    assert in_service_chips(inp, add).tolist() == [[1.0, 11.0]]
    _, t, cols = in_service(inp, np.array([[0, 1]]))
    assert sorted(zip(t.tolist(), cols.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 1)]


def test_power_cap_binds_and_is_priced():
    # a chip-year earns 8.76e6 tokens x $10,000/M = $87,600 against $17,520 of rent: worth renting to the cap
    sc = scenario(
        **{"objective": "max_value", "power.available_w": [5e5, 5e5], "inference.0.value_usd_per_million_tokens": 1e4}
    )
    result = solve_plan(sc, inputs(sc))
    assert result.fleet.loc[("2026", CHIP), "chips_in_service"] == pytest.approx(500.0)
    power = result.binding[result.binding["constraint"] == Constraint.POWER]
    assert len(power) == 2 and (power["shadow_price"] > 0).all()
    # a GW-year of power is worth what 1e6 more chips earn net of rent: (87,600 - 17,520) x 1e6 in present value
    assert power["shadow_price"].iloc[0] == pytest.approx((87_600 - 17_520) * 1e6, rel=1e-6)
    assert set(power["unit"]) == {"USD per GW-year of NPV"}
    assert set(power["period"]) == {"2026", "2027"}
    assert list(result.periods["limited_by"]) == ["power", "power"]


def test_unmeetable_demand_is_reported_with_the_binding_limit_not_refused():
    sc = scenario(**{"power.available_w": [5e5, 5e5]})
    result = solve_plan(sc, inputs(sc))
    unmet = [w for w in result.warnings if w.startswith("unmet demand")]
    assert len(unmet) == 2 and "unmet demand in 2026: 4.38e+09 tokens (binding: power" in unmet[0]
    assert result.serving["shortfall_tokens"].sum() == pytest.approx(2 * 4.38e9, rel=1e-6)  # half of each year
    assert result.fleet["chips_in_service"].max() == pytest.approx(500.0)  # all the power could run


def test_unreachable_hard_commitment_is_explained():
    sc = scenario(**{"objective": "max_value", "money.commitment_usd": 1e12, "money.take_or_pay": False})
    with pytest.raises(Infeasible, match=r"commitment: \$1,000.0B cannot be spent"):
        solve_plan(sc, inputs(sc, supply=10.0))


def test_an_unspent_take_or_pay_commitment_is_paid_and_said():
    sc = scenario(**{"objective": "max_value", "money.commitment_usd": 1e9})
    result = solve_plan(sc, inputs(sc, supply=10.0))
    spent_on_chips = float(result.periods["rent_usd"].sum())
    assert spent_on_chips == pytest.approx(20 * 8760 * 2.0)  # 10 chips a year, each rented for its one-year life
    assert result.totals.unspent_commitment_usd == pytest.approx(1e9 - spent_on_chips, rel=1e-9)
    assert result.totals.spend_usd == pytest.approx(1e9, rel=1e-9)  # what is committed is paid
    assert result.periods["unspent_commitment_usd"].iloc[-1] == pytest.approx(1e9 - spent_on_chips, rel=1e-9)


def test_to_dict_is_json_and_derived_from_the_tables():
    import json

    sc = scenario()
    result = solve_plan(sc, inputs(sc))
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["periods"][0]["chips"] == {CHIP: pytest.approx(1000.0)}
    assert data["periods"][0]["limited_by"] == result.periods["limited_by"].iloc[0]
    assert data["totals"]["chip_years"] == {CHIP: pytest.approx(2000.0)}
    assert "headline" not in data  # prose is the report's


def test_zero_demand_is_refused_before_solving():
    sc = scenario()
    with pytest.raises(ScenarioError, match="nothing to plan: every workload's demand is 0"):
        build_and_solve(sc, inputs(sc, token_demand=(0.0, 0.0)))


def test_one_zero_demand_does_not_break_the_scaling():
    """A zero demand used to make the FLOP unit 1 and the matrix overflow HiGHS ('Model error')."""
    sc = scenario(
        **{
            "objective": "max_value",
            "training": [{"model": "llama3-8b", "run_flop": {"values": [1.0, 1.0]}}],
        }
    )
    inp = inputs(sc, train_rate=1e19, train_demand=(0.0, 0.0), token_demand=(8.76e9, 8.76e9))
    assert choose_units(inp, sc).flop > 1e20
    result = solve_plan(sc, inp)
    assert result.periods["training_flop"].min() > 0


def test_no_capable_chip_is_refused_with_the_reason():
    sc = scenario()
    inp = replace(
        inputs(sc, tokens_per_chip_hour=0.0), notes=("h100-sxm cannot serve llama3-70b: the weights fit no replica",)
    )
    with pytest.raises(Infeasible, match="no chip option can run any workload: h100-sxm cannot serve"):
        build_and_solve(sc, inp)


def _tiny_lp() -> LinearProgram:
    lp = LinearProgram()
    x = lp.add_variables("add", (2,))
    lp.add_cost(x, -1.0)
    return lp


UNITS = Units(flop=1.0, tokens=1.0, usd=1.0, chips=1.0, watts=1.0)


def test_infeasible_names_the_constraint_group():
    lp = _tiny_lp()
    x = lp.variables["add"]
    lp.le(Constraint.POWER, np.array([[0]]), Entries().add(0, x[0], 1.0), np.array([1.0]))
    lp.le(Constraint.SUPPLY, np.array([[0]]), Entries().add(0, x[1], 1.0), np.array([1.0]))
    lp.ge(Constraint.COMMITMENT, np.zeros((1, 0)), Entries().add(0, x[0], 1.0), np.array([2.0]))
    sol = solve(lp, UNITS)
    assert sol.status == 2
    assert "infeasible: the power caps (power.available_w) and the commitment (money.commitment_usd)" in sol.message
    assert "supply" not in sol.message


def test_unbounded_names_the_uncapped_variable():
    lp = _tiny_lp()
    x = lp.variables["add"]
    lp.le(Constraint.SUPPLY, np.array([[0]]), Entries().add(0, x[0], 1.0), np.array([1.0]))
    sol = solve(lp, UNITS)
    assert sol.status == 3
    assert sol.message.startswith("unbounded: nothing caps chips added (add[1])")


def test_a_solver_failure_is_raised_in_plain_words():
    lp = _tiny_lp()
    sol = solve(lp, UNITS)
    with pytest.raises(Infeasible, match="the plan could not be solved: unbounded: nothing caps chips added"):
        summarize(scenario(), inputs(scenario()), sol)


@settings(max_examples=25, deadline=None)
@given(budget=st.floats(1e6, 5e7), more=st.floats(0, 5e7))
def test_more_budget_never_delivers_less(budget, more):
    sc = scenario(**{"objective": "max_value", "money.budget_total_usd": budget})
    bigger = scenario(**{"objective": "max_value", "money.budget_total_usd": budget + more})
    small = solve_plan(sc, inputs(sc)).totals.tokens_served
    large = solve_plan(bigger, inputs(bigger)).totals.tokens_served
    assert large >= small * (1 - 1e-9)


@settings(max_examples=25, deadline=None)
@given(cap=st.floats(1e5, 2e6), cut=st.floats(0.01, 1.0))
def test_a_tighter_power_cap_never_delivers_more(cap, cut):
    loose = scenario(**{"objective": "max_value", "power.available_w": [cap, cap]})
    tight = scenario(**{"objective": "max_value", "power.available_w": [cap * cut, cap * cut]})
    assert solve_plan(tight, inputs(tight)).totals.tokens_served <= solve_plan(
        loose, inputs(loose)
    ).totals.tokens_served * (1 + 1e-9)


def test_a_coefficient_beyond_highs_range_is_named_not_called_infeasible():
    lp = _tiny_lp()
    x = lp.variables["add"]
    lp.le(Constraint.SUPPLY, np.array([[0]]), Entries().add(0, x, np.array([1e20, 1.0])), np.array([1.0]))
    lp.le(Constraint.POWER, np.array([[0]]), Entries().add(0, x[1], 1.0), np.array([1.0]))
    sol = solve(lp, UNITS)
    assert sol.message.startswith("the plan's numbers are beyond the solver's range (HiGHS status 2: Model error)")
    assert "the largest, 1.0e+20, is in the chip supply caps (chips.*.supply_per_year)" in sol.message


def test_scenario_redundancies_reach_the_plan_as_warnings():
    sc = scenario(**{"money.budget_total_usd": 1e9, "money.budget_per_year_usd": [1e8, 1e8]})
    result = solve_plan(sc, inputs(sc))
    assert result.warnings == (
        "money.budget_total_usd: $1B is above the sum of money.budget_per_year_usd ($200M); the total never binds",
    )
    assert result.to_dict()["warnings"] == list(result.warnings)
