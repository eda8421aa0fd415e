"""A chosen serving replica under Poisson arrivals (``serve --arrival-rate``, ``--p99-ttft-ms``): its prefill time and
decode step time at every batch up to its batch, from the inference model, fed to the queue of
:mod:`computeplan.perf.queueing`; and the highest arrival rate at which it keeps a P99 latency target."""

from __future__ import annotations

from typing import Any

import numpy as np

from computeplan.catalog.loader import Catalog
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.estimate.serving import ServingResult
from computeplan.hardware.cluster import Cluster, serving_cluster
from computeplan.perf.inference import (
    BYTES_PER_KV,
    BYTES_PER_WEIGHT,
    COMPUTE_PRECISION,
    InferenceEfficiency,
    replica_performance,
)
from computeplan.perf.queueing import QueueLatency, Replica, latency
from computeplan.search.serving_search import ServingEstimate
from computeplan.units import SECONDS_PER_HOUR
from computeplan.workload.jobs import ServingJob
from computeplan.workload.transformer import TransformerSpec

RATE_TOLERANCE = 0.01  # relative width at which the SLO rate's bisection stops


def replica_of(
    spec: TransformerSpec, cluster: Cluster, eff: InferenceEfficiency, job: ServingJob, chosen: ServingEstimate
) -> Replica:
    """The queue's view of ``chosen``: prefill time per request and decode step at batch 1..its batch."""
    layout = chosen.layout
    top = max(int(layout["batch"]), 1)
    n = top
    batch = np.arange(1, top + 1, dtype=float)
    arrays = replica_performance(
        spec,
        cluster,
        eff,
        tp=np.full(n, float(layout["tp"])),
        pp=np.full(n, float(layout["pp"])),
        batch=batch,
        weight_bytes=np.full(n, BYTES_PER_WEIGHT[layout["weight_precision"]]),
        kv_bytes=np.full(n, BYTES_PER_KV[layout["kv_precision"]]),
        compute_peak=np.full(n, cluster.peak(COMPUTE_PRECISION[layout["weight_precision"]])),
        input_len=np.full(n, float(job.input_len)),
        output_len=np.full(n, float(job.output_len)),
        saturate=np.zeros(n, dtype=bool),
        continuous=np.ones(n, dtype=bool),
        ep=np.full(n, float(layout["ep"])),
        prefix_hit_rate=job.prefix_hit_rate,
    )
    return Replica(
        float(arrays.prefill_s[0]),
        tuple(float(x) for x in arrays.decode_step_s),
        int(job.output_len),
        prefill_latency_s=float(arrays.prefill_latency_s[0]),
    )


def slo_rate(replica: Replica, *, p99_ttft_s: float | None, p99_tpot_s: float | None) -> float:
    """The highest arrival rate [requests/s] at which the replica is stable and keeps the P99 targets given (0 when
    even a trickle misses them)."""

    def meets(rate: float) -> bool:
        q = latency(replica, rate)
        return bool(
            q.stable
            and (p99_ttft_s is None or q.ttft_p99_s <= p99_ttft_s)
            and (p99_tpot_s is None or q.tpot_p99_s <= p99_tpot_s)
        )

    low, high = 0.0, 1.0 / replica.prefill_s  # beyond 1/S the prefills alone saturate the replica
    if not meets(high * 1e-6):
        return 0.0
    low = high * 1e-6
    while high / low - 1.0 > RATE_TOLERANCE:
        mid = float(np.sqrt(low * high))
        low, high = (mid, high) if meets(mid) else (low, mid)
    return low


def queue_report(replica: Replica, rate: float) -> QueueLatency:
    """P50/P99 latencies at ``rate`` requests/s (the analytic approximation)."""
    return latency(replica, rate)


def under_load(
    result: ServingResult,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    arrivals_per_s: float | None,
    p99_ttft_s: float | None,
    p99_tpot_s: float | None,
) -> list[dict[str, Any]]:
    """Per chip with a replica: its latencies at ``arrivals_per_s`` requests/s per replica, and the highest rate
    that keeps the P99 targets with the $ per million output tokens at that load (every replica-second paid)."""
    rows: list[dict[str, Any]] = []
    for served in result.chips:
        if served.estimate is None or served.chip not in catalog.chips:
            continue
        cluster = serving_cluster(catalog, served.chip)
        replica = replica_of(result.model, cluster, tables.for_serving(cluster.family), result.job, served.estimate)
        row: dict[str, Any] = {"chip": served.chip, "batch_limit": replica.max_batch, "prefill_s": replica.prefill_s}
        if arrivals_per_s is not None:
            q = latency(replica, arrivals_per_s)
            row.update(arrivals_per_s=arrivals_per_s, **_latency_dict(q))
        if p99_ttft_s is not None or p99_tpot_s is not None:
            rate = slo_rate(replica, p99_ttft_s=p99_ttft_s, p99_tpot_s=p99_tpot_s)
            chips = served.estimate.chips_per_replica
            usd = None
            if cluster.price_usd_per_hour and rate > 0:
                usd = cluster.price_usd_per_hour * chips / SECONDS_PER_HOUR / (rate * result.job.output_len) * 1e6
            row.update(
                slo_arrivals_per_s=rate,
                slo_output_tokens_per_s_per_chip=rate * result.job.output_len / chips,
                slo_usd_per_million_output_tokens=usd,
            )
        rows.append(row)
    return rows


def _latency_dict(q: QueueLatency) -> dict[str, Any]:
    def finite(x: float) -> float | None:
        return x if np.isfinite(x) else None

    return {
        "stable": q.stable,
        "ttft_p50_s": finite(q.ttft_p50_s),
        "ttft_p99_s": finite(q.ttft_p99_s),
        "tpot_p50_s": finite(q.tpot_p50_s),
        "tpot_p99_s": finite(q.tpot_p99_s),
        "mean_batch": q.mean_batch,
        "prefill_share": q.prefill_share,
    }
