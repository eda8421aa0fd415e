"""The goodput summary printed by ``computeplan goodput``, and its JSON. Presentation only."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from computeplan.perf.goodput import GoodputEstimate
from computeplan.report import console as report_console
from computeplan.report import safe_text
from computeplan.units import SECONDS_PER_HOUR

# Figures that are infinite when nothing ever fails (a zero failure rate): no MTBF, no reason to checkpoint.
UNDEFINED_WITHOUT_FAILURES = ("job_mtbf_s", "checkpoint_interval_s", "young_daly_interval_s")

RATES_MEASURED_ON = "h100-sxm"
"""The chip whose failures the catalog's rates count: the 16,384 H100 GPUs of Llama 3 405B pre-training (facts
failures-llama3-*, Dubey et al. 2024, sec. 3.3.4). The catalog has no failure rates for any other chip."""

DEFAULT_BASIS = "per-chip interruption rates of the Llama 3 405B pre-training run on H100 GPUs (Dubey et al. 2024)"


def rates_assumed(chip: str) -> bool:
    """Whether the failure rates applied to ``chip`` were measured on another chip (H100)."""
    return chip != RATES_MEASURED_ON


def failure_rates_note(est: GoodputEstimate, chip: str) -> str:
    """Where the failure rates applied to ``chip`` come from, in words: the estimate's basis (measured on H100),
    and, for any other chip, that applying them to it is an assumption."""
    note = est.basis or DEFAULT_BASIS
    if rates_assumed(chip):
        note += f"; for {chip} this is an assumption (no failure rates are published for it)"
    return note


def goodput_json(est: GoodputEstimate, *, chip: str | None = None) -> dict[str, Any]:
    """``est`` as JSON: the figures that are infinite without failures become None (JSON has no infinity); with
    ``chip``, ``failure_rates_note`` and ``failure_rates_assumed`` say whether its failure rates are its own."""
    data = asdict(est)
    for key in UNDEFINED_WITHOUT_FAILURES:
        if not math.isfinite(data[key]):
            data[key] = None
    if chip is not None:
        data["failure_rates_note"] = failure_rates_note(est, chip)
        data["failure_rates_assumed"] = rates_assumed(chip)
    return data


def print_goodput(est: GoodputEstimate, *, model: str, chip: str) -> None:
    console = report_console()
    console.print(f"{safe_text(model)} on {est.num_chips:,} x {safe_text(chip)}")
    console.print(f"note: {safe_text(failure_rates_note(est, chip))}")
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
