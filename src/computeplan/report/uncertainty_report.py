"""A Monte Carlo plan for a reader: P50 with its P10-P90 band for each main figure beside the plan of the file's own
values, how often each option is chosen, the three inputs that move the answer most, and (HTML) fan charts of the
yearly series and a tornado chart. Words and formatting only: the numbers come from :mod:`computeplan.fleet.sweep`."""

from __future__ import annotations

import html
import math

from computeplan.fleet.compare import FIGURES, plan_figures
from computeplan.fleet.results import PlanResult
from computeplan.fleet.sweep import SweepResult
from computeplan.report import safe_text
from computeplan.report.compare_report import LABELS, figure_text
from computeplan.report.svg import band_chart, tornado_chart

TOP_INPUTS = 3


def summary_lines(sweep: SweepResult, point: PlanResult) -> list[str]:
    """The answers of the sweep in words: draws, what moves the answer, which options are chosen how often."""
    ok = len(sweep.ok)
    lines = [
        f"Monte Carlo: {len(sweep.draws):,} draws of {len(sweep.design.inputs)} uncertain inputs (Latin hypercube, "
        f"seed {sweep.seed}, backend {sweep.backend}); {ok:,} solved."
    ]
    p10, p50, p90 = sweep.bands(["npv_usd"])[["p10", "p50", "p90"]].to_numpy(float)[0]
    lines.append(
        f"Net present value P50 {figure_text('npv_usd', p50)} (P10 {figure_text('npv_usd', p10)}, "
        f"P90 {figure_text('npv_usd', p90)}); the file's own values give "
        f"{figure_text('npv_usd', point.totals.npv_usd)}."
    )
    top = sweep.tornado().head(TOP_INPUTS)
    if len(top):
        named = "; ".join(f"{name} (rank correlation {value:+.2f})" for name, value in top.items())
        lines.append(f"The {len(top)} inputs that move the net present value most: {named}.")
    chosen = sweep.choice_probability()
    lines.append("Chosen in: " + "; ".join(f"{option} {p:.0%} of draws" for option, p in chosen.items()) + ".")
    return lines


def band_rows(sweep: SweepResult, point: PlanResult) -> list[list[str]]:
    """figure, P10, P50, P90, the point plan's value."""
    bands = sweep.bands(list(FIGURES))
    own = plan_figures(point)
    table = bands[["p10", "p50", "p90"]].to_numpy(float)
    return [
        [LABELS.get(f, f), *(figure_text(f, float(v)) for v in table[i]), figure_text(f, own[f])]
        for i, f in enumerate(FIGURES)
    ]


def to_dict(sweep: SweepResult, point: PlanResult, out: str | None) -> dict[str, object]:
    """JSON-ready: each figure as {p10, p50, p90, point}; yearly series per period; choice probabilities; the
    rank correlation of each input with the net present value; where the draws are."""

    def num(value: float) -> float | None:
        return None if not math.isfinite(value) else float(value)

    bands = sweep.bands(list(FIGURES))
    own = plan_figures(point)
    series = {}
    for name in ("power_w", "spend_usd", "training_flop", "tokens_served"):
        frame = sweep.series(name)
        values = frame[["p10", "p50", "p90"]].to_numpy(float)
        series[name] = {
            str(p): dict(zip(("p10", "p50", "p90"), map(num, row), strict=True))
            for p, row in zip(frame.index, values, strict=True)
        }
    table = bands[["p10", "p50", "p90"]].to_numpy(float)
    return {
        "samples": len(sweep.draws),
        "solved": len(sweep.ok),
        "seed": sweep.seed,
        "backend": sweep.backend,
        "inputs": [
            {"name": i.name, "kind": i.kind, "form": i.form, "params": list(i.params)} for i in sweep.design.inputs
        ],
        "figures": {
            f: {**dict(zip(("p10", "p50", "p90"), map(num, table[i]), strict=True)), "point": num(own[f])}
            for i, f in enumerate(FIGURES)
        },
        "series": series,
        "choice_probability": {str(k): float(v) for k, v in sweep.choice_probability().items()},
        "tornado_npv": [{"input": str(k), "rank_correlation": float(v)} for k, v in sweep.tornado().items()],
        "draws_file": out,
    }


def print_sweep(sweep: SweepResult, point: PlanResult) -> None:
    from computeplan.report import console as report_console
    from computeplan.report import table as report_table

    console = report_console()
    for line in summary_lines(sweep, point):
        console.print(f"- {safe_text(line)}")
    table = report_table("P10 / P50 / P90 over the draws (and the plan of the file's values)")
    for i, h in enumerate(("figure", "P10", "P50", "P90", "file's values")):
        table.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for row in band_rows(sweep, point):
        table.add_row(*(safe_text(c) for c in row))
    console.print(table)


def sweep_html(sweep: SweepResult, point: PlanResult) -> str:
    """An HTML section: the answers, the band table, fan charts of power and spend, the tornado."""
    head = "".join(f"<th>{h}</th>" for h in ("figure", "P10", "P50", "P90", "file's values"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in band_rows(sweep, point)
    )
    charts = []
    for name, title, scale, unit in (
        ("power_w", "Facility power drawn, P10-P90 (GW)", 1e9, "GW"),
        ("spend_usd", "Spend per year, P10-P90 ($B)", 1e9, "$B"),
    ):
        frame = sweep.series(name)
        band = tuple(list(frame[q] / scale) for q in ("p10", "p50", "p90"))
        charts.append(band_chart(title, [str(p) for p in frame.index], {name.split("_")[0]: band}, y_label=unit))  # type: ignore[dict-item]
    tornado = sweep.tornado().head(12)
    if len(tornado):
        charts.append(
            tornado_chart(
                "What moves the net present value (rank correlation over the draws)",
                {str(k): float(v) for k, v in tornado.items()},
                x_label="rank correlation with the net present value",
            )
        )
    answers = "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(sweep, point))
    return (
        f'<h2>Uncertainty</h2><ul class="headline">{answers}</ul>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{''.join(charts)}"
    )
