"""Multi-year fleet planning as a linear program (HiGHS through scipy), built like PyPSA's capacity expansion:
small ``define_*`` functions add one group of variables or constraints each; results come back as labelled
tables (:class:`PlanResult`) with the binding constraints and their shadow prices."""

from __future__ import annotations

from collections.abc import Callable

from computeplan.catalog.loader import Catalog
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.fleet.lp import Constraint
from computeplan.fleet.results import PlanResult, PlanTotals
from computeplan.fleet.scenario import Scenario, load_scenario, override_scenario, scenario_warnings


def solve_scenario(
    scenario: Scenario,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Price every chip for every workload, build the LP, solve it with HiGHS and summarize the plan."""
    from computeplan.fleet.inputs import build_inputs
    from computeplan.fleet.lp import build_and_solve
    from computeplan.fleet.results import summarize

    inputs = build_inputs(scenario, catalog, tables, progress=progress)
    return summarize(scenario, inputs, build_and_solve(scenario, inputs))


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
