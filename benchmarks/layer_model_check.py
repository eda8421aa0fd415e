"""The training model's time for one decoder layer against the H200 measurements of `gpu_layer_sweep.py`.

No fitted parameter: e_max is the bf16 GEMM plateau measured in the same run (0.79), the attention kernel cuDNN
(torch's SDPA default there). Prints, per layer shape, the model's compute and element-wise time and the measured
eager and compiled times (docs/MEASUREMENTS.md quotes this table).
Usage: python benchmarks/layer_model_check.py [--results benchmarks/results/h200-layer-sizes-2026-11-26.csv]
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import numpy as np

from computeplan.catalog import load_catalog
from computeplan.hardware.cluster import Precision, cluster_from_catalog
from computeplan.hardware.efficiency import PRIOR, with_family_kernels
from computeplan.perf import training as tr
from computeplan.perf.layout import Layouts
from computeplan.workload.transformer import TransformerSpec

RESULTS = Path(__file__).parent / "results" / "h200-layer-sizes-2026-11-26.csv"
GEMM_PLATEAU = 0.79  # 8192^3 bf16 GEMM in the same H200 run (h200-layer-sweep-2026-11-26.csv)


def layer_seconds(dim: int, ffn: int, heads: int, kv: int, seq: int) -> tuple[float, float]:
    """(compute, element-wise) seconds of one layer's forward and backward, bf16, one H200, no recompute."""
    cluster = cluster_from_catalog(load_catalog(), "h200-sxm", 1)
    spec = TransformerSpec(
        name="layer",
        layers=1,
        hidden=dim,
        heads=heads,
        kv_heads=kv,
        head_dim=dim // heads,
        ffn_hidden=ffn,
        gated_mlp=True,
        vocab=8,
        seq_len=seq,
    )
    one = {k: 1 for k in ("tp", "pp", "dp", "cp", "ep", "vpp", "mb")}
    layout = Layouts.from_columns({**one, "recompute": 0, "sp": 0, "zero": 0, "hsdp": 0, "fp8": 0})
    # the Hopper kernels (cuDNN attention), with the plateau measured in the same run and nothing fitted
    plateau = {"matmul_plateau": GEMM_PLATEAU, "realized_fraction": 1.0}
    eff = with_family_kernels(PRIOR, "nvidia-hopper", "cudnn").with_values(plateau)
    g = tr.step_geometry(spec, layout, global_batch=1, seq_len=seq)
    flops = tr.micro_batch_flops(spec, g)
    peak = np.array([cluster.peak(Precision.BF16)])
    matmul_eff = tr.matmul_efficiency(tr.narrowest_matmul_dim(spec, g), eff)
    times = tr.compute_times(
        g, flops, peak=peak, matmul_eff=matmul_eff, attention_eff=tr.attention_efficiency(spec, g, eff)
    )
    logits_s = 3.0 * flops.logits[0] / (peak[0] * matmul_eff[0])  # the output layer is not part of the layer
    return float(times.total_s[0] - logits_s), float(tr.elementwise_time(spec, cluster, eff, g)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    measured: dict[tuple[int, ...], dict[str, float]] = {}
    with args.results.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            shape = re.fullmatch(r"b(\d+) s(\d+) D(\d+) F(\d+) N(\d+) K(\d+)", row["shape"])
            if shape is None:
                continue
            key = tuple(int(x) for x in shape.groups())
            measured.setdefault(key, {})["compile" if "compile" in row["backend"] else "eager"] = float(row["seconds"])
    print("| layer | model ms (compute + element-wise) | eager ms | compiled ms | model / compiled |")
    print("| --- | --- | --- | --- | --- |")
    for (_, seq, dim, ffn, heads, kv), seconds in sorted(measured.items(), key=lambda kv_: kv_[0][2]):
        compute, elementwise = layer_seconds(dim, ffn, heads, kv, seq)
        model = compute + elementwise
        print(
            f"| D {dim:,}, F {ffn:,}, {heads} heads, {kv} KV | {1e3 * model:.2f} ({1e3 * compute:.2f} + "
            f"{1e3 * elementwise:.2f}) | {1e3 * seconds['eager']:.2f} | {1e3 * seconds['compile']:.2f} | "
            f"{model / seconds['compile']:.3f} |"
        )


if __name__ == "__main__":
    main()
