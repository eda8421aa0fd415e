"""How close a chip family gets to its peaks in practice: the few fitted parameters of the training-step model.

Each has a physical meaning and is fitted per chip family on published measured runs (``computeplan calibrate``),
never per run. Families without calibration rows use the cross-chip default and are marked uncalibrated.
:data:`TRAINING_SPACE` is the one place their bounds and priors are stated: the fit is bounded by it, starts from
its priors, and a stored table is validated against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from computeplan.catalog.efficiency_schema import EfficiencyTable, Parameter, ParameterSpace, parse_efficiency_table

TRAINING_SPACE = ParameterSpace(
    (
        Parameter(
            name="matmul_peak_fraction",
            low=0.3,
            high=0.95,
            prior=0.75,
            meaning="e_max: fraction of dense peak a large matmul reaches",
        ),
        Parameter(
            name="matmul_half_dim",
            low=1.0,
            high=4096.0,
            prior=128.0,
            log_scale=True,
            meaning="x_half: per-chip matmul dimension at which matmul efficiency halves",
        ),
        Parameter(
            name="network_efficiency",
            low=0.2,
            high=1.0,
            prior=0.7,
            meaning="eta: achieved fraction of link bandwidth in collectives",
        ),
        Parameter(
            name="dp_overlap",
            low=0.0,
            high=1.0,
            prior=0.8,
            meaning="fraction of data-parallel gradient traffic hidden behind backward compute",
        ),
        Parameter(
            name="attention_relative",
            low=0.2,
            high=1.0,
            prior=0.8,
            meaning="attention-kernel efficiency relative to a large matmul (FlashAttention-2: 50-73% of peak)",
        ),
    )
)


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

    Bounds and priors of the fitted ones: :data:`TRAINING_SPACE`.
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


FITTED_NAMES = TRAINING_SPACE.names

# Used when no calibration table is available at all (first principles, before any fit).
PRIOR = EfficiencyParams(**TRAINING_SPACE.priors())  # type: ignore[arg-type]


def efficiency_for(family: str, table: EfficiencyTable | Mapping[str, Any] | None) -> EfficiencyParams:
    """Parameters of ``family`` from a calibration table; else its cross-chip default, marked uncalibrated.

    ``table`` is a validated :class:`EfficiencyTable`, or a mapping as read from YAML (validated here).
    """
    if not table:
        return PRIOR
    typed = parse_efficiency_table(table, TRAINING_SPACE, where="training efficiency table")
    found = typed.lookup(family)
    if found is None:
        return PRIOR
    fit, own = found
    if own:
        basis = f"fitted on {fit.rows if fit.rows is not None else '?'} runs of family {family}"
    else:
        basis = "cross-chip default (no calibration runs for this family)"
    return replace(PRIOR.with_values(fit.values), calibrated=own, basis=basis)
