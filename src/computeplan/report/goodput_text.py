"""The goodput summary printed by ``computeplan goodput``, and its JSON. Presentation only."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from computeplan.perf.goodput import GoodputEstimate
from computeplan.report import console as report_console
from computeplan.units import SECONDS_PER_HOUR

# Figures that are infinite when nothing ever fails (a zero failure rate): no MTBF, no reason to checkpoint.
UNDEFINED_WITHOUT_FAILURES = ("job_mtbf_s", "checkpoint_interval_s", "young_daly_interval_s")


def goodput_json(est: GoodputEstimate) -> dict[str, Any]:
    """``est`` as JSON: the figures that are infinite without failures become None (JSON has no infinity)."""
    data = asdict(est)
    for key in UNDEFINED_WITHOUT_FAILURES:
        if not math.isfinite(data[key]):
            data[key] = None
    return data


def print_goodput(est: GoodputEstimate, *, model: str, chip: str) -> None:
    console = report_console()
    console.print(f"{model} on {est.num_chips:,} x {chip}")
    if not math.isfinite(est.job_mtbf_s):
        console.print("no interruptions expected (a zero failure rate): no checkpoints needed")
        console.print(f"goodput {est.goodput:.1%}")
        return
    over = f"; {est.interruptions:,.0f} expected over {est.run_days:g} days" if est.interruptions else ""
    console.print(
        f"job MTBF {est.job_mtbf_s / SECONDS_PER_HOUR:.2f} h ({est.interruptions_per_day:.1f} interruptions/day){over}"
    )
    console.print(
        f"checkpoint {est.checkpoint_bytes / 1e12:.2f} TB: blocks {est.checkpoint_blocking_s:.1f} s; "
        f"recovery {est.recovery_s / 60:.1f} min"
    )
    console.print(
        f"checkpoint every {est.checkpoint_interval_s / 60:.1f} min (Young-Daly "
        f"{est.young_daly_interval_s / 60:.1f} min); goodput {est.goodput:.1%}"
    )
