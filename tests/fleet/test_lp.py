"""The fleet LP on hand-solvable cases, and its properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.errors import Infeasible
from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.results import summarize
from tests.fleet.helpers import inputs, scenario


def solve(sc, inp):
    return summarize(sc, inp, build_and_solve(sc, inp))


def test_one_chip_one_workload_needs_demand_over_throughput():
    sc = scenario()
    # demand 8.76e9 tokens a year at 1,000 tokens per chip-hour over 8,760 hours: exactly 1,000 chips
    result = solve(sc, inputs(sc))
    for period in result.periods:
        assert period["chips"]["h100-sxm (rent)"] == pytest.approx(1000.0)
        assert period["tokens_served"] == pytest.approx(8.76e9)
        assert period["spend_usd"] == pytest.approx(1000 * 8760 * 2.0)
        assert period["power_w"] == pytest.approx(1000 * 1000.0)


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
    result = solve(sc, inputs(sc))
    assert result.periods[0]["chips_added"]["h100-sxm (rent)"] == pytest.approx(1000.0)
    assert result.periods[1]["chips_added"]["h100-sxm (rent)"] == pytest.approx(0.0)
    assert result.periods[1]["chips"]["h100-sxm (rent)"] == pytest.approx(1000.0)


def test_power_cap_binds_and_is_priced():
    sc = scenario(**{"objective": "max_value", "power.available_w": [5e5, 5e5]})
    result = solve(sc, inputs(sc))
    assert result.periods[0]["chips"]["h100-sxm (rent)"] == pytest.approx(500.0)
    power = [b for b in result.binding if b["constraint"] == "power"]
    assert power and power[0]["shadow_price_usd_billion"] > 0


def test_unmeetable_demand_names_the_binding_limit():
    sc = scenario(**{"power.available_w": [5e5, 5e5]})
    with pytest.raises(Infeasible, match="demand cannot be met in 2026, 2027: binding power"):
        solve(sc, inputs(sc))


def test_unreachable_commitment_is_explained():
    sc = scenario(**{"objective": "max_value", "money.commitment_usd": 1e12})
    with pytest.raises(Infeasible, match=r"commitment: \$1,000.0B cannot be spent"):
        solve(sc, inputs(sc, supply=10.0))


@settings(max_examples=25, deadline=None)
@given(budget=st.floats(1e6, 5e7), more=st.floats(0, 5e7))
def test_more_budget_never_delivers_less(budget, more):
    sc = scenario(**{"objective": "max_value", "money.budget_total_usd": budget})
    bigger = scenario(**{"objective": "max_value", "money.budget_total_usd": budget + more})
    small = solve(sc, inputs(sc)).totals["tokens_served"]
    large = solve(bigger, inputs(bigger)).totals["tokens_served"]
    assert large >= small * (1 - 1e-9)


@settings(max_examples=25, deadline=None)
@given(cap=st.floats(1e5, 2e6), cut=st.floats(0.0, 1.0))
def test_a_tighter_power_cap_never_delivers_more(cap, cut):
    loose = scenario(**{"objective": "max_value", "power.available_w": [cap, cap]})
    tight = scenario(**{"objective": "max_value", "power.available_w": [cap * cut, cap * cut]})
    assert solve(tight, inputs(tight)).totals["tokens_served"] <= solve(loose, inputs(loose)).totals[
        "tokens_served"
    ] * (1 + 1e-9)
