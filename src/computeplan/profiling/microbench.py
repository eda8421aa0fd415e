"""Microbenchmarks with PyTorch: GEMMs, attention, memory bandwidth, element-wise kernels, dispatch overhead and
collectives. Each returns plain rows (dicts of numbers and names) that :mod:`.device_profile` fits; nothing here
interprets them. Times are medians of repeats after warm-up, with the device synchronised (:mod:`.timing`).

FLOPs are counted as the performance models count them: 2 m n k per GEMM; causal attention 4 b s^2 N H / 2
forward and 2.5 times that backward (``perf.training``); bytes as each kernel must move them at least once.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from computeplan.profiling.timing import median_seconds, repeats_for, require_torch

Row = dict[str, Any]
ATTENTION_BACKWARD_FACTOR = 2.5  # as perf.training counts it


@dataclass(frozen=True)
class Sizes:
    """The shapes a run sweeps (``quick`` for a CPU in under two minutes; full for an accelerator)."""

    square: tuple[int, ...]
    narrow: tuple[int, ...]  # the narrow (token) dimension of (x x wide) @ (wide x wide) products
    wide: int
    seq_lens: tuple[int, ...]
    heads: int
    head_dim: int
    stream_bytes: int
    collective_bytes: tuple[int, ...]
    budget_s: float  # time to spend per shape

    @classmethod
    def for_device(cls, device_type: str, *, quick: bool) -> Sizes:
        if device_type == "cpu":
            return cls(
                square=(256, 512, 1024) if quick else (256, 512, 1024, 2048),
                narrow=(1, 8, 32, 128, 512) if quick else (1, 4, 16, 32, 64, 128, 256, 512, 1024),
                wide=1024,
                seq_lens=(128, 256, 512, 1024) if quick else (128, 256, 512, 1024, 2048),
                heads=4,
                head_dim=64,
                stream_bytes=256 * 2**20,  # beyond the last-level cache of server CPUs (up to ~100 MB)
                collective_bytes=(2**10, 2**16, 2**20, 2**23),
                budget_s=1.0 if quick else 2.0,
            )
        return cls(
            square=(1024, 2048, 4096, 8192),
            narrow=(1, 16, 64, 128, 256, 512, 1024, 2048, 4096),
            wide=8192,
            seq_lens=(512, 1024, 2048, 4096, 8192),
            heads=16,
            head_dim=128,
            stream_bytes=2**30,
            collective_bytes=(2**10, 2**16, 2**20, 2**24, 2**27),
            budget_s=0.3 if quick else 1.0,
        )


def _timed(fn: Callable[[], object], device: Any, budget_s: float) -> float:
    once = median_seconds(fn, device, warmup=1, repeats=1)
    return median_seconds(fn, device, warmup=1, repeats=repeats_for(once, budget_s))


def gemm_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """GEMMs (m x k) @ (k x n): square ones, and ones whose m (the tokens of a micro-batch or a decode batch) is
    narrow against a wide k = n."""
    torch = require_torch()
    shapes = [(n, n, n) for n in sizes.square] + [(m, sizes.wide, sizes.wide) for m in sizes.narrow]
    rows = []
    for m, n, k in shapes:
        a = torch.randn(m, k, dtype=dtype, device=device)
        b = torch.randn(k, n, dtype=dtype, device=device)
        seconds = _timed(functools.partial(torch.matmul, a, b), device, sizes.budget_s)
        rows.append({"m": m, "n": n, "k": k, "seconds": seconds, "flops_per_s": 2.0 * m * n * k / seconds})
    return rows


DECODE_BATCHES = (1, 2, 4, 8, 16, 32, 64)


def decode_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """A decode step's products: m tokens (m = 1 ... 64) through a chain of distinct (wide x wide) weight matrices,
    as ``nn.Linear`` stores them, together as large as the bandwidth arrays, so that every weight streams from
    memory (a repeated single matrix would sit in a large cache)."""
    torch = require_torch()
    itemsize = torch.empty((), dtype=dtype).element_size()
    per_matrix = sizes.wide * sizes.wide * itemsize
    count = max(2, sizes.stream_bytes // per_matrix)
    weights = [torch.randn(sizes.wide, sizes.wide, dtype=dtype, device=device) for _ in range(count)]
    rows = []
    for m in DECODE_BATCHES:
        x = torch.randn(m, sizes.wide, dtype=dtype, device=device)

        def chain(x: Any = x) -> None:
            for w in weights:
                torch.nn.functional.linear(x, w)

        seconds = _timed(chain, device, sizes.budget_s) / count
        rows.append({"m": m, "width": sizes.wide, "seconds": seconds, "bytes_per_s": per_matrix / seconds})
    return rows


DECODE_CONTEXT = 2048  # tokens in the cache: a typical decode context


def decode_attention_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """Decode attention: one new query per sequence against a 2,048-token KV cache, with as many sequences of
    ``heads`` heads as fill a bandwidth array; bytes the K and V read once."""
    torch = require_torch()
    itemsize = torch.empty((), dtype=dtype).element_size()
    per_sequence = 2 * sizes.heads * DECODE_CONTEXT * sizes.head_dim * itemsize
    batch = max(sizes.stream_bytes // per_sequence, 1)
    shape = (batch, sizes.heads, DECODE_CONTEXT, sizes.head_dim)
    k, v = (torch.randn(shape, dtype=dtype, device=device) for _ in range(2))
    q = torch.randn(batch, sizes.heads, 1, sizes.head_dim, dtype=dtype, device=device)

    def attend() -> None:
        with torch.no_grad():
            torch.nn.functional.scaled_dot_product_attention(q, k, v)

    seconds = _timed(attend, device, sizes.budget_s)
    moved = 2 * k.numel() * itemsize
    return [{"context": DECODE_CONTEXT, "batch": batch, "seconds": seconds, "bytes_per_s": moved / seconds}]


def attention_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """``scaled_dot_product_attention`` forward + backward, causal and not, one sequence of each length."""
    torch = require_torch()
    rows = []
    for causal in (True, False):
        for s in sizes.seq_lens:
            shape = (1, sizes.heads, s, sizes.head_dim)
            q, k, v = (torch.randn(shape, dtype=dtype, device=device, requires_grad=True) for _ in range(3))
            grad = torch.randn(shape, dtype=dtype, device=device)

            def step(q: Any = q, k: Any = k, v: Any = v, grad: Any = grad, causal: bool = causal) -> None:
                out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                out.backward(grad)

            seconds = _timed(step, device, sizes.budget_s)
            forward = 4.0 * s * s * sizes.heads * sizes.head_dim * (0.5 if causal else 1.0)
            flops = forward * (1.0 + ATTENTION_BACKWARD_FACTOR)
            rows.append({"seq_len": s, "causal": causal, "seconds": seconds, "flops_per_s": flops / seconds})
    return rows


def stream_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """Memory bandwidth: copy (2 arrays moved) and triad a = b + s c (3 arrays), bytes counted once each."""
    torch = require_torch()
    itemsize = torch.empty((), dtype=dtype).element_size()
    n = sizes.stream_bytes // itemsize
    a, b, c = (torch.randn(n, dtype=dtype, device=device) for _ in range(3))
    copy = _timed(lambda: a.copy_(b), device, sizes.budget_s)
    triad = _timed(lambda: torch.add(b, c, alpha=2.0, out=a), device, sizes.budget_s)
    return [
        {"kernel": "copy", "bytes": 2 * n * itemsize, "seconds": copy, "bytes_per_s": 2 * n * itemsize / copy},
        {"kernel": "triad", "bytes": 3 * n * itemsize, "seconds": triad, "bytes_per_s": 3 * n * itemsize / triad},
    ]


def elementwise_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """Single-pass element-wise kernels of a transformer layer (SiLU, the gate product, the residual add), each a
    new output tensor as eager PyTorch makes them, on arrays as large as the bandwidth ones; bytes are the tensors
    each reads and writes once. The training model counts passes; this is the rate of one."""
    torch = require_torch()
    itemsize = torch.empty((), dtype=dtype).element_size()
    n = sizes.stream_bytes // itemsize
    x = torch.randn(n, dtype=dtype, device=device)
    y = torch.randn(n, dtype=dtype, device=device)
    size = n * itemsize
    kernels: dict[str, tuple[Callable[[], object], float]] = {
        "silu": (lambda: torch.nn.functional.silu(x), 2.0 * size),
        "mul": (lambda: x * y, 3.0 * size),
        "add": (lambda: x + y, 3.0 * size),
    }
    rows = []
    for name, (fn, moved) in kernels.items():
        seconds = _timed(fn, device, sizes.budget_s)
        rows.append({"kernel": name, "bytes": moved, "seconds": seconds, "bytes_per_s": moved / seconds})
    return rows


OPTIMIZER_BYTES_PER_PARAM = 30.0  # as perf.training counts an Adam update


def optimizer_rows(device: Any, dtype: Any, sizes: Sizes) -> list[Row]:
    """One AdamW step over as many parameters as the bandwidth arrays hold, fused where PyTorch has a fused kernel
    for the device (as Megatron's, Transformer Engine's and torchtitan's defaults are); bytes at 30 per parameter,
    as the training model counts them."""
    torch = require_torch()
    itemsize = torch.empty((), dtype=dtype).element_size()
    n = sizes.stream_bytes // itemsize
    param = torch.nn.Parameter(torch.randn(n, dtype=dtype, device=device))
    param.grad = torch.randn(n, dtype=dtype, device=device)
    try:
        optimizer, kind = torch.optim.AdamW([param], lr=1e-4, fused=True), "fused"
        optimizer.step()
    except RuntimeError:  # no fused kernel for this device or dtype
        optimizer, kind = torch.optim.AdamW([param], lr=1e-4, foreach=True), "foreach"
    seconds = _timed(optimizer.step, device, sizes.budget_s)
    moved = OPTIMIZER_BYTES_PER_PARAM * n
    return [{"kernel": f"adamw-{kind}", "params": n, "seconds": seconds, "bytes_per_s": moved / seconds}]


def dispatch_overhead_s(device: Any, dtype: Any, sizes: Sizes) -> float:
    """Seconds per small kernel: the element-wise ops of a decode step (add, mul, SiLU, square, mean, rsqrt) on one
    token's activation, 200 rounds: the fixed cost each launch pays, which bounds small decode steps."""
    torch = require_torch()
    x = torch.randn(1, sizes.wide, dtype=dtype, device=device)
    ops: tuple[Callable[[], object], ...] = (
        lambda: x + x,
        lambda: x * x,
        lambda: torch.nn.functional.silu(x),
        lambda: x.pow(2),
        lambda: x.mean(-1, keepdim=True),
        lambda: torch.rsqrt(x.abs() + 1.0),
    )

    def many() -> None:
        for _ in range(200):
            for op in ops:
                op()

    return median_seconds(many, device, warmup=1, repeats=3) / (200 * (len(ops) + 1))


def collective_rows(device_type: str, sizes: Sizes, world: int = 2) -> list[Row]:
    """all_reduce, all_gather and all_to_all over ``world`` processes (gloo on CPU, NCCL on GPUs), by message
    size: bus bytes per rank as nccl-tests counts them (all-reduce 2 (n-1)/n, gather and all-to-all (n-1)/n)."""
    torch = require_torch()
    from torch.multiprocessing import get_context
    from torch.multiprocessing.spawn import spawn

    if device_type == "cuda" and torch.cuda.device_count() < world:
        return []
    port = _free_port()
    queue = get_context("spawn").SimpleQueue()
    spawn(_collective_worker, args=(world, port, device_type, sizes.collective_bytes, queue), nprocs=world)  # type: ignore[no-untyped-call]
    rows: list[Row] = queue.get()
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _collective_worker(rank: int, world: int, port: int, device_type: str, sizes: tuple[int, ...], queue: Any) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = torch.device("cuda", rank) if device_type == "cuda" else torch.device("cpu")
    rows = []
    try:
        for nbytes in sizes:
            n = max(nbytes // 4, world)
            n -= n % world
            x = torch.ones(n, dtype=torch.float32, device=device)
            gathered = [torch.empty(n, dtype=torch.float32, device=device) for _ in range(world)]
            out = torch.empty(n, dtype=torch.float32, device=device)
            ops: dict[str, tuple[Callable[[], object], float]] = {
                "all_reduce": (functools.partial(dist.all_reduce, x), 2.0 * (world - 1) / world),
                "all_gather": (functools.partial(dist.all_gather, gathered, x), float(world - 1)),
                "all_to_all": (functools.partial(dist.all_to_all_single, out, x), (world - 1) / world),
            }
            for name, (fn, bus_factor) in ops.items():
                try:
                    seconds = median_seconds(fn, device, warmup=2, repeats=5)
                except RuntimeError:  # an op this backend lacks (gloo all_to_all on some builds) is left out
                    continue
                moved = bus_factor * n * 4
                rows.append(
                    {"op": name, "bytes": n * 4, "seconds": seconds, "bus_bytes_per_s": moved / seconds, "world": world}
                )
        if rank == 0:
            queue.put(rows)
    finally:
        dist.destroy_process_group()
