"""Real steps on a device against the models' predictions from its profile (``computeplan measure``).

A small Llama-style decoder (:class:`TinyLlama`: RMSNorm, grouped-query attention through PyTorch's
``scaled_dot_product_attention``, SwiGLU MLP, untied output layer; no rotary embedding) runs on the device in the
profile's data type:

- a training step: forward, cross-entropy loss, backward and a fused AdamW update, over one micro-batch;
- a decode step: one new token per sequence of a batch against a KV cache of the given context.

Each is timed as the microbenchmarks are (warm-up, device synchronised, median of repeats) over a grid of shapes the
profile never ran, and predicted by the training model (:func:`computeplan.perf.training.training_step`, one chip,
eager PyTorch) and the serving model (:func:`computeplan.perf.inference.replica_performance`, one chip, a static
batch) with the profile's parameters, and with the uncalibrated defaults for comparison.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from computeplan.hardware.efficiency import PRIOR
from computeplan.perf.inference import InferenceEfficiency, replica_performance
from computeplan.perf.layout import Layouts
from computeplan.perf.training import Software, training_step
from computeplan.profiling.device_profile import DeviceProfile
from computeplan.profiling.timing import median_seconds, require_torch, torch_device
from computeplan.workload.transformer import TransformerSpec


def eager(profile: DeviceProfile) -> Software:
    """Eager PyTorch (element-wise kernels unfused) with fused SDPA attention, in the profile's data type."""
    element = profile.provenance.element_bytes
    return Software(attention_kernel="flash-attention-2", compiled=False, activation_bytes=element)


@dataclass(frozen=True)
class TrainShape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    seq: int
    batch: int
    vocab: int = 4096

    @property
    def name(self) -> str:
        return (
            f"train L{self.layers} D{self.hidden} N{self.heads}/{self.kv_heads} F{self.ffn} s{self.seq} b{self.batch}"
        )


@dataclass(frozen=True)
class DecodeShape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    context: int
    batch: int
    vocab: int = 4096

    @property
    def name(self) -> str:
        return (
            f"decode L{self.layers} D{self.hidden} N{self.heads}/{self.kv_heads} F{self.ffn} "
            f"ctx{self.context} b{self.batch}"
        )


# Shapes the profile never ran: model widths and sequence lengths unlike the microbenchmarks' sweeps.
TRAIN_SHAPES: tuple[TrainShape, ...] = (
    TrainShape(2, 256, 4, 4, 768, 256, 8),
    TrainShape(4, 256, 4, 2, 704, 512, 4),
    TrainShape(2, 384, 6, 2, 1024, 256, 8),
    TrainShape(2, 512, 8, 8, 1408, 128, 16),
    TrainShape(4, 512, 8, 4, 1408, 256, 4),
    TrainShape(2, 640, 10, 2, 1792, 384, 4),
    TrainShape(2, 768, 12, 4, 2048, 192, 8),
    TrainShape(3, 768, 12, 12, 2048, 512, 2),
    TrainShape(2, 1024, 16, 4, 2816, 256, 4),
)
DECODE_SHAPES: tuple[DecodeShape, ...] = (
    DecodeShape(8, 1024, 16, 4, 2816, 256, 1),
    DecodeShape(8, 1024, 16, 4, 2816, 1024, 4),
    DecodeShape(6, 1536, 12, 4, 4096, 512, 2),
    DecodeShape(4, 2048, 16, 8, 5632, 512, 8),
    DecodeShape(12, 768, 12, 12, 2048, 2048, 4),
)
QUICK_TRAIN = TRAIN_SHAPES[:8]
QUICK_DECODE = DECODE_SHAPES[:4]


@dataclass(frozen=True)
class MeasuredRow:
    shape: str
    kind: str  # "training" (step_time_s) or "decode" (decode_step_s)
    measured: float  # seconds
    predicted: float  # seconds, from the profile
    predicted_default: float  # seconds, uncalibrated defaults

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted / self.measured - 1.0)

    @property
    def default_error_pct(self) -> float:
        return 100.0 * (self.predicted_default / self.measured - 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "kind": self.kind,
            "measured": self.measured,
            "predicted": self.predicted,
            "error_pct": self.error_pct,
            "predicted_uncalibrated": self.predicted_default,
            "error_uncalibrated_pct": self.default_error_pct,
        }


@dataclass(frozen=True)
class MeasureReport:
    profile: DeviceProfile
    rows: tuple[MeasuredRow, ...]

    @property
    def median_abs_error_pct(self) -> float:
        return statistics.median(abs(r.error_pct) for r in self.rows)

    @property
    def median_abs_error_uncalibrated_pct(self) -> float:
        return statistics.median(abs(r.default_error_pct) for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        p = self.profile.provenance
        return {
            "device": p.device,
            "device_name": p.device_name,
            "dtype": p.dtype,
            "profile_basis": self.profile.basis,
            "rows": [r.to_dict() for r in self.rows],
            "median_abs_error_pct": self.median_abs_error_pct,
            "median_abs_error_uncalibrated_pct": self.median_abs_error_uncalibrated_pct,
        }


def spec_of(shape: TrainShape | DecodeShape) -> TransformerSpec:
    seq = shape.seq if isinstance(shape, TrainShape) else shape.context + 1
    return TransformerSpec(
        name=shape.name,
        layers=shape.layers,
        hidden=shape.hidden,
        heads=shape.heads,
        kv_heads=shape.kv_heads,
        head_dim=shape.hidden // shape.heads,
        ffn_hidden=shape.ffn,
        gated_mlp=True,
        vocab=shape.vocab,
        seq_len=seq,
    )


ONE_CHIP = Layouts.from_columns(
    {"tp": 1, "pp": 1, "dp": 1, "cp": 1, "ep": 1, "vpp": 1, "mb": 1, "recompute": 0, "sp": 0, "zero": 0, "hsdp": 0,
     "fp8": 0}
)  # fmt: skip


def predict_training(profile: DeviceProfile, shape: TrainShape, *, calibrated: bool = True) -> float:
    """Step time of one micro-batch of ``shape.batch`` sequences on the profiled device [s]."""
    eff = profile.training_efficiency() if calibrated else PRIOR
    layouts = Layouts.from_columns({**ONE_CHIP.row(0), "mb": shape.batch})
    steps = training_step(
        spec_of(shape),
        profile.cluster(1),
        eff,
        layouts,
        global_batch=shape.batch,
        seq_len=shape.seq,
        software=eager(profile),
    )
    return float(steps.step_time_s[0])


def predict_decode(profile: DeviceProfile, shape: DecodeShape, *, calibrated: bool = True) -> float:
    """Time of one decode step of ``shape.batch`` sequences at ``shape.context`` tokens of context [s]."""
    spec = spec_of(shape)
    eff = profile.serving_efficiency() if calibrated else InferenceEfficiency()
    one = np.ones(1)
    element = float(profile.provenance.element_bytes)
    replica = replica_performance(
        spec,
        profile.cluster(1),
        eff,
        tp=one,
        pp=one,
        batch=np.array([float(shape.batch)]),
        weight_bytes=np.array([element]),
        kv_bytes=np.array([element]),
        compute_peak=np.array([profile.fitted.peak_flops_per_s]),
        input_len=np.array([float(shape.context)]),
        output_len=np.array([0.0]),
        saturate=np.array([False]),
    )
    return float(replica.decode_step_s[0])


# ---------------------------------------------------------------------------------------------- PyTorch side


def _tiny_llama(torch: Any) -> Any:
    nn = torch.nn
    functional = torch.nn.functional

    class RMSNorm(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, width: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(width))

        def forward(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight

    class Block(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, d: int, heads: int, kv_heads: int, ffn: int) -> None:
            super().__init__()
            self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
            self.attn_norm, self.mlp_norm = RMSNorm(d), RMSNorm(d)
            self.q = nn.Linear(d, d, bias=False)
            self.kv = nn.Linear(d, 2 * kv_heads * self.head_dim, bias=False)
            self.o = nn.Linear(d, d, bias=False)
            self.gate_up = nn.Linear(d, 2 * ffn, bias=False)
            self.down = nn.Linear(ffn, d, bias=False)

        def forward(self, x: Any, cache: list[Any] | None = None) -> Any:
            b, s, _ = x.shape
            h = self.attn_norm(x)
            q = self.q(h).view(b, s, self.heads, self.head_dim).transpose(1, 2)
            k, v = self.kv(h).view(b, s, 2, self.kv_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            if cache is not None:  # decode: write the new token's K, V into the cache's last slot, attend to all
                cache[0][:, :, -s:] = k
                cache[1][:, :, -s:] = v
                k, v = cache
            attn = functional.scaled_dot_product_attention(
                q, k, v, is_causal=cache is None, enable_gqa=self.kv_heads != self.heads
            )
            x = x + self.o(attn.transpose(1, 2).reshape(b, s, -1))
            gate, up = self.gate_up(self.mlp_norm(x)).chunk(2, dim=-1)
            return x + self.down(functional.silu(gate) * up)

    class TinyLlama(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, shape: TrainShape | DecodeShape) -> None:
            super().__init__()
            self.embed = nn.Embedding(shape.vocab, shape.hidden)
            self.blocks = nn.ModuleList(
                Block(shape.hidden, shape.heads, shape.kv_heads, shape.ffn) for _ in range(shape.layers)
            )
            self.norm = RMSNorm(shape.hidden)
            self.out = nn.Linear(shape.hidden, shape.vocab, bias=False)

        def forward(self, tokens: Any, caches: list[list[Any]] | None = None) -> Any:
            x = self.embed(tokens)
            for i, block in enumerate(self.blocks):
                x = block(x, None if caches is None else caches[i])
            return self.out(self.norm(x))

    return TinyLlama


def time_training(shape: TrainShape, device: Any, dtype: Any, *, repeats: int) -> float:
    torch = require_torch()
    torch.manual_seed(0)
    model = _tiny_llama(torch)(shape).to(device=device, dtype=dtype)
    try:  # fused where PyTorch has the kernel (as the profile's optimizer benchmark), else foreach
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    except RuntimeError:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True)
    tokens = torch.randint(0, shape.vocab, (shape.batch, shape.seq + 1), device=device)

    def step() -> None:
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, shape.vocab).float(), tokens[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return median_seconds(step, device, warmup=2, repeats=repeats)


def time_decode(shape: DecodeShape, device: Any, dtype: Any, *, repeats: int) -> float:
    torch = require_torch()
    torch.manual_seed(0)
    model = _tiny_llama(torch)(shape).to(device=device, dtype=dtype)
    head_dim = shape.hidden // shape.heads
    cache_shape = (shape.batch, shape.kv_heads, shape.context + 1, head_dim)  # the context and the new token
    caches = [[torch.randn(cache_shape, device=device, dtype=dtype) for _ in range(2)] for _ in range(shape.layers)]
    token = torch.randint(0, shape.vocab, (shape.batch, 1), device=device)

    def step() -> None:  # one new token per sequence against `context` cached tokens
        with torch.no_grad():
            model(token, caches)

    return median_seconds(step, device, warmup=2, repeats=repeats)


def measure_device(
    profile: DeviceProfile,
    *,
    device: str | None = None,
    quick: bool = False,
    train_shapes: Sequence[TrainShape] | None = None,
    decode_shapes: Sequence[DecodeShape] | None = None,
    repeats: int = 5,
    step: Callable[[str], None] | None = None,
) -> MeasureReport:
    """Time every shape on the profiled device (or ``device``) and predict it from ``profile``."""
    torch = require_torch()
    from computeplan.profiling.run import DTYPES

    dev = torch_device(device or profile.provenance.device)
    dtype = getattr(torch, DTYPES[profile.provenance.dtype])
    trains = train_shapes if train_shapes is not None else (QUICK_TRAIN if quick else TRAIN_SHAPES)
    decodes = decode_shapes if decode_shapes is not None else (QUICK_DECODE if quick else DECODE_SHAPES)
    rows = []
    for shape in trains:
        if step is not None:
            step(shape.name)
        measured = time_training(shape, dev, dtype, repeats=repeats)
        rows.append(
            MeasuredRow(
                shape.name,
                "training",
                measured,
                predict_training(profile, shape),
                predict_training(profile, shape, calibrated=False),
            )
        )
    for dshape in decodes:
        if step is not None:
            step(dshape.name)
        measured = time_decode(dshape, dev, dtype, repeats=repeats)
        rows.append(
            MeasuredRow(
                dshape.name,
                "decode",
                measured,
                predict_decode(profile, dshape),
                predict_decode(profile, dshape, calibrated=False),
            )
        )
    return MeasureReport(profile=profile, rows=tuple(rows))
