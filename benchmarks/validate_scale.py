"""Speed and memory of `validate` and `calibrate` on large measured-run files (issue: inputs never break the tool;
100k rows took ~2 min and 1.3 GB, 10k-row calibrate 7 min).

Builds files by repeating the golden training rows under new ids, without their notes (in a temporary directory),
then times ``computeplan.validate`` and ``computeplan.calibrate`` and reports the peak resident memory of the process.
Usage: python benchmarks/validate_scale.py [--rows 20000 100000] [--calibrate-rows 2000]
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import tempfile
import time
from pathlib import Path

import computeplan

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "data" / "calibration-training.csv"


def write_rows(path: Path, count: int) -> None:
    with GOLDEN.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(count):
            # free-text notes left out: the golden rows' long notes would put 100k rows above the 64 MiB input limit
            writer.writerow({**rows[i % len(rows)], "id": f"R{i:07d}", "notes": ""})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--calibrate-rows", type=int, default=2000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, CPython {platform.python_version()}; one run each, peak RSS of the process\n"
    )
    print("| task | rows | seconds | peak RSS MB |")
    print("| --- | --- | --- | --- |")
    catalog = computeplan.load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.rows:
            path = Path(tmp) / f"runs-{count}.csv"
            write_rows(path, count)
            start = time.perf_counter()
            report = computeplan.validate(path, catalog=catalog)
            assert len(report.rows) == count
            print(f"| validate | {count:,} | {time.perf_counter() - start:.2f} | {peak_mb():.0f} |")
        path = Path(tmp) / "calibrate.csv"
        write_rows(path, args.calibrate_rows)
        start = time.perf_counter()
        computeplan.calibrate(path, catalog=catalog)
        print(f"| calibrate | {args.calibrate_rows:,} | {time.perf_counter() - start:.2f} | {peak_mb():.0f} |")


if __name__ == "__main__":
    main()
