"""``computeplan compare``: plans side by side (and the sweep behind ``plan --vary``). Registered on the main
application by :mod:`computeplan.cli.app`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from computeplan.cli.options import (
    CatalogOption,
    DebugOption,
    JsonOption,
    cli_catalog,
    guard_output,
    parse_set_options,
    print_json,
    progress_bar,
    require_path,
)

if TYPE_CHECKING:
    from computeplan.catalog.loader import Catalog
    from computeplan.fleet.results import PlanResult


def compare(
    scenarios: Annotated[list[str], typer.Argument(metavar="SCENARIO.yaml...", help="two or more scenario files")],
    html_out: Annotated[
        str | None, typer.Option("--html", help="write one self-contained HTML page comparing the plans")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override a field in every scenario, e.g. money.discount_rate=0.1")
    ] = None,
    backend: Annotated[str, typer.Option(help="where plans run: local (a process pool) or ray")] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="--backend local: processes [default: CPU count]")] = None,
    address: Annotated[str | None, typer.Option(help="--backend ray: the cluster's HOST:PORT [default: local]")] = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Plans side by side: spend, net present value, power, chips, training, tokens, and each one's difference
    from the first (the flagship set: scenarios/cloud-commitment-100b-5gw.yaml, portfolio-diversified.yaml,
    own-build.yaml)."""
    for path in scenarios:
        require_path(path, "SCENARIO.yaml")
    run_comparison(
        [(p, parse_set_options(set_)) for p in scenarios],
        names=[Path(p).stem for p in scenarios],
        html_out=html_out,
        catalog=catalog,
        json_out=json_out,
        backend={"backend": backend, "workers": workers, "address": address},
    )


def run_comparison(
    plans: Sequence[tuple[str, dict[str, str]]],
    *,
    names: Sequence[str] | None,
    html_out: str | None,
    catalog: list[str] | None,
    json_out: bool,
    backend: dict[str, Any] | None = None,
) -> None:
    """Solve each (scenario file, overrides) on ``backend`` (a local process pool by default, or Ray), then print,
    write and/or emit the comparison."""
    from computeplan.estimate.efficiency import as_efficiency_tables
    from computeplan.files import write_atomic
    from computeplan.fleet.compare import compare_plans
    from computeplan.fleet.scenario import load_scenario
    from computeplan.fleet.sweep import plan_many
    from computeplan.report import safe_text

    if html_out is not None:
        require_path(html_out, "--html")
    files = list(dict.fromkeys(p for p, _ in plans))
    inputs = guard_output(html_out, what="report", catalog=catalog, files=files, efficiency=True) if html_out else []
    cat = cli_catalog(catalog)
    scenarios = [load_scenario(path, overrides) for path, overrides in plans]  # every file checked before planning
    if not json_out and sys.stderr.isatty():
        sys.stderr.write(f"\r\033[Kplanning {len(scenarios)} plans ...")
        sys.stderr.flush()
    results = plan_many(scenarios, cat, as_efficiency_tables(None), **(backend or {}))
    if not json_out and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    comparison = compare_plans(results, names)
    if html_out:
        from computeplan.report.compare_report import comparison_html

        write_atomic(html_out, comparison_html(comparison, cat), inputs=inputs, what="report")
    if json_out:
        print_json({**comparison.to_dict(), "html": html_out})
        return
    from computeplan.report.compare_report import print_comparison

    print_comparison(comparison)
    if html_out:
        typer.echo(f"wrote {safe_text(html_out, markup=False)}")


def run_monte_carlo(
    point: PlanResult,
    scenario: str,
    overrides: dict[str, str],
    catalog: Catalog,
    samples: int,
    options: dict[str, Any],
    report: str | None,
    inputs: list[Path],
    json_out: bool,
) -> None:
    """``plan --samples N``: the draws with a progress bar, then the bands (terminal, JSON, or the report)."""
    from computeplan.files import write_atomic
    from computeplan.fleet.sweep import monte_carlo
    from computeplan.report import safe_text
    from computeplan.report.uncertainty_report import print_sweep, sweep_html, to_dict

    out = options.pop("out")
    if out is not None:
        from computeplan.files import check_output_path

        require_path(out, "--out")
        check_output_path(out, inputs=[scenario], what="draws file")
    with progress_bar("planning draws") as progress:
        sweep = monte_carlo(
            scenario,
            samples=samples,
            overrides=overrides,
            catalog=catalog,
            out=out,
            progress=progress if not json_out else None,
            **options,
        )
    if report:
        from computeplan.report.plan_report import plan_html

        write_atomic(report, plan_html(point, catalog, sweep_html(sweep, point)), inputs=inputs, what="report")
    if json_out:
        print_json({**to_dict(sweep, point, out), "report": report})
        return
    print_sweep(sweep, point)
    for path in (out, report):
        if path:
            typer.echo(f"wrote {safe_text(path, markup=False)}")
