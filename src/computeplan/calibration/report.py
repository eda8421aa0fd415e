"""Render validation results as the Markdown of docs/ACCURACY.md (training and serving sections). Presentation only.

Both sections share the summary table, the per-family parameter table (its columns named per model below) and the
per-row table; the text around them is each model's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from computeplan.calibration.loso import LosoResult
from computeplan.calibration.validate import ErrorSummary, RowResult, summarize
from computeplan.catalog.efficiency_schema import EfficiencyTable, FamilyFit, ParameterSpace
from computeplan.catalog.kernels import builtin_kernels
from computeplan.hardware.efficiency import BORROWS_FROM, PRIOR, TRAINING_SPACE
from computeplan.perf.layout import describe_layout

Column = tuple[str, Callable[[Mapping[str, Any]], str]]  # header, and the cell from a family's values

TRAINING_COLUMNS: tuple[Column, ...] = (
    ("realized share of the matmul plateau", lambda p: f"{p['realized_fraction']:.3f}"),
    ("publications", lambda p: str(p.get("sources", "-"))),
)
PINNED_TRAINING_PARAMETERS = (
    "matmul_plateau",
    "matmul_half_dim",
    "attention_relative",
    "fp8_matmul_relative",
    "network_efficiency",
    "dp_overlap",
    "memory_efficiency",
)
SERVING_COLUMNS: tuple[Column, ...] = (
    ("HBM efficiency (decode)", lambda p: f"{p['memory_efficiency']:.2f}"),
    ("prefill efficiency", lambda p: f"{p['prefill_efficiency']:.2f}"),
    ("step overhead ms", lambda p: f"{1000 * p['step_overhead_s']:.2f}"),
)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def loso_lines(loso: LosoResult) -> list[str]:
    """The leave-one-source-out headline: median, 90th percentile and worst, overall, per family, per source."""
    lines = [
        "| rows | set | predicted | median abs error % | 90th percentile % | worst % |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def line(kind: str, name: str, s: ErrorSummary) -> str:
        return (
            f"| {kind} | {name} | {s.predicted} of {s.count} | {_fmt(s.median_abs_error_pct, 3)} | "
            f"{_fmt(s.p90_abs_error_pct, 3)} | {_fmt(s.max_abs_error_pct, 3)} |"
        )

    lines.append(line("all", "every row", loso.summary))
    lines += [line("chip family", name, s) for name, s in loso.by_family.items()]
    lines += [line("source", f"`{name}`", s) for name, s in loso.by_source.items()]
    return lines


LOSO_TEXT = (
    "Each row is predicted by parameters fitted only on the rows of the *other* publications (per chip family where",
    "the other publications hold enough runs of it, else a borrowed or the cross-chip fit, and the row says so); a",
    "searched layout is chosen with that fold's parameters. A publication is the first citation of the `source`",
    "column: an arXiv paper, a GitHub repository (any commit), or a URL",
    "(`computeplan.calibration.publications.publication`). This is the error to expect on runs the project has",
    "never seen.",
)


def loso_section(loso: LosoResult | None, title: str) -> list[str]:
    """The LOSO heading, its explanation and table (nothing when not measured)."""
    if loso is None:
        return []
    return [f"## {title}: leave one source out (headline)", "", *LOSO_TEXT, "", *loso_lines(loso), ""]


def summary_lines(rows: Sequence[RowResult], held_out: set[str]) -> list[str]:
    """The held out / fitted / all table of row counts and errors with the shipped tables."""
    fit_rows = [r for r in rows if r.id not in held_out]
    held_rows = [r for r in rows if r.id in held_out]
    lines = ["| set | rows | median abs error % | max abs error % |", "| --- | --- | --- | --- |"]
    sets = (
        ("held out (every 4th row; secondary)", held_rows),
        ("fitted (in-sample)", fit_rows),
        ("all (three in four in-sample)", rows),
    )
    for name, subset in sets:
        s = summarize(subset)
        lines.append(
            f"| {name} | {s.predicted} of {s.count} | {_fmt(s.median_abs_error_pct, 3)} | "
            f"{_fmt(s.max_abs_error_pct, 3)} |"
        )
    return lines


def _entries(table: EfficiencyTable | Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(family, values with 'rows') for each family, then the cross-chip default; typed or as read from YAML."""
    if isinstance(table, EfficiencyTable):
        for family, fit in table.families.items():
            yield family, fit.to_dict()
        yield "cross-chip default", table.default.to_dict() if table.default else {}
        return
    yield from table.get("families", {}).items()
    yield "cross-chip default", table.get("default", {})


def parameter_lines(
    table: EfficiencyTable | Mapping[str, Any], columns: Sequence[Column], space: ParameterSpace | None = None
) -> list[str]:
    """One row per chip family (and the cross-chip default) with its fitted parameters; with ``space``, the
    parameters that sit on a bound of the fit."""
    bound_header = (" at a bound |", " --- |") if space is not None else ("", "")
    lines = [
        "| family | " + " | ".join(h for h, _ in columns) + " | fit rows |" + bound_header[0],
        "| --- | " + " | ".join("---" for _ in columns) + " | --- |" + bound_header[1],
    ]
    for family, p in _entries(table):
        cells = " | ".join(cell(p) for _, cell in columns)
        bounds = ""
        if space is not None:
            at = FamilyFit(values={n: float(p[n]) for n in space.names if n in p}).at_bounds(space)
            bounds = f" {', '.join(at) or 'none'} |"
        lines.append(f"| {family} | {cells} | {p.get('rows', '-')} |{bounds}")
    return lines


def holdout_lines(table: EfficiencyTable | Mapping[str, Any]) -> list[str]:
    """The leave-one-family-out error of the cross-chip default: what to expect for an uncalibrated chip."""
    holdout = table.family_holdout if isinstance(table, EfficiencyTable) else table.get("family_holdout", {})
    if not holdout:
        return []

    def cells(err: Any) -> tuple[Any, Any, Any]:
        if isinstance(err, Mapping):
            return err["rows"], err["median_pct"], err["p90_pct"]
        return err.rows, err.median_pct, err.p90_pct

    lines = [
        "",
        "## Chips without calibration runs: leave one family out",
        "",
        "Each family's runs predicted by the cross-chip default fitted on the other families' runs (the shipped fit",
        "rows): the error to expect for an uncalibrated chip (Trainium today, MI300, Gaudi), and what its",
        "predictions say.",
        "",
        "| family left out | rows | median abs error % | 90th percentile % |",
        "| --- | --- | --- | --- |",
    ]
    for name, err in holdout.items():
        rows, median, p90 = cells(err)
        lines.append(f"| {'every family' if name == 'all' else name} | {rows} | {median:g} | {p90:g} |")
    return lines


def band_lines(table: EfficiencyTable | Mapping[str, Any] | None) -> list[str]:
    """The prediction intervals every training prediction carries: the leave-one-source-out time error per chip
    family and per calibration status (``computeplan.calibration.bands``)."""
    bands = table.prediction_error if isinstance(table, EfficiencyTable) else {}
    if not bands:
        return []
    lines = [
        "",
        "## Prediction intervals",
        "",
        "Every training prediction carries the P10/P50/P90 of the step time to expect: the leave-one-source-out",
        "errors of the predicted time (a rate's error turned into its time's) of its chip family when that family is",
        "calibrated, else of all predictions with its calibration status (`computeplan train` prints them; JSON",
        "`step_time_band_s`). Negative: predicted too fast.",
        "",
        "| predictions | runs | P10 error % | P50 error % | P90 error % |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {n} | {b.rows} | {b.p10_pct:+.1f} | {b.p50_pct:+.1f} | {b.p90_pct:+.1f} |" for n, b in bands.items()]
    return lines


def pinned_lines() -> list[str]:
    """The training parameters that are not fitted: the cross-family value and the families' microbenchmark pins."""
    kernels = builtin_kernels()
    lines = ["| parameter | value | pinned per family (catalog/data/kernels.yaml) |", "| --- | --- | --- |"]
    for name in PINNED_TRAINING_PARAMETERS:
        per_family = ", ".join(f"{family} {values[name]:g}" for family, values in kernels.items() if name in values)
        lines.append(f"| `{name}` | {getattr(PRIOR, name):g} | {per_family or '-'} |")
    return lines


def row_lines(
    rows: Sequence[RowResult],
    held_out: set[str],
    *,
    layout_header: str,
    layout: Callable[[Mapping[str, Any]], str],
    joiner: str,
    loso: LosoResult | None = None,
) -> list[str]:
    """One row per measured run: set, chip, metric, measured, predicted, error (and the leave-one-source-out
    error when given), and the layout (or the reason)."""
    extra = ("| LOSO error % ", "| --- ") if loso is not None else ("", "")
    by_id = {r.id: r for r in loso.rows} if loso is not None else {}
    lines = [
        f"| id | set | chip | metric | measured | predicted | error % {extra[0]}| {layout_header} |",
        f"| --- | --- | --- | --- | --- | --- | --- {extra[1]}| --- |",
    ]
    for r in rows:
        shown = layout(r.layout) if r.layout else (r.reason or "")
        filled = f" ({joiner.join(r.filled)})" if r.filled else ""
        error = "-" if r.error_pct is None else f"{r.error_pct:+.1f}"
        if loso is not None:
            other = by_id.get(r.id)
            error += " | -" if other is None or other.error_pct is None else f" | {other.error_pct:+.1f}"
        lines.append(
            f"| {r.id} | {'held out' if r.id in held_out else 'fit'} | {r.chip} | {r.metric} | "
            f"{_fmt(r.measured)} | {_fmt(r.predicted)} | {error} | {shown}{filled} |"
        )
    return lines


def accuracy_markdown(
    rows: Sequence[RowResult],
    held_out: set[str],
    table: EfficiencyTable | Mapping[str, Any] | None,
    *,
    source: str,
    command: str,
    loso: LosoResult | None = None,
) -> str:
    """The training section of docs/ACCURACY.md (its head): the leave-one-source-out headline when given, then
    the every-fourth-row split, then the in-sample error."""
    lines = [
        "# Accuracy",
        "",
        f"<!-- generated by `{command}`; do not edit by hand -->",
        "",
        f"Training-step model against the published measured runs in `{source}`. Each row is predicted with the",
        "row's layout; a field the source did not report takes the documented default of the row's `framework`",
        "(`src/computeplan/catalog/data/frameworks.yaml`, each default with its source) where it can run, and is",
        "otherwise searched for the fastest layout that fits; the per-row table names the fields filled either way,",
        "and the JSON of `computeplan validate` also gives the fastest-layout prediction (never used to fit). The",
        "error is (predicted - measured) / measured. `tflops_per_chip` rows are compared with the source's own FLOP",
        "accounting reimplemented (Megatron-LM `num_floating_point_operations` and MaxText both count",
        "6 P_mm + 12 L s N H per token, attention non-causal); step-time and tokens/s rows need no accounting.",
        "",
        *loso_section(loso, "Training"),
        "## Training: the shipped tables (every fourth row held out; the rest in-sample)",
        "",
        "Every fourth row of each source (in id order) is held out of the shipped fit: never used to fit. Rows of",
        "the same publication share its setup, so this is a weaker test than leaving the source out. Fitted rows",
        "are in-sample.",
        "",
        *summary_lines(rows, held_out),
    ]
    if table:
        lines += [
            "",
            "## Fitted parameters per chip family",
            "",
            "One parameter is fitted per chip family: the share of the family's microbenchmarked matmul plateau that",
            "a training step realizes (the matmuls run at e_max = plateau x realized share; the plateau is pinned per",
            "family below, so a family without runs of its own keeps its own plateau). A family is fitted only",
            "on at least 3 runs from at least 2 publications; its chips are then **calibrated**. A family without",
            "such a fit **borrows** the fit of the family it descends from, named in every prediction ("
            + "; ".join(f"{family} from {' or '.join(lenders)}" for family, lenders in BORROWS_FROM.items())
            + "), else takes the cross-chip default and is **uncalibrated** (Trainium today: its three public runs",
            "come from one publication).",
            "",
            *parameter_lines(table, TRAINING_COLUMNS, TRAINING_SPACE),
            "",
            "The other parameters are pinned, not fitted: by microbenchmarks where the family has them, else the",
            "cross-family value (sources in `src/computeplan/hardware/efficiency.py` and `catalog/data/kernels.yaml`).",
            "",
            *pinned_lines(),
            *holdout_lines(table),
            *band_lines(table),
        ]
    lines += ["", "## Per row", ""]
    lines += row_lines(
        rows,
        held_out,
        layout_header="layout (blank fields filled: framework default, else searched)",
        layout=describe_layout,
        joiner=", ",
        loso=loso,
    )
    return "\n".join(lines) + "\n"


def inference_markdown(
    rows: Sequence[RowResult],
    held_out: set[str],
    table: EfficiencyTable | Mapping[str, Any] | None,
    *,
    source: str,
    loso: LosoResult | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> str:
    """The serving section of docs/ACCURACY.md (the leave-one-source-out headline first when given); rows of the
    file that could not be used are listed with their reasons at the end."""
    lines = [
        "",
        "# Serving model",
        "",
        f"Inference model against the published serving runs in `{source}`. A row's `num_chips` may hold several",
        "replicas; blank tp, pp or weight precision are searched for the highest throughput (or lowest latency for",
        "latency metrics) that fits; MLPerf llama2-70b rows take their request lengths from catalog facts (the",
        "input length is an estimate). A blank batch is the saturated continuous-batching point. A batch given to a",
        "continuous-batching framework (`catalog/data/serving_frameworks.yaml`) is a closed loop of that many",
        "staggered requests, each paying for the others' prefills; to a static one (Transformers NeuronX), or for an",
        "`e2e_latency_s` of a batch, one batch sent at once. A row's `ep` spreads the experts over ep chips with",
        "data-parallel attention (blank: experts split by tp, the frameworks' default).",
        "",
        *loso_section(loso, "Serving"),
        "## Serving: the shipped tables (every fourth row held out; the rest in-sample)",
        "",
        *summary_lines(rows, held_out),
    ]
    if table:
        lines += ["", *parameter_lines(table, SERVING_COLUMNS)]
    lines += [""]
    lines += row_lines(
        rows,
        held_out,
        layout_header="layout (searched)",
        layout=lambda layout: ", ".join(f"{k}={v}" for k, v in layout.items()),
        joiner="; ",
        loso=loso,
    )
    if skipped:
        lines += [
            "",
            f"Rows not used ({len(skipped)}), each with its reason:",
            "",
            "| line or id | reason |",
            "| --- | --- |",
            *(f"| {where} | {why.replace('|', '/')} |" for where, why in skipped),
        ]
    return "\n".join(lines) + "\n"
