"""How close a chip family gets to its peaks in practice: the few fitted parameters of the performance model.

Each has a physical meaning and is fitted per chip family on published measured runs (``computeplan calibrate``),
never per run. Families without calibration rows use the cross-chip default and are marked uncalibrated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

# Bounds used by the fit and by validation of the stored table.
BOUNDS = {
    "matmul_peak_fraction": (0.3, 0.95),
    "matmul_half_dim": (1.0, 4096.0),
    "network_efficiency": (0.2, 1.0),
    "dp_overlap": (0.0, 1.0),
    "attention_relative": (0.2, 1.0),
}


@dataclass(frozen=True, kw_only=True)
class EfficiencyParams:
    """Achieved fractions of peak.

    - ``matmul_peak_fraction`` (e_max): fraction of dense peak a large matmul reaches.
    - ``matmul_half_dim`` (x_half): the narrowest per-chip matmul dimension x at which efficiency halves:
      e(x) = e_max · x / (x + x_half). Small, thin matmuls (high TP, small micro-batches) run worse.
    - ``network_efficiency`` (eta): achieved fraction of link bandwidth in collectives.
    - ``dp_overlap``: fraction of data-parallel gradient traffic hidden behind backward compute.
    - ``attention_relative``: attention-kernel efficiency relative to a large matmul; prior 0.8 from
      FlashAttention-2 (Dao 2023: 50-73% of peak on A100, against ~80-90% for large GEMMs). Fitted: it is what
      separates long-sequence from short-sequence runs.
    - ``memory_efficiency``: achieved fraction of HBM bandwidth in element-wise kernels (STREAM-like); not fitted.
    """

    matmul_peak_fraction: float
    matmul_half_dim: float
    network_efficiency: float
    dp_overlap: float
    attention_relative: float = 0.8
    memory_efficiency: float = 0.8
    calibrated: bool = False
    basis: str = "cross-chip default"

    def with_values(self, values: Mapping[str, float]) -> EfficiencyParams:
        return replace(self, **dict(values))  # type: ignore[arg-type]


FITTED_NAMES = tuple(BOUNDS)

# Used when no calibration table is available at all (first principles, before any fit).
PRIOR = EfficiencyParams(matmul_peak_fraction=0.75, matmul_half_dim=128.0, network_efficiency=0.7, dp_overlap=0.8)


def efficiency_for(family: str, table: Mapping[str, Any] | None) -> EfficiencyParams:
    """Parameters of ``family`` from a calibration table; else its cross-chip default, marked uncalibrated."""
    if not table:
        return PRIOR
    families = table.get("families", {})
    if family in families:
        entry = families[family]
        return replace(
            PRIOR,
            **{k: float(entry[k]) for k in FITTED_NAMES},
            calibrated=True,
            basis=f"fitted on {entry.get('rows', '?')} runs of family {family}",
        )
    default = table.get("default")
    if default:
        return replace(
            PRIOR,
            **{k: float(default[k]) for k in FITTED_NAMES},
            calibrated=False,
            basis="cross-chip default (no calibration runs for this family)",
        )
    return PRIOR
