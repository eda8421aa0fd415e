"""Measured matmul efficiency against the training model's curve e(x) = e_max x / (x + x_half).

Runs on a machine with PyTorch and (ideally) a GPU; not part of the test suite. For GEMMs of shape (M x K) @ (K x N)
in bf16 (and fp8 through ``torch._scaled_mm`` where the GPU has it) it times each product with CUDA events (3
warm-ups, then the mean of 20) and writes one CSV row per shape: M, N, K, dtype, TFLOP/s, and the fraction of the
dense peak given on the command line. Sweeps the narrow dimension the model keys on: M (tokens per micro-batch) and
N (a weight matrix split by tensor parallelism). Also measures a device-to-device copy (HBM bandwidth).

Usage: python benchmarks/gpu_gemm_sweep.py --peak-bf16 989e12 --peak-fp8 1979e12 --out results.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable

import torch

NARROW = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
WIDE = 8192


def time_it(fn: Callable[[], object], repeats: int = 20) -> float:
    """Mean seconds per call (CUDA events on a GPU, wall clock elsewhere)."""
    for _ in range(3):
        fn()
    if torch.cuda.is_available():
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / repeats
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def gemm(m: int, n: int, k: int, dtype: str, device: str) -> float:
    """Seconds per (m x k) @ (k x n) product."""
    a = torch.randn(m, k, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, k, device=device, dtype=torch.bfloat16)
    if dtype == "bf16":
        return time_it(lambda: a @ b.t())
    a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
    one = torch.ones((), device=device, dtype=torch.float32)
    return time_it(lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak-bf16", type=float, required=True, help="dense bf16 peak, FLOP/s")
    parser.add_argument("--peak-fp8", type=float, default=0.0, help="dense fp8 peak, FLOP/s (0: skip fp8)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--wide", type=int, default=WIDE)
    parser.add_argument("--narrow", type=int, nargs="+", default=NARROW)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtypes = ["bf16"] + (["fp8"] if args.peak_fp8 > 0 and device == "cuda" else [])
    rows = []
    for dtype in dtypes:
        peak = args.peak_bf16 if dtype == "bf16" else args.peak_fp8
        for axis in ("M", "N"):
            for x in args.narrow:
                m, n, k = (x, args.wide, args.wide) if axis == "M" else (args.wide, x, args.wide)
                seconds = gemm(m, n, k, dtype, device)
                flops = 2.0 * m * n * k / seconds
                rows.append({"axis": axis, "M": m, "N": n, "K": k, "dtype": dtype, "seconds": seconds,
                             "tflops": flops / 1e12, "fraction_of_peak": flops / peak})  # fmt: skip
                print(rows[-1], flush=True)
    copy_bytes = 2 * 2**30
    src = torch.empty(copy_bytes // 2, dtype=torch.bfloat16, device=device)
    dst = torch.empty_like(src)
    seconds = time_it(lambda: dst.copy_(src))
    rows.append({"axis": "copy", "M": 0, "N": 0, "K": 0, "dtype": "bf16", "seconds": seconds,
                 "tflops": 0.0, "fraction_of_peak": 2 * copy_bytes / seconds / 1e12})  # fmt: skip
    print("copy TB/s (read + write)", 2 * copy_bytes / seconds / 1e12, flush=True)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        f.write(f"# device: {name}; torch {torch.__version__}; copy row: fraction_of_peak holds TB/s\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
