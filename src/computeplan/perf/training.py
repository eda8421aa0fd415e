"""One optimizer step of transformer training, vectorised over candidate layouts.

Notation (docs/notation.md): b micro-batch, s sequence, D width, F FFN width, N/K heads, H head dim, L layers,
V vocabulary; t, p, d, c, e the tensor, pipeline, data, context and expert parallel degrees, v virtual stages,
m = B / (d b) micro-batches per step. All quantities SI; arrays have one entry per layout.

Cost model, per micro-batch on the busiest pipeline stage (the last: it holds the logits):
- matmul FLOPs, forward F_mm = 2 (b s / c) P_mm / t; attention scores (causal) F_att = b s^2 N (H_qk + H_v) / (c t);
  backward 2x matmul and 2.5x attention (flash attention recomputes scores); recompute adds a forward
  (full) or the attention forward (selective).
- time = FLOPs / (peak e(x)), e(x) = e_max x / (x + x_half), x the narrowest per-chip matmul dimension;
  attention at e(s/c) times a fixed relative efficiency.
- element-wise kernels (norms, residuals, activations) move bytes at HBM bandwidth.
- TP: 4 all-reduces of 2 b s D / c bytes per layer (2 forward, 2 backward; +2 with full recompute),
  exposed. EP: 4 all-to-alls per MoE layer. CP: ring exchange of K,V overlapped with attention.
  PP: one activation send per stage boundary each way, v times with interleaving.
Step = (m + (p - 1)/v) t_mb  [1F1B bubble (p-1)/v micro-batches; Narayanan et al. SC21 sec. 2.2]
     + exposed DP traffic + optimizer update.
Memory follows Korthikanti et al. 2022 (activations, sec. 4) with flash attention (no s^2 term) and
mixed-precision Adam (2 B weights, 4 B gradients, 12 B optimizer state per parameter, sharded by ZeRO stage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from computeplan.hardware.cluster import Cluster, Precision
from computeplan.hardware.efficiency import EfficiencyParams
from computeplan.perf import collectives
from computeplan.perf.layout import Layouts, Recompute
from computeplan.workload.transformer import TransformerSpec

Array = NDArray[np.float64]

BYTES_BF16 = 2.0
GRAD_BYTES = 4.0  # fp32 main gradients (Megatron default with bf16)
FSDP_GRAD_BYTES = 2.0  # ZeRO-3/FSDP keeps bf16 gradients
OPTIMIZER_BYTES = 12.0  # fp32 master weights + Adam m and v
OPTIMIZER_TRAFFIC_BYTES = 30.0  # per parameter per update: read grad, master, m, v; write master, m, v, weight
WORKSPACE_BYTES = 2.0 * 2**30  # CUDA context, NCCL buffers, cuBLAS workspace
FRAGMENTATION = 0.05  # allocator fragmentation, as a fraction of what is allocated
DP_BUCKET_BYTES = 50e6  # gradient bucket (Megatron-LM ~40M elements; PyTorch DDP 25 MB)

# Reasons a layout cannot run, as bit flags (a layout may fail several).
INVALID_REASONS = {
    1: "tp*pp*dp*cp does not equal the number of chips",
    2: "tp does not divide the attention heads (or key/value heads)",
    4: "pp exceeds the layers, or vpp does not divide the layers of a stage",
    8: "dp*mb does not divide the global batch",
    16: "ep does not divide the experts, or dp*cp",
    32: "cp does not divide the sequence into 2*cp chunks",
    64: "sequence parallel needs tp > 1",
    128: "interleaving (vpp > 1) needs pp > 1 and micro-batches divisible by pp",
    256: "fp8 is not supported by this chip",
    512: "expert parallelism (ep > 1) on a dense model",
    1024: "hsdp needs ZeRO stage 3",
}


@dataclass(frozen=True)
class StepArrays:
    """Per-layout results. Times in s, memory in bytes per chip, FLOPs per step over the whole cluster."""

    invalid: NDArray[np.int64]  # bit flags from INVALID_REASONS; 0 = valid
    step_time_s: Array
    compute_s: Array
    elementwise_s: Array
    tp_comm_s: Array
    cp_comm_s: Array
    ep_comm_s: Array
    pp_comm_s: Array
    bubble_s: Array
    dp_comm_s: Array
    optimizer_s: Array
    weights_bytes: Array
    grads_bytes: Array
    optimizer_bytes: Array
    activations_bytes: Array
    logits_bytes: Array
    workspace_bytes: Array
    memory_bytes: Array
    fits: NDArray[np.bool_]
    model_flops: Array  # per step, Megatron accounting (non-causal attention), whole cluster
    hardware_flops: Array  # per step, executed incl. recompute, whole cluster
    mfu: Array
    hfu: Array
    tokens_per_s: Array
    compute_busy: Array  # fraction of the step the chip spends in compute kernels

    def valid_and_fits(self) -> NDArray[np.bool_]:
        ok: NDArray[np.bool_] = (self.invalid == 0) & self.fits
        return ok


def model_flops_per_token(spec: TransformerSpec, seq_len: int) -> float:
    """Model FLOPs per trained token, Megatron accounting: 6 P_mm + 6 L s N (H_qk + H_v).

    P_mm counts the matmul weights a token uses (attention, active FFN, router, output layer; not the input
    embedding). Attention scores are counted non-causal, as Megatron-LM (``num_floating_point_operations``),
    MaxText and MosaicML do: 12 L s N H for H_qk = H_v = H.
    """
    h_qk, h_v = _head_dims(spec)
    return 6.0 * matmul_params_per_token(spec) + 6.0 * spec.layers * seq_len * spec.heads * (h_qk + h_v)


def matmul_params_per_token(spec: TransformerSpec) -> float:
    """Weights a token multiplies with: attention, active FFN (and router), and the output projection."""
    dense_ffn = spec.mlp_params(spec.ffn_hidden)
    moe_ffn = (spec.top_k + spec.shared_experts) * spec.mlp_params(spec.expert_ffn_hidden) + spec.router_params()
    n_moe = spec.moe_layers
    ffn = (spec.layers - n_moe) * dense_ffn + n_moe * moe_ffn
    return float(spec.layers * spec.attention_params() + ffn + spec.vocab * spec.hidden)


def _head_dims(spec: TransformerSpec) -> tuple[float, float]:
    if spec.is_mla:
        return float(spec.qk_nope_head_dim + spec.qk_rope_head_dim), float(spec.v_head_dim)
    return float(spec.head_dim), float(spec.head_dim)


def _efficiency(x: Array, eff: EfficiencyParams) -> Array:
    return eff.matmul_peak_fraction * x / (x + eff.matmul_half_dim)


def validity(
    spec: TransformerSpec, cluster: Cluster, lay: Layouts, global_batch: int, seq_len: int
) -> NDArray[np.int64]:
    """Bit flags of INVALID_REASONS for each layout (0 = can run)."""
    t, p, d, c, e, v, b = lay.tp, lay.pp, lay.dp, lay.cp, lay.ep, lay.vpp, lay.mb
    flags = np.zeros(len(lay), dtype=np.int64)
    flags |= np.where(t * p * d * c != cluster.num_chips, 1, 0)
    kv_split = spec.heads if spec.is_mla else spec.kv_heads
    flags |= np.where((spec.heads % t != 0) | (kv_split % t != 0), 2, 0)
    layers_per_stage = -(-spec.layers // p)  # uneven stages allowed; the busiest has ceil(L / p) layers
    flags |= np.where((p > spec.layers) | (layers_per_stage % v != 0), 4, 0)
    flags |= np.where(global_batch % (d * b) != 0, 8, 0)
    if spec.is_moe:
        flags |= np.where((spec.experts % e != 0) | ((d * c) % e != 0), 16, 0)
    else:
        flags |= np.where(e != 1, 512, 0)
    flags |= np.where((c > 1) & (seq_len % (2 * c) != 0), 32, 0)
    flags |= np.where((lay.sp == 1) & (t == 1), 64, 0)
    micro_batches = global_batch // np.maximum(d * b, 1)
    flags |= np.where((v > 1) & ((p == 1) | (micro_batches % p != 0)), 128, 0)
    flags |= np.where((lay.hsdp == 1) & (lay.zero != 3), 1024, 0)
    if Precision.FP8 not in cluster.peak_flops_per_s:
        flags |= np.where(lay.fp8 == 1, 256, 0)
    return flags


def training_step(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: EfficiencyParams,
    lay: Layouts,
    *,
    global_batch: int,
    seq_len: int,
) -> StepArrays:
    """Price one optimizer step for every layout in ``lay`` (see the module docstring for the equations)."""
    f64 = np.float64
    t, p, d, c = (x.astype(f64) for x in (lay.tp, lay.pp, lay.dp, lay.cp))
    e, v, b = lay.ep.astype(f64), lay.vpp.astype(f64), lay.mb.astype(f64)
    full = lay.recompute == Recompute.FULL
    selective = lay.recompute == Recompute.SELECTIVE
    sp = lay.sp == 1
    s = float(seq_len)
    dim = float(spec.hidden)
    n_layers = float(spec.layers)
    gated = 3.0 if spec.gated_mlp else 2.0
    invalid = validity(spec, cluster, lay, global_batch, seq_len)

    peak = np.where(lay.fp8 == 1, cluster.peak_flops_per_s.get(Precision.FP8, np.nan), cluster.peak(Precision.BF16))
    tokens = b * s / c  # tokens of one micro-batch on one chip
    micro_batches = np.maximum(global_batch / np.maximum(d * b, 1.0), 1.0)
    layers_per_stage = np.ceil(n_layers / p)  # the busiest stage

    # --- FLOPs per layer per micro-batch per chip (averaged over dense and MoE layers)
    moe_share = spec.moe_layers / n_layers
    dense_ffn = spec.mlp_params(spec.ffn_hidden)
    active_width = float(spec.ffn_hidden)
    ffn_params: float
    if spec.is_moe:
        moe_ffn = (spec.top_k + spec.shared_experts) * spec.mlp_params(spec.expert_ffn_hidden) + spec.router_params()
        ffn_params = (1 - moe_share) * dense_ffn + moe_share * moe_ffn
        active_width = (1 - moe_share) * spec.ffn_hidden + moe_share * (
            (spec.top_k + spec.shared_experts) * spec.expert_ffn_hidden
        )
    else:
        ffn_params = float(dense_ffn)
    mm_layer = 2.0 * tokens * (spec.attention_params() + ffn_params) / t
    h_qk, h_v = _head_dims(spec)
    att_layer = b * s * s * spec.heads * (h_qk + h_v) / (c * t)  # causal: half of 2 (2 b s^2 N H)
    logits = 2.0 * tokens * spec.vocab * dim / t

    # narrowest per-chip matmul dimension sets the efficiency
    narrow = np.minimum(np.minimum(tokens, dim), np.minimum(spec.heads * h_v / t, spec.ffn_hidden / t))
    if spec.is_moe:
        tokens_per_expert = tokens * spec.top_k * e / spec.experts
        narrow = np.minimum(narrow, np.minimum(tokens_per_expert, spec.expert_ffn_hidden / t))
    e_mm = _efficiency(narrow, eff)
    e_att = _efficiency(np.full_like(t, s) / c, eff) * eff.attention_relative

    mm_time = mm_layer / (peak * e_mm)
    att_time = att_layer / (peak * e_att)
    logit_time = logits / (peak * e_mm)
    fwd = layers_per_stage * (mm_time + att_time) + logit_time
    bwd = layers_per_stage * (2.0 * mm_time + 2.5 * att_time) + 2.0 * logit_time
    recompute = np.where(
        full, layers_per_stage * (mm_time + att_time), np.where(selective, layers_per_stage * att_time, 0.0)
    )
    compute_mb = fwd + bwd + recompute

    hw_flops_mb = (
        layers_per_stage * (3.0 * mm_layer + 3.5 * att_layer)
        + 3.0 * logits
        + np.where(
            full, layers_per_stage * (mm_layer + att_layer), np.where(selective, layers_per_stage * att_layer, 0.0)
        )
    )

    # --- element-wise traffic: norms, residuals, dropout (sharded by SP) and activations (sharded by TP)
    elem_fwd = BYTES_BF16 * tokens * (10.0 * dim / np.where(sp, t, 1.0) + (gated + 1.0) * active_width / t)
    elem_mb = layers_per_stage * elem_fwd * np.where(full, 4.0, 3.0)
    elem_time = elem_mb / (cluster.hbm_bytes_per_s * eff.memory_efficiency)

    # --- communication per micro-batch
    eta = eff.network_efficiency
    ones = np.ones_like(t)
    tp_bytes = BYTES_BF16 * tokens * dim
    tp_per_layer = np.where(full, 6.0, 4.0) * collectives.all_reduce_time(cluster, tp_bytes, t, ones, eta)
    tp_mb = layers_per_stage * tp_per_layer

    kv_width = (spec.kv_lora_rank + spec.qk_rope_head_dim) if spec.is_mla else 2.0 * spec.kv_heads * spec.head_dim / t
    kv_bytes = BYTES_BF16 * tokens * kv_width
    cp_fwd = collectives.all_gather_time(cluster, kv_bytes * c, c, t, eta)
    cp_exposed = np.maximum(cp_fwd - att_time, 0.0) + np.maximum(2.0 * cp_fwd - 2.5 * att_time, 0.0)
    cp_mb = layers_per_stage * cp_exposed

    if spec.is_moe:
        a2a_bytes = BYTES_BF16 * tokens * dim * spec.top_k / np.where(sp, t, 1.0)
        a2a = collectives.all_to_all_time(cluster, a2a_bytes, e, t * c, eta)
        ep_mb = layers_per_stage * moe_share * np.where(full, 6.0, 4.0) * a2a
    else:
        ep_mb = np.zeros_like(t)

    pp_bytes = BYTES_BF16 * tokens * dim / t
    crosses: NDArray[np.bool_] = np.asarray(t * c * d >= cluster.scaleup_domain_chips)
    pp_mb = np.where(p > 1, 2.0 * v * collectives.p2p_time(cluster, pp_bytes, crosses, eta), 0.0)

    t_mb = compute_mb + elem_time + tp_mb + cp_mb + ep_mb + pp_mb
    bubble = (p - 1.0) / v * t_mb
    pipeline = micro_batches * t_mb + bubble

    # --- parameters held per chip (busiest stage: its layers plus one embedding table)
    expert_params = spec.moe_layers * spec.experts * spec.mlp_params(spec.expert_ffn_hidden) if spec.is_moe else 0
    total_params = float(spec.param_count())
    layer_params = (total_params - spec.embedding_params() - expert_params) / n_layers
    params_chip = (layers_per_stage * layer_params + spec.vocab * dim) / t + layers_per_stage * (
        expert_params / n_layers
    ) / (t * e)

    # --- data-parallel gradient traffic and its overlap with compute
    zero = lay.zero
    hsdp = lay.hsdp == 1
    dp_stride = t * c
    dp_in, dp_out = collectives.split_group(cluster, d, dp_stride)
    shard = np.where(hsdp, dp_in, d)  # ZeRO-3 sharding group: all of dp, or the part inside one domain
    grad_bytes = BYTES_BF16 * params_chip
    # gradients are reduced in buckets (PyTorch DDP and Megatron use tens of MB); each pays the latency
    buckets = np.maximum(np.ceil(grad_bytes / DP_BUCKET_BYTES), 1.0)
    ar = buckets * collectives.all_reduce_time(cluster, grad_bytes / buckets, d, dp_stride, eta)
    half = 0.5 * ar
    fwd_mb, bwd_mb = fwd + elem_time / 3.0, bwd + recompute
    window = eff.dp_overlap
    exposed_ddp = np.maximum(ar - window * bwd_mb, 0.0)
    exposed_zero12 = np.maximum(half - window * bwd_mb, 0.0) + np.maximum(half - window * fwd_mb, 0.0)
    # ZeRO-3: gather weights for forward and backward and scatter gradients, every micro-batch, in the shard group;
    # with hsdp, gradients are also all-reduced across domains once per step.
    # one collective per layer (each layer is an FSDP unit), so latency is paid per layer
    per_layer = 0.5 * collectives.all_reduce_time(cluster, grad_bytes / layers_per_stage, shard, dp_stride, eta)
    fsdp_traffic = micro_batches * 3.0 * layers_per_stage * per_layer
    exposed_fsdp = np.maximum(fsdp_traffic - window * micro_batches * (fwd_mb + bwd_mb), 0.0)
    across = collectives.all_reduce_time(
        cluster, grad_bytes / shard, np.where(hsdp, dp_out, 1.0), dp_stride * shard, eta
    )
    exposed_fsdp = exposed_fsdp + np.maximum(across - window * bwd_mb, 0.0)
    dp_exposed = np.where(zero == 0, exposed_ddp, np.where(zero == 3, exposed_fsdp, exposed_zero12))
    dp_exposed = np.where(d > 1, dp_exposed, 0.0)

    opt_params = params_chip / np.where(zero >= 1, np.where(zero == 3, shard, d), 1.0)
    optimizer = OPTIMIZER_TRAFFIC_BYTES * opt_params / (cluster.hbm_bytes_per_s * eff.memory_efficiency)

    step = pipeline + dp_exposed + optimizer

    # --- memory per chip
    opt_shard = np.where(zero == 3, shard, d)
    weights = BYTES_BF16 * params_chip / np.where(zero == 3, shard, 1.0)
    grads = np.where(zero == 3, FSDP_GRAD_BYTES, GRAD_BYTES) * params_chip / np.where(zero >= 2, opt_shard, 1.0)
    opt_state = OPTIMIZER_BYTES * params_chip / np.where(zero >= 1, opt_shard, 1.0)
    sbh = tokens * dim
    sb = tokens
    replicated = 10.0 * sbh / np.where(sp, t, 1.0)  # LN/QKV/FC1 inputs, dropout masks: 2+2+2+2 B + 2 x 1 B
    q_kv = BYTES_BF16 * sb * (spec.heads * h_qk + 2.0 * (spec.kv_heads if not spec.is_mla else spec.heads) * h_v)
    context = BYTES_BF16 * sb * spec.heads * h_v
    mlp = BYTES_BF16 * sb * active_width * (gated if spec.gated_mlp else 2.0)
    act_layer_none = replicated + (q_kv + context + mlp) / t
    act_layer = np.where(full, BYTES_BF16 * sbh / np.where(sp, t, 1.0), act_layer_none)
    # 1F1B: the first stage holds p micro-batches; interleaving raises it by 1 + (p - 1)/(p v) (Korthikanti sec. 4.2.3)
    interleave = np.where(v > 1, 1.0 + (p - 1.0) / (p * v), 1.0)
    in_flight = np.where(p > 1, np.minimum(micro_batches, p) * interleave, 1.0)
    activations = layers_per_stage * act_layer * in_flight + np.where(full, act_layer_none, 0.0)
    logits_mem = 2.0 * 4.0 * sb * spec.vocab / t  # fp32 logits and their gradient on the last stage
    allocated = weights + grads + opt_state + activations + logits_mem
    workspace = WORKSPACE_BYTES + FRAGMENTATION * allocated
    memory = allocated + workspace

    tokens_step = float(global_batch) * s
    model_flops = tokens_step * model_flops_per_token(spec, seq_len)
    hardware_flops = hw_flops_mb * micro_batches * cluster.num_chips
    bf16_peak = cluster.peak(Precision.BF16)
    denom = step * cluster.num_chips
    return StepArrays(
        invalid=invalid,
        step_time_s=step,
        compute_s=micro_batches * compute_mb,
        elementwise_s=micro_batches * elem_time,
        tp_comm_s=micro_batches * tp_mb,
        cp_comm_s=micro_batches * cp_mb,
        ep_comm_s=micro_batches * ep_mb,
        pp_comm_s=micro_batches * pp_mb,
        bubble_s=bubble,
        dp_comm_s=dp_exposed,
        optimizer_s=optimizer,
        weights_bytes=weights,
        grads_bytes=grads,
        optimizer_bytes=opt_state,
        activations_bytes=activations,
        logits_bytes=logits_mem,
        workspace_bytes=workspace,
        memory_bytes=memory,
        fits=memory <= cluster.hbm_bytes,
        model_flops=np.full_like(step, model_flops),
        hardware_flops=hardware_flops,
        mfu=model_flops / (denom * bf16_peak),
        hfu=hardware_flops / (denom * bf16_peak),
        tokens_per_s=tokens_step / step,
        compute_busy=micro_batches * compute_mb / step,
    )
