"""Tables for training estimates and validation reports. Presentation only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console

from computeplan.perf.layout import LAYOUT_FIELDS, Recompute
from computeplan.report import console as report_console
from computeplan.report import safe_text
from computeplan.report import table as new_table
from computeplan.report.goodput_text import failure_rates_note, rates_assumed
from computeplan.units import JOULES_PER_KWH, SECONDS_PER_DAY, SECONDS_PER_HOUR, Dimension, format_quantity

if TYPE_CHECKING:
    from computeplan.calibration.service import ValidationReport
    from computeplan.calibration.validate import ErrorSummary
    from computeplan.estimate.training import TrainingResult


def _console() -> Console:
    return report_console()


PARALLEL_DEGREES = ("tp", "pp", "dp", "cp", "ep", "vpp")
SWITCHES = ("sp", "hsdp", "fp8")  # shown by name when on
LAYOUT_NOTE = (
    "layout: parallel degrees above 1 and the switches that are on (--json for every field); MFU is against the peak "
    "of the precision used (fp8 layouts: the fp8 peak, bf16-equivalent beside it)"
)


def short_layout(layout: Mapping[str, int]) -> str:
    """A layout in a few words for a table cell: the parallel degrees above 1, the micro-batch when above 1, the
    recompute policy when any, the switches that are on and the ZeRO stage when sharding, in the order of
    LAYOUT_FIELDS: ``tp=8 pp=16 dp=4 vpp=2 sp zero=1``. A field the mapping lacks counts as its plain default."""
    parts = []
    for name in LAYOUT_FIELDS:
        value = int(layout.get(name, 1 if name in (*PARALLEL_DEGREES, "mb") else 0))
        if name in (*PARALLEL_DEGREES, "mb"):
            if value != 1:
                parts.append(f"{name}={value}")
        elif name == "recompute":
            if value:
                parts.append(f"recompute={Recompute(value).name.lower()}")
        elif name in SWITCHES:
            if value:
                parts.append(name)
        elif value:  # zero
            parts.append(f"{name}={value}")
    return " ".join(parts) or "one chip, no options"


def print_training(plan: TrainingResult) -> None:
    console = _console()
    cluster = plan.cluster
    head = (
        f"{safe_text(plan.model.name)} on {cluster.num_chips:,} x {safe_text(cluster.chip_id)} "
        f"({safe_text(cluster.system_id)}), "
        f"seq {plan.job.seq_len:,}, global batch {plan.job.global_batch:,} sequences "
        f"({format_quantity(plan.job.tokens_per_step, Dimension.COUNT)} tokens)"
    )
    console.print(head)
    if plan.searched:
        console.print(
            f"searched {plan.layouts_evaluated:,} layouts: {plan.layouts_valid:,} can run, "
            f"{plan.layouts_fitting:,} fit in memory"
        )
    table = new_table("Best layouts" if plan.searched else "Given layout")
    for col in ("#", "layout", "step s", "MFU", "HFU", "tokens/s\n/chip", "memory\nGB", "fits"):
        # the layout may wrap, between its words, when nothing else gives; numbers never do
        table.add_column(
            col, justify="left" if col == "layout" else "right", no_wrap=col != "layout", vertical="bottom"
        )
    for i, e in enumerate(plan.estimates, start=1):
        table.add_row(
            str(i),
            short_layout(e.layout),
            f"{e.step_time_s:.3f}",
            f"{e.mfu:.1%}" + (f" ({e.mfu_bf16_equivalent:.1%} bf16)" if e.layout.get("fp8") else ""),
            f"{e.hfu:.1%}",
            f"{e.tokens_per_s_per_chip:,.0f}",
            f"{e.memory_bytes / 1e9:.1f}",
            "yes" if e.fits else "NO",
        )
    console.print(table)
    console.print(f"[dim]{LAYOUT_NOTE}[/dim]")
    best = plan.estimates[0]
    parts = new_table("Step time of layout 1")
    parts.add_column("part")
    parts.add_column("seconds", justify="right")
    parts.add_column("share", justify="right")
    for name, value in best.breakdown_s.items():
        parts.add_row(name, f"{value:.3f}", f"{value / best.step_time_s:.1%}")
    console.print(parts)
    band = plan.step_time_band(best)
    if band is not None:
        console.print(
            f"step time to expect: P10 {band['p10']:.3f} s, P50 {band['p50']:.3f} s, P90 {band['p90']:.3f} s (the "
            f"errors of {plan.efficiency.calibration} predictions on {band['rows']} published runs never fitted; "
            "docs/ACCURACY.md)"
        )
    memory = new_table("Memory per chip")
    memory.add_column("part")
    memory.add_column("GB", justify="right")
    for name, value in best.memory_breakdown_bytes.items():
        memory.add_row(name, f"{value / 1e9:.2f}")
    memory.add_row("total", f"{best.memory_bytes / 1e9:.2f}")
    memory.add_row("HBM", f"{best.hbm_bytes / 1e9:.2f}")
    console.print(memory)
    if not best.fits:
        console.print(f"does NOT fit: short by {format_quantity(best.memory_bytes - best.hbm_bytes, Dimension.BYTES)}")
    if best.time_to_train_s is not None and best.chip_hours is not None and best.energy_j is not None:
        cost = f"${best.cost_usd:,.0f}" if best.cost_usd is not None else "n/a (no price)"
        console.print(
            f"time to train {format_quantity(plan.job.tokens or 0.0, Dimension.COUNT)} tokens: "
            f"{best.time_to_train_s / SECONDS_PER_DAY:,.1f} days; {best.chip_hours:,.0f} chip-hours; "
            f"energy {best.energy_j / JOULES_PER_KWH / 1e6:,.2f} GWh (PUE {plan.job.pue:.2f}); cost {cost}"
        )
    with_failures = plan.time_to_train_with_failures_s(best)
    if plan.goodput is not None and with_failures is not None and not math.isfinite(plan.goodput.job_mtbf_s):
        console.print("with failures: none expected (the catalog's failure rates are zero)")
    elif plan.goodput is not None and with_failures is not None:
        g = plan.goodput
        interruptions = f"{g.interruptions:,.0f} interruptions, " if g.interruptions is not None else ""
        console.print(
            f"with failures: {with_failures / SECONDS_PER_DAY:,.1f} days at goodput {g.goodput:.1%} "
            f"(job MTBF {g.job_mtbf_s / SECONDS_PER_HOUR:.1f} h, {interruptions}checkpoint every "
            f"{g.checkpoint_interval_s / 60:.1f} min; --no-failures to ignore)"
        )
    if plan.goodput is not None and with_failures is not None and rates_assumed(cluster.chip_id):
        console.print(f"note: {safe_text(failure_rates_note(plan.goodput, cluster.chip_id))}")
    for note in best.notes:
        console.print(f"note: {safe_text(note)}")
    console.print(f"efficiency: {plan.efficiency.calibration}: {safe_text(plan.efficiency.basis)}")


def print_validation(report: ValidationReport, path: str) -> None:
    """Each row predicted vs measured. A long id or reason wraps (folds) onto more lines; the other columns (chip,
    metric, numbers) are never cut."""
    console = _console()
    loso = {r.id: r for r in report.loso.rows} if report.loso is not None else None
    table = new_table(f"Predicted vs measured: {safe_text(path)}")
    columns: tuple[str, ...] = ("id", "set", "chip", "metric", "measured", "predicted", "error %")
    columns += ("LOSO\npredicted", "LOSO\nerror %") if loso is not None else ()
    for col in (*columns, "layout / reason"):
        left = col in ("id", "set", "chip", "metric", "layout / reason")
        wraps = col in ("id", "layout / reason")
        table.add_column(col, justify="left" if left else "right", no_wrap=not wraps, overflow="fold")
    for r in report.rows:
        err = "-" if r.error_pct is None else f"{r.error_pct:+.1f}"
        pred = "-" if r.predicted is None else f"{r.predicted:.4g}"
        if r.layout and all(name in r.layout for name in LAYOUT_FIELDS):
            detail = short_layout(r.layout)
        else:
            detail = ", ".join(f"{k}={v}" for k, v in r.layout.items()) if r.layout else (r.reason or "")
        if r.filled:
            detail += f"  [searched: {', '.join(r.filled)}]"
        if r.layout and not r.calibrated:
            detail += f"  [{r.calibration}]"
        cells = [
            safe_text(r.id),
            "held out" if r.id in report.held_out else "fit",
            safe_text(r.chip),
            safe_text(r.metric),
            f"{r.measured:.4g}",
            pred,
            err,
        ]
        if loso is not None:
            other = loso.get(r.id)
            cells.append("-" if other is None or other.predicted is None else f"{other.predicted:.4g}")
            cells.append("-" if other is None or other.error_pct is None else f"{other.error_pct:+.1f}")
            if other is not None and other.layout and not other.calibrated:
                detail += f"  [LOSO: {other.calibration}]"
        table.add_row(*cells, safe_text(detail))
    console.print(table)
    for row_id, reason in report.skipped:
        console.print(f"skipped {safe_text(row_id)}: {safe_text(reason)}")
    summaries: list[tuple[str, ErrorSummary]] = []
    if report.loso is not None:
        summaries.append(("leave one source out", report.loso.summary))
        summaries += [(f"  family {name}", s) for name, s in report.loso.by_family.items()]
        summaries += [(f"  source {name}", s) for name, s in report.loso.by_source.items()]
    summaries += [
        ("held out (every 4th row)", report.summary_held_out),
        ("fitted (in-sample)", report.summary_fit),
        ("all", report.summary),
    ]
    for name, s in summaries:
        if s.predicted and s.median_abs_error_pct is not None and s.max_abs_error_pct is not None:
            p90 = f", 90th percentile {s.p90_abs_error_pct:.1f}%" if s.p90_abs_error_pct is not None else ""
            console.print(
                f"{safe_text(name)}: {s.predicted} of {s.count} rows predicted; median abs error "
                f"{s.median_abs_error_pct:.1f}%{p90}, worst {s.max_abs_error_pct:.1f}%"
            )


def sample_lines(sampled: dict[str, Any]) -> list[str]:
    """``train --samples``: each figure's P50 with its P10-P90 band, and what was drawn."""
    b = sampled["bands"]
    inputs = ", ".join(sampled["inputs"]) or "nothing (no error band, no catalog range)"
    lines = [f"Monte Carlo, {sampled['samples']:,} draws (seed {sampled['seed']}) of: {inputs}"]
    step = b["step_time_s"]
    lines.append(f"  step time P50 {step['p50']:.3g} s (P10 {step['p10']:.3g}, P90 {step['p90']:.3g})")
    mfu = b["mfu"]
    lines.append(f"  MFU P50 {mfu['p50']:.3f} (P10 {mfu['p10']:.3f}, P90 {mfu['p90']:.3f})")
    days = b["time_to_train_s"]
    if days["p50"] is not None:
        lines.append(
            f"  time to train P50 {days['p50'] / 86400:,.1f} days (P10 {days['p10'] / 86400:,.1f}, "
            f"P90 {days['p90'] / 86400:,.1f})"
        )
    return lines
