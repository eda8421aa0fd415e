"""The typer application and its commands. Heavy modules are imported inside commands, so ``--help`` is fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from computeplan import __version__
from computeplan.cli.options import (
    CatalogOption,
    DebugOption,
    JsonOption,
    ProfileOption,
    cli_catalog,
    guard_output,
    json_records,
    parse_set_options,
    print_json,
    progress_bar,
    require_path,
    split_list,
    with_profile,
)

if TYPE_CHECKING:
    from computeplan.catalog.loader import Catalog

app = typer.Typer(
    name="computeplan",
    help="Plan AI compute from first principles: chips, models, training, serving and fleets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"computeplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Plan AI compute from first principles: chips, models, training, serving and fleets.

    Catalog: chips, systems, models, facts, show. Training: train, goodput. Serving: serve. Fleet: plan.
    Accuracy: validate, calibrate.
    Every command takes --json.
    """


@app.command()
def chips(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the accelerator chips in the catalog (dense peak FLOP/s, memory, power, links, price)."""
    from computeplan.report import catalog_tables

    cat = cli_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "chips", c) for c in cat.chips.values()])
    else:
        catalog_tables.print_chips(cat)


@app.command()
def systems(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the systems: how chips are packaged (scale-up domain) and networked (scale-out)."""
    from computeplan.report import catalog_tables

    cat = cli_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "systems", s) for s in cat.systems.values()])
    else:
        catalog_tables.print_systems(cat)


@app.command()
def models(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List the model architectures, with parameter counts computed from them."""
    from computeplan.report import catalog_tables

    cat = cli_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "models", m) for m in cat.models.values()])
    else:
        catalog_tables.print_models(cat)


@app.command()
def facts(catalog: CatalogOption = None, json_out: JsonOption = False, debug: DebugOption = False) -> None:
    """List datacenter and market facts: PUE, electricity prices, facility capex, depreciation, deal terms."""
    from computeplan.report import catalog_tables

    cat = cli_catalog(catalog)
    if json_out:
        print_json([catalog_tables.entry_json(cat, "facts", f) for f in cat.facts.values()])
    else:
        catalog_tables.print_facts(cat)


@app.command()
def show(
    kind: Annotated[str, typer.Argument(help="chip, system, model or fact")],
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="catalog id, e.g. trn2")],
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show one catalog entry with every number's source, date and confidence."""
    from computeplan.report import catalog_tables

    cat = cli_catalog(catalog)
    entry = cat.entry(kind, entry_id)
    plural = kind if kind.endswith("s") else kind + "s"
    if json_out:
        print_json(catalog_tables.entry_json(cat, plural, entry))
    else:
        catalog_tables.print_entry(cat, plural, entry)


@app.command()
def train(
    model: Annotated[str, typer.Option(help="catalog model id (see `computeplan models`) or a model YAML file")],
    chip: Annotated[str, typer.Option(help="catalog chip id (see `computeplan chips`) or a chip YAML file")],
    chips: Annotated[int, typer.Option(help="number of chips")],
    seq: Annotated[int | None, typer.Option(help="sequence length in tokens [default: the model's]")] = None,
    global_batch: Annotated[int | None, typer.Option(help="sequences per optimizer step")] = None,
    global_batch_tokens: Annotated[
        str | None, typer.Option(help="tokens per step, e.g. 16M (rounded to whole sequences) [default: 4M]")
    ] = None,
    tokens: Annotated[str | None, typer.Option(help="training tokens, e.g. 15.6T: adds time, energy and cost")] = None,
    layout: Annotated[
        str | None, typer.Option(help="price this layout instead of searching, e.g. tp=8,pp=16,cp=2,mb=1,zero=1")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="show the N fastest layouts")] = 1,
    system: Annotated[str | None, typer.Option(help="system id [default: the chip's usual system]")] = None,
    no_fp8: Annotated[bool, typer.Option("--no-fp8", help="search bf16 layouts only")] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override an architecture field, e.g. --set layers=64")
    ] = None,
    pue: Annotated[
        float | None, typer.Option(help="power usage effectiveness [default: catalog pue-hyperscale]")
    ] = None,
    no_failures: Annotated[
        bool, typer.Option("--no-failures", help="ignore interruptions (time to train at 100% goodput)")
    ] = False,
    framework: Annotated[
        str | None,
        typer.Option(
            help="training software, e.g. megatron-core, torchtitan, maxtext: prices its attention kernel and "
            "communication overlap (src/computeplan/catalog/data/frameworks.yaml) [default: flash attention, "
            "no overlap]"
        ),
    ] = None,
    profile: ProfileOption = None,
    samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=100_000,
            help="Monte Carlo: re-price the best layout this many times with the model's error and the chip's "
            "catalog ranges drawn; P10/P50/P90 of step time, tokens/s, MFU and time to train",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of --samples")] = 0,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Best parallel layout, step time, MFU, memory, and time/energy/cost to train a model on a cluster."""
    from computeplan import api
    from computeplan.errors import ComputeplanError, InvalidInput
    from computeplan.units import Dimension, parse_quantity

    if global_batch is not None and global_batch_tokens is not None:
        raise ComputeplanError(
            "--global-batch and --global-batch-tokens: give the batch in sequences or in tokens, not both"
        )
    batch_tokens = (
        parse_quantity(global_batch_tokens, Dimension.COUNT, field="--global-batch-tokens")
        if global_batch_tokens is not None
        else None
    )
    overrides = parse_set_options(set_)
    cat, tables = with_profile(cli_catalog(catalog), profile)
    try:
        result = api.train(
            model,
            chip,
            chips,
            seq_len=seq,
            global_batch=global_batch,
            global_batch_tokens=batch_tokens,
            tokens=parse_quantity(tokens, Dimension.COUNT, field="--tokens") if tokens is not None else None,
            layout=layout,
            top=top,
            system=system,
            allow_fp8=not no_fp8,
            overrides=overrides,
            catalog=cat,
            efficiency=tables,
            pue=pue,
            failures=not no_failures,
            framework=framework,
        )
    except InvalidInput as exc:
        if exc.field != "global_batch" or global_batch_tokens is None or batch_tokens is None:
            raise
        # the sequences come from the tokens the user gave: say so, in the user's terms
        raise InvalidInput(
            "global_batch_tokens", _too_many_sequences(global_batch_tokens, batch_tokens, seq, model, cat, overrides)
        ) from exc
    sampled = None
    if samples is not None:
        from computeplan.estimate.sampling import bands, sample_training

        draws = sample_training(result, cat, samples=samples, seed=seed)
        inputs = [c for c in draws.columns if c.startswith(("catalog range", "model error"))]
        sampled = {"samples": samples, "seed": seed, "inputs": inputs, "bands": bands(draws)}
    if json_out:
        from computeplan.report.goodput_text import goodput_json

        data = result.to_dict()
        data["goodput"] = (
            goodput_json(result.goodput, chip=result.cluster.chip_id) if result.goodput is not None else None
        )
        if sampled is not None:
            data["monte_carlo"] = sampled
        print_json(data)
    else:
        from computeplan.report import training_tables

        training_tables.print_training(result)
        if sampled is not None:
            for line in training_tables.sample_lines(sampled):
                typer.echo(line)


def _too_many_sequences(
    typed: str, tokens: float, seq: int | None, model: str, catalog: Catalog, overrides: dict[str, str]
) -> str:
    """Why ``--global-batch-tokens`` gives too large a batch: the sequences its tokens make at the sequence length."""
    from computeplan import api
    from computeplan.workload.jobs import MAX_GLOBAL_BATCH, sequences_for_tokens
    from computeplan.workload.overrides import override_spec

    if seq is None:
        spec = api.resolve_model(catalog, model)
        seq = (override_spec(spec, overrides) if overrides else spec).seq_len
    sequences = sequences_for_tokens(tokens, seq)
    return (
        f"{typed} tokens per step make {sequences:,} sequences of {seq:,} tokens, above the limit of "
        f"{MAX_GLOBAL_BATCH:,} sequences per step; give fewer tokens per step or a longer --seq"
    )


@app.command()
def validate(
    path: Annotated[str, typer.Argument(metavar="FILE.csv", help="measured runs (columns: docs/runs-schema.md)")],
    markdown: Annotated[
        bool, typer.Option("--markdown", help="print the docs/ACCURACY.md section instead (implies --loso)")
    ] = False,
    loso: Annotated[
        bool,
        typer.Option(
            "--loso/--no-loso",
            help="also predict each row with a fit that excluded its source: the headline accuracy on runs never "
            "fitted (seconds per hundred rows)",
        ),
    ] = True,
    profile: ProfileOption = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Predict each measured run (training or serving) with its own layout and report the error: first the
    leave-one-source-out error, the accuracy to expect on runs never fitted (--no-loso skips it), then the error of
    the shipped tables."""
    from computeplan import api

    require_path(path, "FILE.csv")
    cat, tables = with_profile(cli_catalog(catalog), profile)
    with progress_bar("predicting runs") as progress:
        report = api.validate(path, catalog=cat, efficiency=tables, progress=progress, loso=loso or markdown)
    if json_out:
        print_json(report.to_dict())
    elif markdown:
        from computeplan.calibration import report as accuracy
        from computeplan.estimate.efficiency import builtin_efficiency_tables

        table = builtin_efficiency_tables().table(report.kind)
        if report.kind == "inference":
            text = accuracy.inference_markdown(
                report.rows, report.held_out, table, source=path, loso=report.loso, skipped=report.skipped
            )
        else:
            text = accuracy.accuracy_markdown(
                report.rows, report.held_out, table, source=path, command="make accuracy", loso=report.loso
            )
        typer.echo(_printable_lines(text), nl=False)
    else:
        from computeplan.report import training_tables

        training_tables.print_validation(report, path)


@app.command()
def calibrate(
    path: Annotated[str, typer.Argument(metavar="FILE.csv", help="measured runs to fit on (held-out rows excluded)")],
    out: Annotated[str | None, typer.Option(help="write the table to this YAML file [default: print it]")] = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Fit the efficiency parameters of each chip family to measured runs."""
    import yaml

    from computeplan import api
    from computeplan.files import write_atomic
    from computeplan.report import safe_text

    require_path(path, "FILE.csv")
    if out is not None:
        require_path(out, "--out")
    inputs = guard_output(out, what="calibration table", catalog=catalog, files=[path], efficiency=False) if out else []
    with progress_bar("fitting") as progress:
        fitted = api.calibrate(path, catalog=cli_catalog(catalog), progress=progress)
    fields = {key: value for key, value in fitted.to_dict().items() if key != "generated_by"}
    table = {"generated_by": f"computeplan calibrate {path}", **fields}
    if json_out:
        print_json(table)
        return
    text = "# Fitted efficiency parameters per chip family (computeplan calibrate); do not edit by hand.\n"
    text += yaml.safe_dump(table, sort_keys=False)
    if out:
        write_atomic(out, text, inputs=inputs, what="calibration table")
        typer.echo(f"wrote {safe_text(out, markup=False)}")
    else:
        typer.echo(text, nl=False)


@app.command()
def serve(
    model: Annotated[str, typer.Option(help="catalog model id or a model YAML file")],
    chip: Annotated[str | None, typer.Option(help="catalog chip id or chip YAML file [default: trn2]")] = None,
    compare: Annotated[
        str | None, typer.Option(help="comma-separated chips to compare, e.g. h100-sxm,h200-sxm,b200,trn2")
    ] = None,
    input: Annotated[int, typer.Option("--input", min=0, help="prompt tokens per request")] = 2048,
    output: Annotated[int, typer.Option("--output", min=1, help="generated tokens per request")] = 256,
    tpot_ms: Annotated[float | None, typer.Option(help="target time per output token, ms")] = None,
    ttft_s: Annotated[float | None, typer.Option(help="target time to first token, s")] = None,
    traffic: Annotated[
        str | None, typer.Option(help="demand: 1e9tok/day, 20000tok/s or 50req/s (output tokens)")
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="allowed weight precisions, e.g. bf16,fp8 [default: all the chip runs]")
    ] = None,
    prefix_hit_rate: Annotated[float, typer.Option(help="prefix-cache hit rate of prompt tokens, 0..1")] = 0.0,
    speculative_tokens: Annotated[int, typer.Option(min=0, help="draft tokens per step (0 = off)")] = 0,
    acceptance_rate: Annotated[float, typer.Option(help="probability a draft token is accepted, 0..1")] = 0.0,
    pue: Annotated[float | None, typer.Option(help="power usage effectiveness [default: catalog]")] = None,
    utilization: Annotated[
        float, typer.Option(help="average fleet load vs saturated throughput, (0, 1]: scales $/token and chips")
    ] = 1.0,
    profile: ProfileOption = None,
    samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="Monte Carlo: search each chip again this many times with the model's error and the chip's "
            "catalog ranges drawn; P10/P50/P90 of tokens/s, $/Mtok, TPOT and TTFT",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of --samples")] = 0,
    arrival_rate: Annotated[
        float | None,
        typer.Option(
            min=1e-9, max=1e9, help="Poisson arrivals, requests/s per replica: P50/P99 TTFT and TPOT under load"
        ),
    ] = None,
    p99_ttft_ms: Annotated[
        float | None, typer.Option(min=0, help="P99 TTFT target, ms: the most requests/s a replica takes within it")
    ] = None,
    p99_tpot_ms: Annotated[float | None, typer.Option(min=0, help="P99 TPOT target under load, ms")] = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Cheapest serving layout per chip within latency targets: $/Mtok, J/token, chips for the traffic."""
    from computeplan import api
    from computeplan.errors import ComputeplanError

    if chip is not None and compare is not None:
        raise ComputeplanError(
            f"--chip and --compare: give one chip with --chip or several with --compare, not both "
            f"(to include {chip!r}, add it to --compare)"
        )
    chips = split_list(compare, "compare") or [chip or "trn2"]
    cat, tables = with_profile(cli_catalog(catalog), profile)
    result = api.serve(
        model,
        chips,
        input_len=input,
        output_len=output,
        tpot_s=tpot_ms / 1000 if tpot_ms is not None else None,
        ttft_s=ttft_s,
        traffic=traffic,
        weight_precisions=split_list(weights, "weight_precisions"),
        prefix_hit_rate=prefix_hit_rate,
        speculative_tokens=speculative_tokens,
        acceptance_rate=acceptance_rate,
        catalog=cat,
        efficiency=tables,
        pue=pue,
        utilization=utilization,
    )
    sampled = None
    if samples is not None:
        from computeplan.estimate.efficiency import as_efficiency_tables
        from computeplan.estimate.sampling import sample_serving, serving_bands

        draws = sample_serving(result, cat, as_efficiency_tables(tables), samples=samples, seed=seed)
        sampled = {"samples": samples, "seed": seed, "bands": serving_bands(draws)}
    loaded = None
    if arrival_rate is not None or p99_ttft_ms is not None or p99_tpot_ms is not None:
        from computeplan.estimate.efficiency import as_efficiency_tables
        from computeplan.estimate.serving_queue import under_load

        loaded = under_load(
            result,
            cat,
            as_efficiency_tables(tables),
            arrivals_per_s=arrival_rate,
            p99_ttft_s=p99_ttft_ms / 1000 if p99_ttft_ms is not None else None,
            p99_tpot_s=p99_tpot_ms / 1000 if p99_tpot_ms is not None else None,
        )
    if json_out:
        extra = {"monte_carlo": sampled} if sampled is not None else {}
        print_json({**result.to_dict(), **extra, **({"under_load": loaded} if loaded is not None else {})})
    else:
        from computeplan.report import serving_tables

        serving_tables.print_serving(result)
        if sampled is not None:
            for line in serving_tables.sample_lines(sampled):
                typer.echo(line)
        if loaded is not None:
            for line in serving_tables.load_lines(loaded):
                typer.echo(line)


@app.command()
def goodput(
    chips: Annotated[int, typer.Option(help="chips in the training job")],
    model: Annotated[
        str, typer.Option(help="catalog model id or YAML file (sets the checkpoint size)")
    ] = "llama3-405b",
    chip: Annotated[
        str,
        typer.Option(help="catalog chip id (failure rates per chip: those measured on H100 in Llama 3 training)"),
    ] = "h100-sxm",
    days: Annotated[float | None, typer.Option(help="wall-clock length of the run, days")] = None,
    async_checkpoint: Annotated[bool, typer.Option("--async-checkpoint", help="checkpoint asynchronously")] = False,
    no_hot_spares: Annotated[bool, typer.Option("--no-hot-spares", help="wait for repairs on failure")] = False,
    storage_gb_per_s: Annotated[
        float | None, typer.Option(help="checkpoint storage bandwidth per chip, GB/s [default: catalog]")
    ] = None,
    plot: Annotated[
        str | None, typer.Option(help="write a chart of goodput vs cluster size to this .png, .svg or .pdf file")
    ] = None,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Interruptions, job MTBF, optimal checkpoint interval and goodput of a large training job."""
    from computeplan import api

    if plot is not None:
        require_path(plot, "--plot")
        _check_plot_format(plot)
    inputs = guard_output(plot, what="plot", catalog=catalog, files=[model], efficiency=False) if plot else []
    cat = cli_catalog(catalog)
    cat.chip(chip)
    storage = storage_gb_per_s * 1e9 if storage_gb_per_s is not None else None
    options = {"asynchronous": async_checkpoint, "hot_spares": not no_hot_spares}
    est = api.goodput(model, chips, days=days, storage_bytes_per_s_per_chip=storage, catalog=cat, **options)
    if plot:
        sizes = sorted({1024, 4096, 16384, 65536, 131072, 262144, 524288, chips})
        points = [api.goodput(model, n, storage_bytes_per_s_per_chip=storage, catalog=cat, **options) for n in sizes]
        goodputs = [p.goodput for p in points]
        _write_goodput_plot(plot, inputs, sizes, goodputs, [p.job_mtbf_s for p in points], model=model)
    if json_out:
        from computeplan.report.goodput_text import goodput_json

        data = {**goodput_json(est, chip=chip), "chip": chip, "model": model, "plot": plot}
        print_json(data)
        return
    from computeplan.report import safe_text
    from computeplan.report.goodput_text import print_goodput

    print_goodput(est, model=model, chip=chip)
    if plot:
        typer.echo(f"wrote {safe_text(plot, markup=False)}")


def _check_plot_format(plot: str) -> None:
    """Refuse, before any work, a plot path whose extension is not a format the chart can be written in."""
    from computeplan.errors import ComputeplanError
    from computeplan.report.charts import PLOT_FORMATS

    suffix = Path(plot).suffix.lower()
    if suffix not in PLOT_FORMATS:
        kinds = ", ".join(PLOT_FORMATS)
        what = f"a {suffix} file" if suffix else "a path without an extension"
        raise ComputeplanError(f"--plot: cannot write the chart as {what}; give a path ending in {kinds}")


def _write_goodput_plot(
    plot: str, inputs: list[Path], sizes: list[int], goodputs: list[float], mtbf_s: list[float], *, model: str
) -> None:
    """Draw goodput and job MTBF vs cluster size and write it to ``plot`` in one step; any failure is one line."""
    from computeplan.errors import ComputeplanError
    from computeplan.files import write_atomic
    from computeplan.report.charts import goodput_vs_chips
    from computeplan.units import SECONDS_PER_HOUR

    try:
        image = goodput_vs_chips(
            sizes,
            goodputs,
            [m / SECONDS_PER_HOUR for m in mtbf_s],
            title=f"Goodput of {model} training vs cluster size (optimal checkpoint interval)",
            fmt=Path(plot).suffix.lower().lstrip("."),
        )
    except Exception as exc:  # matplotlib raises many kinds; none of them is worth a traceback to the user
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ComputeplanError(f"{plot}: cannot draw the plot: {reason}") from exc
    write_atomic(plot, image, inputs=inputs, what="plot")


@app.command()
def plan(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO.yaml", help="fleet scenario file (see scenarios/)")],
    report: Annotated[str | None, typer.Option(help="write a self-contained HTML report to this path")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override a scenario field, e.g. --set money.discount_rate=0.1")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            help="plan once per value and compare, e.g. --vary money.discount_rate=0.05,0.08,0.12 (repeat for a "
            "grid); --report then writes the comparison page"
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            help="Monte Carlo: plan this many draws of the uncertain inputs (the scenario's uncertain:, "
            "each chip's model error, announced chips' ranges) and give P10/P50/P90"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the draws (the same seed gives the same draws anywhere)")] = 0,
    backend: Annotated[str, typer.Option(help="where draws run: local (a process pool) or ray")] = "local",
    address: Annotated[str | None, typer.Option(help="--backend ray: the cluster's HOST:PORT [default: local]")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="--backend local: processes [default: CPU count]")] = None,
    out: Annotated[
        str | None, typer.Option(help="write the draws to this Parquet file (an interrupted sweep resumes)")
    ] = None,
    break_even: Annotated[
        bool, typer.Option("--break-even", help="the price at which each option's choice flips (re-solves the plan)")
    ] = False,
    catalog: CatalogOption = None,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """What a budget, a power cap and a chip roadmap buy, year by year, and which constraint binds."""
    import sys

    from computeplan import api
    from computeplan.files import write_atomic
    from computeplan.report import safe_text

    require_path(scenario, "SCENARIO.yaml")
    _check_plan_flags(samples=samples, vary=bool(vary), break_even=break_even, seed=seed, out=out,
                      backend=backend, workers=workers, address=address)  # fmt: skip
    if vary:
        from computeplan.cli.fleet import run_comparison
        from computeplan.fleet.compare import vary_grid

        fixed = parse_set_options(set_)
        grid = vary_grid(vary)
        names = [", ".join(f"{k}={v}" for k, v in combo.items()) for combo in grid]
        plans = [(scenario, {**fixed, **combo}) for combo in grid]
        where = {"backend": backend, "workers": workers, "address": address}
        run_comparison(plans, names=names, html_out=report, catalog=catalog, json_out=json_out, backend=where)
        return
    if report is not None:
        require_path(report, "--report")
    inputs = guard_output(report, what="report", catalog=catalog, files=[scenario], efficiency=True) if report else []
    cat = cli_catalog(catalog)

    def progress(message: str) -> None:
        if not json_out and sys.stderr.isatty():
            sys.stderr.write(f"\r\033[Kpricing {safe_text(message, markup=False)} ...")
            sys.stderr.flush()

    result = api.plan(scenario, overrides=parse_set_options(set_), catalog=cat, progress=progress)
    if not json_out and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if samples is not None:
        from computeplan.cli.fleet import run_monte_carlo

        options = {"seed": seed, "backend": backend, "address": address, "workers": workers, "out": out}
        run_monte_carlo(result, scenario, parse_set_options(set_), cat, samples, options, report, inputs, json_out)
        return
    flips = None
    if break_even:
        from computeplan.fleet.breakeven import break_even as find_break_even

        flips = find_break_even(result.scenario, result.inputs)
    if report:
        from computeplan.report.plan_report import plan_html

        write_atomic(report, plan_html(result, cat), inputs=inputs, what="report")
    if json_out:
        from computeplan.report.plan_report import headline

        extra = {"break_even": json_records(flips.reset_index())} if flips is not None else {}
        print_json({**result.to_dict(), "headline": headline(result, cat), **extra, "report": report})
        return
    from computeplan.report.plan_report import print_plan

    print_plan(result, cat)
    if flips is not None:
        from computeplan.report.plan_answers import break_even_lines

        for line in break_even_lines(flips):
            typer.echo(f"- {safe_text(line, markup=False)}")
    if report:
        typer.echo(f"wrote {safe_text(report, markup=False)}")


def _check_plan_flags(
    *,
    samples: int | None,
    vary: bool,
    break_even: bool,
    seed: int,
    out: str | None,
    backend: str,
    workers: int | None,
    address: str | None,
) -> None:
    """Flags that would be silently ignored are errors: each names what it goes with."""
    from computeplan.errors import ComputeplanError

    if samples is None and (seed != 0 or out is not None):
        raise ComputeplanError("--seed and --out go with --samples: give --samples N, or leave them out")
    if samples is None and not vary and (backend != "local" or workers is not None or address is not None):
        raise ComputeplanError("--backend, --workers and --address go with --samples or --vary")
    if break_even and (samples is not None or vary):
        raise ComputeplanError("--break-even prices one plan: run it without --samples and --vary")
    if samples is not None and vary:
        raise ComputeplanError("--samples and --vary: give one (a Monte Carlo, or a grid of plans)")


def _printable_lines(text: str) -> str:
    """Text printed as it is (Markdown), each line made safe for the terminal (ids from a CSV may hold escapes)."""
    from computeplan.report import safe_text

    return "\n".join(safe_text(line, markup=False) for line in text.split("\n"))


def _register_profiling() -> None:
    """``profile`` and ``measure`` live in :mod:`computeplan.cli.profiling` (PyTorch is imported only when run)."""
    from computeplan.cli import profiling

    app.command()(profiling.profile)
    app.command()(profiling.measure)
    from computeplan.cli import fleet

    app.command()(fleet.compare)


_register_profiling()
