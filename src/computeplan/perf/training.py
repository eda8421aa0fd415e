"""One optimizer step of transformer training, vectorised over candidate layouts.

Notation (docs/notation.md): b micro-batch, s sequence, D width, F FFN width, N/K heads, H head dim, L layers,
V vocabulary; t, p, d, c, e the tensor, pipeline, data, context and expert parallel degrees, v virtual stages,
m = B / (d b) micro-batches per step. All quantities SI; arrays have one entry per layout.

Cost model, per micro-batch on the busiest pipeline stage (the last: it holds the logits), one function each:
- matmul FLOPs, forward F_mm = 2 (b s / c) P_mm / t; attention scores (causal) F_att = b s^2 N (H_qk + H_v) / (c t);
  backward 2x matmul and 2.5x attention (flash attention recomputes scores); recompute adds a forward
  (full; half of the layers' with half) or the attention forward (selective).
  [:func:`micro_batch_flops`, :func:`hardware_flops_per_micro_batch`]
- time = FLOPs / (peak e(x)), e(x) = e_max x / (x + x_half), x the narrowest per-chip matmul dimension, e_max the
  family's microbenchmarked GEMM plateau times the share of it a training step realizes (fitted);
  attention at e_max s/(s + 800) times the kernel's relative efficiency.  [:func:`compute_times`]
- fp8 layouts run the layers' linear GEMMs at the fp8 peak times a measured fp8-vs-bf16 efficiency ratio; attention
  and the output layer stay bf16; casting GEMM operands to fp8 moves extra bytes.  [:func:`fp8_cast_bytes`]
- element-wise kernels (norms, residuals, activations) move bytes at HBM bandwidth.  [:func:`elementwise_time`]
- unfused attention (scores in HBM) computes all s^2 scores as narrow batched matmuls and moves each score
  element's bytes through softmax and dropout.  [:func:`attention_efficiency`, :func:`unfused_score_bytes`]
- TP: 4 all-reduces of 2 b s D / c bytes per layer (2 forward, 2 backward; +2 with full recompute),
  exposed, or hidden behind the matmuls with TP overlap [:func:`overlapped_exposed_time`]. EP: 4 all-to-alls per MoE
  layer (hidden behind compute with EP overlap, as DualPipe). CP: ring exchange of K,V overlapped with attention.
  PP: one activation send per stage boundary each way, v times with interleaving.  [:func:`tp_comm_time`, ...]
Step = (m + (p - 1)/v) t_mb  [1F1B bubble (p-1)/v micro-batches; Narayanan et al. SC21 sec. 2.2]
     + exposed DP traffic + optimizer update.  [:func:`dp_exposed_time`, :func:`optimizer_time`]
Memory follows Korthikanti et al. 2022 (activations, sec. 4) with flash attention (no s^2 term) and
mixed-precision Adam (2 B weights, 4 B gradients, 12 B optimizer state per parameter, sharded by ZeRO stage).
[:func:`memory_per_chip`]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from computeplan.hardware.cluster import Cluster, Precision
from computeplan.hardware.efficiency import EfficiencyParams
from computeplan.perf import collectives
from computeplan.perf.layout import LayoutProblem, Layouts, Recompute
from computeplan.workload.transformer import TransformerSpec

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# --- bytes per element and per parameter
BYTES_BF16 = 2.0
BYTES_FP32 = 4.0
GRAD_BYTES = 4.0  # fp32 main gradients (Megatron default with bf16)
FSDP_GRAD_BYTES = 2.0  # ZeRO-3/FSDP keeps bf16 gradients
OPTIMIZER_BYTES = 12.0  # fp32 master weights + Adam m and v
# per parameter per Adam update: read gradient, master, m, v; write master, m, v (7 x 4 B fp32); write bf16 weight (2 B)
OPTIMIZER_TRAFFIC_BYTES = 30.0
WORKSPACE_BYTES = 2.0 * 2**30  # CUDA context, NCCL buffers, cuBLAS workspace
FRAGMENTATION = 0.05  # allocator fragmentation, as a fraction of what is allocated
DP_BUCKET_BYTES = 50e6  # gradient bucket (Megatron-LM ~40M elements; PyTorch DDP 25 MB)

# --- backward and recompute, relative to the forward pass
# gradients w.r.t. inputs and w.r.t. weights, one forward-sized matmul each (Narayanan et al. SC21 sec. 5.1)
MATMUL_BACKWARD_FACTOR = 2.0
# FlashAttention-2 backward: 5 matmuls per tile (the scores recomputed) against 2 in forward (Dao 2023 sec. 3.1)
ATTENTION_BACKWARD_FACTOR = 2.5

# --- element-wise kernels (norms, residual adds, dropout, activation function): HBM traffic per layer
# D-wide bf16 tensors moved per layer in forward (estimate, after the 10 sbh of Korthikanti et al. 2022 sec. 4.1)
ELEMENTWISE_HIDDEN_TENSORS = 10.0
ELEMENTWISE_FFN_EXTRA_TENSORS = 1.0  # F-wide tensors the activation moves: one per FFN matrix plus this (estimate)
ELEMENTWISE_PASSES = 3.0  # forward once, backward twice (reads activations and output gradients); estimate
ELEMENTWISE_PASSES_FULL_RECOMPUTE = 4.0  # plus the recomputed forward
HALF_RECOMPUTE_SHARE = 0.5  # Recompute.HALF: share of the layers recomputed in full
CHEAP_RECOMPUTE_PASSES = 0.5  # Recompute.CHEAP: the norms and activation re-run in backward (estimate)
# eager PyTorch moves this many times the fused element-wise bytes: on an H200, eager decoder layers take 0.6-1.4 ms
# more than compiled ones at 8k tokens, 0.7-1.1x the model's fused element-wise time (docs/MEASUREMENTS.md)
EAGER_ELEMENTWISE_FACTOR = 2.0

# Sequence chunk (tokens per chip) at which a flash attention kernel runs at half its asymptotic efficiency: causal
# forward + backward with FlashAttention-2 and cuDNN on an H200 reach 0.71-0.78 of their 32k-token rate at 2k and
# 0.93-0.96 at 8k (benchmarks/results/h200-layer-sweep-2026-11-26.csv), as s / (s + 800) does

# --- unfused attention (scores materialised in HBM: Megatron-LM 2021-22, early Neuron): bytes per score element
# forward: write QK^T (2), softmax read + write (4), dropout mask (1) and read + write (4), read by AV (2)
UNFUSED_SCORE_BYTES_FORWARD = 13.0
UNFUSED_SCORE_BYTES_BACKWARD = 26.0  # the gradients of each step, about twice the forward traffic (estimate)
UNFUSED_SCORE_ACTIVATION_BYTES = 5.0  # scores 2 B + softmax output 2 B + dropout mask 1 B (Korthikanti Eq. 1)
UNFUSED_CAUSAL_SHARE = 0.5  # an unfused kernel computes all s^2 scores, the causal FLOPs are half of them
# fp8 cast of a GEMM operand: read bf16 (2 B), write fp8 (1 B); the amax reduction fused into the producing kernel
FP8_CAST_BYTES_PER_ELEMENT = 3.0

# --- communication: collectives per layer per micro-batch
# Megatron-LM's f and g operators: 2 all-reduces in forward and 2 in backward per block (Shoeybi et al. 2019 sec. 3)
TP_ALL_REDUCES_PER_LAYER = 4.0
TP_ALL_REDUCES_PER_LAYER_FULL_RECOMPUTE = 6.0  # plus 2 in the recomputed forward (Korthikanti et al. 2022 sec. 5)
EP_ALL_TO_ALLS_PER_LAYER = 4.0  # dispatch and combine, forward and backward (GShard, Lepikhin et al. 2020 sec. 2.2)
EP_ALL_TO_ALLS_PER_LAYER_FULL_RECOMPUTE = 6.0  # plus dispatch and combine in the recomputed forward
CP_BACKWARD_TRAFFIC_FACTOR = 2.0  # backward re-sends K,V and returns their gradients (ring attention, Liu et al. 2023)
# activations forward and their gradients backward, once per virtual stage (Narayanan et al. SC21 sec. 2.2)
PP_TRANSFERS_PER_STAGE = 2.0
# a ring reduce-scatter or all-gather moves half of an all-reduce (Thakur et al. 2005; ZeRO, Rajbhandari 2020 sec. 7)
REDUCE_SCATTER_SHARE = 0.5
FSDP_COLLECTIVES_PER_LAYER = 3.0  # all-gather for forward, all-gather for backward, reduce-scatter of gradients (FSDP)

# --- activation memory (Korthikanti et al. 2022 sec 4.1, Eq. 1-4) and logits
REPLICATED_ACTIVATION_BYTES = 10.0  # per s·b·D element: LN, QKV and FC1 inputs (4 x 2 B), two dropout masks (2 x 1 B)
LOGITS_COPIES = 2.0  # fp32 logits and their gradient, held on the last stage (Megatron-LM cross-entropy)


@dataclass(frozen=True, kw_only=True)
class Software:
    """What the training framework does that is not a layout field (``catalog/data/frameworks.yaml``).

    - ``attention_kernel``: ``flash-attention-2`` (and other flash-style kernels: splash, NKI), ``cudnn`` or
      ``flash-attention-3`` (faster on Hopper: ``catalog/data/kernels.yaml``), or ``unfused`` (scores materialised
      in HBM: Megatron-LM before FlashAttention, early Neuron Megatron).
    - ``tp_overlap``: tensor-parallel collectives overlapped with the layer's matmuls (Megatron/Transformer Engine
      TP-comm overlap, XLA collective matmul, torchtitan async TP).
    - ``ep_overlap``: expert-parallel all-to-alls overlapped with another micro-batch's compute (DeepSeek's DualPipe).
    - ``compiled``: element-wise kernels fused (a compiler, or hand-fused kernels); False for eager PyTorch, whose
      element-wise traffic is :data:`EAGER_ELEMENTWISE_FACTOR` times the fused one.
    - ``pipeline_schedule``: ``1f1b`` (interleaved when vpp > 1) or ``dualpipe`` (DeepSeek's bidirectional
      schedule: about half the bubble; :func:`bubble_time`).
    - ``activation_bytes``: bytes of an activation element, 2 in mixed-precision training (bf16/fp16); 4 when a
      step runs in fp32 (a CPU): the element-wise traffic scales with it (the step's timing; the memory model
      keeps mixed precision).
    """

    attention_kernel: str = "flash-attention-2"
    tp_overlap: bool = False
    ep_overlap: bool = False
    compiled: bool = True
    pipeline_schedule: str = "1f1b"
    activation_bytes: float = BYTES_BF16

    @property
    def fused_attention(self) -> bool:
        return self.attention_kernel != "unfused"


DEFAULT_SOFTWARE = Software()  # flash attention, no communication overlap: what a plain framework does


@dataclass(frozen=True)
class StepArrays:
    """Per-layout results. Times in s, memory in bytes per chip, FLOPs per step over the whole cluster."""

    invalid: NDArray[np.int64]  # LayoutProblem bit flags; 0 = valid
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
    fits: BoolArray
    model_flops: Array  # per step, Megatron accounting (non-causal attention), whole cluster
    hardware_flops: Array  # per step, model FLOPs plus recomputed work in the same accounting, whole cluster
    mfu: Array
    hfu: Array
    tokens_per_s: Array
    compute_busy: Array  # fraction of the step the chip spends in compute kernels


# ---------------------------------------------------------------------------------------------- model FLOPs


def model_flops_per_token(spec: TransformerSpec, seq_len: int) -> float:
    """Model FLOPs per trained token, Megatron accounting: 6 P_mm + 6 L s N (H_qk + H_v).

    P_mm counts the matmul weights a token uses (attention, active FFN, router, output layer; not the input
    embedding). Attention scores are counted non-causal, as Megatron-LM (``num_floating_point_operations``),
    MaxText and MosaicML do: 12 L s N H for H_qk = H_v = H; a local (sliding-window) layer attends min(s, w) keys,
    as MaxText counts Gemma's.
    """
    h_qk, h_v = _head_dims(spec)
    attended = float(spec.attended_tokens(float(seq_len)))  # local layers: the window (MaxText's accounting)
    return 6.0 * matmul_params_per_token(spec) + 6.0 * spec.layers * attended * spec.heads * (h_qk + h_v)


def matmul_params_per_token(spec: TransformerSpec) -> float:
    """Weights a token multiplies with: L attention blocks, the active FFN of each layer (router included), and
    the output projection V·D."""
    n_moe = spec.moe_layers
    ffn = (spec.layers - n_moe) * spec.ffn_params_per_token(False) + n_moe * spec.ffn_params_per_token(True)
    return float(spec.layers * spec.attention_params() + ffn + spec.vocab * spec.hidden)


def _head_dims(spec: TransformerSpec) -> tuple[float, float]:
    """(H_qk, H_v): query/key and value widths of one head; MLA: H_nope + H_rope and H_v."""
    if spec.is_mla:
        return float(spec.qk_nope_head_dim + spec.qk_rope_head_dim), float(spec.v_head_dim)
    return float(spec.head_dim), float(spec.head_dim)


def _mlp_matrices(spec: TransformerSpec) -> float:
    """Weight matrices of one FFN: 3 (SwiGLU: gate, up, down) or 2 (GELU: up, down)."""
    return 3.0 if spec.gated_mlp else 2.0


def moe_layer_share(spec: TransformerSpec) -> float:
    """Fraction of the L layers whose FFN is a mixture of experts (0 for a dense model)."""
    return spec.moe_layers / float(spec.layers)


def mean_ffn_params_per_token(spec: TransformerSpec) -> float:
    """FFN weights a token uses, averaged over the layers: (1 - f) mlp(F) + f ((k + S) mlp(F_e) + D E),
    f the MoE layer share."""
    dense_ffn = spec.ffn_params_per_token(False)
    if not spec.is_moe:
        return float(dense_ffn)
    moe_share = moe_layer_share(spec)
    return (1 - moe_share) * dense_ffn + moe_share * spec.ffn_params_per_token(True)


def mean_active_ffn_width(spec: TransformerSpec) -> float:
    """FFN width a token passes through, averaged over the layers: (1 - f) F + f (k + S) F_e
    (:meth:`TransformerSpec.active_ffn_width` of a dense and a MoE layer)."""
    if not spec.is_moe:
        return float(spec.active_ffn_width(False))
    moe_share = moe_layer_share(spec)
    return (1 - moe_share) * spec.active_ffn_width(False) + moe_share * spec.active_ffn_width(True)


# ---------------------------------------------------------------------------------------------- validity


def _flag(condition: NDArray[np.bool_] | bool, problem: LayoutProblem) -> NDArray[np.int64]:
    return np.where(condition, np.int64(problem), np.int64(0))


def validity(
    spec: TransformerSpec, cluster: Cluster, lay: Layouts, global_batch: int, seq_len: int
) -> NDArray[np.int64]:
    """:class:`LayoutProblem` bits for each layout (0 = can run)."""
    t, p, d, c, e, v, b = lay.tp, lay.pp, lay.dp, lay.cp, lay.ep, lay.vpp, lay.mb
    flags = np.zeros(len(lay), dtype=np.int64)
    flags |= _flag(t * p * d * c != cluster.num_chips, LayoutProblem.CHIP_COUNT)
    kv_split = spec.heads if spec.is_mla else spec.kv_heads
    # tp above the key/value heads replicates each of them t / K times (Megatron-Core, NeuronX Distributed)
    kv_ok = (kv_split % t == 0) | (t % kv_split == 0)
    flags |= _flag((spec.heads % t != 0) | ~kv_ok, LayoutProblem.HEADS_SPLIT)
    layers_per_stage = -(-spec.layers // p)  # uneven stages allowed; the busiest has ceil(L / p) layers
    flags |= _flag((p > spec.layers) | (layers_per_stage % v != 0), LayoutProblem.PIPELINE_SPLIT)
    flags |= _flag(global_batch % (d * b) != 0, LayoutProblem.BATCH_SPLIT)
    if spec.is_moe:
        flags |= _flag((spec.experts % e != 0) | ((d * c) % e != 0), LayoutProblem.EXPERT_SPLIT)
    else:
        flags |= _flag(e != 1, LayoutProblem.EXPERTS_ON_DENSE_MODEL)
    flags |= _flag((c > 1) & (seq_len % (2 * c) != 0), LayoutProblem.CONTEXT_SPLIT)
    flags |= _flag((lay.sp == 1) & (t == 1), LayoutProblem.SEQUENCE_PARALLEL_WITHOUT_TP)
    micro_batches = global_batch // np.maximum(d * b, 1)
    flags |= _flag((v > 1) & ((p == 1) | (micro_batches % p != 0)), LayoutProblem.INTERLEAVING)
    flags |= _flag((lay.hsdp == 1) & (lay.zero != 3), LayoutProblem.HSDP_WITHOUT_ZERO3)
    if Precision.FP8 not in cluster.peak_flops_per_s:
        flags |= _flag(lay.fp8 == 1, LayoutProblem.FP8_UNSUPPORTED)
    return flags


# ---------------------------------------------------------------------------------------------- geometry


@dataclass(frozen=True, kw_only=True)
class StepGeometry:
    """The layouts in the module's notation, as float arrays with one entry per layout."""

    t: Array  # tensor parallel
    p: Array  # pipeline parallel
    d: Array  # data parallel
    c: Array  # context parallel
    e: Array  # expert parallel
    v: Array  # virtual stages per device
    b: Array  # sequences per micro-batch
    full: BoolArray  # full recompute
    recomputed_layers: Array  # share of the layers recomputed in full: 1 (full), 1/2 (half), else 0
    selective: BoolArray  # selective (attention) recompute
    cheap: BoolArray  # norms and activation functions recomputed
    sp: BoolArray  # sequence parallel
    zero: NDArray[np.int64]  # ZeRO stage 0-3
    hsdp: BoolArray  # ZeRO-3 sharded inside a scale-up domain, replicated across
    fp8: BoolArray  # the layers' linear GEMMs run in fp8
    fused_attention: bool  # flash-style kernel (True) or scores materialised in HBM (Megatron-LM before 2023)
    s: float  # sequence length [tokens]
    tokens: Array  # b s / c: tokens of one micro-batch on one chip
    micro_batches: Array  # m = max(B / (d b), 1)
    layers_per_stage: Array  # ceil(L / p): layers of the busiest stage


def step_geometry(
    spec: TransformerSpec, lay: Layouts, *, global_batch: int, seq_len: int, fused_attention: bool = True
) -> StepGeometry:
    """Degrees as floats, and the per-chip micro-batch (b s / c tokens), m and ceil(L / p)."""
    f64 = np.float64
    t, p, d, c = (x.astype(f64) for x in (lay.tp, lay.pp, lay.dp, lay.cp))
    b = lay.mb.astype(f64)
    s = float(seq_len)
    return StepGeometry(
        t=t,
        p=p,
        d=d,
        c=c,
        e=lay.ep.astype(f64),
        v=lay.vpp.astype(f64),
        b=b,
        full=lay.recompute == Recompute.FULL,
        recomputed_layers=np.select(
            [lay.recompute == Recompute.FULL, lay.recompute == Recompute.HALF], [1.0, HALF_RECOMPUTE_SHARE], 0.0
        ),
        selective=lay.recompute == Recompute.SELECTIVE,
        cheap=lay.recompute == Recompute.CHEAP,
        sp=lay.sp == 1,
        zero=lay.zero,
        hsdp=lay.hsdp == 1,
        fp8=lay.fp8 == 1,
        fused_attention=fused_attention,
        s=s,
        tokens=b * s / c,
        micro_batches=np.maximum(global_batch / np.maximum(d * b, 1.0), 1.0),
        layers_per_stage=np.ceil(float(spec.layers) / p),
    )


def _sp_split(g: StepGeometry) -> Array:
    """Split of the D-wide tensors outside the matmuls: t with sequence parallelism, else 1 (replicated)."""
    return np.where(g.sp, g.t, 1.0)


def _recomputed(g: StepGeometry, matmul: Array, attention: Array) -> Array:
    """Forward work redone in backward, per micro-batch: every layer's (full), every second layer's (half),
    attention only (selective)."""
    lps = g.layers_per_stage
    whole_layers = g.recomputed_layers * lps * (matmul + attention)
    return np.where(g.selective, lps * attention, whole_layers)


# ---------------------------------------------------------------------------------------------- FLOPs


@dataclass(frozen=True, kw_only=True)
class MicroBatchFlops:
    """Forward FLOPs of one micro-batch on one chip [FLOP]."""

    matmul_per_layer: Array  # F_mm = 2 (b s / c) P_mm / t, P_mm averaged over dense and MoE layers
    attention_per_layer: Array  # F_att = b s^2 N (H_qk + H_v) / (c t), causal
    logits: Array  # 2 (b s / c) V D / t, output layer on the last stage


def replicated_kv_params(spec: TransformerSpec, g: StepGeometry) -> Array:
    """K and V projection weights one layer adds by replication when t exceeds the key/value heads K:
    2 D H (max(K, t) - K) over all t chips (each chip holds one K/V head, of which K are distinct). 0 for MLA."""
    if spec.is_mla:
        return np.zeros_like(g.t)
    extra_heads = np.maximum(g.t - spec.kv_heads, 0.0)
    return 2.0 * float(spec.hidden) * spec.head_dim * extra_heads


def micro_batch_flops(spec: TransformerSpec, g: StepGeometry) -> MicroBatchFlops:
    """Forward matmul, attention-score and logit FLOPs per micro-batch on one chip (module docstring); with
    replicated key/value heads each chip also projects its copy (:func:`replicated_kv_params`)."""
    h_qk, h_v = _head_dims(spec)
    dim = float(spec.hidden)
    layer_params = spec.attention_params() + mean_ffn_params_per_token(spec) + replicated_kv_params(spec, g)
    return MicroBatchFlops(
        matmul_per_layer=2.0 * g.tokens * layer_params / g.t,
        # causal: half of the 2 (2 b s^2 N H) of QK^T and AV; local (sliding-window) layers fewer
        attention_per_layer=g.b
        * g.s
        * g.s
        * spec.heads
        * (h_qk + h_v)
        / (g.c * g.t)
        * spec.causal_attention_share(g.s),
        logits=2.0 * g.tokens * spec.vocab * dim / g.t,
    )


def hardware_flops_per_micro_batch(g: StepGeometry, flops: MicroBatchFlops) -> Array:
    """FLOPs executed per micro-batch on one chip: L_stage ((1 + 2) F_mm + (1 + 2.5) F_att) + 3 F_logits, plus the
    recomputed forward (F_mm + F_att per layer with full recompute, F_att with selective)."""
    lps = g.layers_per_stage
    mm, att = flops.matmul_per_layer, flops.attention_per_layer
    return (
        lps * ((1.0 + MATMUL_BACKWARD_FACTOR) * mm + (1.0 + ATTENTION_BACKWARD_FACTOR) * att)
        + (1.0 + MATMUL_BACKWARD_FACTOR) * flops.logits
        + _recomputed(g, mm, att)
    )


# ---------------------------------------------------------------------------------------------- compute time


def matmul_peak(cluster: Cluster, lay: Layouts) -> Array:
    """Peak FLOP/s of each layout's matmuls: fp8 where the layout uses it (NaN on chips without fp8), else bf16."""
    fp8 = cluster.peak_flops_per_s.get(Precision.FP8, np.nan)
    peak: Array = np.where(lay.fp8 == 1, fp8, cluster.peak(Precision.BF16))
    return peak


def matmul_efficiency(x: Array, eff: EfficiencyParams) -> Array:
    """e(x) = e_max x / (x + x_half): achieved fraction of peak of a matmul whose narrowest dimension is x."""
    return eff.sustained_matmul_fraction * x / (x + eff.matmul_half_dim)


def narrowest_matmul_dim(spec: TransformerSpec, g: StepGeometry) -> Array:
    """x = min(b s / c, D, N H_v / t, F / t), and for MoE also the tokens per expert (b s / c) k e / E and F_e / t."""
    _, h_v = _head_dims(spec)
    dim = float(spec.hidden)
    narrow = np.minimum(np.minimum(g.tokens, dim), np.minimum(spec.heads * h_v / g.t, spec.ffn_hidden / g.t))
    if spec.is_moe:
        tokens_per_expert = g.tokens * spec.top_k * g.e / spec.experts
        narrow = np.minimum(narrow, np.minimum(tokens_per_expert, spec.expert_ffn_hidden / g.t))
    return narrow


def attention_efficiency(spec: TransformerSpec, g: StepGeometry, eff: EfficiencyParams) -> Array:
    """Fused (flash) attention: e_max (s / c) / (s / c + S_half) times the kernel's efficiency relative to a large
    matmul (``attention_relative``: FlashAttention-2, cuDNN; ``catalog/data/kernels.yaml``), S_half the sequence
    chunk at which a flash kernel runs at half its asymptotic rate (``attention_half_seq``, 800 on GPUs). Unfused: the
    score products are batched matmuls whose inner dimension is the head width, e(min(s / c, H_qk)), and they
    compute the masked half too, so half of that per causal FLOP."""
    if g.fused_attention:
        chunk = np.full_like(g.t, g.s) / g.c
        return eff.sustained_matmul_fraction * chunk / (chunk + eff.attention_half_seq) * eff.attention_relative
    h_qk, _ = _head_dims(spec)
    return UNFUSED_CAUSAL_SHARE * matmul_efficiency(np.minimum(g.s / g.c, h_qk) * np.ones_like(g.t), eff)


def unfused_score_bytes(spec: TransformerSpec, g: StepGeometry) -> Array:
    """HBM traffic of materialised attention scores per micro-batch on one chip (0 with a fused kernel): each of
    the b N s^2 / (c t) score elements of a layer moves 13 B forward and 26 B backward (:data:`UNFUSED_SCORE_BYTES`),
    13 B more when the forward is recomputed (selective or full)."""
    if g.fused_attention:
        return np.zeros_like(g.t)
    scores = g.b * spec.heads * g.s * g.s / (g.c * g.t)
    recomputed = np.where(g.selective, 1.0, g.recomputed_layers)
    per_layer = scores * (UNFUSED_SCORE_BYTES_FORWARD * (1.0 + recomputed) + UNFUSED_SCORE_BYTES_BACKWARD)
    return g.layers_per_stage * per_layer


@dataclass(frozen=True, kw_only=True)
class ComputeTimes:
    """Compute-kernel time of one micro-batch on the busiest stage [s]."""

    attention_per_layer_s: Array  # forward attention of one layer (the window CP traffic hides behind)
    forward_s: Array  # L_stage (T_mm + T_att) + T_logits
    backward_s: Array  # L_stage (2 T_mm + 2.5 T_att) + 2 T_logits
    recompute_s: Array  # L_stage (T_mm + T_att) full, L_stage T_att selective, 0 none

    @property
    def total_s(self) -> Array:
        total: Array = self.forward_s + self.backward_s + self.recompute_s
        return total


def compute_times(
    g: StepGeometry,
    flops: MicroBatchFlops,
    *,
    peak: Array,
    matmul_eff: Array,
    attention_eff: Array,
    bf16_peak: Array | float | None = None,
    bf16_matmul_eff: Array | None = None,
) -> ComputeTimes:
    """T = FLOPs / (peak e): the layers' linear matmuls at ``peak`` x ``matmul_eff`` (the fp8 rate for fp8
    layouts); attention scores at ``bf16_peak`` x ``attention_eff`` and the output layer at ``bf16_peak`` x
    ``bf16_matmul_eff``: fp8 training converts only the layers' linear GEMMs (Transformer Engine, torchao float8),
    attention and the output projection stay bf16. Without the bf16 arguments everything runs at ``peak``."""
    bf16_peak = peak if bf16_peak is None else bf16_peak
    bf16_matmul_eff = matmul_eff if bf16_matmul_eff is None else bf16_matmul_eff
    mm_time = flops.matmul_per_layer / (peak * matmul_eff)
    att_time = flops.attention_per_layer / (bf16_peak * attention_eff)
    logit_time = flops.logits / (bf16_peak * bf16_matmul_eff)
    lps = g.layers_per_stage
    return ComputeTimes(
        attention_per_layer_s=att_time,
        forward_s=lps * (mm_time + att_time) + logit_time,
        backward_s=lps * (MATMUL_BACKWARD_FACTOR * mm_time + ATTENTION_BACKWARD_FACTOR * att_time)
        + MATMUL_BACKWARD_FACTOR * logit_time,
        recompute_s=_recomputed(g, mm_time, att_time),
    )


def fp8_cast_bytes(spec: TransformerSpec, g: StepGeometry) -> Array:
    """HBM bytes of casting to fp8 per micro-batch on one chip (0 for bf16 layouts): every tensor entering a linear
    GEMM is read in bf16 and written in fp8 (3 B per element, its amax reduction fused into the producer), in the
    forward the inputs (D to QKV, N H_v to the projection, D to FC1, F_act to FC2, split by t except the D-wide
    ones without SP) and in the backward the output gradients ((N H_qk + 2 K H_v) / t, D, n_mlp F_act / t, D).
    Dynamic tensorwise or delayed scaling (torchao float8 "tensorwise", Transformer Engine "delayed")."""
    h_qk, h_v = _head_dims(spec)
    dim = float(spec.hidden)
    kv_heads = spec.heads if spec.is_mla else spec.kv_heads
    ffn = mean_active_ffn_width(spec)
    d_wide = 2.0 * dim / _sp_split(g) + 2.0 * dim / _sp_split(g)  # forward inputs to QKV and FC1; backward dY of 2
    split = (spec.heads * h_v + ffn + spec.heads * h_qk + 2.0 * kv_heads * h_v + _mlp_matrices(spec) * ffn) / g.t
    per_layer = FP8_CAST_BYTES_PER_ELEMENT * g.tokens * (d_wide + split)
    return np.where(g.fp8, g.layers_per_stage * per_layer, 0.0)


def elementwise_time(spec: TransformerSpec, cluster: Cluster, eff: EfficiencyParams, g: StepGeometry) -> Array:
    """Norms, residuals, dropout (D-wide, split by SP) and the activation function (F-wide, split by TP) per
    micro-batch: L_stage passes 2 (b s / c) (10 D / t_sp + (n_mlp + 1) F_act / t) bytes at eta_mem x HBM bandwidth,
    3 passes (forward, backward) or 4 with full recompute (3.5 with half)."""
    dim = float(spec.hidden)
    ffn_tensors = _mlp_matrices(spec) + ELEMENTWISE_FFN_EXTRA_TENSORS
    per_pass = (
        BYTES_BF16
        * g.tokens
        * (ELEMENTWISE_HIDDEN_TENSORS * dim / _sp_split(g) + ffn_tensors * mean_active_ffn_width(spec) / g.t)
    )
    passes = ELEMENTWISE_PASSES + g.recomputed_layers * (ELEMENTWISE_PASSES_FULL_RECOMPUTE - ELEMENTWISE_PASSES)
    passes = passes + np.where(g.cheap, CHEAP_RECOMPUTE_PASSES, 0.0)
    moved = g.layers_per_stage * per_pass * passes + fp8_cast_bytes(spec, g) + unfused_score_bytes(spec, g)
    return moved / (cluster.hbm_bytes_per_s * eff.memory_efficiency)


# ---------------------------------------------------------------------------------------------- communication


def tp_comm_time(spec: TransformerSpec, cluster: Cluster, eff: EfficiencyParams, g: StepGeometry) -> Array:
    """Exposed tensor-parallel traffic per micro-batch: L_stage x 4 (6 with full recompute, 5 with half) all-reduces of
    2 (b s / c) D bytes over t ranks (Megatron-LM; with SP the reduce-scatter + all-gather pair costs the same)."""
    tp_bytes = BYTES_BF16 * g.tokens * float(spec.hidden)
    count = TP_ALL_REDUCES_PER_LAYER + g.recomputed_layers * (
        TP_ALL_REDUCES_PER_LAYER_FULL_RECOMPUTE - TP_ALL_REDUCES_PER_LAYER
    )
    per_layer = count * collectives.all_reduce_time(cluster, tp_bytes, g.t, np.ones_like(g.t), eff.network_efficiency)
    return g.layers_per_stage * per_layer


def overlapped_exposed_time(comm_s: Array, compute: ComputeTimes) -> Array:
    """Traffic left exposed when it overlaps compute: the part beyond the micro-batch's compute time,
    max(T_comm - T_compute, 0). Tensor-parallel collectives behind the layer's matmuls (Megatron/Transformer
    Engine TP-comm overlap, XLA collective matmul, torchtitan async TP); expert-parallel all-to-alls behind another
    micro-batch's compute (DeepSeek's DualPipe). The overlapped kernels are assumed to keep their efficiency."""
    exposed: Array = np.maximum(comm_s - compute.total_s, 0.0)
    return exposed


def cp_comm_time(
    spec: TransformerSpec, cluster: Cluster, eff: EfficiencyParams, g: StepGeometry, attention_per_layer_s: Array
) -> Array:
    """Exposed context-parallel traffic per micro-batch: per layer, the all-gather of K,V (2 K H / t wide, or
    r_kv + H_rope for MLA) over c ranks beyond the forward attention, and twice it beyond the backward's 2.5x."""
    kv_width = (
        (spec.kv_lora_rank + spec.qk_rope_head_dim)
        if spec.is_mla
        else 2.0 * np.maximum(spec.kv_heads, g.t) * spec.head_dim / g.t
    )
    kv_bytes = BYTES_BF16 * g.tokens * kv_width
    forward = collectives.all_gather_time(cluster, kv_bytes * g.c, g.c, g.t, eff.network_efficiency)
    exposed: Array = np.maximum(forward - attention_per_layer_s, 0.0) + np.maximum(
        CP_BACKWARD_TRAFFIC_FACTOR * forward - ATTENTION_BACKWARD_FACTOR * attention_per_layer_s, 0.0
    )
    return g.layers_per_stage * exposed


def ep_comm_time(spec: TransformerSpec, cluster: Cluster, eff: EfficiencyParams, g: StepGeometry) -> Array:
    """Expert-parallel traffic per micro-batch: in each MoE layer of the stage, 4 (6 with full recompute)
    all-to-alls over e ranks of 2 (b s / c) D k / t_sp bytes (each token goes to k experts). 0 when dense."""
    if not spec.is_moe:
        return np.zeros_like(g.t)
    a2a_bytes = BYTES_BF16 * g.tokens * float(spec.hidden) * spec.top_k / _sp_split(g)
    a2a = collectives.all_to_all_time(cluster, a2a_bytes, g.e, g.t * g.c, eff.network_efficiency)
    count = EP_ALL_TO_ALLS_PER_LAYER + g.recomputed_layers * (
        EP_ALL_TO_ALLS_PER_LAYER_FULL_RECOMPUTE - EP_ALL_TO_ALLS_PER_LAYER
    )
    return g.layers_per_stage * moe_layer_share(spec) * count * a2a


def pp_comm_time(spec: TransformerSpec, cluster: Cluster, eff: EfficiencyParams, g: StepGeometry) -> Array:
    """Pipeline traffic per micro-batch: 2 v point-to-point sends of 2 (b s / c) D / t bytes (activations forward,
    gradients backward), across the scale-out network once a pipeline stage spans t c d >= a domain."""
    pp_bytes = BYTES_BF16 * g.tokens * float(spec.hidden) / g.t
    crosses: BoolArray = np.asarray(g.t * g.c * g.d >= cluster.scaleup_domain_chips)
    send = collectives.p2p_time(cluster, pp_bytes, crosses, eff.network_efficiency)
    return np.where(g.p > 1, PP_TRANSFERS_PER_STAGE * g.v * send, 0.0)


def bubble_time(g: StepGeometry, micro_batch_s: Array, *, dualpipe: bool = False) -> Array:
    """1F1B pipeline bubble: (p - 1) / v micro-batch times (Narayanan et al. SC21 sec. 2.2). DualPipe (DeepSeek-V3
    report, Table 2) runs two pipelines in opposite directions: (p / 2 - 1) instead of (p - 1) micro-batch times
    (its smaller terms for overlapped forward-backward chunks left out)."""
    stages = np.where(dualpipe, np.maximum(g.p / 2.0 - 1.0, 0.0), g.p - 1.0)
    bubble: Array = stages / g.v * micro_batch_s
    return bubble


# ---------------------------------------------------------------------------------------------- data parallel


def params_per_chip(spec: TransformerSpec, g: StepGeometry) -> Array:
    """Parameters held per chip on the busiest stage: (L_stage P_layer + V D) / t + L_stage (P_exp / L) / (t e),
    P_layer the non-expert weights per layer (attention, norms, dense FFN, shared experts, router), P_exp the
    routed experts (split by expert parallelism), V D one embedding table."""
    n_layers = float(spec.layers)
    expert_params = spec.expert_params_total()
    distinct = (float(spec.param_count()) - spec.embedding_params() - expert_params) / n_layers
    layer_params = distinct + replicated_kv_params(spec, g)
    lps = g.layers_per_stage
    return (lps * layer_params + spec.vocab * float(spec.hidden)) / g.t + lps * (expert_params / n_layers) / (g.t * g.e)


def replica_group(g: StepGeometry) -> Array:
    """Ranks holding the same weights, over which gradients are reduced and optimizer state sharded: d c (context
    parallel ranks hold the same weights: Megatron-Core's distributed optimizer and torchtitan's FSDP shard over
    data x context parallel)."""
    group: Array = g.d * g.c
    return group


def zero3_shard_group(cluster: Cluster, g: StepGeometry) -> tuple[Array, Array]:
    """(ranks a ZeRO-3 shard group spans, groups that hold replicas): all d c ranks and 1 replica, or with hsdp
    the d c ranks inside one scale-up domain and the number of domains (PyTorch HSDP)."""
    group = replica_group(g)
    dp_in, dp_out = collectives.split_group(cluster, group, g.t)
    return np.where(g.hsdp, dp_in, group), np.where(g.hsdp, dp_out, 1.0)


def gradient_all_reduce_time(cluster: Cluster, eff: EfficiencyParams, g: StepGeometry, grad_bytes: Array) -> Array:
    """Bucketed all-reduce of the bf16 gradients over the d c replica ranks: ceil(S / 50 MB) all-reduces of
    S / buckets bytes, each paying the latency (PyTorch DDP and Megatron-LM reduce in buckets of tens of MB)."""
    buckets = np.maximum(np.ceil(grad_bytes / DP_BUCKET_BYTES), 1.0)
    each = collectives.all_reduce_time(cluster, grad_bytes / buckets, replica_group(g), g.t, eff.network_efficiency)
    return buckets * each


def fsdp_exposed_time(
    cluster: Cluster,
    eff: EfficiencyParams,
    g: StepGeometry,
    grad_bytes: Array,
    *,
    forward_window_s: Array,
    backward_window_s: Array,
) -> Array:
    """ZeRO-3/FSDP: every micro-batch, per layer (one FSDP unit each, so latency is paid per layer), all-gather the
    weights for forward and for backward and reduce-scatter the gradients in the shard group, hidden up to
    ``dp_overlap`` of the compute; with hsdp, plus one all-reduce of the gradient shard across replicas per step,
    hidden up to ``dp_overlap`` of a backward."""
    shard, replicas = zero3_shard_group(cluster, g)
    eta, window = eff.network_efficiency, eff.dp_overlap
    stride = g.t
    lps = g.layers_per_stage
    per_layer = REDUCE_SCATTER_SHARE * collectives.all_reduce_time(cluster, grad_bytes / lps, shard, stride, eta)
    traffic = g.micro_batches * FSDP_COLLECTIVES_PER_LAYER * lps * per_layer
    exposed = np.maximum(traffic - window * g.micro_batches * (forward_window_s + backward_window_s), 0.0)
    across = collectives.all_reduce_time(cluster, grad_bytes / shard, replicas, stride * shard, eta)
    return exposed + np.maximum(across - window * backward_window_s, 0.0)


def dp_exposed_time(
    cluster: Cluster,
    eff: EfficiencyParams,
    g: StepGeometry,
    params_chip: Array,
    *,
    forward_window_s: Array,
    backward_window_s: Array,
) -> Array:
    """Data-parallel gradient traffic not hidden behind compute, per step (0 when d c = 1):
    ZeRO-0 max(T_ar - w T_bwd, 0); ZeRO-1/2 the reduce-scatter and all-gather halves hidden behind a backward and
    a forward: max(T_ar/2 - w T_bwd, 0) + max(T_ar/2 - w T_fwd, 0); ZeRO-3 :func:`fsdp_exposed_time`.
    w = ``dp_overlap``, the windows those of one micro-batch (the last, whose backward the reduction overlaps)."""
    grad_bytes = BYTES_BF16 * params_chip
    all_reduce = gradient_all_reduce_time(cluster, eff, g, grad_bytes)
    window = eff.dp_overlap
    half = REDUCE_SCATTER_SHARE * all_reduce
    ddp = np.maximum(all_reduce - window * backward_window_s, 0.0)
    zero12 = np.maximum(half - window * backward_window_s, 0.0) + np.maximum(half - window * forward_window_s, 0.0)
    fsdp = fsdp_exposed_time(
        cluster, eff, g, grad_bytes, forward_window_s=forward_window_s, backward_window_s=backward_window_s
    )
    exposed = np.where(g.zero == 0, ddp, np.where(g.zero == 3, fsdp, zero12))
    return np.where(replica_group(g) > 1, exposed, 0.0)


# ---------------------------------------------------------------------------------------------- optimizer, memory


@dataclass(frozen=True, kw_only=True)
class ZeroShards:
    """Ways each per-parameter state is split across data-parallel ranks (1 = replicated)."""

    weights: Array  # ZeRO-3: the shard group
    grads: Array  # ZeRO-2: d, ZeRO-3: the shard group
    optimizer: Array  # ZeRO-1 and 2: d, ZeRO-3: the shard group


def zero_shards(cluster: Cluster, g: StepGeometry) -> ZeroShards:
    """ZeRO stage s shards optimizer state (s >= 1), gradients (s >= 2) and weights (s = 3) (Rajbhandari et al.
    2020 sec. 5); stage 3 shards over its group (:func:`zero3_shard_group`), stages 1-2 over all d c replica
    ranks (:func:`replica_group`)."""
    shard, _ = zero3_shard_group(cluster, g)
    group = np.where(g.zero == 3, shard, replica_group(g))
    return ZeroShards(
        weights=np.where(g.zero == 3, shard, 1.0),
        grads=np.where(g.zero >= 2, group, 1.0),
        optimizer=np.where(g.zero >= 1, group, 1.0),
    )


def optimizer_time(cluster: Cluster, eff: EfficiencyParams, params_chip: Array, shards: ZeroShards) -> Array:
    """Adam update of the chip's optimizer shard: 30 B per parameter at the optimizer's share of the HBM bandwidth
    (``optimizer_efficiency``; the element-wise ``memory_efficiency`` unless measured apart)."""
    updated = params_chip / shards.optimizer
    share = eff.memory_efficiency if eff.optimizer_efficiency is None else eff.optimizer_efficiency
    return OPTIMIZER_TRAFFIC_BYTES * updated / (cluster.hbm_bytes_per_s * share)


def activation_bytes_per_layer(spec: TransformerSpec, g: StepGeometry) -> Array:
    """Activations one layer keeps for backward without recompute (Korthikanti et al. 2022 Eq. 2 and 4, flash
    attention so no s^2 term): 10 s b D / t_sp + 2 s b (N H_qk + 2 K' H_v + N H_v + n_mlp F_act) / t, with
    K' = K (N for MLA, whose K and V are per head), t_sp = t with SP else 1; with cheap recompute 6 s b D / t_sp
    and (n_mlp - 1) F_act (the norm and activation outputs are recomputed)."""
    h_qk, h_v = _head_dims(spec)
    sb = g.tokens
    sbh = sb * float(spec.hidden)
    # cheap recompute keeps neither the norms' outputs (the QKV and FC1 inputs, 2 x 2 B) nor the activation
    # function's output (the FC2 input, one F-wide tensor)
    replicated_bytes = np.where(g.cheap, REPLICATED_ACTIVATION_BYTES - 2 * BYTES_BF16, REPLICATED_ACTIVATION_BYTES)
    replicated = replicated_bytes * sbh / _sp_split(g)
    kv_heads = spec.heads if spec.is_mla else np.maximum(spec.kv_heads, g.t)  # replicated when t > K
    q_kv = BYTES_BF16 * sb * (spec.heads * h_qk + 2.0 * kv_heads * h_v)
    context = BYTES_BF16 * sb * spec.heads * h_v
    ffn_tensors = np.where(g.cheap, _mlp_matrices(spec) - 1.0, _mlp_matrices(spec))
    mlp = BYTES_BF16 * sb * mean_active_ffn_width(spec) * ffn_tensors
    # unfused attention keeps its scores, softmax output and dropout mask (5 B per score; Korthikanti et al. Eq. 1)
    # unless selective recompute redoes them
    scores = 0.0 if g.fused_attention else UNFUSED_SCORE_ACTIVATION_BYTES * g.b * spec.heads * g.s * g.s / g.c
    scores_kept = np.where(g.selective, 0.0, scores)
    return replicated + (q_kv + context + mlp + scores_kept) / g.t


def in_flight_micro_batches(g: StepGeometry) -> Array:
    """Micro-batches whose activations the first stage holds at once: 1 without pipelining, min(m, p) with 1F1B,
    times 1 + (p - 1) / (p v) with interleaving (Korthikanti et al. 2022 sec. 4.2.3)."""
    interleave = np.where(g.v > 1, 1.0 + (g.p - 1.0) / (g.p * g.v), 1.0)
    return np.where(g.p > 1, np.minimum(g.micro_batches, g.p) * interleave, 1.0)


def activation_memory(spec: TransformerSpec, g: StepGeometry) -> Array:
    """Activations held per chip: L_stage layers x in-flight micro-batches of :func:`activation_bytes_per_layer`;
    a layer recomputed in full (all with full recompute, half of them with half) keeps only its input 2 s b D / t_sp,
    plus one layer's full activations while it is recomputed."""
    none = activation_bytes_per_layer(spec, g)
    sbh = g.tokens * float(spec.hidden)
    share = g.recomputed_layers
    kept = share * BYTES_BF16 * sbh / _sp_split(g) + (1.0 - share) * none
    held: Array = g.layers_per_stage * kept * in_flight_micro_batches(g) + np.where(share > 0, none, 0.0)
    return held


def logits_memory(spec: TransformerSpec, g: StepGeometry) -> Array:
    """fp32 logits and their gradient on the last stage: 2 x 4 B x (b s / c) V / t."""
    return LOGITS_COPIES * BYTES_FP32 * g.tokens * spec.vocab / g.t


@dataclass(frozen=True, kw_only=True)
class MemoryBreakdown:
    """Bytes per chip on the busiest stage."""

    weights: Array
    grads: Array
    optimizer: Array
    activations: Array
    logits: Array
    workspace: Array  # runtime buffers plus allocator fragmentation

    @property
    def total(self) -> Array:
        allocated = self.weights + self.grads + self.optimizer + self.activations + self.logits
        total: Array = allocated + self.workspace
        return total


def memory_per_chip(spec: TransformerSpec, g: StepGeometry, params_chip: Array, shards: ZeroShards) -> MemoryBreakdown:
    """Mixed-precision Adam (2 B bf16 weights, 4 B fp32 gradients or 2 B with ZeRO-3, 12 B optimizer state per
    parameter, each divided by its ZeRO shards), activations, logits, and a workspace of 2 GiB + 5% of the rest."""
    weights = BYTES_BF16 * params_chip / shards.weights
    grads = np.where(g.zero == 3, FSDP_GRAD_BYTES, GRAD_BYTES) * params_chip / shards.grads
    optimizer = OPTIMIZER_BYTES * params_chip / shards.optimizer
    activations = activation_memory(spec, g)
    logits = logits_memory(spec, g)
    allocated = weights + grads + optimizer + activations + logits
    return MemoryBreakdown(
        weights=weights,
        grads=grads,
        optimizer=optimizer,
        activations=activations,
        logits=logits,
        workspace=WORKSPACE_BYTES + FRAGMENTATION * allocated,
    )


# ---------------------------------------------------------------------------------------------- the step


def training_step(
    spec: TransformerSpec,
    cluster: Cluster,
    eff: EfficiencyParams,
    lay: Layouts,
    *,
    global_batch: int,
    seq_len: int,
    software: Software = DEFAULT_SOFTWARE,
) -> StepArrays:
    """Price one optimizer step for every layout in ``lay`` (see the module docstring for the equations);
    ``software`` says what the training framework does beyond the layout (:class:`Software`).

    t_mb = compute + element-wise + TP + CP + EP + PP traffic; step = m t_mb + bubble + exposed DP + optimizer.
    """
    g = step_geometry(spec, lay, global_batch=global_batch, seq_len=seq_len, fused_attention=software.fused_attention)
    flops = micro_batch_flops(spec, g)
    bf16_matmul_eff = matmul_efficiency(narrowest_matmul_dim(spec, g), eff)
    compute = compute_times(
        g,
        flops,
        peak=matmul_peak(cluster, lay),
        matmul_eff=np.where(g.fp8, eff.fp8_matmul_relative, 1.0) * bf16_matmul_eff,
        attention_eff=attention_efficiency(spec, g, eff),
        bf16_peak=cluster.peak(Precision.BF16),
        bf16_matmul_eff=bf16_matmul_eff,
    )
    passes = 1.0 if software.compiled else EAGER_ELEMENTWISE_FACTOR
    elem = elementwise_time(spec, cluster, eff, g) * passes * software.activation_bytes / BYTES_BF16
    tp = tp_comm_time(spec, cluster, eff, g)
    if software.tp_overlap:
        tp = overlapped_exposed_time(tp, compute)
    cp = cp_comm_time(spec, cluster, eff, g, compute.attention_per_layer_s)
    ep = ep_comm_time(spec, cluster, eff, g)
    if software.ep_overlap:
        ep = overlapped_exposed_time(ep, compute)
    pp = pp_comm_time(spec, cluster, eff, g)
    t_mb = compute.total_s + elem + tp + cp + ep + pp
    bubble = bubble_time(g, t_mb, dualpipe=software.pipeline_schedule == "dualpipe")

    params_chip = params_per_chip(spec, g)
    dp = dp_exposed_time(
        cluster,
        eff,
        g,
        params_chip,
        forward_window_s=compute.forward_s + elem / ELEMENTWISE_PASSES,
        backward_window_s=compute.backward_s + compute.recompute_s,
    )
    shards = zero_shards(cluster, g)
    optimizer = optimizer_time(cluster, eff, params_chip, shards)
    step = g.micro_batches * t_mb + bubble + dp + optimizer
    memory = memory_per_chip(spec, g, params_chip, shards)
    total_memory = memory.total

    m = g.micro_batches
    tokens_step = float(global_batch) * g.s
    model_flops = tokens_step * model_flops_per_token(spec, seq_len)
    # HFU counts what the hardware does in MFU's accounting: model FLOPs plus the recomputed share of the work
    # (Korthikanti et al. 2022, sec. 5), so HFU >= MFU, equal without recompute.
    executed = hardware_flops_per_micro_batch(g, flops)
    recompute_share = _recomputed(g, flops.matmul_per_layer, flops.attention_per_layer) / executed
    hardware_flops = model_flops / (1.0 - recompute_share)
    # MFU against the peak of the precision the layout's matmuls run in (fp8 peak for fp8 layouts)
    peak = matmul_peak(cluster, lay)
    peak_step_flops = step * cluster.num_chips * np.where(np.isnan(peak), cluster.peak(Precision.BF16), peak)
    return StepArrays(
        invalid=validity(spec, cluster, lay, global_batch, seq_len),
        step_time_s=step,
        compute_s=m * compute.total_s,
        elementwise_s=m * elem,
        tp_comm_s=m * tp,
        cp_comm_s=m * cp,
        ep_comm_s=m * ep,
        pp_comm_s=m * pp,
        bubble_s=bubble,
        dp_comm_s=dp,
        optimizer_s=optimizer,
        weights_bytes=memory.weights,
        grads_bytes=memory.grads,
        optimizer_bytes=memory.optimizer,
        activations_bytes=memory.activations,
        logits_bytes=memory.logits,
        workspace_bytes=memory.workspace,
        memory_bytes=total_memory,
        fits=total_memory <= cluster.hbm_bytes,
        model_flops=np.full_like(step, model_flops),
        hardware_flops=hardware_flops,
        mfu=model_flops / (peak_step_flops),
        hfu=hardware_flops / (peak_step_flops),
        tokens_per_s=tokens_step / step,
        compute_busy=m * compute.total_s / step,
    )
