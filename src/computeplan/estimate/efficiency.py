"""The fitted efficiency tables (training and serving), passed explicitly to whoever needs them.

A table maps chip families to fitted parameters (``families``) plus a cross-chip ``default``; it is written by
``computeplan calibrate``. Nothing here reads a file: :func:`builtin_efficiency_tables` is the one explicit read of
the tables shipped in the package, done by the API facade and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from computeplan.hardware.efficiency import EfficiencyParams, efficiency_for
from computeplan.perf.inference import InferenceEfficiency

SERVING_FITTED = ("memory_efficiency", "prefill_efficiency", "step_overhead_s")
SERVING_PRIOR = InferenceEfficiency()


@dataclass(frozen=True)
class EfficiencyTables:
    """Training and serving calibration tables (None: first-principles priors, marked uncalibrated)."""

    training: Mapping[str, Any] | None = None
    serving: Mapping[str, Any] | None = None

    def for_training(self, family: str) -> EfficiencyParams:
        return efficiency_for(family, self.training)

    def for_serving(self, family: str) -> InferenceEfficiency:
        return serving_efficiency_for(family, self.serving)


def serving_efficiency_for(family: str, table: Mapping[str, Any] | None) -> InferenceEfficiency:
    """Serving efficiency of a chip family from a calibration table, else the cross-chip default, else the prior."""
    if table and family in table.get("families", {}):
        entry = table["families"][family]
        values: dict[str, Any] = {k: float(entry[k]) for k in SERVING_FITTED}
        basis = f"fitted on {entry.get('rows', '?')} serving runs of family {family}"
        return replace(SERVING_PRIOR, **values, calibrated=True, basis=basis)
    if table and table.get("default"):
        values = {k: float(table["default"][k]) for k in SERVING_FITTED}
        return replace(SERVING_PRIOR, **values, basis="cross-chip default (no serving runs for this family)")
    return SERVING_PRIOR


def builtin_efficiency_tables() -> EfficiencyTables:
    """The tables shipped in the package (``catalog/data/efficiency.yaml`` and ``inference_efficiency.yaml``)."""
    from computeplan.catalog.loader import load_efficiency_table

    return EfficiencyTables(
        training=load_efficiency_table(kind="training"), serving=load_efficiency_table(kind="inference")
    )
