"""Evaluate one training layout, or search all of them, and turn a step into time, energy and cost to train.

The search builds every candidate layout as numpy columns (``search.space``), prices them all at once
(``perf.training.training_step``), drops those that cannot run or do not fit, and ranks the rest by step time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from computeplan.economics import DEFAULT_PUE, chip_hours, facility_energy_j, rent_cost_usd, training_chip_power_w
from computeplan.errors import InvalidLayout
from computeplan.hardware.cluster import Cluster, Precision
from computeplan.hardware.efficiency import EfficiencyParams
from computeplan.perf.layout import LAYOUT_FIELDS, LayoutProblem, Layouts, describe_layout
from computeplan.perf.training import DEFAULT_SOFTWARE, Software, StepArrays, training_step
from computeplan.search.space import enumerate_layouts
from computeplan.units import Dimension, format_quantity
from computeplan.workload.transformer import TransformerSpec

BREAKDOWN = (
    "compute_s",
    "elementwise_s",
    "tp_comm_s",
    "cp_comm_s",
    "ep_comm_s",
    "pp_comm_s",
    "bubble_s",
    "dp_comm_s",
    "optimizer_s",
)
MEMORY = ("weights_bytes", "grads_bytes", "optimizer_bytes", "activations_bytes", "logits_bytes", "workspace_bytes")


def invalid_reasons(flags: int) -> list[str]:
    """The messages of the :class:`LayoutProblem` bits set in ``flags`` (empty for 0)."""
    return LayoutProblem(flags).messages()


@dataclass(frozen=True, kw_only=True)
class TrainingEstimate:
    """One layout's step, memory and (for a token budget) time, energy and cost to train. SI units."""

    layout: dict[str, int]
    step_time_s: float
    breakdown_s: dict[str, float]
    memory_bytes: float
    memory_breakdown_bytes: dict[str, float]
    hbm_bytes: float
    fits: bool
    mfu: float  # against the peak of the precision the matmuls run at (fp8 peak for fp8 layouts)
    hfu: float
    tokens_per_s: float
    tokens_per_s_per_chip: float
    model_flops_per_step: float
    num_chips: int
    calibrated: bool
    calibration_basis: str
    calibration: str = "uncalibrated"  # calibrated, borrowed (another family's fit) or uncalibrated
    mfu_bf16_equivalent: float = 0.0  # model FLOP/s over the bf16 peak (equal to mfu for bf16 layouts)
    time_to_train_s: float | None = None
    chip_hours: float | None = None
    energy_j: float | None = None
    cost_usd: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def layout_text(self) -> str:
        return describe_layout(self.layout)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "step_time_s": self.step_time_s,
            "breakdown_s": self.breakdown_s,
            "mfu": self.mfu,
            "mfu_bf16_equivalent": self.mfu_bf16_equivalent,
            "hfu": self.hfu,
            "tokens_per_s": self.tokens_per_s,
            "tokens_per_s_per_chip": self.tokens_per_s_per_chip,
            "memory_bytes": self.memory_bytes,
            "memory_breakdown_bytes": self.memory_breakdown_bytes,
            "hbm_bytes": self.hbm_bytes,
            "fits": self.fits,
            "model_flops_per_step": self.model_flops_per_step,
            "num_chips": self.num_chips,
            "time_to_train_s": self.time_to_train_s,
            "chip_hours": self.chip_hours,
            "energy_j": self.energy_j,
            "cost_usd": self.cost_usd,
            "calibrated": self.calibrated,
            "calibration": self.calibration,
            "calibration_basis": self.calibration_basis,
            "notes": self.notes,
        }


CHUNK = 1 << 18  # layouts priced at once: bounds memory for spaces of millions of layouts


@dataclass(frozen=True)
class SearchResult:
    """Every evaluated layout with its step time, memory and validity, and the ranking of those that run and fit."""

    spec: TransformerSpec
    global_batch: int
    seq_len: int
    layouts: Layouts
    step_time_s: np.ndarray
    memory_bytes: np.ndarray
    invalid: np.ndarray  # LayoutProblem bit flags; 0 = can run
    fits: np.ndarray
    ranked: np.ndarray  # indices into layouts, fastest first, only valid and fitting
    software: Software = DEFAULT_SOFTWARE  # what the framework does beyond the layout

    @property
    def evaluated(self) -> int:
        return len(self.layouts)

    @property
    def count_valid(self) -> int:
        return int(np.count_nonzero(self.invalid == 0))

    @property
    def count_fitting(self) -> int:
        return int(self.ranked.shape[0])


def _estimate(
    steps: StepArrays,
    layouts: Layouts,
    i: int,
    cluster: Cluster,
    eff: EfficiencyParams,
    *,
    tokens: float | None,
    pue: float,
) -> TrainingEstimate:
    step = float(steps.step_time_s[i])
    tps = float(steps.tokens_per_s[i])
    notes = []
    if not eff.calibrated:
        notes.append(f"{eff.calibration}: {eff.basis}")
    if cluster.announced:
        notes.append(f"chip '{cluster.chip_id}' is announced, not shipping: its figures are projections")
    estimate = TrainingEstimate(
        layout=layouts.row(i),
        step_time_s=step,
        breakdown_s={k.removesuffix("_s"): float(getattr(steps, k)[i]) for k in BREAKDOWN},
        memory_bytes=float(steps.memory_bytes[i]),
        memory_breakdown_bytes={k.removesuffix("_bytes"): float(getattr(steps, k)[i]) for k in MEMORY},
        hbm_bytes=cluster.hbm_bytes,
        fits=bool(steps.fits[i]),
        mfu=float(steps.mfu[i]),
        mfu_bf16_equivalent=float(steps.model_flops[i]) / (step * cluster.num_chips * cluster.peak(Precision.BF16)),
        hfu=float(steps.hfu[i]),
        tokens_per_s=tps,
        tokens_per_s_per_chip=tps / cluster.num_chips,
        model_flops_per_step=float(steps.model_flops[i]),
        num_chips=cluster.num_chips,
        calibrated=eff.calibrated,
        calibration=eff.calibration,
        calibration_basis=eff.basis,
        notes=notes,
    )
    if tokens is None:
        return estimate
    seconds = tokens / tps
    hours = chip_hours(seconds, cluster.num_chips)
    busy = float(steps.compute_busy[i])
    chip_w = training_chip_power_w(cluster.power_w, busy)
    energy = facility_energy_j(seconds, chip_w, cluster.host_power_w_per_chip, cluster.num_chips, pue)
    price = cluster.price_usd_per_hour
    cost = rent_cost_usd(seconds, cluster.num_chips, price) if price else None
    if cost is None:
        notes.append(f"no price for chip '{cluster.chip_id}' in the catalog: cost not computed")
    return TrainingEstimate(
        **{
            **estimate.__dict__,
            "time_to_train_s": seconds,
            "chip_hours": hours,
            "energy_j": energy,
            "cost_usd": cost,
            "notes": notes,
        }
    )


def search_layouts(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: EfficiencyParams,
    *,
    global_batch: int,
    seq_len: int,
    fixed: Mapping[str, Sequence[int]] | None = None,
    allow_fp8: bool = True,
    software: Software = DEFAULT_SOFTWARE,
) -> SearchResult:
    """Price every layout (restricted by ``fixed``) and rank those that run and fit by step time."""
    layouts = enumerate_layouts(
        spec, cluster, global_batch=global_batch, seq_len=seq_len, fixed=fixed, allow_fp8=allow_fp8
    )
    n = len(layouts)
    step, memory = np.empty(n), np.empty(n)
    invalid, fits = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
    for start in range(0, n, CHUNK):
        part = slice(start, min(start + CHUNK, n))
        steps = training_step(
            spec,
            cluster,
            eff,
            layouts.take(np.arange(n)[part]),
            global_batch=global_batch,
            seq_len=seq_len,
            software=software,
        )
        step[part], memory[part] = steps.step_time_s, steps.memory_bytes
        invalid[part], fits[part] = steps.invalid, steps.fits
    ok = np.flatnonzero((invalid == 0) & fits)
    ranked = ok[np.argsort(step[ok], kind="stable")]
    return SearchResult(
        spec=spec,
        global_batch=global_batch,
        seq_len=seq_len,
        software=software,
        layouts=layouts,
        step_time_s=step,
        memory_bytes=memory,
        invalid=invalid,
        fits=fits,
        ranked=ranked,
    )


def best_estimates(
    result: SearchResult,
    cluster: Cluster,
    eff: EfficiencyParams,
    *,
    top: int = 1,
    tokens: float | None = None,
    pue: float = DEFAULT_PUE,
) -> list[TrainingEstimate]:
    """The ``top`` fastest layouts as estimates; raises InvalidLayout explaining why when none fits."""
    if result.count_fitting == 0:
        raise InvalidLayout(_why_nothing_fits(result, cluster))
    chosen = result.layouts.take(result.ranked[:top])
    steps = training_step(
        result.spec,
        cluster,
        eff,
        chosen,
        global_batch=result.global_batch,
        seq_len=result.seq_len,
        software=result.software,
    )
    return [_estimate(steps, chosen, i, cluster, eff, tokens=tokens, pue=pue) for i in range(len(chosen))]


def _why_nothing_fits(result: SearchResult, cluster: Cluster) -> str:
    if result.evaluated == 0:
        return (
            f"no layout divides {cluster.num_chips} chips for this model and batch: check that the global "
            "batch is a multiple of the data-parallel degree and the chip count factors into tp*pp*dp*cp"
        )
    valid = result.invalid == 0
    if not np.any(valid):
        shared = LayoutProblem(int(np.bitwise_and.reduce(result.invalid)))  # problems every layout has
        return "no layout can run: " + (shared.describe() or "see the layout rules")
    smallest = float(np.min(result.memory_bytes[valid]))
    return (
        f"no layout fits in {format_quantity(cluster.hbm_bytes, Dimension.BYTES)} of HBM: the smallest "
        f"needs {format_quantity(smallest, Dimension.BYTES)} per chip; use more chips, a chip with more "
        "memory, or a smaller global batch"
    )


def evaluate_layout(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: EfficiencyParams,
    layout: Mapping[str, int],
    *,
    global_batch: int,
    seq_len: int,
    tokens: float | None = None,
    pue: float = DEFAULT_PUE,
    software: Software = DEFAULT_SOFTWARE,
) -> TrainingEstimate:
    """Price one given layout. Raises InvalidLayout with every reason it cannot run; a layout that runs but
    does not fit is returned with ``fits=False`` and its memory, so the shortfall can be shown."""
    missing = [f for f in LAYOUT_FIELDS if f not in layout]
    if missing:
        raise InvalidLayout(f"layout is missing {', '.join(missing)}")
    layouts = Layouts.from_columns({k: [int(layout[k])] for k in LAYOUT_FIELDS})
    steps = training_step(spec, cluster, eff, layouts, global_batch=global_batch, seq_len=seq_len, software=software)
    flags = int(steps.invalid[0])
    if flags:
        raise InvalidLayout(
            f"layout {describe_layout(layouts.row(0))} cannot run: " + "; ".join(invalid_reasons(flags))
        )
    return _estimate(steps, layouts, 0, cluster, eff, tokens=tokens, pue=pue)
