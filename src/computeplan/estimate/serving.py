"""Estimate serving on one or more chips: the cheapest replica per chip that meets the latency targets, its
$ per million tokens, J per token and the chips the traffic needs, and the throughput-latency Pareto front.
Typed in, typed out; no catalog ids, files or environment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from computeplan.errors import InvalidInput
from computeplan.hardware.cluster import Cluster
from computeplan.perf.inference import BYTES_PER_WEIGHT, InferenceEfficiency
from computeplan.search.serving_search import (
    ServingEstimate,
    ServingLayout,
    ServingSearch,
    estimate_at,
    search_serving,
)
from computeplan.workload.jobs import ServingJob
from computeplan.workload.transformer import TransformerSpec

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, kw_only=True)
class ParetoPoint:
    """One point of the throughput-latency front of a chip."""

    layout: ServingLayout
    tpot_s: float
    ttft_s: float
    throughput_tokens_per_s_per_chip: float

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "layout": dict(self.layout)}


@dataclass(frozen=True, kw_only=True)
class ChipServing:
    """The best replica on one chip (None with a ``reason`` when none meets the targets) and its Pareto front."""

    chip: str
    estimate: ServingEstimate | None
    reason: str | None
    pareto: tuple[ParetoPoint, ...]
    layouts_evaluated: int


@dataclass(frozen=True, kw_only=True)
class ServingResult:
    """Serving ``model`` under ``job`` on each chip compared."""

    model: TransformerSpec
    job: ServingJob
    chips: tuple[ChipServing, ...]

    @property
    def layouts_evaluated(self) -> int:
        return sum(c.layouts_evaluated for c in self.chips)

    def to_frame(self) -> pd.DataFrame:
        """One row per chip: layout, latencies, throughput, $/Mtok, J/token, chips for the traffic (or why not)."""
        import pandas as pd

        rows = []
        for c in self.chips:
            row: dict[str, Any] = {"chip": c.chip, "reason": c.reason}
            if c.estimate is not None:
                e = c.estimate
                row.update(
                    {f"layout_{k}": v for k, v in e.layout.items()},
                    ttft_s=e.ttft_s,
                    tpot_s=e.tpot_s,
                    throughput_tokens_per_s_per_chip=e.throughput_tokens_per_s_per_chip,
                    usd_per_million_output_tokens=e.usd_per_million_output_tokens,
                    usd_per_million_input_tokens=e.usd_per_million_input_tokens,
                    joules_per_output_token=e.joules_per_output_token,
                    chips_needed=e.chips_needed,
                    calibrated=e.calibrated,
                )
            rows.append(row)
        return pd.DataFrame(rows).set_index("chip")

    def to_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "model": self.model.name,
            "input_len": job.input_len,
            "output_len": job.output_len,
            "tpot_target_s": job.tpot_s,
            "ttft_target_s": job.ttft_s,
            "traffic_tokens_per_day": job.traffic_tokens_per_day,
            "layouts_evaluated": self.layouts_evaluated,
            "results": [
                c.estimate.to_dict() if c.estimate is not None else {"chip": c.chip, "error": c.reason}
                for c in self.chips
            ],
            "pareto": {c.chip: [p.to_dict() for p in c.pareto] for c in self.chips},
        }


def estimate_serving_on(
    spec: TransformerSpec, cluster: Cluster, efficiency: InferenceEfficiency, job: ServingJob
) -> ChipServing:
    """The most tokens per chip-second on ``cluster``'s chip within ``job``'s targets, and the Pareto front."""
    allowed = job.weight_precisions
    for w in allowed or ():
        if w not in BYTES_PER_WEIGHT:
            raise InvalidInput("weight_precisions", f"unknown precision '{w}'; allowed: {', '.join(BYTES_PER_WEIGHT)}")
    found = search_serving(
        spec,
        cluster,
        efficiency,
        input_len=job.input_len,
        output_len=job.output_len,
        tpot_s=job.tpot_s,
        ttft_s=job.ttft_s,
        weight_precisions=list(allowed) if allowed else None,
        prefix_hit_rate=job.prefix_hit_rate,
        speculative_tokens=job.speculative_tokens,
        acceptance_rate=job.acceptance_rate,
    )
    pareto = tuple(_pareto_point(_at(found, int(i), cluster, efficiency, job)) for i in found.pareto)
    evaluated = len(found.candidates.weight)
    if found.best is None:
        reason = "the weights fit no replica" if not found.arrays.fits.any() else "no layout meets the latency targets"
        return ChipServing(
            chip=cluster.chip_id, estimate=None, reason=reason, pareto=pareto, layouts_evaluated=evaluated
        )
    best = _at(found, found.best, cluster, efficiency, job)
    return ChipServing(chip=cluster.chip_id, estimate=best, reason=None, pareto=pareto, layouts_evaluated=evaluated)


def estimate_serving(
    spec: TransformerSpec,
    clusters: Sequence[tuple[Cluster, InferenceEfficiency]],
    job: ServingJob,
) -> ServingResult:
    """Serving on each (cluster, efficiency) pair: one :class:`ChipServing` per chip, in the order given."""
    if not clusters:
        raise InvalidInput("chips", "give at least one chip to serve on")
    twice = sorted(chip for chip, n in Counter(cluster.chip_id for cluster, _ in clusters).items() if n > 1)
    if twice:
        raise InvalidInput("chips", f"{', '.join(repr(c) for c in twice)} given more than once; compare each chip once")
    return ServingResult(model=spec, job=job, chips=tuple(estimate_serving_on(spec, c, e, job) for c, e in clusters))


def _at(found: ServingSearch, i: int, cluster: Cluster, eff: InferenceEfficiency, job: ServingJob) -> ServingEstimate:
    return estimate_at(
        found,
        i,
        cluster,
        eff,
        input_len=job.input_len,
        output_len=job.output_len,
        traffic_tokens_per_day=job.traffic_tokens_per_day,
        pue=job.pue,
        utilization=job.utilization,
    )


def _pareto_point(e: ServingEstimate) -> ParetoPoint:
    return ParetoPoint(
        layout=e.layout,
        tpot_s=e.tpot_s,
        ttft_s=e.ttft_s,
        throughput_tokens_per_s_per_chip=e.throughput_tokens_per_s_per_chip,
    )
