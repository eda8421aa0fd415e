"""Speed of the Monte Carlo over the flagship plan (uncertainty issue: 1,000 draws in under 60 s on this 2-core
machine with the local pool), with the ratio to one plan's time measured in the same run.

Each draw re-plans (scenario overrides, LP, statistics) without re-pricing the chips; the pricing is done once.
Usage: python benchmarks/monte_carlo.py [--samples N] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from computeplan import api, monte_carlo
from computeplan.catalog import load_catalog

ROOT = Path(__file__).parents[1]
FLAGSHIP = ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    catalog = load_catalog()
    start = time.perf_counter()
    api.plan(FLAGSHIP, catalog=catalog)
    one = time.perf_counter() - start
    start = time.perf_counter()
    sweep = monte_carlo(FLAGSHIP, samples=args.samples, seed=1, catalog=catalog, workers=args.workers)
    many = time.perf_counter() - start
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}\n")
    print("| case | draws | workers | inputs | solved | seconds | per draw | vs one plan |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| one plan of the flagship (pricing + LP) | 1 | 1 | - | 1 | {one:.2f} | {one:.2f} | 1.0x |")
    print(
        f"| Monte Carlo of the flagship (pricing once + {args.samples:,} LPs) | {args.samples:,} | {args.workers} | "
        f"{len(sweep.design.inputs)} | {len(sweep.ok):,} | {many:.1f} | {many / args.samples * 1000:.0f} ms | "
        f"{many / one:.1f}x |"
    )


if __name__ == "__main__":
    main()
