"""The fleet plan in words and tables: the headline answers, a self-contained HTML page (inline SVG charts, no
external files) and rich tables for the terminal. All prose about a plan is built here, from the plan's tables."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.fleet.lp import Constraint
from computeplan.fleet.results import PlanResult
from computeplan.report import fits, safe_text
from computeplan.report.plan_answers import REFERENCE_RUN_NAME, answers, reference_run_flop
from computeplan.report.svg import PALETTE, bar_chart

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
.headline li{margin:.3em 0}.warn{color:#a33}.chart{display:block;margin:12px 0}"""

SPEND_CATEGORIES = {"cloud rent": "rent_usd", "chips bought": "capex_usd", "energy": "energy_usd"}  # chart series
HEADLINE_OPTIONS = 8  # options named in the headline's chip-years; the rest are summed
HTML_OPTIONS = 12  # option columns of the HTML year-by-year table; the rest are summed into one column
OPTIONAL_COLUMNS = ["$/Mtok", "tokens served", "training FLOP", "GW"]  # dropped first, in this order, to fit


def plan_title(result: PlanResult) -> str:
    """The scenario's name, with the overrides applied to it: ``name (overrides: money.discount_rate=0.12)``."""
    name = result.scenario.name
    if not result.overrides:
        return name
    return f"{name} (overrides: {', '.join(f'{k}={v}' for k, v in result.overrides)})"


def _where(row: pd.Series) -> str:
    """Where a binding constraint binds, for a reader: the period, and the option for a supply cap."""
    if row["constraint"] == Constraint.SUPPLY and row["about"]:
        return f"{row['about']} {row['period']}"
    return str(row["period"])


def _unpriced_note(result: PlanResult) -> str:
    if result.scenario.money.commitment_usd > 0:
        return "at its limit; not priced separately (the commitment pins total spend)"
    return "at its limit; not priced separately (another constraint carries the price)"


def headline(result: PlanResult, catalog: Catalog | None = None) -> list[str]:
    """The plan's answers in plain words, most important first (:func:`computeplan.report.plan_answers.answers`)."""
    return answers(result, catalog)


def _chip_years_text(chip_years: pd.Series) -> str:
    """``trn2 (rent): 1.20M, trn3 (rent): 0.40M``: the options that bought any chips, in the scenario's order; past
    :data:`HEADLINE_OPTIONS`, the ones with the most chip-years and the others summed."""
    bought = chip_years[chip_years > 0.5]
    if bought.empty:
        return "none"
    shown = bought
    if len(bought) > HEADLINE_OPTIONS:
        top = set(bought.sort_values(ascending=False, kind="stable").index[:HEADLINE_OPTIONS])
        shown = bought[[label in top for label in bought.index]]
    text = ", ".join(f"{label}: {cy / 1e6:,.2f}M" for label, cy in shown.items())
    rest = bought.drop(shown.index)
    if len(rest):
        text += f" and {len(rest):,} other options: {rest.sum() / 1e6:,.2f}M"
    return text


def _number(value: float, spec: str) -> str:
    """``value`` formatted with ``spec``, never as a negative zero ('-0', '-0.00')."""
    text = format(value, spec)
    if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
        return text[1:]
    return text


def _binding_rows(result: PlanResult, limit: int) -> list[list[str]]:
    rows = []
    for _, b in result.binding.head(limit).iterrows():
        price = b["shadow_price"]
        priced = not math.isnan(price)
        rows.append(
            [
                str(b["constraint"]),
                _where(b)
                if b["constraint"] == Constraint.SUPPLY
                else " ".join(x for x in (b["about"], b["period"]) if x),
                f"{price:,.4g}" if priced else "-",
                str(b["unit"]) if priced else _unpriced_note(result),
            ]
        )
    return rows


def chips_in_service(result: PlanResult) -> pd.DataFrame:
    """Chips in service, period x option, the options in the scenario's order."""
    chips: pd.DataFrame = result.fleet["chips_in_service"].unstack("option")[list(result.inputs.labels)]
    return chips


def fold_options(chips: pd.DataFrame, keep: int) -> pd.DataFrame:
    """``chips`` (period x option) with only the ``keep`` options of most chip-years as columns, in their order,
    and the others summed into one last column, ``N other options``; unchanged when it has at most ``keep``."""
    if len(chips.columns) <= keep:
        return chips
    years = chips.sum()
    top = set(years.sort_values(ascending=False, kind="stable").index[:keep])
    kept = [c for c in chips.columns if c in top]
    rest = [c for c in chips.columns if c not in top]
    folded = chips[kept].copy()
    folded[f"{len(rest):,} other options"] = chips[rest].sum(axis=1)
    return folded


def _period_rows(result: PlanResult, chips: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The year-by-year table: chips in service per column of ``chips``, then power, spend, work and the limit."""
    headers = [
        "period",
        *(str(c) for c in chips.columns),
        "GW",
        "spend $B",
        "training FLOP",
        "tokens served",
        "$/Mtok",
        "limited by",
    ]
    rows = []
    counts = chips.loc[result.periods.index].to_numpy()
    for t, (period, p) in enumerate(result.periods.iterrows()):
        mtok = p["usd_per_million_tokens"]
        rows.append(
            [
                str(period),
                *(_number(n, ",.0f") for n in counts[t].tolist()),
                _number(p["power_w"] / 1e9, ".2f"),
                _number(p["spend_usd"] / 1e9, ".1f"),
                _number(p["training_flop"], ".2e"),
                _number(p["tokens_served"], ".2e"),
                "-" if math.isnan(mtok) else _number(mtok, ".3f"),
                str(p["limited_by"]),
            ]
        )
    return headers, rows


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(result: PlanResult, catalog: Catalog | None = None) -> list[str]:
    sc, p = result.scenario, result.periods
    labels = [str(x) for x in p.index]
    chips = fold_options(chips_in_service(result), len(PALETTE) - 1)  # one colour per series
    spend: dict[str, Sequence[float]] = {
        name: (p[column] / 1e9).tolist()
        for name, column in [
            *SPEND_CATEGORIES.items(),
            ("facilities", "facilities_usd"),
            ("unspent commitment", "unspent_commitment_usd"),
        ]
        if (p[column] > 0).any()  # no legend entry for a category that is zero throughout
    }
    reference = reference_run_flop(catalog)
    scale, unit = (reference, f"{REFERENCE_RUN_NAME}-equivalents") if reference else (1e27, "1e27 FLOP")
    charts = [
        bar_chart(
            "Chips in service by generation",
            labels,
            {str(c): list(chips.loc[p.index, c]) for c in chips.columns if (chips[c] > 0).any()},
            y_label="chips",
        ),
        bar_chart(
            "Power drawn vs power available (GW)",
            labels,
            {"drawn": list(p["power_w"] / 1e9)},
            y_label="GW",
            line=("available", list(p["effective_cap_w"] / 1e9)),
        ),
        bar_chart(
            "Spend by category vs budget ($B)",
            labels,
            spend or {"spend": [0.0] * len(labels)},
            y_label="$B",
            line=("yearly budget", [b / 1e9 for b in sc.money.budget_per_year_usd])
            if sc.money.budget_per_year_usd
            else None,
        ),
    ]
    if len(result.training):
        charts.append(
            bar_chart(
                f"Training compute delivered ({unit})",
                labels,
                {"training": list(p["training_flop"] / scale)},
                y_label=unit,
            )
        )
    if len(result.serving):
        charts.append(
            bar_chart(
                "Tokens served vs demanded (1e15 output tokens)",
                labels,
                {"served": list(p["tokens_served"] / 1e15), "demanded": list(p["tokens_demanded"] / 1e15)},
                y_label="1e15 tokens",
                stacked=False,
            )
        )
    return charts


def layout_text(layout: Mapping[str, object]) -> str:
    """A serving layout in words: ``tp 1, pp 2, batch 256, fp8 weights, fp8 KV cache``."""
    words = {"weight_precision": "weights", "kv_precision": "KV cache"}
    shown = {k: v for k, v in layout.items() if not (k == "ep" and v == 1)}  # ep 1: no expert parallelism
    parts = [f"{v} {words[k]}" if k in words else f"{k} {v}" for k, v in shown.items()]
    return ", ".join(parts)


def _assumptions(result: PlanResult, catalog: Catalog) -> list[list[str]]:
    sc = result.scenario
    rows = []
    for contract in sc.contracts:
        capacity = f", capacity {[round(w / 1e9, 2) for w in contract.capacity_w]} GW" if contract.capacity_w else ""
        rows.append(
            [
                f"contract {contract.name}",
                f"commitment ${contract.commitment_usd / 1e9:,.0f}B"
                + (" take-or-pay" if contract.take_or_pay else " to spend on chips")
                + f"{capacity}; {contract.about.note}",
                contract.about.source,
            ]
        )
    for label, option in zip(result.inputs.labels, sc.chips, strict=True):
        chip = catalog.chip(option.chip)
        installed = (
            f"{option.installed.chips:,.0f} installed until {option.installed.until_year}; "
            if option.installed is not None
            else ""
        )
        rows.append(
            [
                f"chip option {label}" + (f" (contract {option.contract})" if option.contract else ""),
                f"{installed}{option.first_year}-{option.last_year}, supply {option.supply_per_year:,.0f}/yr, "
                f"{option.lifetime_years:g}-year term, discount {option.committed_discount:.0%}, "
                f"price {option.price_usd_per_hour or 'catalog'} $/h; {option.about.note}",
                f"catalog: {chip.bf16_flops_per_s.source} ({chip.bf16_flops_per_s.confidence.value})",
            ]
        )
    for job in sc.training:
        rows.append(
            [
                f"training {job.model}",
                f"run {job.run_flop.first or 0:.1e} FLOP x{job.run_flop.growth}/yr, "
                f"value {job.value_usd_per_flop:g} $/FLOP; {job.about.note}",
                job.about.source,
            ]
        )
    for serve in sc.inference:
        rows.append(
            [
                f"serving {serve.model}",
                f"{serve.tokens_per_day.first or 0:.1e} tok/day "
                f"x{serve.tokens_per_day.growth}/yr, {serve.input_len}+{serve.output_len} tokens, TPOT "
                f"{serve.tpot_ms} ms, value {serve.value_usd_per_million_tokens} $/Mtok",
                serve.about.source,
            ]
        )
    rows.append(
        [
            "power",
            f"caps {[round(w / 1e9, 2) for w in sc.power.available_w]} GW, PUE {sc.power.pue}; {sc.power.about.note}",
            sc.power.about.source,
        ]
    )
    rows.append(
        [
            "money",
            f"commitment ${sc.money.commitment_usd / 1e9:,.0f}B, discount rate "
            f"{sc.money.discount_rate:.0%}; {sc.money.about.note}",
            sc.money.about.source,
        ]
    )
    for path, dist in sc.uncertain.items():
        values = getattr(dist, dist.form)
        weights = f" (weights {dist.weights})" if dist.weights else ""
        rows.append(
            [f"uncertain {path}", f"{dist.form} {values}{weights}", dist.about.source or "plan --samples draws it"]
        )
    for path, value in result.overrides:
        rows.append([f"override {path}", value, "set for this plan"])
    return rows


def _rate_rows(result: PlanResult) -> list[list[str]]:
    rows = []
    for r in result.inputs.rates:
        per_hour = r.flop_per_chip_hour if r.flop_per_chip_hour is not None else r.tokens_per_chip_hour or 0.0
        if r.mfu is not None:
            detail = f"MFU {r.mfu:.2f} (against the peak of the precision it runs at); goodput: see the answers"
        else:
            detail = layout_text(r.layout or {})
        rows.append([r.workload, r.option, f"{per_hour:.3e}", r.calibration, detail])
    return rows


def plan_html(result: PlanResult, catalog: Catalog, extra: str = "") -> str:
    """The plan as one self-contained page; ``extra`` is HTML put after the charts (the uncertainty section)."""
    sc = result.scenario
    title = html.escape(plan_title(result))
    binding = _table(["constraint", "where", "shadow price", "unit"], _binding_rows(result, 40))
    periods_table = _table(*_period_rows(result, fold_options(chips_in_service(result), HTML_OPTIONS)))
    rates = _table(["workload", "option", "per chip-hour", "chip calibration", "detail"], _rate_rows(result))
    warnings = "".join(f'<li class="warn">{html.escape(w)}</li>' for w in result.warnings)
    answer_items = "".join(f"<li>{html.escape(line)}</li>" for line in headline(result, catalog))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{html.escape(sc.description)}</p>
<h2>Answers</h2><ul class="headline">{answer_items}{warnings}</ul>
<h2>Charts</h2>{"".join(_charts(result, catalog))}{extra}
<h2>Binding constraints and shadow prices</h2>{binding}
<h2>Year by year</h2>{periods_table}
<h2>What a chip-hour delivers (from the performance models)</h2>{rates}
<h2>Assumptions and sources</h2>{_table(["item", "assumption", "source"], _assumptions(result, catalog))}
<p>Generated by computeplan. Objective: {html.escape(sc.objective)}.</p>
</body></html>
"""


def print_plan(result: PlanResult, catalog: Catalog | None = None) -> None:
    """The plan on the terminal: title, headline, warnings, the year-by-year table and the binding constraints.

    Every table fits the console: the year-by-year table drops its optional columns, then sums the chip options
    with the fewest chip-years into one column, rather than cut a number, a period or an id."""
    from computeplan.report import console as report_console
    from computeplan.report import table as report_table

    console = report_console()
    console.print(f"[bold]{safe_text(plan_title(result))}[/bold]")
    for line in headline(result, catalog):
        console.print(f"- {safe_text(line)}")
    for warning in result.warnings:
        console.print(f"[red]! {safe_text(warning)}[/red]")
    table, dropped, folded = _year_by_year(console, result)
    console.print(table)
    if folded:
        console.print(f"({folded:,} options with the fewest chip-years summed in one column to fit; --json has each)")
    if dropped:
        console.print(f"(hidden to fit the terminal: {', '.join(dropped)}; --json has every figure)")
    binding = report_table("Binding constraints (shadow prices)")
    for col in ("constraint", "where", "shadow price", "unit"):
        binding.add_column(col, overflow="fold")
    for row in _binding_rows(result, 12):
        binding.add_row(*(safe_text(cell) for cell in row))
    console.print(binding)


def _year_by_year(console: Console, result: PlanResult) -> tuple[Table, list[str], int]:
    """The year-by-year table at the console's width, the optional columns it drops and the options it folds.

    Tries every option as its own column; while the table is too wide, first drops :data:`OPTIONAL_COLUMNS`,
    then keeps fewer options (those of most chip-years), the rest summed in one column."""
    from computeplan.report import fit_columns

    chips = chips_in_service(result)
    options = len(chips.columns)

    def attempt(keep: int) -> tuple[Table, list[str], bool]:
        table = _period_table(result, fold_options(chips, keep))
        dropped = fit_columns(console, table, OPTIONAL_COLUMNS)
        return table, dropped, fits(console, table)

    # the most options kept as columns that fit, by bisection (a column of chips is at least 6 characters wide)
    low, high = 0, min(options, max(console.width // 6, 1))
    best = attempt(high)
    if not best[2]:
        best = attempt(0)
        while high - low > 1:
            middle = (low + high) // 2
            trial = attempt(middle)
            if trial[2]:
                low, best = middle, trial
            else:
                high = middle
        high = low
    table, dropped, _ = best
    return table, dropped, options - high if high < options else 0


def _period_table(result: PlanResult, chips: pd.DataFrame) -> Table:
    """The year-by-year rich table; an option's label may break before its '(mode)', nothing else wraps but the
    last column (the limit), which folds rather than being cut."""
    from computeplan.report import table as report_table

    headers, rows = _period_rows(result, chips)
    table = report_table("Year by year")
    options = {str(c) for c in chips.columns}
    for col in headers:
        header = safe_text(col).replace(" (", "\n(") if col in options else safe_text(col)
        last = col == "limited by"
        table.add_column(
            header,
            justify="left" if col in ("period", "limited by") else "right",
            no_wrap=not last,
            overflow="fold",
            vertical="bottom",
        )
    for row in rows:
        table.add_row(*(safe_text(cell) for cell in row))
    return table
