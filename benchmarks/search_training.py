"""Speed of the training layout search (issue: full space for llama3-405b on 16,384 h100-sxm under 1 s on one
core, at least 1 million layouts evaluated per second).

Times enumeration and evaluation separately over several repeats, on one thread, and prints a Markdown table.
Usage: python benchmarks/search_training.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from computeplan.catalog import load_catalog
from computeplan.catalog.loader import load_efficiency_table
from computeplan.hardware import cluster_from_catalog
from computeplan.hardware.efficiency import efficiency_for
from computeplan.perf.training import training_step
from computeplan.search.space import enumerate_layouts
from computeplan.search.training_search import search_layouts
from computeplan.workload import TransformerSpec

CASES = [
    ("llama3-405b", "h100-sxm", 16384, 8192, 2048),
    ("llama3-70b", "h100-sxm", 1024, 8192, 512),
    ("deepseek-v3", "h800-sxm", 2048, 4096, 15360),
    ("llama3-405b", "trn2", 65536, 8192, 4096),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    catalog = load_catalog()
    table = load_efficiency_table()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores (1 thread used), "
        f"CPython {platform.python_version()}; median of {repeats} runs\n"
    )
    print("| model | chip | chips | layouts | enumerate s | evaluate s | full search s | layouts/s (evaluate) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for model, chip, chips, seq, batch in CASES:
        spec = TransformerSpec.from_entry(catalog.model(model))
        cluster = cluster_from_catalog(catalog, chip, chips)
        eff = efficiency_for(cluster.family, table)
        enum_t, eval_t, total_t = [], [], []
        count = 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            layouts = enumerate_layouts(spec, cluster, global_batch=batch, seq_len=seq)
            t1 = time.perf_counter()
            training_step(spec, cluster, eff, layouts, global_batch=batch, seq_len=seq)
            t2 = time.perf_counter()
            search_layouts(spec, cluster, eff, global_batch=batch, seq_len=seq)
            t3 = time.perf_counter()
            count = len(layouts)
            enum_t.append(t1 - t0)
            eval_t.append(t2 - t1)
            total_t.append(t3 - t2)
        ev = statistics.median(eval_t)
        print(
            f"| {model} | {chip} | {chips:,} | {count:,} | {statistics.median(enum_t):.3f} | {ev:.3f} | "
            f"{statistics.median(total_t):.3f} | {count / ev:,.0f} |"
        )


if __name__ == "__main__":
    main()
