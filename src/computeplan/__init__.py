"""computeplan: plan AI compute from first principles.

Data flows one way: catalog -> hardware/workload specs -> perf models -> search -> fleet planning -> report/CLI.
This module is the curated public API; everything else is private to the package. Names are imported lazily
(PEP 562) so that ``computeplan --help`` starts without loading pydantic, YAML or numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "train": "computeplan.api",
    "serve": "computeplan.api",
    "plan": "computeplan.api",
    "validate": "computeplan.api",
    "calibrate": "computeplan.api",
    "goodput": "computeplan.api",
    "profile_device": "computeplan.profiling.run",
    "measure_device": "computeplan.profiling.measure",
    "load_profile": "computeplan.profiling.device_profile",
    "DeviceProfile": "computeplan.profiling.device_profile",
    "TrainingResult": "computeplan.estimate.training",
    "ServingResult": "computeplan.estimate.serving",
    "PlanResult": "computeplan.fleet.results",
    "compare_plans": "computeplan.fleet.compare",
    "monte_carlo": "computeplan.fleet.sweep",
    "SweepResult": "computeplan.fleet.sweep",
    "Comparison": "computeplan.fleet.compare",
    "ValidationReport": "computeplan.calibration.service",
    "GoodputEstimate": "computeplan.perf.goodput",
    "TrainingJob": "computeplan.workload.jobs",
    "ServingJob": "computeplan.workload.jobs",
    "EfficiencyTables": "computeplan.estimate.efficiency",
    "EfficiencyTable": "computeplan.catalog.efficiency_schema",
    "Scenario": "computeplan.fleet.scenario",
    "load_scenario": "computeplan.fleet.scenario",
    "InvalidInput": "computeplan.errors",
    "Catalog": "computeplan.catalog",
    "load_catalog": "computeplan.catalog",
    "get_chip": "computeplan.catalog",
    "get_model": "computeplan.catalog",
    "get_system": "computeplan.catalog",
    "TransformerSpec": "computeplan.workload",
    "ComputeplanError": "computeplan.errors",
    "CatalogError": "computeplan.errors",
    "UnknownEntryError": "computeplan.errors",
    "UnitError": "computeplan.errors",
    "InvalidLayout": "computeplan.errors",
    "Infeasible": "computeplan.errors",
    "ScenarioError": "computeplan.errors",
    "Dimension": "computeplan.units",
    "parse_quantity": "computeplan.units",
    "format_quantity": "computeplan.units",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from computeplan.api import calibrate, goodput, plan, serve, train, validate
    from computeplan.calibration.service import ValidationReport
    from computeplan.catalog import Catalog, get_chip, get_model, get_system, load_catalog
    from computeplan.catalog.efficiency_schema import EfficiencyTable
    from computeplan.errors import (
        CatalogError,
        ComputeplanError,
        Infeasible,
        InvalidInput,
        InvalidLayout,
        ScenarioError,
        UnitError,
        UnknownEntryError,
    )
    from computeplan.estimate.efficiency import EfficiencyTables
    from computeplan.estimate.serving import ServingResult
    from computeplan.estimate.training import TrainingResult
    from computeplan.fleet.compare import Comparison, compare_plans
    from computeplan.fleet.results import PlanResult
    from computeplan.fleet.scenario import Scenario, load_scenario
    from computeplan.fleet.sweep import SweepResult, monte_carlo
    from computeplan.perf.goodput import GoodputEstimate
    from computeplan.profiling.device_profile import DeviceProfile, load_profile
    from computeplan.profiling.measure import measure_device
    from computeplan.profiling.run import profile_device
    from computeplan.units import Dimension, format_quantity, parse_quantity
    from computeplan.workload import TransformerSpec
    from computeplan.workload.jobs import ServingJob, TrainingJob


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'computeplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
