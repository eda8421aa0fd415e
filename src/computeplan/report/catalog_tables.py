"""Tables and JSON for catalog entries. Presentation only: numbers come from the catalog and workload specs."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from computeplan.catalog.loader import Catalog
from computeplan.catalog.schema import CatalogEntry, Confidence, FactEntry, ModelEntry, Sourced
from computeplan.report import console as report_console
from computeplan.report import fit_columns, safe_text
from computeplan.report import table as new_table
from computeplan.units import Dimension, format_quantity
from computeplan.workload import TransformerSpec

_MARK = {Confidence.SPEC: "", Confidence.ANNOUNCED: "†", Confidence.ESTIMATE: "~"}
LEGEND = "† announced (vendor claim, not yet verified)   ~ estimate (third party or computeplan; see `show`)"


def _console() -> Console:
    return report_console()


def _num(q: Sourced | FactEntry | None, scale: float, fmt: str = "{:,.0f}") -> str:
    if q is None:
        return "-"
    return fmt.format(q.value / scale) + _MARK[q.confidence]


def entry_json(catalog: Catalog, kind: str, entry: CatalogEntry) -> dict[str, Any]:
    """An entry as JSON (SI values, with sources), plus the file it came from and derived figures."""
    data: dict[str, Any] = {"kind": kind[:-1], **entry.model_dump(mode="json", exclude_none=True)}
    data["origin"] = catalog.origin(kind, entry.id)
    if isinstance(entry, ModelEntry):
        spec = TransformerSpec.from_entry(entry)
        data["computed_params"] = spec.param_count()
        data["computed_active_params"] = spec.param_count(active_only=True)
    return data


def _note_dropped(console: Console, dropped: list[str]) -> None:
    if dropped:
        names = ", ".join(d.replace("\n", " ") for d in dropped)
        console.print(f"[dim]not shown at this width: {names} (see --json or a wider $COLUMNS)[/dim]")


def print_chips(catalog: Catalog) -> None:
    table = new_table("Chips: dense peak TFLOP/s per chip; scale-up (up) and scale-out (out) per direction")
    for col in (
        "id",
        "vendor",
        "year",
        "bf16",
        "fp8",
        "fp4",
        "HBM\nGB",
        "HBM\nTB/s",
        "power\nW",
        "up\nGB/s",
        "up\nchips",
        "out\nGb/s",
        "price\n$/h",
        "status",
    ):
        left = col in ("id", "vendor", "status")
        table.add_column(col, justify="left" if left else "right", no_wrap=True, vertical="bottom")
    for c in catalog.chips.values():
        table.add_row(
            safe_text(c.id),
            safe_text(c.vendor.split(" ")[0]),
            _num(c.year_available, 1, "{:.0f}"),
            _num(c.bf16_flops_per_s, 1e12),
            _num(c.fp8_flops_per_s, 1e12),
            _num(c.fp4_flops_per_s, 1e12),
            _num(c.hbm_bytes, 1e9),
            _num(c.hbm_bytes_per_s, 1e12, "{:.2f}"),
            _num(c.power_w, 1),
            _num(c.scaleup_bytes_per_s, 1e9),
            _num(c.scaleup_domain_chips, 1),
            _num(c.scaleout_bytes_per_s, 1e9 / 8),
            _num(c.price_usd_per_hour, 1, "{:.2f}"),
            safe_text(c.status.value),
        )
    console = _console()
    dropped = fit_columns(console, table, ["vendor", "year", "fp4"])
    console.print(table)
    console.print(LEGEND)
    _note_dropped(console, dropped)


def print_systems(catalog: Catalog) -> None:
    table = new_table("Systems: per chip and per direction; scale-up (up) domain and scale-out (out) network")
    for col in (
        "id",
        "chip",
        "up\nchips",
        "up\ntopology",
        "up\nGB/s",
        "up\nlat. us",
        "out\ntopology",
        "out\nGb/s",
        "out\nlat. us",
        "host\nW/chip",
    ):
        left = col in ("id", "chip") or col.endswith("topology")
        table.add_column(col, justify="left" if left else "right", no_wrap=True, vertical="bottom")
    for s in catalog.systems.values():
        chip = catalog.chip(s.chip)
        up = s.scaleup_bytes_per_s or chip.scaleup_bytes_per_s
        out = s.scaleout_bytes_per_s or chip.scaleout_bytes_per_s
        table.add_row(
            safe_text(s.id),
            safe_text(s.chip),
            _num(s.scaleup_domain_chips, 1),
            safe_text(s.scaleup_topology.value),
            _num(up, 1e9),
            _num(s.scaleup_latency_s, 1e-6, "{:.1f}"),
            safe_text(s.scaleout_topology.value),
            _num(out, 1e9 / 8),
            _num(s.scaleout_latency_s, 1e-6, "{:.1f}"),
            _num(s.host_power_w_per_chip, 1),
        )
    console = _console()
    dropped = fit_columns(console, table, ["host\nW/chip", "up\nlat. us", "out\nlat. us"])
    console.print(table)
    console.print(LEGEND)
    _note_dropped(console, dropped)


def print_models(catalog: Catalog) -> None:
    table = new_table("Models: parameters computed from the architecture")
    for col in (
        "id",
        "L",
        "D",
        "heads/kv",
        "F",
        "mlp",
        "V",
        "T",
        "attn",
        "experts",
        "params",
        "active",
        "stated",
    ):
        left = col in ("id", "mlp", "attn")
        table.add_column(col, justify="left" if left else "right", no_wrap=True, vertical="bottom")
    for m in catalog.models.values():
        spec = TransformerSpec.from_entry(m)
        experts = (
            f"{m.moe.experts}/top-{m.moe.top_k}" + (f"+{m.moe.shared_experts}" if m.moe.shared_experts else "")
            if m.moe
            else "-"
        )
        stated = f"{m.stated_params / 1e9:,.1f}B" if m.stated_params else "-"
        table.add_row(
            safe_text(m.id),
            str(m.layers),
            f"{m.hidden:,}",
            f"{m.heads}/{m.kv_heads}",
            f"{m.ffn_hidden:,}",
            safe_text(m.mlp),
            f"{m.vocab:,}",
            f"{m.seq_len:,}",
            safe_text(m.attention.value),
            experts,
            f"{spec.param_count() / 1e9:,.1f}B",
            f"{spec.param_count(active_only=True) / 1e9:,.1f}B",
            stated,
        )
    console = _console()
    dropped = fit_columns(console, table, ["stated", "mlp", "attn"])
    console.print(table)
    _note_dropped(console, dropped)


def print_facts(catalog: Catalog) -> None:
    table = new_table("Facts: datacenter and market")
    table.add_column("id", no_wrap=True)
    for col in ("value", "name", "date"):
        table.add_column(col, overflow="fold")
    for f in catalog.facts.values():
        table.add_row(safe_text(f.id), safe_text(f.human()) + _MARK[f.confidence], safe_text(f.name), safe_text(f.date))
    console = _console()
    console.print(table)
    console.print(LEGEND)


def print_entry(catalog: Catalog, kind: str, entry: CatalogEntry) -> None:
    console = _console()
    origin = catalog.origin(kind, entry.id)
    console.print(
        f"[bold]{safe_text(entry.name)}[/bold]  ({kind[:-1]} '{safe_text(entry.id)}', from {safe_text(origin)})"
    )
    if isinstance(entry, ModelEntry):
        _print_model(console, entry)
        return
    if isinstance(entry, FactEntry):
        console.print(safe_text(f"{entry.human()}  ({entry.confidence.value}, {entry.date})  {entry.source}"))
        if entry.note:
            console.print(safe_text(entry.note))
        for alt in entry.alternatives:
            alt_text = format_quantity(alt.value, entry.dimension)
            console.print(safe_text(f"alternative: {alt_text} ({alt.confidence.value}, {alt.date}) {alt.source}"))
        return
    table = new_table()
    table.add_column("field", no_wrap=True)
    for col in ("value", "confidence", "date", "source"):
        table.add_column(col, overflow="fold")
    for name, value in entry:
        if isinstance(value, Sourced):
            table.add_row(
                name, safe_text(value.human()), value.confidence.value, safe_text(value.date), safe_text(value.source)
            )
            if value.note:
                table.add_row("", f"[dim]{safe_text(value.note)}[/dim]", "", "", "")
            for alt in value.alternatives:
                table.add_row(
                    "",
                    f"alt: {format_quantity(alt.value, value.dimension)}",
                    alt.confidence.value,
                    safe_text(alt.date),
                    safe_text(alt.source),
                )
        elif value is not None and name not in ("id", "name"):
            table.add_row(name, safe_text(getattr(value, "value", value)), "", "", "")
    console.print(table)


def _print_model(console: Console, m: ModelEntry) -> None:
    spec = TransformerSpec.from_entry(m)
    table = new_table()
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in m:
        if value is None or name in ("id", "name"):
            continue
        if hasattr(value, "model_dump"):
            value = ", ".join(f"{k}={v}" for k, v in value.model_dump().items())
        table.add_row(name, safe_text(getattr(value, "value", value)))
    table.add_row("computed params", format_quantity(spec.param_count(), Dimension.COUNT, digits=4))
    table.add_row(
        "computed active params",
        format_quantity(spec.param_count(active_only=True), Dimension.COUNT, digits=4),
    )
    console.print(table)
