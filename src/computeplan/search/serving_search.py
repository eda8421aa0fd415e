"""Serving layouts: replicas (tp x pp, and expert parallelism over ep chips), weight and KV precisions and batch
sizes, priced at once with numpy; the cheapest per token that meets the latency targets, and the throughput-latency
Pareto front."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from computeplan.catalog.efficiency_schema import ErrorBand
from computeplan.economics import facility_power_w, serving_chip_power_w
from computeplan.hardware.cluster import Cluster
from computeplan.perf.inference import (
    BYTES_PER_KV,
    BYTES_PER_WEIGHT,
    COMPUTE_PRECISION,
    InferenceEfficiency,
    ReplicaArrays,
    replica_performance,
)
from computeplan.search.space import divisors
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from computeplan.workload.transformer import TransformerSpec

BATCHES = [2**i for i in range(0, 13)]  # 1 .. 4096 concurrent sequences per replica
PIPELINES = [1, 2, 4, 8]


@dataclass(frozen=True)
class ServingCandidates:
    tp: np.ndarray
    pp: np.ndarray
    batch: np.ndarray
    weight: list[str]
    kv: list[str]
    ep: np.ndarray  # 1: experts split by tp; > 1: experts spread over ep chips, attention data-parallel over ep/tp


def serving_candidates(
    spec: TransformerSpec,
    cluster: Cluster,
    *,
    weight_precisions: Sequence[str] | None = None,
    kv_precisions: Sequence[str] | None = None,
    max_chips: int | None = None,
) -> ServingCandidates:
    """Every replica shape the chip allows: tp divides the heads and fits a scale-up domain; for a mixture of experts
    also expert parallelism over ep = tp x dp chips (a multiple of tp dividing the experts) in the domain."""
    limit = min(max_chips or cluster.scaleup_domain_chips, cluster.scaleup_domain_chips)
    tps = [t for t in divisors(spec.heads) if t <= limit]
    pps = [p for p in PIPELINES if p <= spec.layers]
    weights = [w for w in (weight_precisions or BYTES_PER_WEIGHT) if COMPUTE_PRECISION[w] in cluster.peak_flops_per_s]
    kvs = [k for k in (kv_precisions or BYTES_PER_KV) if k == "bf16" or "fp8" in cluster.peak_flops_per_s]
    shapes = [(t, p, 1) for t, p in itertools.product(tps, pps) if t * p <= limit]
    if spec.is_moe:
        shapes += [
            (t, p, e)
            for t, p in itertools.product(tps, pps)
            for e in expert_parallel_sizes(spec.experts, t, limit // p)
        ]
    rows = [(*shape, b, w, k) for shape, b, w, k in itertools.product(shapes, BATCHES, weights, kvs)]
    return ServingCandidates(
        tp=np.array([r[0] for r in rows], dtype=float),
        pp=np.array([r[1] for r in rows], dtype=float),
        ep=np.array([r[2] for r in rows], dtype=float),
        batch=np.array([r[3] for r in rows], dtype=float),
        weight=[r[4] for r in rows],
        kv=[r[5] for r in rows],
    )


def expert_parallel_sizes(experts: int, tp: int, most_chips: int) -> list[int]:
    """Expert-parallel sizes ep > 1 for a stage of at most ``most_chips`` chips: multiples of ``tp`` (each attention
    group of tp chips is one data-parallel rank) that divide the number of experts."""
    return [tp * d for d in range(1, most_chips // tp + 1) if tp * d > 1 and experts % (tp * d) == 0]


class ServingLayout(TypedDict):
    """A replica: tp x pp x (ep / tp) chips, ``batch`` concurrent sequences, weight and KV-cache precisions; ep > 1
    spreads the experts over ep chips with data-parallel attention."""

    tp: int
    pp: int
    ep: int
    batch: int
    weight_precision: str
    kv_precision: str


@dataclass(frozen=True, kw_only=True)
class ServingEstimate:
    """One replica layout's latency, throughput and economics. SI units, USD."""

    chip: str
    layout: ServingLayout
    ttft_s: float
    tpot_s: float
    throughput_tokens_per_s_per_chip: float
    throughput_tokens_per_s_per_replica: float
    max_batch: float
    kv_bytes_per_token_per_chip: float
    weights_bytes_per_chip: float
    usd_per_million_output_tokens: float | None
    usd_per_million_input_tokens: float | None
    joules_per_output_token: float
    chips_needed: int | None
    replicas_needed: int | None
    meets_slo: bool
    calibrated: bool
    notes: list[str]
    chips_per_replica: int = 1
    choices: tuple[str, ...] = ()  # why this layout: one line per choice (replica, precision, batch, EP, ...)
    # P10/P50/P90 to expect, from the leave-one-source-out errors of such predictions (None without them)
    bands: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "layout": dict(self.layout),
            "notes": list(self.notes),
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class ServingSearch:
    """Every candidate replica priced, which meet the targets, the best and the Pareto front (indices)."""

    candidates: ServingCandidates
    arrays: ReplicaArrays
    per_chip: np.ndarray
    meets: np.ndarray
    best: int | None
    pareto: np.ndarray


def search_serving(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: InferenceEfficiency,
    *,
    input_len: float,
    output_len: float,
    tpot_s: float | None = None,
    ttft_s: float | None = None,
    weight_precisions: Sequence[str] | None = None,
    kv_precisions: Sequence[str] | None = None,
    prefix_hit_rate: float = 0.0,
    speculative_tokens: int = 0,
    acceptance_rate: float = 0.0,
) -> ServingSearch:
    """Price every candidate with continuous batching; best = most tokens per chip within the targets."""
    cand = serving_candidates(spec, cluster, weight_precisions=weight_precisions, kv_precisions=kv_precisions)
    n = len(cand.weight)
    arrays = replica_performance(
        spec,
        cluster,
        eff,
        tp=cand.tp,
        pp=cand.pp,
        batch=cand.batch,
        weight_bytes=np.array([BYTES_PER_WEIGHT[w] for w in cand.weight]),
        kv_bytes=np.array([BYTES_PER_KV[k] for k in cand.kv]),
        compute_peak=np.array([cluster.peak(COMPUTE_PRECISION[w]) for w in cand.weight]),
        input_len=np.full(n, float(input_len)),
        output_len=np.full(n, float(output_len)),
        saturate=np.zeros(n, dtype=bool),
        continuous=np.ones(n, dtype=bool),
        ep=cand.ep,
        prefix_hit_rate=prefix_hit_rate,
        speculative_tokens=speculative_tokens,
        acceptance_rate=acceptance_rate,
    )
    per_chip = arrays.throughput_tokens_per_s / arrays.chips
    meets = arrays.fits.copy()
    if tpot_s is not None:
        meets &= arrays.tpot_s <= tpot_s
    if ttft_s is not None:
        meets &= arrays.ttft_s <= ttft_s
    ok = np.flatnonzero(meets)
    best = int(ok[np.argmax(per_chip[ok])]) if ok.size else None
    fit = np.flatnonzero(arrays.fits)
    order = fit[np.lexsort((-per_chip[fit], arrays.tpot_s[fit]))]
    front, top = [], -np.inf
    for i in order:
        if per_chip[i] > top:
            front.append(i)
            top = per_chip[i]
    return ServingSearch(cand, arrays, per_chip, meets, best, np.array(front, dtype=int))


def replica_words(layout: Mapping[str, Any]) -> str:
    """A replica shape in words: ``tp 8 x pp 1``, or ``ep 16 (tp 1) x pp 1`` with expert parallelism."""
    ep = int(layout.get("ep", 1))
    head = f"ep {ep} (tp {layout['tp']})" if ep > 1 else f"tp {layout['tp']}"
    return f"{head} x pp {layout['pp']}"


def layout_at(result: ServingSearch, i: int) -> ServingLayout:
    """Candidate ``i``'s replica layout."""
    c, a = result.candidates, result.arrays
    return ServingLayout(
        tp=int(c.tp[i]),
        pp=int(c.pp[i]),
        ep=int(c.ep[i]),
        batch=int(a.batch[i]),
        weight_precision=c.weight[i],
        kv_precision=c.kv[i],
    )


def estimate_at(
    result: ServingSearch,
    i: int,
    cluster: Cluster,
    eff: InferenceEfficiency,
    *,
    input_len: float,
    output_len: float,
    traffic_tokens_per_day: float | None,
    pue: float,
    utilization: float = 1.0,
) -> ServingEstimate:
    """Economics of candidate ``i``: $ per million tokens at the chip price, J per token, chips for the traffic.

    ``utilization`` is the average load of the serving fleet relative to this saturated throughput: paid-for
    chip time divides by it, and so does the number of chips the traffic needs.
    """
    a = result.arrays
    chips = float(a.chips[i])
    replica_tps = float(a.throughput_tokens_per_s[i])
    per_chip = replica_tps / chips
    notes = []
    if not eff.calibrated:
        notes.append(f"uncalibrated: {eff.basis}")
    if cluster.announced:
        notes.append(f"chip '{cluster.chip_id}' is announced, not shipping: its figures are projections")
    usd_out = usd_in = None
    if cluster.price_usd_per_hour:
        rate = cluster.price_usd_per_hour * chips / SECONDS_PER_HOUR / utilization  # USD per busy replica-second
        request_s = output_len / replica_tps  # replica time per request: its prefill and its share of decode
        prefill_s = float(a.prefill_s[i])
        usd_in = rate * prefill_s / input_len * 1e6 if input_len > 0 else 0.0
        usd_out = rate * max(request_s - prefill_s, 0.0) / output_len * 1e6
    else:
        notes.append(f"no price for chip '{cluster.chip_id}' in the catalog: $/token not computed")
    watts = facility_power_w(serving_chip_power_w(cluster.power_w), cluster.host_power_w_per_chip, chips, pue)
    replicas = chips_needed = None
    if traffic_tokens_per_day is not None:
        replicas = int(np.ceil(traffic_tokens_per_day / SECONDS_PER_DAY / (replica_tps * utilization)))
        chips_needed = int(replicas * chips)
    return ServingEstimate(
        chip=cluster.chip_id,
        layout=layout_at(result, i),
        ttft_s=float(a.ttft_s[i]),
        tpot_s=float(a.tpot_s[i]),
        throughput_tokens_per_s_per_chip=per_chip,
        throughput_tokens_per_s_per_replica=replica_tps,
        max_batch=float(a.max_sequences[i]),
        kv_bytes_per_token_per_chip=float(a.kv_bytes_per_token_per_chip[i]),
        weights_bytes_per_chip=float(a.weights_bytes_per_chip[i]),
        usd_per_million_output_tokens=usd_out,
        usd_per_million_input_tokens=usd_in,
        joules_per_output_token=watts / replica_tps,
        chips_needed=chips_needed,
        replicas_needed=replicas,
        meets_slo=bool(result.meets[i]),
        chips_per_replica=int(a.chips[i]),
        calibrated=eff.calibrated,
        notes=notes,
        bands=_bands(eff.error_band, float(a.ttft_s[i]), float(a.tpot_s[i]), per_chip),
    )


def _bands(band: ErrorBand | None, ttft_s: float, tpot_s: float, per_chip: float) -> dict[str, Any] | None:
    """The ranges of TTFT, TPOT and throughput to expect: a time divides by (1 + error), a rate multiplies."""
    if band is None:
        return None

    def quantiles(values: tuple[float, float, float]) -> dict[str, float]:
        return dict(zip(("p10", "p50", "p90"), values, strict=True))

    return {
        "ttft_s": quantiles(band.measured_range(ttft_s)),
        "tpot_s": quantiles(band.measured_range(tpot_s)),
        "throughput_tokens_per_s_per_chip": quantiles(band.measured_rate_range(per_chip)),
        "runs": band.rows,
    }
