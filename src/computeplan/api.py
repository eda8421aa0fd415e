"""The Python API: one call per question, by catalog id or YAML file, returning typed results.

A thin facade: it resolves ids and files through the catalog (the built-in one unless ``catalog`` is given; the
environment is never read here), builds the typed specs and jobs, and calls the library layer (estimate, fleet,
calibration). Every result is a frozen dataclass with ``to_dict()`` (JSON-ready, SI units) and ``to_frame()``
(pandas); README.md shows each. An argument of the wrong kind is an :class:`InvalidInput` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING

from computeplan import checks
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog, as_catalog, resolve_chips, resolve_entry
from computeplan.catalog.schema import ModelEntry
from computeplan.errors import CatalogError, InvalidInput, shown
from computeplan.estimate.efficiency import EfficiencyTables, as_efficiency_tables
from computeplan.estimate.facts import pue_or_default
from computeplan.estimate.frameworks import framework_named
from computeplan.estimate.reliability import MAX_RUN_DAYS, estimate_job_goodput, reliability_from_catalog
from computeplan.estimate.serving import ServingResult, estimate_serving
from computeplan.estimate.training import TrainingResult, estimate_training, parse_layout
from computeplan.hardware.cluster import cluster_from_catalog, serving_cluster
from computeplan.perf.goodput import GoodputEstimate
from computeplan.units import SECONDS_PER_DAY
from computeplan.workload.jobs import (
    DEFAULT_BATCH_TOKENS,
    MAX_CHIPS,
    ServingJob,
    TrainingJob,
    sequences_for_tokens,
    traffic_per_day,
)
from computeplan.workload.overrides import override_spec
from computeplan.workload.transformer import TransformerSpec

if TYPE_CHECKING:
    from computeplan.calibration.service import ValidationReport
    from computeplan.fleet.results import PlanResult
    from computeplan.fleet.scenario import Scenario

__all__ = ["calibrate", "goodput", "plan", "resolve_chip", "resolve_model", "serve", "train", "validate"]

File = str | PathLike[str]  # a file name, as text or a path object


def resolve_model(catalog: Catalog, model: File | TransformerSpec, *, field: str = "model") -> TransformerSpec:
    """A TransformerSpec from a spec, a catalog model id, or a YAML file holding one model entry."""
    if isinstance(model, TransformerSpec):
        return model
    _, entry = resolve_entry(catalog, model, "models", field=field)
    if not isinstance(entry, ModelEntry):  # unreachable: resolve_entry validated it as a model
        raise CatalogError(f"{model}: not a model entry")
    return TransformerSpec.from_entry(entry)


def resolve_chip(catalog: Catalog, chip: File, *, field: str = "chip") -> tuple[Catalog, str]:
    """(catalog, chip id): a catalog id as is, or a chip YAML file added to the catalog under its own id."""
    catalog, entry = resolve_entry(catalog, chip, "chips", field=field)
    return catalog, entry.id


def train(
    model: File | TransformerSpec,
    chip: File,
    chips: int,
    *,
    seq_len: int | None = None,
    global_batch: int | None = None,
    global_batch_tokens: float | None = None,
    tokens: float | None = None,
    layout: str | Mapping[str, int] | None = None,
    top: int = 1,
    system: str | None = None,
    allow_fp8: bool = True,
    overrides: Mapping[str, str | int | bool] | None = None,
    pue: float | None = None,
    failures: bool = True,
    framework: str | None = None,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
) -> TrainingResult:
    """The fastest layouts for training ``model`` on ``chips`` chips of ``chip`` (or price one ``layout``, e.g.
    ``"tp=8,pp=4"``), with MFU, memory and, given ``tokens``, time, energy and cost to train and goodput with
    failures. ``global_batch`` is in sequences; else ``global_batch_tokens`` (default 4M) is rounded to them.
    ``framework`` (``megatron-core``, ``torchtitan``, ...) prices its attention kernel and communication overlap;
    ``pue`` defaults to the catalog's (:func:`computeplan.estimate.facts.default_pue`)."""
    checks.whole("chips", chips, low=1, high=MAX_CHIPS)
    allow_fp8, failures = checks.flag("allow_fp8", allow_fp8), checks.flag("failures", failures)
    tables = as_efficiency_tables(efficiency)
    catalog, chip_id = resolve_chip(as_catalog(catalog), chip)
    spec = resolve_model(catalog, model)
    spec = override_spec(spec, overrides) if overrides is not None else spec
    seq = spec.seq_len if seq_len is None else seq_len
    if global_batch is not None and global_batch_tokens is not None:
        raise InvalidInput("global_batch_tokens", "give the batch in sequences (global_batch) or in tokens, not both")
    if global_batch is None:  # from the tokens per step, 4M by default
        batch_tokens = DEFAULT_BATCH_TOKENS if global_batch_tokens is None else global_batch_tokens
        global_batch = sequences_for_tokens(batch_tokens, seq)
    job = TrainingJob(seq_len=seq, global_batch=global_batch, tokens=tokens, pue=pue_or_default(catalog, pue))
    cluster = cluster_from_catalog(catalog, chip_id, chips, system_id=system)
    return estimate_training(
        spec,
        cluster,
        tables.for_training(cluster.family),
        job,
        layout=parse_layout(layout) if isinstance(layout, str) else layout,
        top=top,
        allow_fp8=allow_fp8,
        reliability=reliability_from_catalog(catalog) if failures else None,
        framework=framework_named(framework),
    )


def serve(
    model: File | TransformerSpec,
    chips: File | Sequence[File],
    *,
    input_len: float,
    output_len: float,
    tpot_s: float | None = None,
    ttft_s: float | None = None,
    traffic: float | str | None = None,
    weight_precisions: Sequence[str] | None = None,
    prefix_hit_rate: float = 0.0,
    speculative_tokens: int = 0,
    acceptance_rate: float = 0.0,
    utilization: float = 1.0,
    pue: float | None = None,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
) -> ServingResult:
    """The cheapest replica per chip (one id or file, or several, each once) that meets the latency targets, with
    $/Mtok, J/token and, given ``traffic`` (output tokens per day, or text such as ``"50req/s"``), the chips it
    needs."""
    chip_ids = [chips] if isinstance(chips, str | PathLike) else chips
    if not isinstance(chip_ids, Sequence) or not chip_ids:
        raise InvalidInput("chips", f"expected a chip id or a list of them, got {shown(chips)}")
    precisions = [weight_precisions] if isinstance(weight_precisions, str) else weight_precisions
    tables = as_efficiency_tables(efficiency)
    catalog = as_catalog(catalog)
    spec = resolve_model(catalog, model)
    job = ServingJob(
        input_len=input_len,
        output_len=output_len,
        tpot_s=tpot_s,
        ttft_s=ttft_s,
        traffic_tokens_per_day=traffic_per_day(traffic, output_len),
        weight_precisions=tuple(precisions) if precisions is not None else None,
        prefix_hit_rate=prefix_hit_rate,
        speculative_tokens=speculative_tokens,
        acceptance_rate=acceptance_rate,
        utilization=utilization,
        pue=pue_or_default(catalog, pue),
    )
    clusters = []
    for cat, chip_id in resolve_chips(catalog, chip_ids, field="chips"):
        cluster = serving_cluster(cat, chip_id)
        clusters.append((cluster, tables.for_serving(cluster.family)))
    return estimate_serving(spec, clusters, job)


def goodput(
    model: File | TransformerSpec,
    chips: int,
    *,
    days: float | None = None,
    asynchronous: bool = False,
    hot_spares: bool = True,
    storage_bytes_per_s_per_chip: float | None = None,
    catalog: Catalog | None = None,
) -> GoodputEstimate:
    """Interruptions, job MTBF, optimal checkpoint interval and goodput of a training job of ``days``. The failure
    rates are per chip, from one published run (the result's ``basis`` says which), whatever the chip."""
    checks.whole("chips", chips, low=1, high=MAX_CHIPS)
    if days is not None:
        checks.number("days", days, low=0.0, high=MAX_RUN_DAYS, low_open=True)
    checks.flag("asynchronous", asynchronous)
    checks.flag("hot_spares", hot_spares)
    catalog = as_catalog(catalog)
    spec = resolve_model(catalog, model)
    reliability = reliability_from_catalog(catalog)
    if reliability is None:
        raise CatalogError("the catalog lacks the failure and checkpoint facts (failures-llama3-*, restart-time)")
    return estimate_job_goodput(
        reliability,
        float(spec.param_count()),
        chips,
        run_s=days * SECONDS_PER_DAY if days is not None else None,
        asynchronous=asynchronous,
        hot_spares=hot_spares,
        storage_bytes_per_s_per_chip=storage_bytes_per_s_per_chip,
    )


def plan(
    scenario: File | Scenario,
    *,
    overrides: Mapping[str, object] | None = None,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Solve a fleet scenario (a file, or a :class:`~computeplan.fleet.scenario.Scenario` from ``load_scenario``):
    what the budget, power and chip roadmap buy, year by year, and which constraint binds. ``overrides`` maps dotted
    fields to values: YAML text (``"0.12"``, ``"[1 GW, 3 GW]"``) or plain values (``0.12``, ``[1e9, 3e9]``)."""
    from computeplan.fleet import solve_scenario
    from computeplan.fleet.scenario import Scenario, load_scenario, override_scenario

    changes = checks.yaml_texts("overrides", overrides)
    checks.callback("progress", progress)
    tables, catalog = as_efficiency_tables(efficiency), as_catalog(catalog)
    if isinstance(scenario, Scenario):
        loaded = override_scenario(scenario, changes)
    else:
        expected = "a scenario file (str or os.PathLike) or a Scenario (computeplan.load_scenario)"
        loaded = load_scenario(checks.file_path("scenario", scenario, expected=expected), changes)
    return solve_scenario(loaded, catalog, tables, progress=progress)


def validate(
    path: File,
    *,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
    progress: Callable[[int, int], None] | None = None,
    loso: bool = False,
) -> ValidationReport:
    """Predict every measured run of a CSV (training or serving, docs/runs-schema.md) and report the error (``loso``:
    also leave-one-source-out, ``report.loso``); ``progress(done, total)`` is called as rows are predicted."""
    from computeplan.calibration.service import validate_file

    checks.callback("progress", progress)
    tables, catalog, loso = as_efficiency_tables(efficiency), as_catalog(catalog), checks.flag("loso", loso)
    return validate_file(checks.file_path("path", path), catalog, tables, progress=progress, loso=loso)


def calibrate(
    path: File, *, catalog: Catalog | None = None, progress: Callable[[int, int], None] | None = None
) -> EfficiencyTable:
    """Fit the efficiency parameters of each chip family on a measured-runs CSV (held-out rows excluded). The
    table's ``to_dict()`` is the YAML that :meth:`EfficiencyTables.from_files` reads back."""
    from computeplan.calibration.service import calibrate_table

    checks.callback("progress", progress)
    return calibrate_table(checks.file_path("path", path), as_catalog(catalog), progress=progress)
