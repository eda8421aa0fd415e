"""Start-up time of the command line: `computeplan --help` must stay under 0.3 s (issue: foundation).

Runs each command several times in a fresh interpreter and prints the median and best wall time as a
Markdown table. Usage: python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["--help"],
    ["chips", "--json"],
    ["show", "chip", "trn2"],
]


def time_command(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "computeplan", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()}; {runs} runs each\n"
    )
    print("| command | median s | best s |")
    print("| --- | --- | --- |")
    for args in COMMANDS:
        times = time_command(args, runs)
        print(f"| `computeplan {' '.join(args)}` | {statistics.median(times):.3f} | {min(times):.3f} |")


if __name__ == "__main__":
    main()
