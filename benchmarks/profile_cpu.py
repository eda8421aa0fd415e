"""Wall time of calibrating on this machine's CPU (issue: `computeplan profile --device cpu --quick` under two
minutes): `profile --quick`, then `measure --quick` with that profile, each as a user runs it (a fresh interpreter).

Prints a Markdown table: command, seconds, and the median error `measure` reports. Needs the ``profile`` extra
(PyTorch). Usage: python benchmarks/profile_cpu.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "computeplan", *args], capture_output=True, check=True, text=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}\n")
    print("| command | seconds | median abs error % (uncalibrated %) |")
    print("| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        profile = str(Path(tmp) / "profile.yaml")
        seconds, _ = timed(["profile", "--device", "cpu", "--quick", "--out", profile, "--json"])
        print(f"| `computeplan profile --device cpu --quick` | {seconds:.1f} | - |")
        seconds, out = timed(["measure", "--profile", profile, "--quick", "--json"])
        report = json.loads(out)
        errors = f"{report['median_abs_error_pct']:.1f} ({report['median_abs_error_uncalibrated_pct']:.1f})"
        print(f"| `computeplan measure --quick` ({len(report['rows'])} shapes) | {seconds:.1f} | {errors} |")


if __name__ == "__main__":
    main()
