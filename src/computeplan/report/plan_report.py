"""The fleet plan as a self-contained HTML page (inline SVG charts, no external files) and as rich tables."""

from __future__ import annotations

import html
from typing import Any

from computeplan.report.svg import bar_chart

STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
.headline li{margin:.3em 0}.warn{color:#a33}.chart{display:block;margin:12px 0}"""


def _price(binding: dict[str, Any]) -> str:
    value = binding["shadow_price_usd_billion"]
    return "-" if value is None else f"{value:.3g}"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plan_html(result: Any, catalog: Any) -> str:
    sc = result.scenario
    periods = result.periods
    labels = [p["period"] for p in periods]
    chip_labels = list(periods[0]["chips"]) if periods else []
    charts = [
        bar_chart(
            "Chips in service by generation",
            labels,
            {c: [p["chips"][c] for p in periods] for c in chip_labels},
            y_label="chips",
        ),
        bar_chart(
            "Power drawn vs cap (GW)",
            labels,
            {"drawn": [p["power_w"] / 1e9 for p in periods]},
            y_label="GW",
            line=("cap", [p["power_cap_w"] / 1e9 for p in periods]),
        ),
        bar_chart(
            "Spend by category vs budget ($B)",
            labels,
            {
                k: [p["spend_breakdown_usd"][k] / 1e9 for p in periods]
                for k in ("cloud_rent", "chips_capex", "energy", "facilities")
            },
            y_label="$B",
            line=("yearly budget", [b / 1e9 for b in (sc.money.budget_per_year_usd or [])])
            if sc.money.budget_per_year_usd
            else None,
        ),
        bar_chart(
            "Training compute delivered (1e27 FLOP)",
            labels,
            {"training": [p["training_flop"] / 1e27 for p in periods]},
            y_label="1e27 FLOP",
            line=(
                "frontier run size",
                [sum(r["frontier_run_flop"] for r in p["training_runs"]) / 1e27 for p in periods],
            ),
        ),
        bar_chart(
            "Tokens served vs demanded (1e15 output tokens)",
            labels,
            {
                "served": [p["tokens_served"] / 1e15 for p in periods],
                "demanded": [p["tokens_demanded"] / 1e15 for p in periods],
            },
            y_label="1e15 tokens",
            stacked=False,
        ),
    ]
    binding = _table(
        ["constraint", "where", "shadow price", "unit"],
        [[b["constraint"], b["where"], _price(b), b["unit"]] for b in result.binding[:40]],
    )
    period_rows = [
        [
            p["period"],
            *(f"{p['chips'][c]:,.0f}" for c in chip_labels),
            f"{p['power_w'] / 1e9:.2f}",
            f"{p['spend_usd'] / 1e9:.1f}",
            f"{p['training_flop']:.2e}",
            f"{p['tokens_served']:.2e}",
            "-" if p["usd_per_million_tokens"] is None else f"{p['usd_per_million_tokens']:.3f}",
        ]
        for p in periods
    ]
    periods_table = _table(["period", *chip_labels, "GW", "spend $B", "training FLOP", "tokens", "$/Mtok"], period_rows)
    assumptions = []
    for option in sc.chips:
        chip = catalog.chip(option.chip)
        assumptions.append(
            [
                f"chip {option.chip} ({option.mode})",
                f"{option.first_year}-{option.last_year}, supply {option.supply_per_year:,.0f}/yr, "
                f"{option.lifetime_years:g}-year term, discount {option.committed_discount:.0%}, "
                f"price {option.price_usd_per_hour or 'catalog'} $/h; {option.about.note}",
                f"catalog: {chip.bf16_flops_per_s.source} ({chip.bf16_flops_per_s.confidence.value})",
            ]
        )
    for job in sc.training:
        assumptions.append(
            [
                f"training {job.model}",
                f"run {job.run_flop.first or 0:.1e} FLOP x{job.run_flop.growth}/yr, "
                f"value {job.value_usd_per_flop:g} $/FLOP; {job.about.note}",
                job.about.source,
            ]
        )
    for serve in sc.inference:
        assumptions.append(
            [
                f"serving {serve.model}",
                f"{serve.tokens_per_day.first or 0:.1e} tok/day "
                f"x{serve.tokens_per_day.growth}/yr, {serve.input_len}+{serve.output_len} tokens, TPOT "
                f"{serve.tpot_ms} ms, value {serve.value_usd_per_million_tokens} $/Mtok",
                serve.about.source,
            ]
        )
    assumptions.append(
        [
            "power",
            f"caps {[round(w / 1e9, 2) for w in sc.power.available_w]} GW, PUE {sc.power.pue}; {sc.power.about.note}",
            sc.power.about.source,
        ]
    )
    assumptions.append(
        [
            "money",
            f"commitment ${sc.money.commitment_usd / 1e9:,.0f}B, discount rate "
            f"{sc.money.discount_rate:.0%}; {sc.money.about.note}",
            sc.money.about.source,
        ]
    )
    rates = _table(
        ["workload", "chip", "per chip-hour", "detail"],
        [
            [
                r["workload"],
                r["chip"],
                f"{r.get('flop_per_chip_hour', r.get('tokens_per_chip_hour', 0)):.3e}",
                f"MFU {r['mfu']:.2f}, goodput {r['goodput']:.2f}" if "mfu" in r else str(r.get("layout", "")),
            ]
            for r in result.inputs.rates_table
        ],
    )
    warnings = "".join(f'<li class="warn">{html.escape(w)}</li>' for w in result.warnings + result.inputs.notes)
    headline = "".join(f"<li>{html.escape(line)}</li>" for line in result.headline)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(sc.name)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(sc.name)}</h1>
<p>{html.escape(sc.description)}</p>
<h2>Answers</h2><ul class="headline">{headline}{warnings}</ul>
<h2>Charts</h2>{"".join(charts)}
<h2>Binding constraints and shadow prices</h2>{binding}
<h2>Year by year</h2>{periods_table}
<h2>What a chip-hour delivers (from the performance models)</h2>{rates}
<h2>Assumptions and sources</h2>{_table(["item", "assumption", "source"], assumptions)}
<p>Generated by computeplan. Objective: {html.escape(sc.objective)}.</p>
</body></html>
"""


def print_plan(result: Any) -> None:
    from rich.table import Table

    from computeplan.report import console as report_console

    console = report_console()
    console.print(f"[bold]{result.scenario.name}[/bold]")
    for line in result.headline:
        console.print(f"- {line}")
    for warning in result.warnings + result.inputs.notes:
        console.print(f"[red]! {warning}[/red]")
    chips = list(result.periods[0]["chips"]) if result.periods else []
    table = Table(title="Year by year", title_justify="left")
    for col in ("period", *chips, "GW", "spend $B", "training FLOP", "tokens served", "$/Mtok"):
        table.add_column(col, justify="left" if col == "period" else "right")
    for p in result.periods:
        table.add_row(
            p["period"],
            *(f"{p['chips'][c]:,.0f}" for c in chips),
            f"{p['power_w'] / 1e9:.2f}",
            f"{p['spend_usd'] / 1e9:.1f}",
            f"{p['training_flop']:.2e}",
            f"{p['tokens_served']:.2e}",
            "-" if p["usd_per_million_tokens"] is None else f"{p['usd_per_million_tokens']:.3f}",
        )
    console.print(table)
    binding = Table(title="Binding constraints (shadow prices)", title_justify="left")
    for col in ("constraint", "where", "shadow price", "unit"):
        binding.add_column(col)
    for b in result.binding[:12]:
        binding.add_row(b["constraint"], b["where"], _price(b), b["unit"])
    console.print(binding)
