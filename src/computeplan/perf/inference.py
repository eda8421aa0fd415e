"""Serving a transformer: KV cache, prefill, decode, and the operating points of batching. Vectorised over
candidate replicas (tp, pp, batch, precisions); SI units.

A replica is tp x pp chips holding one copy of the weights; with expert parallelism (a mixture of experts, ep > 1)
a stage is ep chips: the routed experts are spread over them (E/ep whole experts each) and attention runs on
dp = ep/tp data-parallel groups of tp chips, each holding the dense weights and the KV cache of its own sequences
(vLLM/SGLang "DP attention"; DeepSeek-V3 report). Each MoE layer then costs an all-to-all dispatch and combine of
the tokens' hidden states to their k experts instead of a tensor-parallel all-reduce, and the busiest of the ep
chips sets the pace (:func:`expert_load_imbalance`). Per chip, with W weight bytes and k_t KV bytes per
token of context (GQA: 2 L K H b_kv / (min(tp, K) pp); MLA: L (r_kv + H_rope) b_kv / pp):
- decode step at batch B and mean context c (roofline, Williams et al. 2009):
  t_step = max(W_read r(B) / (eta_mem bw) + B c k_t / (eta_kv bw), FLOPs / (peak e)), r(B) a device profile's
  measured small-batch product curve (1 otherwise), plus 2 TP all-reduces per layer of
  B D bytes, a fixed per-step overhead t_0 (kernel launches, sampling, scheduling) and, where a device profile
  measured it, a fixed cost per layer (its small kernels' launches);
  W_read counts only the experts a batch touches: E (1 - (1 - k/E)^B) of E experts.
- prefill of n tokens: 2 P_active n + 2 n^2 N (H_qk + H_v)/2 FLOPs (causal), at e_prefill x peak, plus TP
  all-reduces of n D bytes per layer. In replica time (T_prefill) the FLOPs are shared by all the replica's chips;
  one prompt from start to end takes its attention group pp stage times in turn (pp x dp x T_prefill).
- static batching (latency runs): TTFT = the batch's prompts through the pipeline, (ceil(B/dp) + pp - 1) stage
  times; e2e = TTFT + n_out t_step(B, n_in + n_out/2).
- continuous batching of B sequences (a closed loop: a finished request is replaced at once; offline benchmarks
  at saturation, where B is the most sequences the KV cache holds at mean context n_in + n_out/2): in one cycle
  of a request the replica prefills B prompts and runs n_out decode steps, T = B T_prefill + n_out t_step(B), so
  throughput = B n_out / T. Prefills delay the decode of the others: the TPOT a request sees is
  (T - TTFT) / n_out, not t_step (measured: NIM at concurrency 50 reports 60 ms where t_step is 27 ms).
  TTFT = the prompt's prefill + the wait behind the other requests' prefills on its attention group, taken as M/D/1
  at their load rho' = (B/dp - 1) dp T_prefill / T (Poisson arrivals overstate a closed loop's burstiness slightly;
  alone there is no wait), + one weight read for the first token. A closed loop of C > B concurrent requests (the
  KV cache holds only B) also waits for a slot: (C - B) T / B (Little's law).
TPOT of a decode step alone (``decode_step_s``) is t_step times pp (a token passes every stage).

Options beyond the peers (off by default):
- continuous batching at a chosen batch B (not only saturation), as above.
- prefix caching with hit rate h: only (1 - h) n_in prompt tokens are prefilled.
- speculative decoding (draft model or multi-token prediction) proposing k tokens accepted with probability a:
  a step verifies k + 1 tokens per sequence (compute x (k + 1), weights read once) and yields
  (1 - a^(k+1)) / (1 - a) tokens (Leviathan et al. 2023, eq. 1); the draft costs a fraction of a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from computeplan.catalog.efficiency_schema import ErrorBand
from computeplan.hardware.cluster import Cluster, Precision
from computeplan.perf import collectives
from computeplan.perf.training import matmul_params_per_token
from computeplan.workload.transformer import TransformerSpec

Array = NDArray[np.float64]

BYTES_PER_WEIGHT = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
BYTES_PER_KV = {"bf16": 2.0, "fp8": 1.0}
# Matmul precision a weight format computes in: fp8/fp4 run natively where the chip has them; int8/int4 are
# weight-only quantisation (dequantised to bf16).
COMPUTE_PRECISION = {
    "bf16": Precision.BF16,
    "fp8": Precision.FP8,
    "fp4": Precision.FP4,
    "int8": Precision.BF16,
    "int4": Precision.BF16,
}
KV_MEMORY_FRACTION = 0.9  # of HBM left after weights: serving engines reserve ~5-10% (TensorRT-LLM default 0.9)
ACTIVATION_RESERVE_BYTES = 2.0 * 2**30  # runtime, activations and workspace per chip
DRAFT_COST_FRACTION = 0.1  # draft proposals (small model or MTP head) as a fraction of a target decode step


@dataclass(frozen=True, kw_only=True)
class InferenceEfficiency:
    """Fitted per chip family on published serving runs (see ``computeplan calibrate``)."""

    memory_efficiency: float = 0.75  # achieved fraction of HBM bandwidth in decode
    prefill_efficiency: float = 0.6  # achieved fraction of peak in prefill matmuls
    step_overhead_s: float = 2e-3  # fixed time per decode step (launches, sampling, scheduler)
    network_efficiency: float = 0.7
    layer_overhead_s: float = 0.0  # fixed time per layer per decode step (its small kernels' launches); profiled
    # Measured by a device profile (computeplan profile), absent for a family fitted on published runs:
    # decode_gemm_curve: (m, r) pairs, the time of a decode product of m rows over the time of streaming its weight
    # once at the decode bandwidth (r = 1 where reading the weight bounds it; small-batch kernels can be slower),
    # interpolated in log m and held at the ends; kv_memory_efficiency: the KV-cache read's fraction of the HBM
    # bandwidth (decode attention), memory_efficiency when None.
    decode_gemm_curve: tuple[tuple[float, float], ...] = ()
    kv_memory_efficiency: float | None = None
    error_band: ErrorBand | None = None  # the time error of predictions like this one on runs never fitted

    def decode_gemm_factor(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """r(m) of :attr:`decode_gemm_curve` at ``rows`` sequences (1 without a curve)."""
        if not self.decode_gemm_curve:
            return np.ones_like(rows)
        m, r = (np.array(v, dtype=float) for v in zip(*self.decode_gemm_curve, strict=True))
        return np.asarray(np.interp(np.log(rows), np.log(m), r), dtype=float)

    calibrated: bool = False
    basis: str = "first-principles prior"

    @property
    def calibration(self) -> str:
        """``calibrated`` (the family's serving runs fitted these) or ``uncalibrated`` (the cross-chip default)."""
        return "calibrated" if self.calibrated else "uncalibrated"


def kv_bytes_per_token(spec: TransformerSpec, kv_bytes: float) -> float:
    """KV-cache bytes per token of context for the whole model (all layers, all heads); with local attention a
    sequence of c tokens holds ``spec.attended_tokens(c)`` of them (a local layer keeps only its window)."""
    if spec.is_mla:
        return spec.layers * (spec.kv_lora_rank + spec.qk_rope_head_dim) * kv_bytes
    return 2.0 * spec.layers * spec.kv_heads * spec.head_dim * kv_bytes


def prefill_flops(spec: TransformerSpec, n_tokens: Array) -> Array:
    """FLOPs to prefill one prompt of ``n_tokens``: 2 P_active n + causal attention (and the output layer)."""
    if spec.is_mla:
        h_qk, h_v = float(spec.qk_nope_head_dim + spec.qk_rope_head_dim), float(spec.v_head_dim)
    else:
        h_qk = h_v = float(spec.head_dim)
    share: Array = spec.causal_attention_share(n_tokens)
    return (
        2.0 * matmul_params_per_token(spec) * n_tokens + spec.layers * n_tokens**2 * spec.heads * (h_qk + h_v) * share
    )


def decode_flops_per_token(spec: TransformerSpec, context: Array) -> Array:
    """FLOPs to generate one token at a given context: 2 P_active + 2 c N (H_qk + H_v) attention per layer."""
    if spec.is_mla:
        h_qk, h_v = float(spec.kv_lora_rank + spec.qk_rope_head_dim), float(spec.kv_lora_rank)  # absorbed MLA
    else:
        h_qk = h_v = float(spec.head_dim)
    attended: Array = spec.attended_tokens(context)  # local layers see at most their window
    return 2.0 * matmul_params_per_token(spec) + 2.0 * spec.layers * attended * spec.heads * (h_qk + h_v)


@dataclass(frozen=True)
class ReplicaArrays:
    """Per-candidate results for one replica (tp x pp chips, or (ep / tp) x tp x pp with expert parallelism)."""

    weights_bytes_per_chip: Array
    kv_bytes_per_token_per_chip: Array
    max_sequences: Array  # concurrent sequences the KV cache holds at the given context
    fits: NDArray[np.bool_]
    ttft_s: Array
    tpot_s: Array  # the time between a request's tokens, prefills of the others included
    decode_step_s: Array  # one decode step alone
    throughput_tokens_per_s: Array  # output tokens per second per replica
    batch: Array
    prefill_s: Array  # replica time to prefill one request (its dp attention groups prefill side by side)
    prefill_latency_s: Array  # one prompt's prefill from start to end (through the pp stages in turn)
    chips: Array  # tp x pp x dp: the replica's chips


def routed_flops_per_token(spec: TransformerSpec) -> float:
    """FLOPs of the routed experts one token passes through: 2 L_moe k mlp(F_e) (0 for a dense model)."""
    if not spec.is_moe:
        return 0.0
    return 2.0 * spec.moe_layers * spec.top_k * spec.mlp_params(spec.expert_ffn_hidden)


def expert_load_imbalance(spec: TransformerSpec, tokens: Array, ep: Array) -> Array:
    """Load of the busiest of ``ep`` expert-parallel chips over the mean, for ``tokens`` routed at once.

    Each chip receives lambda = tokens k / ep token-expert pairs on average; with uniform routing their counts are
    close to Poisson and the largest of ep is about lambda + sqrt(2 lambda ln ep) (the maximum of ep Gaussians),
    so the factor is 1 + sqrt(2 ln(ep) / lambda), capped at ep (every pair on one chip). Real routers are less
    even than uniform; balancing (DeepSeek's EPLB) brings them back towards it. 1 without expert parallelism.
    """
    if not spec.is_moe:
        return np.ones_like(tokens)
    lam = np.maximum(tokens * spec.top_k / np.maximum(ep, 1.0), 1e-9)
    factor = 1.0 + np.sqrt(2.0 * np.log(np.maximum(ep, 1.0)) / lam)
    return np.where(ep > 1.0, np.minimum(factor, ep), 1.0)


def _layer_collectives(
    spec: TransformerSpec, cluster: Cluster, eff: InferenceEfficiency, tokens: Array, tp: Array, ep: Array
) -> Array:
    """Seconds of collectives per forward pass of ``tokens`` per attention group, all layers (before pp).

    Without expert parallelism: two tensor-parallel all-reduces of the hidden state per layer (attention and FFN).
    With it: one all-reduce after attention, one after each dense FFN, and per MoE layer an all-to-all dispatch
    and combine over the ep chips of each token's hidden state to its k experts (bf16), tokens/tp per rank.
    """
    ones = np.ones_like(tp)
    ar = collectives.all_reduce_time(cluster, 2.0 * tokens * spec.hidden, tp, ones, eff.network_efficiency)
    plain = 2.0 * spec.layers * ar
    if not spec.is_moe:
        return plain
    dispatch = 2.0 * tokens / tp * spec.top_k * spec.hidden
    a2a = collectives.all_to_all_time(cluster, dispatch, ep, ones, eff.network_efficiency)
    dense_ffn = spec.layers - spec.moe_layers
    with_ep = (spec.layers + dense_ffn) * ar + 2.0 * spec.moe_layers * a2a
    return np.where(ep > 1.0, with_ep, plain)


def _experts_touched(spec: TransformerSpec, batch: Array) -> Array:
    if not spec.is_moe:
        return np.ones_like(batch)
    frac = 1.0 - (1.0 - spec.top_k / spec.experts) ** batch
    return frac


def replica_performance(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: InferenceEfficiency,
    *,
    tp: Array,
    pp: Array,
    batch: Array,
    weight_bytes: Array,
    kv_bytes: Array,
    compute_peak: Array,
    input_len: Array,
    output_len: Array,
    saturate: NDArray[np.bool_],
    continuous: NDArray[np.bool_] | None = None,
    closed_loop: NDArray[np.bool_] | None = None,
    ep: Array | None = None,
    prefix_hit_rate: float = 0.0,
    speculative_tokens: int = 0,
    acceptance_rate: float = 0.0,
) -> ReplicaArrays:
    """Latency and throughput of replicas.

    Where ``saturate`` is set the batch is the KV-cache limit (offline benchmarks, continuous batching); else
    ``batch``, served by continuous batching where ``continuous`` is set and as one static batch otherwise. Where
    ``closed_loop`` is set, ``batch`` is the concurrency of a closed-loop client: the replica batches continuously
    as many of them as its KV cache holds, and the rest wait for a slot.
    """
    closed = np.zeros_like(saturate) if closed_loop is None else closed_loop & ~saturate
    continuous = saturate | closed if continuous is None else (continuous | saturate | closed)
    ep = np.ones_like(tp) if ep is None else np.maximum(ep, 1.0)
    expert_parallel = ep > 1.0
    dp = np.maximum(ep / tp, 1.0)  # attention groups of tp chips per stage (data-parallel attention; 1 without EP)
    chips = tp * pp * dp
    expert_shards = np.where(expert_parallel, ep, tp)  # chips a stage's routed experts are split over
    total = float(spec.param_count())
    expert = float(spec.expert_params_total())
    dense_chip = (total - expert) * weight_bytes / (tp * pp)
    expert_chip = expert * weight_bytes / (expert_shards * pp)
    weights_chip = dense_chip + expert_chip
    kv_split = np.where(spec.is_mla, 1.0, np.minimum(tp, float(spec.kv_heads)))
    kv_token_chip = kv_bytes_per_token(spec, 1.0) * kv_bytes / (kv_split * pp)
    context = input_len + output_len / 2.0
    free = (cluster.hbm_bytes - ACTIVATION_RESERVE_BYTES - weights_chip) * KV_MEMORY_FRACTION
    # each attention group holds the KV cache of its own sequences
    max_seq = dp * np.floor(np.maximum(free, 0.0) / (kv_token_chip * spec.attended_tokens(input_len + output_len)))
    b = np.where(saturate, np.maximum(max_seq, 1.0), np.where(closed, np.clip(max_seq, 1.0, batch), batch))
    fits = (free > 0) & (max_seq >= np.where(saturate | closed, 1.0, batch))

    # decode step per stage: micro-batches of b/(pp dp) sequences per attention group pass the pp stages in turn;
    # a stage's experts see the tokens of all its dp groups at once
    mb = np.maximum(b / (pp * dp), 1.0)
    verify = float(speculative_tokens + 1)
    rows = verify * mb  # the batch dimension of an attention group's decode matmuls
    imbalance = expert_load_imbalance(spec, rows * dp, ep)
    touched = np.minimum(_experts_touched(spec, mb * dp) * imbalance, 1.0)
    weights_read = dense_chip + expert_chip * touched
    kv_read = mb * spec.attended_tokens(context) * kv_token_chip  # local layers keep only their window
    kv_eff = eff.memory_efficiency if eff.kv_memory_efficiency is None else eff.kv_memory_efficiency
    t_mem = weights_read * eff.decode_gemm_factor(rows) / (
        cluster.hbm_bytes_per_s * eff.memory_efficiency
    ) + kv_read / (cluster.hbm_bytes_per_s * kv_eff)
    routed = routed_flops_per_token(spec)
    per_token = decode_flops_per_token(spec, context) - routed + routed * imbalance
    t_comp = rows * per_token / (tp * pp) / (compute_peak * eff.prefill_efficiency)
    t_comm = _layer_collectives(spec, cluster, eff, mb, tp, ep) / pp
    stage = np.maximum(t_mem, t_comp) + t_comm + eff.step_overhead_s / pp + eff.layer_overhead_s * spec.layers / pp
    if speculative_tokens:
        a = min(max(acceptance_rate, 0.0), 0.999)
        yielded = (1.0 - a ** (speculative_tokens + 1)) / (1.0 - a)
        stage = stage * (1.0 + DRAFT_COST_FRACTION) / yielded
    tpot = stage * pp  # pp micro-batches per attention group keep every stage busy; b sequences make b tokens

    prompt_tokens = input_len * (1.0 - prefix_hit_rate)
    prompt = prefill_flops(spec, prompt_tokens)
    # replica time per request: the prompt's FLOPs over all the replica's chips (the dp groups prefill side by side
    # and share the expert shards), its collectives over the pp stages and dp groups working at once
    t_prefill_one = prompt / chips / (compute_peak * eff.prefill_efficiency) + _layer_collectives(
        spec, cluster, eff, input_len, tp, ep
    ) / (pp * dp)
    group_busy = t_prefill_one * dp  # a group's pipeline is busy this long per prompt
    prefill_latency = group_busy * pp  # one prompt passes the pp stages in turn
    first_token = weights_chip / cluster.hbm_bytes_per_s  # one read of the weights
    cycle = b * t_prefill_one + output_len * tpot  # a request's cycle, continuous batching
    others = np.maximum(b / dp - 1.0, 0.0) * group_busy / cycle  # load of the other prefills on the request's group
    wait = others * group_busy / (2.0 * (1.0 - np.minimum(others, 0.99)))  # M/D/1 (Pollaczek-Khinchine)
    slot_wait = np.where(closed, np.maximum(batch - b, 0.0) * cycle / b, 0.0)
    burst = (np.ceil(b / dp) + pp - 1.0) * group_busy  # a static batch: its prompts fill the pipeline in turn
    ttft = np.where(continuous, prefill_latency + wait + first_token + slot_wait, burst + first_token)
    seen_tpot = np.where(
        continuous, np.maximum(tpot, (cycle - prefill_latency - wait) / np.maximum(output_len, 1.0)), tpot
    )
    throughput = np.where(continuous, b * output_len / cycle, b * output_len / (ttft + output_len * tpot))
    return ReplicaArrays(
        weights_bytes_per_chip=weights_chip,
        kv_bytes_per_token_per_chip=kv_token_chip,
        max_sequences=max_seq,
        fits=fits,
        ttft_s=ttft,
        tpot_s=seen_tpot,
        decode_step_s=stage * pp,
        throughput_tokens_per_s=throughput,
        batch=b,
        prefill_s=t_prefill_one,
        prefill_latency_s=prefill_latency,
        chips=chips,
    )
