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


def solve_inputs(scenario: Scenario, inputs: FleetInputs, catalog: Catalog) -> PlanResult:
    """Solve the LP of priced ``inputs`` and summarize it (training counted at the jobs it can run,
    :func:`settle_jobs`), with the cost-plus check of its rents."""
    from computeplan.fleet.lp import build_and_solve
    from computeplan.fleet.results import summarize

    solution = build_and_solve(scenario, inputs)
    if solution.status == 0 and scenario.training:
        inputs = settle_jobs(inputs, solution, scenario, catalog)
    result = summarize(scenario, inputs, solution)
    return replace(result, cost_plus=cost_plus(inputs, catalog, scenario.periods_per_year))


def settle_jobs(inputs: FleetInputs, solution: Solution, scenario: Scenario, catalog: Catalog) -> FleetInputs:
    """``inputs`` with the jobs the plan can actually run: where its training fleet (all options of a workload in
    a period together) is smaller than the job the rate was priced at, the job is the fleet, at the (higher)
    goodput of that size. The plan's chip-hours stand; only the FLOP they deliver is re-counted, so each reported
    goodput is the one ``computeplan goodput`` gives for the reported job size."""
    from computeplan.fleet.inputs import training_goodput

    fleet = solution.value("train_h").sum(axis=1) * solution.units.chips  # [w, t] chips training, on average
    chips = np.array(inputs.train_goodput_chips, dtype=float)
    good = np.array(inputs.train_goodput, dtype=float)
    for w, job in enumerate(scenario.training):
        smaller = (fleet[w][None, :] >= 1.0) & (fleet[w][None, :] < chips[w])
        if smaller.any():
            size = np.broadcast_to(fleet[w][None, :], chips[w].shape)
            chips[w] = np.where(smaller, size, chips[w])
            good[w] = np.where(smaller, training_goodput(job, catalog, size), good[w])
    return replace(inputs, train_goodput=good, train_goodput_chips=chips)


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
