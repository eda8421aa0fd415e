"""How close a chip family gets to its peaks in practice: the efficiency parameters of the training-step model.

One is fitted per chip family on published measured runs (``computeplan calibrate``), never per run: the share of
the family's large-GEMM plateau that a training step realizes. The plateau itself and the others are pinned: by
microbenchmarks per family (``catalog/data/kernels.yaml``: GEMM plateau, attention kernel, fp8 GEMMs) or by
cross-family measurements stated on :class:`EfficiencyParams`. Fitting more of them barely predicts unseen
publications better (`benchmarks/loso_parameter_spaces.py`, 2026-11-26: leave-one-source-out median 9.6% and 90th
percentile 24.1% with the realized share alone; 8.9% / 23.5% adding matmul_half_dim, 10.8% / 22.6% adding
attention_relative, 9.0% / 23.4% fitting all five), so one is fitted.
:data:`TRAINING_SPACE` states the fitted one's bounds and prior: the fit is bounded by it, starts from its prior,
and a stored table is validated against it. A family without enough calibration runs borrows the fit of the
family it descends from (:data:`BORROWS_FROM`), else uses the cross-chip default, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from computeplan.catalog.efficiency_schema import (
    EfficiencyTable,
    ErrorBand,
    FamilyFit,
    Parameter,
    ParameterSpace,
    parse_efficiency_table,
)

TRAINING_SPACE = ParameterSpace(
    (
        Parameter(
            name="realized_fraction",
            low=0.4,
            high=1.0,
            prior=0.85,
            meaning="share of the family's microbenchmarked matmul plateau a training step realizes",
        ),
    )
)


@dataclass(frozen=True, kw_only=True)
class EfficiencyParams:
    """Achieved fractions of peak.

    Fitted per chip family (:data:`TRAINING_SPACE`):

    - ``realized_fraction`` (r): the share of the family's matmul plateau that a published training step realizes.
      The step prices the matmuls at e_max = ``matmul_plateau`` x r. r < 1 carries what a training step loses
      beyond the priced terms (launch gaps, host overhead, stragglers, communication that slows the compute it
      overlaps); separating it from the plateau lets a family without runs of its own take the cross-chip r with
      its own microbenchmarked plateau.

    Pinned (not fitted):

    - ``matmul_plateau`` (0.82 unless ``catalog/data/kernels.yaml`` has the family): the sustained fraction of the
      dense bf16 peak a large GEMM reaches on its own (microbenchmarks: 0.82 on A100; 0.72-0.74 on H100 and H200
      under sustained load, docs/MEASUREMENTS.md). 0.82 is the cross-family value.
    - ``matmul_half_dim`` (x_half = 100): the narrowest per-chip matmul dimension x at which efficiency halves,
      e(x) = e_max x / (x + x_half). H100 bf16 GEMMs with one dimension 128 or 256 reach 0.40 and 0.75 of the
      large-GEMM plateau (docs/MEASUREMENTS.md): x_half 192 and 85; 100 matches the shapes training uses.
    - ``network_efficiency`` (eta = 0.8): achieved fraction of link bandwidth in collectives (NCCL all-reduce bus
      bandwidth at large messages is 0.75-0.9 of the link rate: shared/reference microbenchmarks).
    - ``dp_overlap`` (0.8): fraction of data-parallel gradient traffic hidden behind backward compute (estimate:
      bucketed reduction overlaps all but the last buckets).
    - ``attention_relative`` (0.5 unless ``catalog/data/kernels.yaml`` has the family): attention-kernel efficiency
      relative to a large matmul; FlashAttention-2 measures 0.40 on Hopper and 0.70 on Ampere.
    - ``attention_half_seq`` (800): the sequence chunk at which a flash kernel runs at half its asymptote (H200
      causal forward + backward: 0.71-0.78 of it at 2k tokens, 0.93-0.96 at 8k; docs/MEASUREMENTS.md).
    - ``fp8_matmul_relative`` (0.89 unless the kernels table has the family): a large fp8 GEMM's fraction of the fp8
      peak relative to a bf16 GEMM's fraction of the bf16 peak (H100/H200: 0.72-0.74 against 0.82).
    - ``memory_efficiency`` (0.8): achieved fraction of HBM bandwidth in element-wise kernels (device copies reach
      0.86-0.90 on H100 and H200, docs/MEASUREMENTS.md).

    - ``optimizer_efficiency`` (None: ``memory_efficiency``): the fused optimizer's fraction of the HBM bandwidth at
      the 30 B per parameter the model counts, where a device profile measured it apart.

    ``calibrated``, ``borrowed_from`` and ``basis`` say where the fitted value came from (:attr:`calibration`).
    """

    realized_fraction: float
    matmul_plateau: float = 0.82
    matmul_half_dim: float = 100.0
    network_efficiency: float = 0.8
    dp_overlap: float = 0.8
    attention_relative: float = 0.5
    attention_half_seq: float = 800.0
    memory_efficiency: float = 0.8
    fp8_matmul_relative: float = 0.89
    optimizer_efficiency: float | None = None
    error_band: ErrorBand | None = None  # the time error of predictions like this one on runs never fitted
    calibrated: bool = False
    basis: str = "cross-chip default"
    borrowed_from: str | None = None  # the family whose fit these are, when not the chip's own

    @property
    def sustained_matmul_fraction(self) -> float:
        """e_max: the fraction of dense peak a large matmul sustains in a training step (plateau x realized)."""
        return self.matmul_plateau * self.realized_fraction

    def with_values(self, values: Mapping[str, float]) -> EfficiencyParams:
        return replace(self, **dict(values))  # type: ignore[arg-type]

    @property
    def calibration(self) -> str:
        """How the chip is predicted: ``calibrated`` (its family fitted), ``borrowed`` (another family's fit,
        :attr:`borrowed_from`) or ``uncalibrated`` (the cross-chip default, or the priors)."""
        if self.calibrated:
            return "calibrated"
        return "borrowed" if self.borrowed_from else "uncalibrated"


FITTED_NAMES = TRAINING_SPACE.names

# Used when no calibration table is available at all (first principles, before any fit).
PRIOR = EfficiencyParams(**TRAINING_SPACE.priors())  # type: ignore[arg-type]


# A family without a fit of its own borrows the fit of the family it descends from (same vendor software stack,
# the previous generation of the same compute units), tried in order; none left: the cross-chip default.
BORROWS_FROM: Mapping[str, tuple[str, ...]] = {
    "nvidia-blackwell": ("nvidia-hopper",),  # CUDA, cuBLAS, NCCL, Transformer Engine; successor of Hopper
    "nvidia-rubin": ("nvidia-blackwell", "nvidia-hopper"),
    "nvidia-hopper": ("nvidia-ampere",),
    "amd-cdna4": ("amd-cdna3",),  # ROCm, hipBLASLt, RCCL
    "aws-neuron-v3": ("aws-neuron-v2",),  # Neuron SDK, NKI; Trainium2 after Trainium1
    "aws-neuron-v4": ("aws-neuron-v3", "aws-neuron-v2"),
    "aws-neuron-v5": ("aws-neuron-v4", "aws-neuron-v3", "aws-neuron-v2"),
}


def _basis(fit: FamilyFit, family: str) -> str:
    sources = f" of {fit.sources} publications" if fit.sources is not None else ""
    return f"fitted on {fit.rows if fit.rows is not None else '?'} runs{sources} of family {family}"


def efficiency_for(
    family: str,
    table: EfficiencyTable | Mapping[str, Any] | None,
    kernels: Mapping[str, Mapping[str, float]] | None = None,
) -> EfficiencyParams:
    """Parameters of ``family``: the pinned kernel efficiencies of the family (``kernels``, by default the shipped
    ``catalog/data/kernels.yaml``), and the fitted ones from a calibration table: its own fit (calibrated), else
    the fit of the family it borrows from (:data:`BORROWS_FROM`; borrowed), else the cross-chip default
    (uncalibrated); with the table's error band of such predictions (:meth:`EfficiencyTable.error_band`).

    ``table`` is a validated :class:`EfficiencyTable`, or a mapping as read from YAML (validated here).
    """
    typed = parse_efficiency_table(table, TRAINING_SPACE, where="training efficiency table") if table else None
    params = _efficiency_for(family, typed, kernels)
    return replace(params, error_band=typed.error_band(family, params.calibration)) if typed else params


def _efficiency_for(
    family: str, typed: EfficiencyTable | None, kernels: Mapping[str, Mapping[str, float]] | None
) -> EfficiencyParams:
    """:func:`efficiency_for` of a validated table, without the error band."""
    given = kernels.get(family, {}) if kernels is not None else _builtin_kernels(family)
    pinned = PRIOR.with_values(_kernel_values(given))
    if typed is None:
        return pinned
    if family in typed.families:
        fit = typed.families[family]
        return replace(pinned.with_values(fit.values), calibrated=True, basis=_basis(fit, family))
    for lender in BORROWS_FROM.get(family, ()):
        if lender in typed.families:
            fit = typed.families[lender]
            basis = f"borrowed from {lender} (no fit of {family}): {_basis(fit, lender)}"
            return replace(pinned.with_values(fit.values), basis=basis, borrowed_from=lender)
    if typed.default is None:
        return pinned
    basis = (
        "cross-chip default: neither this family nor one it borrows from has a fit (which needs 3 runs from 2 "
        "publications)"
    )
    expected = typed.family_holdout.get("all")
    if expected is not None:
        basis += (
            f"; a family left out of the fit is predicted with a median error of {expected.median_pct:.0f}% "
            f"(90th percentile {expected.p90_pct:.0f}%; docs/ACCURACY.md)"
        )
    return replace(pinned.with_values(typed.default.values), basis=basis)


# Attention kernels of the Hopper generation (Transformer Engine's cuDNN fused attention, FlashAttention-3): a
# family's ``attention_relative_fa3`` applies to them, ``attention_relative`` (FlashAttention-2 class) to the rest
FA3_CLASS_KERNELS = frozenset({"cudnn", "flash-attention-3"})


def with_family_kernels(
    params: EfficiencyParams, family: str, attention_kernel: str = "flash-attention-2"
) -> EfficiencyParams:
    """``params`` with the shipped pinned kernel efficiencies of ``family`` for the framework's ``attention_kernel``
    (a fit shared across families, such as the cross-chip default, keeps each family's own kernels)."""
    pinned = _kernel_values(_builtin_kernels(family), attention_kernel)
    return params.with_values(pinned) if pinned else params


def _kernel_values(kernels: Mapping[str, float], attention_kernel: str = "flash-attention-2") -> dict[str, float]:
    """A family's pinned kernel efficiencies as EfficiencyParams fields: ``attention_relative`` is the
    FlashAttention-2 class figure, or ``attention_relative_fa3`` for a cuDNN / FlashAttention-3 kernel."""
    values = dict(kernels)
    fa3 = values.pop("attention_relative_fa3", None)
    if fa3 is not None and attention_kernel in FA3_CLASS_KERNELS:
        values["attention_relative"] = fa3
    return values


def _builtin_kernels(family: str) -> Mapping[str, float]:
    from computeplan.catalog.kernels import builtin_kernels  # reads the packaged table once

    return builtin_kernels().get(family, {})
