"""Attention kernels and one transformer layer on a GPU: what the training model pins and fits, measured.

Measures, in bf16 on the current CUDA device (or tiny shapes on CPU with --smoke):
1. causal attention forward + backward through torch's scaled_dot_product_attention with each backend it has
   (flash = FlashAttention-2, cudnn = cuDNN fused attention, efficient = memory-efficient), by sequence length;
   FLOPs counted as the training model does: 4 b s^2 N H / 2 (causal) forward, 2.5x that backward.
2. a large bf16 GEMM (the plateau the kernel efficiencies are relative to).
3. one Llama-3-8B-shaped decoder layer (RMSNorm, GQA attention, SwiGLU; no RoPE) forward + backward in eager
   PyTorch: its achieved fraction of peak, which the fitted sustained matmul efficiency e_max stands for.

Prints CSV rows (kind, shape, backend, seconds, tflops, fraction_of_peak) and writes them to --out.
Usage: python benchmarks/gpu_layer_sweep.py --peak-bf16 989.4e12 --out results.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time


def _timed(fn, warmup: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    import torch

    for _ in range(warmup):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        torch.cuda.synchronize()
        return float(start.elapsed_time(end)) / 1000.0 / repeats
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def attention_rows(device: str, dtype: object, seqs: list[int], heads: int, head_dim: int, tokens: int) -> list[dict]:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention

    backends = {
        "flash": SDPBackend.FLASH_ATTENTION,
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
    }
    rows = []
    for seq in seqs:
        batch = max(tokens // seq, 1)
        shape = (batch, heads, seq, head_dim)
        q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
        grad = torch.randn(shape, device=device, dtype=dtype)
        flops = 4.0 * batch * seq * seq * heads * head_dim / 2.0 * (1.0 + 2.5)
        for name, backend in backends.items():

            def step(backend=backend, q=q, k=k, v=v, grad=grad):  # type: ignore[no-untyped-def]
                with sdpa_kernel(backend):
                    out = scaled_dot_product_attention(q, k, v, is_causal=True)
                out.backward(grad)

            try:
                seconds = _timed(step, 2, 5)
            except RuntimeError as exc:  # backend not available for this shape or build
                print(f"# attention {name} seq {seq}: {str(exc).splitlines()[0][:100]}", file=sys.stderr)
                continue
            rows.append(
                {
                    "kind": "attention causal fwd+bwd",
                    "shape": f"b{batch} s{seq} h{heads} d{head_dim}",
                    "backend": name,
                    "seconds": seconds,
                    "flops": flops,
                }
            )
    return rows


def gemm_row(device: str, dtype: object, n: int) -> dict:
    import torch

    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    seconds = _timed(lambda: a @ b, 3, 10)
    return {"kind": "gemm", "shape": f"{n}x{n}x{n}", "backend": "torch.matmul", "seconds": seconds, "flops": 2.0 * n**3}


def layer_row(
    device: str, dtype: object, tokens: int, dim: int, ffn: int, heads: int, kv_heads: int, compiled: bool = False
) -> dict:
    import torch
    from torch import nn
    from torch.nn.functional import scaled_dot_product_attention, silu

    head_dim = dim // heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.RMSNorm(dim), nn.RMSNorm(dim)
            self.qkv = nn.Linear(dim, (heads + 2 * kv_heads) * head_dim, bias=False)
            self.o = nn.Linear(heads * head_dim, dim, bias=False)
            self.gate_up = nn.Linear(dim, 2 * ffn, bias=False)
            self.down = nn.Linear(ffn, dim, bias=False)

        def forward(self, x):  # type: ignore[no-untyped-def]
            b, s, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).split([heads * head_dim, kv_heads * head_dim, kv_heads * head_dim], -1)
            q = q.view(b, s, heads, head_dim).transpose(1, 2)
            k = k.view(b, s, kv_heads, head_dim).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
            v = v.view(b, s, kv_heads, head_dim).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
            att = scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, s, -1)
            x = x + self.o(att)
            gate, up = self.gate_up(self.n2(x)).chunk(2, -1)
            return x + self.down(silu(gate) * up)

    seq = min(tokens, 8192)
    batch = max(tokens // seq, 1)
    layer = Layer().to(device=device, dtype=dtype)
    run = torch.compile(layer) if compiled else layer
    x = torch.randn(batch, seq, dim, device=device, dtype=dtype, requires_grad=True)

    def step():  # type: ignore[no-untyped-def]
        run(x).sum().backward()

    seconds = _timed(step, 2, 5)
    params = dim * (heads + 2 * kv_heads) * head_dim + heads * head_dim * dim + 3 * dim * ffn
    # model FLOPs as the training model counts them: 6 P per token plus causal attention 6 s N H per token
    flops = batch * seq * (6.0 * params + 6.0 * seq * heads * head_dim)
    return {
        "kind": "decoder layer fwd+bwd",
        "shape": f"b{batch} s{seq} D{dim} F{ffn} N{heads} K{kv_heads}",
        "backend": ("torch.compile" if compiled else "torch eager") + ", sdpa default",
        "seconds": seconds,
        "flops": flops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-bf16", type=float, default=989.4e12, help="dense bf16 peak of the device, FLOP/s")
    parser.add_argument("--out", default="", help="CSV file to write")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes (a CPU check of the script)")
    parser.add_argument("--layers-only", action="store_true", help="only the decoder layers, eager and compiled")
    args = parser.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if args.smoke:
        rows = attention_rows(device, dtype, [64, 128], 2, 16, 256)
        rows += [gemm_row(device, dtype, 128), layer_row(device, dtype, 128, 64, 128, 4, 2)]
    elif args.layers_only:
        print(f"# device {torch.cuda.get_device_name(0)}, torch {torch.__version__}", file=sys.stderr)
        rows = []
        # Llama-3-style layers at 8,192 tokens: 3B-like (D 2560), 8B (D 4096), 70B-like (D 8192)
        for dim, ffn, heads, kv in ((2560, 10240, 20, 4), (4096, 14336, 32, 8), (8192, 28672, 64, 8)):
            for compiled in (False, True):
                rows.append(layer_row(device, dtype, 8192, dim, ffn, heads, kv, compiled=compiled))
    else:
        print(f"# device {torch.cuda.get_device_name(0)}, torch {torch.__version__}", file=sys.stderr)
        rows = attention_rows(device, dtype, [2048, 8192, 32768], 32, 128, 32768)
        rows += [gemm_row(device, dtype, 8192), layer_row(device, dtype, 8192, 4096, 14336, 32, 8)]
    for row in rows:
        row["tflops"] = row["flops"] / row["seconds"] / 1e12
        row["fraction_of_peak"] = row["flops"] / row["seconds"] / args.peak_bf16
    fields = ["kind", "shape", "backend", "seconds", "tflops", "fraction_of_peak"]
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            out.writeheader()
            out.writerows(rows)


if __name__ == "__main__":
    main()
