"""The Python API: one call per question, by catalog id or YAML file, returning typed results.

This is a thin facade. It resolves ids and files through the catalog (the built-in one unless ``catalog`` is
given; the environment is never read here), builds the typed specs and jobs, and calls the library layer
(:mod:`computeplan.estimate`, :mod:`computeplan.fleet`, :mod:`computeplan.calibration`). Every result is a frozen
dataclass with ``to_dict()`` (JSON-ready, SI units) and ``to_frame()`` (a pandas DataFrame); README.md shows each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from computeplan import checks
from computeplan.catalog.loader import Catalog, is_entry_file, load_catalog, load_entry_file
from computeplan.catalog.schema import ChipEntry, ModelEntry
from computeplan.economics import DEFAULT_PUE, PUE_FACT_ID
from computeplan.errors import CatalogError, InvalidInput
from computeplan.estimate.efficiency import EfficiencyTables, builtin_efficiency_tables
from computeplan.estimate.reliability import MAX_RUN_DAYS, estimate_job_goodput, reliability_from_catalog
from computeplan.estimate.serving import ServingResult, estimate_serving
from computeplan.estimate.training import TrainingResult, estimate_training, parse_layout
from computeplan.hardware.cluster import cluster_from_catalog
from computeplan.perf.goodput import GoodputEstimate
from computeplan.units import SECONDS_PER_DAY
from computeplan.workload.jobs import (
    DEFAULT_BATCH_TOKENS,
    MAX_CHIPS,
    ServingJob,
    TrainingJob,
    parse_traffic,
    sequences_for_tokens,
)
from computeplan.workload.overrides import override_spec
from computeplan.workload.transformer import TransformerSpec

if TYPE_CHECKING:
    from computeplan.calibration.service import ValidationReport
    from computeplan.fleet.results import PlanResult
    from computeplan.fleet.scenario import Scenario

__all__ = ["calibrate", "goodput", "plan", "resolve_chip", "resolve_model", "serve", "train", "validate"]


def resolve_model(catalog: Catalog, model: str | TransformerSpec) -> TransformerSpec:
    """A TransformerSpec from a spec, a catalog model id, or a YAML file holding one model entry."""
    if isinstance(model, TransformerSpec):
        return model
    checks.text("model", model)
    entry = load_entry_file(model, "models") if is_entry_file(model) else catalog.model(model)
    if not isinstance(entry, ModelEntry):  # unreachable: load_entry_file validated it as a model
        raise CatalogError(f"{model}: not a model entry")
    return TransformerSpec.from_entry(entry)


def resolve_chip(catalog: Catalog, chip: str) -> tuple[Catalog, str]:
    """(catalog, chip id): a catalog id as is, or a chip YAML file added to the catalog under its own id."""
    checks.text("chip", chip)
    if not is_entry_file(chip):
        return catalog, catalog.chip(chip).id
    entry = load_entry_file(chip, "chips")
    if not isinstance(entry, ChipEntry):  # unreachable: load_entry_file validated it as a chip
        raise CatalogError(f"{chip}: not a chip entry")
    return catalog.with_entry("chips", entry, str(chip)), entry.id


def _pue(catalog: Catalog, pue: float | None) -> float:
    if pue is not None:
        return pue
    return catalog.fact(PUE_FACT_ID).value if PUE_FACT_ID in catalog.facts else DEFAULT_PUE


def train(
    model: str | TransformerSpec,
    chip: str,
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
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
) -> TrainingResult:
    """The fastest layouts for training ``model`` on ``chips`` chips of ``chip`` (or price one ``layout``, e.g.
    ``"tp=8,pp=4"``), with MFU, memory and, given ``tokens``, time, energy and cost to train and goodput with
    failures. ``global_batch`` is in sequences; else ``global_batch_tokens`` (default 4M) is rounded to them."""
    checks.whole("chips", chips, low=1, high=MAX_CHIPS)
    checks.flag("allow_fp8", allow_fp8)
    checks.flag("failures", failures)
    catalog = catalog or load_catalog()
    catalog, chip_id = resolve_chip(catalog, chip)
    spec = resolve_model(catalog, model)
    if overrides is not None:
        spec = override_spec(spec, overrides)
    seq = spec.seq_len if seq_len is None else seq_len
    if global_batch is not None and global_batch_tokens is not None:
        raise InvalidInput("global_batch_tokens", "give the batch in sequences (global_batch) or in tokens, not both")
    if global_batch is None:
        tokens_per_step = DEFAULT_BATCH_TOKENS if global_batch_tokens is None else global_batch_tokens
        global_batch = sequences_for_tokens(tokens_per_step, seq)
    job = TrainingJob(seq_len=seq, global_batch=global_batch, tokens=tokens, pue=_pue(catalog, pue))
    cluster = cluster_from_catalog(catalog, chip_id, chips, system_id=system)
    tables = efficiency or builtin_efficiency_tables()
    return estimate_training(
        spec,
        cluster,
        tables.for_training(cluster.family),
        job,
        layout=parse_layout(layout) if isinstance(layout, str) else layout,
        top=top,
        allow_fp8=allow_fp8,
        reliability=reliability_from_catalog(catalog) if failures else None,
    )


def serve(
    model: str | TransformerSpec,
    chips: str | Sequence[str],
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
    """The cheapest replica per chip (one id or several) that meets the latency targets, with $/Mtok, J/token
    and, given ``traffic`` (output tokens per day, or text such as ``"50req/s"``), the chips it needs."""
    chip_ids = [chips] if isinstance(chips, str) else chips
    if not isinstance(chip_ids, Sequence) or not chip_ids:
        raise InvalidInput("chips", f"expected a chip id or a list of them, got {chips!r:.40}")
    precisions = [weight_precisions] if isinstance(weight_precisions, str) else weight_precisions
    catalog = catalog or load_catalog()
    spec = resolve_model(catalog, model)
    per_day = parse_traffic(traffic, output_len) if isinstance(traffic, str) else traffic
    job = ServingJob(
        input_len=input_len,
        output_len=output_len,
        tpot_s=tpot_s,
        ttft_s=ttft_s,
        traffic_tokens_per_day=per_day,
        weight_precisions=tuple(precisions) if precisions is not None else None,
        prefix_hit_rate=prefix_hit_rate,
        speculative_tokens=speculative_tokens,
        acceptance_rate=acceptance_rate,
        utilization=utilization,
        pue=_pue(catalog, pue),
    )
    tables = efficiency or builtin_efficiency_tables()
    clusters = []
    for value in chip_ids:
        cat, chip_id = resolve_chip(catalog, value)
        domain = int(cat.system(cat.chip(chip_id).system).scaleup_domain_chips.value)
        cluster = cluster_from_catalog(cat, chip_id, domain)
        clusters.append((cluster, tables.for_serving(cluster.family)))
    return estimate_serving(spec, clusters, job)


def goodput(
    model: str | TransformerSpec,
    chips: int,
    *,
    days: float | None = None,
    asynchronous: bool = False,
    hot_spares: bool = True,
    storage_bytes_per_s_per_chip: float | None = None,
    catalog: Catalog | None = None,
) -> GoodputEstimate:
    """Interruptions, job MTBF, optimal checkpoint interval and goodput of a training job of ``days``."""
    checks.whole("chips", chips, low=1, high=MAX_CHIPS)
    if days is not None:
        checks.number("days", days, low=0.0, high=MAX_RUN_DAYS, low_open=True)
    checks.flag("asynchronous", asynchronous)
    checks.flag("hot_spares", hot_spares)
    catalog = catalog or load_catalog()
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
    scenario: str | Path | Scenario,
    *,
    overrides: Mapping[str, str] | None = None,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Solve a fleet scenario (a file or a :class:`~computeplan.fleet.scenario.Scenario`): what the budget, power
    and chip roadmap buy, year by year, and which constraint binds. ``overrides`` maps dotted fields to values."""
    from computeplan.fleet import solve_scenario
    from computeplan.fleet.scenario import Scenario, load_scenario, override_scenario

    if isinstance(scenario, Scenario):
        loaded = override_scenario(scenario, dict(overrides or {}))
    else:
        loaded = load_scenario(scenario, dict(overrides or {}))
    catalog = catalog or load_catalog()
    return solve_scenario(loaded, catalog, efficiency or builtin_efficiency_tables(), progress=progress)


def validate(
    path: str | Path,
    *,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Predict every measured run of a CSV (training or serving, docs/runs-schema.md) and report the error;
    ``progress(done, total)`` is called as rows are predicted."""
    from computeplan.calibration.service import validate_file

    tables = efficiency or builtin_efficiency_tables()
    return validate_file(path, catalog or load_catalog(), tables, progress=progress)


def calibrate(
    path: str | Path, *, catalog: Catalog | None = None, progress: Callable[[int, int], None] | None = None
) -> dict[str, object]:
    """Fit the efficiency parameters of each chip family on a measured-runs CSV (held-out rows excluded)."""
    from computeplan.calibration.service import calibrate_file

    return calibrate_file(path, catalog or load_catalog(), progress=progress)
