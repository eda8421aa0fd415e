"""Break-even prices: for each chip option, the rent (per chip-hour) or purchase price at which the plan's choice of
it flips. An option the plan adds stays chosen up to its break-even price; one it leaves out would be chosen below
it. Found by bisection on the price, re-solving the LP each time (prices do not change what a chip delivers, so
nothing is re-priced): about a dozen solves per option, to 1% of the price.

(HiGHS's own cost ranging would give the same answer in one solve for a single basis change, but scipy's interface
to HiGHS does not expose it, and an option's choice can flip through several basis changes.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.scenario import Scenario

CHOSEN_SHARE = 0.005  # an option is chosen when it gets more than this share of the chips the plan adds
MAX_FACTOR = 64.0  # search prices from 1/64x to 64x today's
TOLERANCE = 0.01  # relative width at which the bisection stops


def _chosen(scenario: Scenario, inputs: FleetInputs, k: int) -> bool | None:
    """Whether the plan adds chips of option ``k`` (None where the plan does not solve)."""
    solution = build_and_solve(scenario, inputs)
    if solution.status != 0:
        return None
    added = solution.value("add").sum(axis=1)
    total = float(added.sum())
    return bool(total > 0 and added[k] > CHOSEN_SHARE * total)


def _priced(inputs: FleetInputs, k: int, factor: float) -> FleetInputs:
    rent = np.array(inputs.rent_usd_per_chip_period, dtype=float)
    capex = np.array(inputs.capex_usd_per_chip, dtype=float)
    rent[k] *= factor
    capex[k] *= factor
    return replace(inputs, rent_usd_per_chip_period=rent, capex_usd_per_chip=capex)


def break_even(scenario: Scenario, inputs: FleetInputs) -> pd.DataFrame:
    """Per option that can be added (index ``option``): mode ("rent" or "buy"), price (USD per chip-hour for rent,
    USD per chip for buy), chosen (today), break_even (the price where that flips; NaN where it does not flip
    between 1/64x and 64x today's price) and factor (break_even / price)."""
    rows = []
    for k, label in enumerate(inputs.labels):
        rent, capex = float(inputs.rent_usd_per_chip_period[k]), float(inputs.capex_usd_per_chip[k])
        if not (inputs.add_allowed[k] > 0).any() or not (inputs.supply_per_period[k] > 0).any() or rent + capex <= 0:
            continue
        mode = "rent" if rent > 0 else "buy"
        price = rent / inputs.hours_per_period if mode == "rent" else capex
        now = _chosen(scenario, inputs, k)
        if now is None:
            continue
        factor = _flip(scenario, inputs, k, now)
        rows.append(
            {
                "option": label,
                "mode": mode,
                "price": price,
                "chosen": now,
                "break_even": price * factor,
                "factor": factor,
            }
        )
    frame = pd.DataFrame(rows, columns=["option", "mode", "price", "chosen", "break_even", "factor"])
    return frame.set_index("option")


def _flip(scenario: Scenario, inputs: FleetInputs, k: int, now: bool) -> float:
    """The price factor at which option ``k``'s choice flips from ``now`` (NaN if not within MAX_FACTOR)."""
    # chosen today: raise the price until it is dropped; left out: lower it until it is chosen
    step = 2.0 if now else 0.5
    inside, outside = 1.0, step
    while abs(np.log2(outside)) <= np.log2(MAX_FACTOR):
        if _chosen(scenario, _priced(inputs, k, outside), k) != now:
            break
        inside, outside = outside, outside * step
    else:
        return float("nan")
    while abs(outside / inside - 1.0) > TOLERANCE:
        middle = float(np.sqrt(inside * outside))
        if _chosen(scenario, _priced(inputs, k, middle), k) == now:
            inside = middle
        else:
            outside = middle
    return float(np.sqrt(inside * outside))
