"""Estimate serving on one or more chips: the cheapest replica per chip that meets the latency targets, its
$ per million tokens, J per token and the chips the traffic needs, and the throughput-latency Pareto front.
Typed in, typed out; no catalog ids, files or environment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from computeplan.errors import InvalidInput
from computeplan.hardware.cluster import Cluster
from computeplan.perf.inference import BYTES_PER_WEIGHT, InferenceEfficiency
from computeplan.search.disaggregated import DisaggregatedEstimate, search_disaggregated
from computeplan.search.serving_search import (
    BATCHES,
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
    disaggregated: DisaggregatedEstimate | None = None  # separate prefill and decode pools, where any meets targets


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
            "disaggregated": {
                c.chip: c.disaggregated.to_dict() if c.disaggregated is not None else None for c in self.chips
            },
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
    split = search_disaggregated(
        spec, found, cluster, efficiency, tpot_s=job.tpot_s, ttft_s=job.ttft_s, **_economics(job)
    )
    best = replace(best, choices=tuple(explain_choices(spec, found, found.best, split)))
    return ChipServing(
        chip=cluster.chip_id,
        estimate=best,
        reason=None,
        pareto=pareto,
        layouts_evaluated=evaluated,
        disaggregated=split,
    )


def explain_choices(
    spec: TransformerSpec, found: ServingSearch, best: int, split: DisaggregatedEstimate | None
) -> list[str]:
    """One line per choice behind candidate ``best``: replica, precision, batch, expert parallelism and
    disaggregation, each against the best alternative the search priced."""
    c, a, per_chip, meets = found.candidates, found.arrays, found.per_chip, found.meets
    rate = float(per_chip[best])

    def best_where(mask: np.ndarray) -> float | None:
        ok = np.flatnonzero(mask & meets)
        return float(per_chip[ok].max()) if ok.size else None

    def versus(other: float | None, what: str) -> str:
        if other is None:
            return f"no {what} meets the targets"
        return f"the best {what} gives {other:,.0f} tok/s/chip ({(other / rate - 1) * 100:+.0f}%)"

    shape = (c.tp == c.tp[best]) & (c.pp == c.pp[best]) & (c.ep == c.ep[best])
    chips = int(a.chips[best])
    lines = [
        f"replica: {chips} chip{'s' if chips > 1 else ''} (tp {int(c.tp[best])} x pp {int(c.pp[best])}"
        + (f", experts over ep {int(c.ep[best])} with data-parallel attention" if c.ep[best] > 1 else "")
        + f"), the most output tokens per chip-second within the targets: {rate:,.0f}"
    ]
    weight, kv = c.weight[best], c.kv[best]
    other_w = np.array([w != weight for w in c.weight])
    lines.append(
        f"precision: weights {weight}, KV cache {kv}; " + versus(best_where(other_w), "other weight precision")
    )
    batch = int(a.batch[best])
    same = np.flatnonzero(shape & np.array([w == weight for w in c.weight]) & np.array([k == kv for k in c.kv]))
    bigger = same[a.batch[same] > batch]
    if batch >= BATCHES[-1]:
        why = f"the largest searched ({BATCHES[-1]:,})"
    elif bigger.size and not a.fits[bigger].any():
        why = f"the KV cache holds at most {a.max_sequences[best]:,.0f} sequences of this length"
    elif bigger.size and not meets[bigger].any():
        why = "a larger batch misses the latency targets"
    else:
        why = "a larger batch adds no tokens per chip (prefills of more requests interleave)"
    lines.append(f"batch: {batch:,} sequences per replica: {why}")
    if spec.is_moe:
        if c.ep[best] > 1:
            lines.append(
                f"expert parallelism: ep {int(c.ep[best])}; " + versus(best_where(c.ep == 1), "tp-split layout")
            )
        else:
            lines.append("expert parallelism: none, experts split by tp; " + versus(best_where(c.ep > 1), "EP layout"))
    if split is None:
        lines.append("disaggregated prefill/decode: no pair of pools meets the targets")
    else:
        gain = (split.throughput_tokens_per_s_per_chip / rate - 1) * 100
        lines.append(
            f"disaggregated prefill/decode: {split.throughput_tokens_per_s_per_chip:,.0f} tok/s/chip over both pools "
            f"({gain:+.0f}% against co-located), {split.prefill_chips_per_decode_chip:.2f} prefill chips per decode "
            f"chip, TTFT {split.ttft_s:.3f} s incl. {split.kv_transfer_s * 1000:.1f} ms KV transfer"
        )
    return lines


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


def _economics(job: ServingJob) -> dict[str, Any]:
    """What pricing a replica needs of the job: request lengths, traffic, PUE and utilization."""
    return {
        "input_len": job.input_len,
        "output_len": job.output_len,
        "traffic_tokens_per_day": job.traffic_tokens_per_day,
        "pue": job.pue,
        "utilization": job.utilization,
    }


def _at(found: ServingSearch, i: int, cluster: Cluster, eff: InferenceEfficiency, job: ServingJob) -> ServingEstimate:
    return estimate_at(found, i, cluster, eff, **_economics(job))


def _pareto_point(e: ServingEstimate) -> ParetoPoint:
    return ParetoPoint(
        layout=e.layout,
        tpot_s=e.tpot_s,
        ttft_s=e.ttft_s,
        throughput_tokens_per_s_per_chip=e.throughput_tokens_per_s_per_chip,
    )
