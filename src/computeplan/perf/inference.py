"""Serving a transformer: KV cache, prefill, decode, and the operating points of batching. Vectorised over
candidate replicas (tp, pp, batch, precisions); SI units.

A replica is tp x pp chips holding one copy of the weights. Per chip, with W weight bytes and k_t KV bytes per
token of context (GQA: 2 L K H b_kv / (min(tp, K) pp); MLA: L (r_kv + H_rope) b_kv / pp):
- decode step at batch B and mean context c (roofline, Williams et al. 2009):
  t_step = max(W_read r(B) / (eta_mem bw) + B c k_t / (eta_kv bw), FLOPs / (peak e)), r(B) a device profile's
  measured small-batch product curve (1 otherwise), plus 2 TP all-reduces per layer of
  B D bytes, a fixed per-step overhead t_0 (kernel launches, sampling, scheduling) and, where a device profile
  measured it, a fixed cost per layer (its small kernels' launches);
  W_read counts only the experts a batch touches: E (1 - (1 - k/E)^B) of E experts.
- prefill of n tokens: 2 P_active n + 2 n^2 N (H_qk + H_v)/2 FLOPs (causal), at e_prefill x peak, shared by the
  replica's chips, plus TP all-reduces of n D bytes per layer.
- static batching (latency runs): TTFT = prefill of the batch; e2e = TTFT + n_out t_step(B, n_in + n_out/2).
- continuous batching at saturation (offline benchmarks): the batch is the most sequences the KV cache holds at
  mean context n_in + n_out/2; each request also costs its prefill, so per replica
  throughput = n_out / (T_prefill(n_in) + n_out t_step(B) / B).
TPOT is t_step times pp (a token passes every stage).

Options beyond the peers (off by default):
- continuous batching at a chosen batch B (not only saturation): TTFT = T_prefill(n_in) + one decode step.
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
    """KV-cache bytes per token of context for the whole model (all layers, all heads)."""
    if spec.is_mla:
        return spec.layers * (spec.kv_lora_rank + spec.qk_rope_head_dim) * kv_bytes
    return 2.0 * spec.layers * spec.kv_heads * spec.head_dim * kv_bytes


def prefill_flops(spec: TransformerSpec, n_tokens: Array) -> Array:
    """FLOPs to prefill one prompt of ``n_tokens``: 2 P_active n + causal attention (and the output layer)."""
    if spec.is_mla:
        h_qk, h_v = float(spec.qk_nope_head_dim + spec.qk_rope_head_dim), float(spec.v_head_dim)
    else:
        h_qk = h_v = float(spec.head_dim)
    return 2.0 * matmul_params_per_token(spec) * n_tokens + spec.layers * n_tokens**2 * spec.heads * (h_qk + h_v)


def decode_flops_per_token(spec: TransformerSpec, context: Array) -> Array:
    """FLOPs to generate one token at a given context: 2 P_active + 2 c N (H_qk + H_v) attention per layer."""
    if spec.is_mla:
        h_qk, h_v = float(spec.kv_lora_rank + spec.qk_rope_head_dim), float(spec.kv_lora_rank)  # absorbed MLA
    else:
        h_qk = h_v = float(spec.head_dim)
    return 2.0 * matmul_params_per_token(spec) + 2.0 * spec.layers * context * spec.heads * (h_qk + h_v)


@dataclass(frozen=True)
class ReplicaArrays:
    """Per-candidate results for one replica (tp x pp chips)."""

    weights_bytes_per_chip: Array
    kv_bytes_per_token_per_chip: Array
    max_sequences: Array  # concurrent sequences the KV cache holds at the given context
    fits: NDArray[np.bool_]
    ttft_s: Array
    tpot_s: Array
    decode_step_s: Array
    throughput_tokens_per_s: Array  # output tokens per second per replica
    batch: Array
    prefill_s: Array  # replica time to prefill one request


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
    prefix_hit_rate: float = 0.0,
    speculative_tokens: int = 0,
    acceptance_rate: float = 0.0,
) -> ReplicaArrays:
    """Latency and throughput of replicas.

    Where ``saturate`` is set the batch is the KV-cache limit (offline benchmarks, continuous batching); else
    ``batch``, served by continuous batching where ``continuous`` is set and as one static batch otherwise.
    """
    continuous = saturate if continuous is None else (continuous | saturate)
    chips = tp * pp
    total = float(spec.param_count())
    expert = float(spec.expert_params_total())
    weights_chip = total * weight_bytes / chips
    kv_split = np.where(spec.is_mla, 1.0, np.minimum(tp, float(spec.kv_heads)))
    kv_token_chip = kv_bytes_per_token(spec, 1.0) * kv_bytes / (kv_split * pp)
    context = input_len + output_len / 2.0
    free = (cluster.hbm_bytes - ACTIVATION_RESERVE_BYTES - weights_chip) * KV_MEMORY_FRACTION
    max_seq = np.floor(np.maximum(free, 0.0) / (kv_token_chip * (input_len + output_len)))
    b = np.where(saturate, np.maximum(max_seq, 1.0), batch)
    fits = (free > 0) & (max_seq >= np.where(saturate, 1.0, batch))

    # decode step per stage: micro-batches of b/pp sequences pass the pp stages in turn
    mb = np.maximum(b / pp, 1.0)
    touched = expert * _experts_touched(spec, mb)
    weights_read = (total - expert + touched) * weight_bytes / chips
    kv_read = mb * context * kv_token_chip
    verify = float(speculative_tokens + 1)
    rows = verify * mb  # the batch dimension of the decode matmuls
    kv_eff = eff.memory_efficiency if eff.kv_memory_efficiency is None else eff.kv_memory_efficiency
    t_mem = weights_read * eff.decode_gemm_factor(rows) / (
        cluster.hbm_bytes_per_s * eff.memory_efficiency
    ) + kv_read / (cluster.hbm_bytes_per_s * kv_eff)
    t_comp = rows * decode_flops_per_token(spec, context) / chips / (compute_peak * eff.prefill_efficiency)
    ones = np.ones_like(tp)
    ar = collectives.all_reduce_time(cluster, 2.0 * mb * spec.hidden, tp, ones, eff.network_efficiency)
    t_comm = 2.0 * spec.layers / pp * ar
    stage = np.maximum(t_mem, t_comp) + t_comm + eff.step_overhead_s / pp + eff.layer_overhead_s * spec.layers / pp
    if speculative_tokens:
        a = min(max(acceptance_rate, 0.0), 0.999)
        yielded = (1.0 - a ** (speculative_tokens + 1)) / (1.0 - a)
        stage = stage * (1.0 + DRAFT_COST_FRACTION) / yielded
    tpot = stage * pp
    # throughput: pp micro-batches in flight keep every stage busy
    decode_tokens_per_s = mb * pp / tpot

    prompt = prefill_flops(spec, input_len * (1.0 - prefix_hit_rate))
    t_prefill_one = prompt / chips / (compute_peak * eff.prefill_efficiency)
    ar_prefill = collectives.all_reduce_time(cluster, 2.0 * input_len * spec.hidden, tp, ones, eff.network_efficiency)
    t_prefill_one = t_prefill_one + 2.0 * spec.layers / pp * ar_prefill
    ttft = np.where(continuous, t_prefill_one + tpot, b * t_prefill_one + weights_chip / cluster.hbm_bytes_per_s)
    throughput = np.where(
        continuous,
        output_len / (t_prefill_one + output_len / decode_tokens_per_s),
        b * output_len / (ttft + output_len * tpot),
    )
    return ReplicaArrays(
        weights_bytes_per_chip=weights_chip,
        kv_bytes_per_token_per_chip=kv_token_chip,
        max_sequences=max_seq,
        fits=fits,
        ttft_s=ttft,
        tpot_s=tpot,
        decode_step_s=stage * pp,
        throughput_tokens_per_s=throughput,
        batch=b,
        prefill_s=t_prefill_one,
    )
