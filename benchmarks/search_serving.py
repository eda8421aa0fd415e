"""Speed of the serving search (inference issue: a 6-chip comparison for one model under 1 s).

Usage: python benchmarks/search_serving.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from computeplan import api
from computeplan.catalog import load_catalog

CHIPS = ["h100-sxm", "h200-sxm", "b200", "trn2", "tpu-v6e", "mi300x"]
MODELS = ["llama3-70b", "llama3-405b", "deepseek-v3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    catalog = load_catalog()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores (1 thread used), CPython "
        f"{platform.python_version()}; median of {repeats} runs; catalog already loaded\n"
    )
    print("| model | chips compared | layouts priced | seconds |")
    print("| --- | --- | --- | --- |")
    for model in MODELS:
        times, evaluated = [], 0
        for _ in range(repeats):
            start = time.perf_counter()
            plan = api.serve(
                model, CHIPS, input_len=2048, output_len=256, tpot_s=0.05, traffic="1e9tok/day", catalog=catalog
            )
            times.append(time.perf_counter() - start)
            evaluated = plan.layouts_evaluated
        print(f"| {model} | {len(CHIPS)} | {evaluated:,} | {statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
