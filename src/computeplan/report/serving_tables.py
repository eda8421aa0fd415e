"""Tables for serving estimates. Presentation only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from computeplan.report import console as report_console
from computeplan.report import safe_text
from computeplan.report import table as new_table
from computeplan.search.serving_search import replica_words
from computeplan.units import Dimension, format_quantity

if TYPE_CHECKING:
    from computeplan.estimate.serving import ChipServing, ServingResult


def count_text(value: float) -> str:
    """A count for a sentence: ``1.2T``, ``500M``; beyond the largest prefix (and where rounding carries past it,
    999.9P), the plain number in scientific notation (``units.format_quantity`` would write ``1e+03P``)."""
    text = format_quantity(value, Dimension.COUNT)
    return f"{value:.3g}" if "e" in text else text


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_serving(plan: ServingResult) -> None:
    console = report_console()
    job = plan.job
    targets = []
    if job.tpot_s is not None:
        targets.append(f"TPOT <= {job.tpot_s * 1000:g} ms")
    if job.ttft_s is not None:
        targets.append(f"TTFT <= {job.ttft_s:g} s")
    console.print(
        f"{safe_text(plan.model.name)}: {job.input_len:,.0f} input + {job.output_len:,.0f} output tokens per request; "
        f"{', '.join(targets) or 'no latency target'}; {plan.layouts_evaluated:,} layouts priced"
    )
    table = new_table("Cheapest layout per chip (continuous batching)")
    for col in (
        "chip",
        "replica",
        "batch",
        "weights\n/KV",
        "TTFT\ns",
        "TPOT\nms",
        "tok/s\n/chip",
        "$/M\nout",
        "$/M\nin",
        "J\n/token",
        "chips\nneeded",
    ):
        left = col in ("chip", "weights\n/KV")
        # only the last column may wrap: it holds the reason when a chip has no layout
        table.add_column(col, justify="left" if left else "right", no_wrap=col != "chips\nneeded", vertical="bottom")
    for c in plan.chips:
        r = c.estimate
        if r is None:
            table.add_row(safe_text(c.chip), "-", "-", "-", "-", "-", "-", "-", "-", "-", safe_text(c.reason or ""))
            continue
        lay = r.layout
        table.add_row(
            safe_text(r.chip) + ("" if r.calibrated else " ~"),
            replica_text(lay, r.chips_per_replica),
            str(lay["batch"]),
            safe_text(f"{lay['weight_precision']}/{lay['kv_precision']}"),
            f"{r.ttft_s:.3f}",
            f"{r.tpot_s * 1000:.1f}",
            f"{r.throughput_tokens_per_s_per_chip:,.0f}",
            _money(r.usd_per_million_output_tokens),
            _money(r.usd_per_million_input_tokens),
            f"{r.joules_per_output_token:.2f}",
            "-" if r.chips_needed is None else f"{r.chips_needed:,}",
        )
    console.print(table)
    for r in (c.estimate for c in plan.chips if c.estimate is not None and c.estimate.bands):
        b = r.bands or {}
        tpot, tput = b["tpot_s"], b["throughput_tokens_per_s_per_chip"]
        console.print(
            f"{safe_text(r.chip)}: to expect, P10-P90: TPOT {tpot['p10'] * 1000:.1f}-{tpot['p90'] * 1000:.1f} ms, "
            f"{tput['p10']:,.0f}-{tput['p90']:,.0f} tok/s/chip (errors of such predictions on {b['runs']} published "
            "runs never fitted)"
        )
    split = [c for c in plan.chips if c.estimate is not None and c.disaggregated is not None]
    if split:
        console.print(_disaggregated_table(plan, split))
    for r in (c.estimate for c in plan.chips if c.estimate is not None and c.estimate.choices):
        console.print(f"{safe_text(r.chip)}, why this layout:")
        for line in r.choices:
            console.print(f"  {safe_text(line)}")
    if job.traffic_tokens_per_day is not None:
        console.print(f"traffic: {count_text(job.traffic_tokens_per_day)} output tokens/day")
    console.print("~ uncalibrated chip family (cross-chip default efficiency); $ at the catalog's on-demand price")


def replica_text(layout: Mapping[str, Any], chips: int) -> str:
    """The replica in words, with its chip count when that is not tp x pp."""
    text = replica_words(layout)
    return text if chips == int(layout["tp"]) * int(layout["pp"]) else f"{text} = {chips}"


def _disaggregated_table(plan: ServingResult, chips: list[ChipServing]) -> Any:
    table = new_table("Disaggregated prefill/decode (separate pools, KV cache sent over the scale-out network)")
    for col in (
        "chip",
        "prefill\nreplica",
        "decode\nreplica",
        "batch",
        "prefill\n/decode",
        "TTFT\ns",
        "TPOT\nms",
        "tok/s\n/chip",
        "$/M\nout",
        "$/M\nin",
        "vs co-\nlocated",
        "chips\nneeded",
    ):
        table.add_column(col, justify="left" if col == "chip" else "right", no_wrap=True, vertical="bottom")
    for c in chips:
        d, co = c.disaggregated, c.estimate
        assert d is not None and co is not None
        pre, dec = d.prefill_layout, d.decode_layout
        table.add_row(
            safe_text(c.chip) + ("" if co.calibrated else " ~"),
            replica_text(pre, int(pre["tp"]) * int(pre["pp"]) * max(int(pre.get("ep", 1)) // int(pre["tp"]), 1)),
            replica_text(dec, int(dec["tp"]) * int(dec["pp"]) * max(int(dec.get("ep", 1)) // int(dec["tp"]), 1)),
            str(dec["batch"]),
            f"{d.prefill_chips_per_decode_chip:.2f}",
            f"{d.ttft_s:.3f}",
            f"{d.tpot_s * 1000:.1f}",
            f"{d.throughput_tokens_per_s_per_chip:,.0f}",
            _money(d.usd_per_million_output_tokens),
            _money(d.usd_per_million_input_tokens),
            f"{(d.throughput_tokens_per_s_per_chip / co.throughput_tokens_per_s_per_chip - 1) * 100:+.0f}%",
            "-" if d.chips_needed is None else f"{d.chips_needed:,}",
        )
    return table


def sample_lines(sampled: dict[str, Any]) -> list[str]:
    """``serve --samples``: per chip, P50 with the P10-P90 band of $/Mtok, tokens/s per chip and TPOT."""
    lines = [
        f"Monte Carlo, {sampled['samples']:,} draws per chip (seed {sampled['seed']}): model error, catalog ranges"
    ]
    for chip, b in sampled["bands"].items():
        usd, rate, tpot = b["usd_per_million_output_tokens"], b["throughput_tokens_per_s_per_chip"], b["tpot_s"]
        if rate["p50"] is None:
            lines.append(f"  {chip}: no replica meets the targets in any draw")
            continue
        cost = (
            f"${usd['p50']:.3f}/Mtok (P10 {usd['p10']:.3f}, P90 {usd['p90']:.3f})"
            if usd["p50"] is not None
            else "$/Mtok: no catalog price"
        )
        lines.append(
            f"  {chip}: {cost}; "
            f"{rate['p50']:,.0f} tok/s/chip (P10 {rate['p10']:,.0f}, P90 {rate['p90']:,.0f}); "
            f"TPOT {tpot['p50'] * 1000:.1f} ms (P10 {tpot['p10'] * 1000:.1f}, P90 {tpot['p90'] * 1000:.1f})"
        )
    return lines


def load_lines(rows: list[dict[str, Any]]) -> list[str]:
    """``serve --arrival-rate`` / ``--p99-ttft-ms``: each chip's replica under Poisson arrivals."""
    lines = ["Under load (Poisson arrivals per replica; prefill before the next decode step; analytic queue):"]
    for r in rows:
        if "arrivals_per_s" in r:
            if not r["stable"]:
                lines.append(f"  {r['chip']}: {r['arrivals_per_s']:g} req/s saturate the replica (latency unbounded)")
            else:
                lines.append(
                    f"  {r['chip']}: at {r['arrivals_per_s']:g} req/s: TTFT P50 {r['ttft_p50_s'] * 1000:,.0f} ms, "
                    f"P99 {r['ttft_p99_s'] * 1000:,.0f} ms; TPOT P50 {r['tpot_p50_s'] * 1000:.1f} ms, "
                    f"P99 {r['tpot_p99_s'] * 1000:.1f} ms; decode batch {r['mean_batch']:.1f} of {r['batch_limit']}"
                )
        if "slo_arrivals_per_s" in r:
            usd = r["slo_usd_per_million_output_tokens"]
            cost = f", ${usd:.3f}/Mtok at that load" if usd is not None else ""
            lines.append(
                f"  {r['chip']}: keeps the P99 targets up to {r['slo_arrivals_per_s']:.3g} req/s per replica "
                f"({r['slo_output_tokens_per_s_per_chip']:,.0f} output tok/s per chip{cost})"
            )
    return lines
