"""Plans side by side, for a reader: a terminal table and one self-contained HTML page (inline SVG, no external
files) with the headline figures, each plan's difference from the first, charts of power and spend per year, and
each plan's answers. Words and formatting only: the figures come from :mod:`computeplan.fleet.compare`."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from computeplan.catalog.loader import Catalog
from computeplan.fleet.compare import Comparison
from computeplan.report import safe_text
from computeplan.report.plan_answers import answers, count, gw, usd
from computeplan.report.plan_report import STYLE, plan_title
from computeplan.report.svg import bar_chart

LABELS = {
    "spend_usd": "spend (undiscounted)",
    "npv_usd": "net present value",
    "value_pv_usd": "value (present value)",
    "cost_pv_usd": "cost (present value)",
    "unspent_commitment_usd": "commitment paid for nothing",
    "usd_per_w_year": "spend per facility watt-year",
    "average_power_w": "average power",
    "peak_power_w": "peak power",
    "fill_cost_usd": "cost of drawing all power available (from its peak year)",
    "peak_chips": "chips in service at the peak",
    "owned_share": "owned share of chip-years",
    "training_flop": "training compute",
    "tokens_served": "output tokens served",
    "token_share_served": "share of token demand served",
    "unmet_tokens": "unmet token demand",
}


def figure_text(name: str, value: float, *, signed: bool = False) -> str:
    """One figure in readable units: $12.3B, 4.25 GW, 1.2M chips, 35%, 3.7e+29 FLOP."""
    if math.isnan(value):
        return "-"
    sign = "+" if signed and value > 0 else ""
    if name == "usd_per_w_year":
        return f"{sign}{'-' if value < 0 else ''}${abs(value):,.2f}"
    if name.endswith("_usd"):
        return sign + usd(value)
    if name.endswith("_w"):
        return sign + gw(value)
    if name in ("owned_share", "token_share_served"):
        return f"{sign}{value * 100:,.0f}{' points' if signed else '%'}"
    if name == "peak_chips":
        return sign + count(value)
    return f"{sign}{value:.2e}"


def comparison_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: one row per figure, one column per plan, then each later plan's difference."""
    names = list(comparison.names)
    headers = ["figure", *names, *(f"{n} minus first" for n in names[1:])]
    rows = []
    for figure in comparison.figures.index:
        figures = comparison.figures.loc[figure]
        differences = comparison.differences.loc[figure]
        values = [figure_text(str(figure), float(figures[n])) for n in names]
        deltas = [figure_text(str(figure), float(differences[n]), signed=True) for n in names[1:]]
        rows.append([LABELS.get(figure, figure), *values, *deltas])
    return headers, rows


def print_comparison(comparison: Comparison) -> None:
    from computeplan.report import console as report_console
    from computeplan.report import table as report_table

    console = report_console()
    headers, rows = comparison_rows(comparison)
    table = report_table("Plans side by side")
    for i, h in enumerate(headers):
        table.add_column(safe_text(h), justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*(safe_text(c) for c in row))
    console.print(table)
    for name, result in zip(comparison.names, comparison.results, strict=True):
        binding = ", ".join(sorted(set(result.binding["constraint"]))) or "none"
        console.print(f"- {safe_text(name)}: binding {safe_text(binding)}")


def comparison_html(comparison: Comparison, catalog: Catalog | None = None) -> str:
    """One page: the table, charts of facility power and spend per year (one bar group per plan), then each plan's
    answers."""
    headers, rows = comparison_rows(comparison)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    first = comparison.results[0]
    labels = [str(p) for p in first.periods.index]
    same_years = all([str(p) for p in r.periods.index] == labels for r in comparison.results)
    charts = ""
    if same_years:
        pairs = list(zip(comparison.names, comparison.results, strict=True))
        power: dict[str, Sequence[float]] = {n: (r.periods["power_w"] / 1e9).tolist() for n, r in pairs}
        spend: dict[str, Sequence[float]] = {n: (r.periods["spend_usd"] / 1e9).tolist() for n, r in pairs}
        charts = bar_chart(
            "Facility power drawn per plan (GW)", labels, power, y_label="GW", stacked=False
        ) + bar_chart("Spend per year per plan ($B)", labels, spend, y_label="$B", stacked=False)
    sections = "".join(
        f'<h2>{html.escape(name)}</h2><p>{html.escape(plan_title(result))}</p><ul class="headline">'
        + "".join(f"<li>{html.escape(line)}</li>" for line in answers(result, catalog))
        + "".join(f'<li class="warn">{html.escape(w)}</li>' for w in result.warnings)
        + "</ul>"
        for name, result in zip(comparison.names, comparison.results, strict=True)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Plans compared</title><style>{STYLE}</style></head>
<body>
<h1>Plans compared</h1>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Per year</h2>{charts or "<p>The plans cover different years; see each plan's own report.</p>"}
{sections}
<p>Generated by computeplan compare.</p>
</body></html>
"""
