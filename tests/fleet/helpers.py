"""Hand-made fleet inputs, so LP tests do not depend on the performance models."""

from __future__ import annotations

import numpy as np

from computeplan.economics import DEFAULT_PUE
from computeplan.fleet.inputs import FleetInputs, scenario_terms
from computeplan.fleet.scenario import Scenario


def scenario(**over) -> Scenario:
    data = {
        "name": "tiny",
        "start_year": 2026,
        "years": 2,
        "objective": "min_cost",
        "chips": [
            {
                "chip": "h100-sxm",
                "first_year": 2026,
                "last_year": 2027,
                "supply_per_year": 1e6,
                "lifetime_years": 1,
                "price_usd_per_hour": 2.0,
            }
        ],
        "inference": [{"model": "llama3-70b", "tokens_per_day": {"values": [1.0, 1.0]}}],
        "power": {"available_w": [1e12, 1e12], "pue": 1.0},
        "money": {"discount_rate": 0.0},
        "availability": 1.0,
    }
    for key, value in over.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[parts[-1]] = value
    return Scenario.model_validate(data)


def inputs(
    sc: Scenario,
    *,
    tokens_per_chip_hour=1000.0,
    token_demand=(8.76e9, 8.76e9),
    watts=1000.0,
    rent=8760.0 * 2.0,
    train_rate=0.0,
    train_demand=(0.0, 0.0),
    supply=1e6,
) -> FleetInputs:
    t_n = sc.years
    k_n = len(sc.chips)
    train_demand_flop = np.array([list(train_demand)] * len(sc.training)).reshape(len(sc.training), t_n)
    return FleetInputs(
        labels=[c.label or f"{c.chip} (rent)" for c in sc.chips],
        chip_ids=[c.chip for c in sc.chips],
        announced=[False] * k_n,
        periods=[str(sc.start_year + t) for t in range(t_n)],
        period_years=np.arange(t_n, dtype=float),
        hours_per_period=8760.0,
        add_allowed=np.ones((k_n, t_n)),
        supply_per_period=np.full((k_n, t_n), supply),
        lifetime_periods=np.array([c.lifetime_years for c in sc.chips]),
        watts_per_chip=np.full(k_n, watts),
        rent_usd_per_chip_period=np.full(k_n, rent),
        capex_usd_per_chip=np.zeros(k_n),
        energy_paid=np.zeros(k_n),
        train_flop_per_chip_hour=np.full((len(sc.training), k_n), train_rate),
        tokens_per_chip_hour=np.full((len(sc.inference), k_n), tokens_per_chip_hour),
        train_demand_flop=train_demand_flop,
        train_value_per_flop=np.array([j.value_usd_per_flop for j in sc.training]),
        token_demand=np.array([list(token_demand)] * len(sc.inference)).reshape(len(sc.inference), t_n),
        token_value=np.array([s.value_usd_per_million_tokens / 1e6 for s in sc.inference]),
        power_available_w=np.array([sc.power.available_w[t] for t in range(t_n)]),
        pue=sc.power.pue if sc.power.pue is not None else DEFAULT_PUE,
        **scenario_terms(sc, train_demand_flop),  # installed base, contracts, floors: as the scenario says
    )
