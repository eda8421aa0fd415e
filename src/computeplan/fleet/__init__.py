"""Multi-year fleet planning as a linear program (HiGHS through scipy), built like PyPSA's capacity expansion:
small ``define_*`` functions add one group of variables or constraints each; results come back as labelled
tables (:class:`PlanResult`) with the binding constraints and their shadow prices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from computeplan.catalog.loader import Catalog
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.fleet.cost_plus import cost_plus
from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.lp import Constraint, Solution
from computeplan.fleet.results import PlanResult, PlanTotals
from computeplan.fleet.scenario import Scenario, load_scenario, override_scenario, scenario_warnings


def solve_scenario(
    scenario: Scenario,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Price every chip for every workload, build the LP, solve it with HiGHS and summarize the plan (training
    counted at the jobs it can run, :func:`settle_jobs`), with the cost-plus check of its rents."""
    from computeplan.fleet.inputs import build_inputs

    return solve_inputs(scenario, build_inputs(scenario, catalog, tables, progress=progress), catalog)


SETTLE_ROUNDS = 6  # re-solves at most, each with the jobs the previous plan could run


def solve_inputs(scenario: Scenario, inputs: FleetInputs, catalog: Catalog) -> PlanResult:
    """Solve the LP of priced ``inputs`` and summarize it, with the cost-plus check of its rents.

    Where the plan trains on fewer chips of an option than the job its rate was priced at, that job cannot run:
    the option's job is its training fleet, at the goodput of that size (:func:`settle_jobs`), and the plan is
    solved again with those goodputs (at most :data:`SETTLE_ROUNDS` times, until no goodput moves by half a point).
    The reported FLOP, value and shadow prices are those of the last solve, and each goodput is the one
    ``computeplan goodput`` prints for the job size reported beside it."""
    from computeplan.fleet.lp import build_and_solve
    from computeplan.fleet.results import summarize

    priced, solution = inputs, build_and_solve(scenario, inputs)
    for _ in range(SETTLE_ROUNDS if scenario.training else 0):
        if solution.status != 0:
            break
        settled = settle_jobs(priced, solution, scenario, catalog)
        if np.abs(settled.train_goodput - inputs.train_goodput).max(initial=0.0) <= 0.005:
            break
        inputs, solution = settled, build_and_solve(scenario, settled)
    result = summarize(scenario, inputs, solution)
    return replace(result, cost_plus=cost_plus(inputs, catalog, scenario.periods_per_year))


def settle_jobs(priced: FleetInputs, solution: Solution, scenario: Scenario, catalog: Catalog) -> FleetInputs:
    """``priced`` with the jobs the plan of ``solution`` can run: for each option, workload and period, the priced
    job, or the option's training fleet where that is smaller, at the goodput of that size."""
    from computeplan.fleet.inputs import training_goodput

    fleet = solution.value("train_h") * solution.units.chips  # [w, k, t] chips training on each option, on average
    chips = np.array(priced.train_goodput_chips, dtype=float)
    good = np.array(priced.train_goodput, dtype=float)
    for w, job in enumerate(scenario.training):
        smaller = (fleet[w] >= 1.0) & (fleet[w] < chips[w])
        if smaller.any():
            chips[w] = np.where(smaller, fleet[w], chips[w])
            good[w] = np.where(smaller, training_goodput(job, catalog, chips[w]), good[w])
    return replace(priced, train_goodput=good, train_goodput_chips=chips)


__all__ = [
    "Constraint",
    "PlanResult",
    "PlanTotals",
    "Scenario",
    "load_scenario",
    "override_scenario",
    "scenario_warnings",
    "solve_scenario",
]
