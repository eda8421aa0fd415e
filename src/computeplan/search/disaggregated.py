"""Disaggregated prefill and decode (DistServe, Zhong et al. 2024; Splitwise, Patel et al. 2024): a prefill pool and
a decode pool, each with its own replica layout, the KV cache of each prompt sent from one to the other over the
scale-out network. Chosen from the candidates a co-located search already priced; SI units, USD.

Per request (n_in prompt tokens, n_out output tokens):
- prefill pool: chip-seconds P = T_prefill x chips (replica time; no decode steps in between), TTFT = the prompt's
  prefill from start to end + the KV transfer + one weight read of the decode replica for the first token, on a
  prefill replica free when the request comes (queueing in the pool is not priced; the co-located TTFT includes it);
- KV transfer: n_in x (KV bytes per token) from the chips of the prompt's attention group (tp x pp) over their
  scale-out links, at the network efficiency;
- decode pool: chip-seconds D = n_out x t_step(B) x chips / B, TPOT = t_step(B): no prefills interleave.
The pools are sized in the ratio P : D, so output tokens per chip-second over both pools are n_out / (P + D); for a
traffic each pool is rounded up to whole replicas. Both pools hold the same weights and KV precisions (the KV cache
moves between them); the pair with the fewest chip-seconds per request that meets the targets is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from computeplan.economics import facility_power_w, serving_chip_power_w
from computeplan.hardware.cluster import Cluster
from computeplan.perf.inference import BYTES_PER_KV, InferenceEfficiency, kv_bytes_per_token
from computeplan.search.serving_search import ServingSearch, layout_at
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from computeplan.workload.transformer import TransformerSpec


@dataclass(frozen=True, kw_only=True)
class DisaggregatedEstimate:
    """The best prefill and decode replicas for one chip, the pool ratio and the economics of both pools."""

    chip: str
    prefill_layout: dict[str, Any]
    decode_layout: dict[str, Any]
    prefill_chips_per_decode_chip: float
    ttft_s: float
    tpot_s: float
    kv_transfer_s: float
    throughput_tokens_per_s_per_chip: float  # output tokens per second per chip of both pools
    usd_per_million_output_tokens: float | None  # the decode pool's cost over output tokens
    usd_per_million_input_tokens: float | None  # the prefill pool's cost over input tokens
    joules_per_output_token: float
    chips_needed: int | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "prefill_layout": dict(self.prefill_layout), "decode_layout": dict(self.decode_layout)}


def search_disaggregated(
    spec: TransformerSpec,
    found: ServingSearch,
    cluster: Cluster,
    eff: InferenceEfficiency,
    *,
    input_len: float,
    output_len: float,
    tpot_s: float | None,
    ttft_s: float | None,
    traffic_tokens_per_day: float | None,
    pue: float,
    utilization: float = 1.0,
) -> DisaggregatedEstimate | None:
    """The cheapest prefill/decode pair among ``found``'s candidates within the targets (None when none meets them)."""
    c, a = found.candidates, found.arrays
    kv_bytes = np.array([BYTES_PER_KV[k] for k in c.kv])
    group_chips = c.tp * c.pp  # the prompt's KV cache lives on its attention group
    kv_per_request = float(spec.attended_tokens(float(input_len))) * kv_bytes_per_token(spec, 1.0) * kv_bytes
    transfer = kv_per_request / (group_chips * cluster.scaleout_bytes_per_s * eff.network_efficiency)
    transfer = transfer + cluster.scaleout_latency_s
    first_token = a.weights_bytes_per_chip / cluster.hbm_bytes_per_s  # of the decode replica
    prefill_cost = a.prefill_s * a.chips  # chip-seconds per request
    decode_cost = output_len * a.decode_step_s * a.chips / a.batch
    # one prefill per (tp, pp, ep, precision) shape: the batch column repeats it
    can_prefill = (a.max_sequences >= 1.0) & (a.batch == a.batch.min())
    can_decode = a.fits.copy()
    if tpot_s is not None:
        can_decode &= a.decode_step_s <= tpot_s
    best: tuple[float, int, int] | None = None
    precisions = np.array([f"{w}/{k}" for w, k in zip(c.weight, c.kv, strict=True)])
    for pair in np.unique(precisions):
        same = precisions == pair
        pre, dec = np.flatnonzero(same & can_prefill), np.flatnonzero(same & can_decode)
        if pre.size == 0 or dec.size == 0:
            continue
        j = int(dec[np.argmin(decode_cost[dec])])
        if ttft_s is not None:
            pre = pre[a.prefill_latency_s[pre] + transfer[pre] + first_token[j] <= ttft_s]
            if pre.size == 0:
                continue
        i = int(pre[np.argmin(prefill_cost[pre])])
        total = float(prefill_cost[i] + decode_cost[j])
        if best is None or total < best[0]:
            best = (total, i, j)
    if best is None:
        return None
    total, i, j = best
    per_chip = output_len / total
    usd_out = usd_in = None
    if cluster.price_usd_per_hour:
        usd_per_chip_s = cluster.price_usd_per_hour / SECONDS_PER_HOUR / utilization
        usd_in = usd_per_chip_s * float(prefill_cost[i]) / input_len * 1e6 if input_len > 0 else 0.0
        usd_out = usd_per_chip_s * float(decode_cost[j]) / output_len * 1e6
    watts = facility_power_w(serving_chip_power_w(cluster.power_w), cluster.host_power_w_per_chip, 1.0, pue)
    chips_needed = None
    if traffic_tokens_per_day is not None:  # each pool in whole replicas
        requests_per_s = traffic_tokens_per_day / SECONDS_PER_DAY / output_len / utilization
        prefill_replicas = np.ceil(requests_per_s * float(a.prefill_s[i]))
        decode_replicas = np.ceil(requests_per_s * output_len * float(a.decode_step_s[j] / a.batch[j]))
        chips_needed = int(prefill_replicas * a.chips[i] + decode_replicas * a.chips[j])
    prefill_layout = {k: v for k, v in layout_at(found, i).items() if k != "batch"}  # a prefill has no decode batch
    return DisaggregatedEstimate(
        chip=cluster.chip_id,
        prefill_layout=prefill_layout,
        decode_layout=dict(layout_at(found, j)),
        prefill_chips_per_decode_chip=float(prefill_cost[i] / decode_cost[j]),
        ttft_s=float(a.prefill_latency_s[i] + transfer[i] + first_token[j]),
        tpot_s=float(a.decode_step_s[j]),
        kv_transfer_s=float(transfer[i]),
        throughput_tokens_per_s_per_chip=per_chip,
        usd_per_million_output_tokens=usd_out,
        usd_per_million_input_tokens=usd_in,
        joules_per_output_token=watts / per_chip,
        chips_needed=chips_needed,
    )
