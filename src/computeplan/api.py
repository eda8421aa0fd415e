"""Convenience entry points by catalog id: what the CLI calls, usable from Python as one-liners.

These resolve ids (or YAML files) through the catalog, build the typed specs, and call the pure models.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from computeplan.catalog.loader import Catalog, load_catalog, load_efficiency_table
from computeplan.catalog.schema import ChipEntry, ModelEntry
from computeplan.errors import CatalogError, ComputeplanError, InvalidLayout
from computeplan.hardware.cluster import Cluster, cluster_from_catalog
from computeplan.hardware.efficiency import EfficiencyParams, efficiency_for
from computeplan.perf.layout import LAYOUT_FIELDS, Recompute
from computeplan.search.training_search import (
    SearchResult,
    TrainingEstimate,
    best_estimates,
    evaluate_layout,
    search_layouts,
)
from computeplan.workload.transformer import TransformerSpec

DEFAULT_PUE_FACT = "pue-hyperscale"


def _entry_from_file(path: Path, kind: str, model: type[Any]) -> Any:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read {kind} file: {exc}") from None
    if isinstance(doc, dict) and f"{kind}s" in doc:
        entries = doc[f"{kind}s"]
        if not isinstance(entries, list) or len(entries) != 1:
            raise CatalogError(f"{path}: expected exactly one entry under '{kind}s'")
        doc = entries[0]
    from computeplan.catalog.loader import _validate

    return _validate(model, doc if isinstance(doc, dict) else {"id": "?"}, str(path), f"{kind}s")


def resolve_model(catalog: Catalog, value: str) -> ModelEntry:
    """A catalog model id, or a YAML file holding one model entry."""
    path = Path(value)
    if value.endswith((".yaml", ".yml")) and path.exists():
        entry: ModelEntry = _entry_from_file(path, "model", ModelEntry)
        return entry
    return catalog.model(value)


def resolve_chip(catalog: Catalog, value: str) -> Catalog:
    """The catalog, extended with the chip of a YAML file when ``value`` is one; the chip id is then its id."""
    path = Path(value)
    if value.endswith((".yaml", ".yml")) and path.exists():
        chip: ChipEntry = _entry_from_file(path, "chip", ChipEntry)
        return Catalog(
            chips={**catalog.chips, chip.id: chip},
            systems=catalog.systems,
            models=catalog.models,
            facts=catalog.facts,
            origins={**catalog.origins, ("chips", chip.id): str(path)},
        )
    catalog.chip(value)
    return catalog


def chip_id_of(value: str, catalog: Catalog) -> str:
    path = Path(value)
    if value.endswith((".yaml", ".yml")) and path.exists():
        return next(k for (kind, k), origin in catalog.origins.items() if kind == "chips" and origin == str(path))
    return value


SPEC_FIELDS = tuple(f.name for f in fields(TransformerSpec) if f.name != "name")


def override_spec(spec: TransformerSpec, overrides: Mapping[str, str]) -> TransformerSpec:
    """Apply ``--set key=value`` architecture overrides, with suggestions for misspelt keys."""
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in SPEC_FIELDS:
            close = difflib.get_close_matches(key, SPEC_FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InvalidLayout(f"--set: unknown architecture field '{key}'{hint}; allowed: {', '.join(SPEC_FIELDS)}")
        current = getattr(spec, key)
        try:
            changes[key] = raw.lower() in ("1", "true", "yes") if isinstance(current, bool) else int(raw)
        except ValueError:
            raise InvalidLayout(f"--set {key}: expected a whole number, got {raw!r}") from None
        if not isinstance(current, bool) and changes[key] < 0:
            raise InvalidLayout(f"--set {key}: must be >= 0, got {raw!r}")
    return replace(spec, **changes)


def parse_layout(text: str) -> dict[str, int]:
    """``tp=8,pp=16,cp=2`` into a full layout; unspecified fields take their plain default."""
    defaults = {
        "tp": 1,
        "pp": 1,
        "dp": 0,
        "cp": 1,
        "ep": 1,
        "vpp": 1,
        "mb": 1,
        "recompute": 0,
        "sp": 0,
        "zero": 1,
        "hsdp": 0,
        "fp8": 0,
    }
    layout = dict(defaults)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in defaults:
            close = difflib.get_close_matches(key, LAYOUT_FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InvalidLayout(f"--layout: cannot read '{part}'{hint}; fields: {', '.join(LAYOUT_FIELDS)}")
        value = value.strip().lower()
        if key == "recompute" and value in ("none", "selective", "full"):
            layout[key] = int(Recompute[value.upper()])
            continue
        if value in ("true", "false"):
            layout[key] = int(value == "true")
            continue
        try:
            layout[key] = int(value)
        except ValueError:
            raise InvalidLayout(f"--layout {key}: expected a whole number, got {value!r}") from None
        if layout[key] < 0:
            raise InvalidLayout(f"--layout {key}: must be >= 0, got {value!r}")
    return layout


def sequences_for_tokens(tokens: float, seq_len: int) -> int:
    """Sequences per step for a token batch: the count within 10% with the largest power-of-two factor,
    so that the batch divides among data-parallel ranks (16M tokens of 8192 -> 2048 sequences)."""
    exact = tokens / seq_len
    low, high = max(1, int(exact * 0.9)), max(1, int(exact * 1.1) + 1)

    def twos(n: int) -> int:
        return (n & -n).bit_length()

    return max(range(low, high + 1), key=lambda n: (twos(n), -abs(n - exact)))


@dataclass(frozen=True)
class TrainingPlan:
    """A training question with its answer: the best layouts (or the given one) and what was assumed."""

    model: TransformerSpec
    cluster: Cluster
    efficiency: EfficiencyParams
    global_batch: int
    seq_len: int
    tokens: float | None
    estimates: list[TrainingEstimate]
    search: SearchResult | None
    pue: float
    goodput: Any = None  # perf.goodput.GoodputEstimate when failures are modelled

    def time_with_failures_s(self, estimate: TrainingEstimate) -> float | None:
        if estimate.time_to_train_s is None or self.goodput is None:
            return None
        return float(estimate.time_to_train_s / self.goodput.goodput)

    def to_dict(self) -> dict[str, Any]:
        results = []
        for e in self.estimates:
            results.append({**e.to_dict(), "time_to_train_with_failures_s": self.time_with_failures_s(e)})
        return {
            "model": self.model.name,
            "chip": self.cluster.chip_id,
            "system": self.cluster.system_id,
            "num_chips": self.cluster.num_chips,
            "seq_len": self.seq_len,
            "global_batch_sequences": self.global_batch,
            "global_batch_tokens": self.global_batch * self.seq_len,
            "tokens": self.tokens,
            "pue": self.pue,
            "layouts_evaluated": self.search.evaluated if self.search else 1,
            "layouts_valid": self.search.count_valid if self.search else None,
            "layouts_fitting": self.search.count_fitting if self.search else None,
            "efficiency": {
                k: getattr(self.efficiency, k)
                for k in (
                    "matmul_peak_fraction",
                    "matmul_half_dim",
                    "network_efficiency",
                    "dp_overlap",
                    "attention_relative",
                )
            },
            "results": results,
            "goodput": None if self.goodput is None else dict(self.goodput.__dict__),
        }


def estimate_training(
    model: str | TransformerSpec,
    chip: str,
    chips: int,
    *,
    seq_len: int | None = None,
    global_batch: int | None = None,
    global_batch_tokens: float | None = None,
    tokens: float | None = None,
    layout: Mapping[str, int] | None = None,
    top: int = 1,
    system: str | None = None,
    allow_fp8: bool = True,
    overrides: Mapping[str, str] | None = None,
    catalog: Catalog | None = None,
    pue: float | None = None,
    failures: bool = True,
) -> TrainingPlan:
    """Best layout(s) for training ``model`` on ``chips`` chips of ``chip`` (or price one given ``layout``)."""
    catalog = catalog or load_catalog()
    catalog = resolve_chip(catalog, chip)
    chip_id = chip_id_of(chip, catalog)
    spec = model if isinstance(model, TransformerSpec) else TransformerSpec.from_entry(resolve_model(catalog, model))
    if overrides:
        spec = override_spec(spec, overrides)
    seq = spec.seq_len if seq_len is None else seq_len
    if seq <= 0:
        raise InvalidLayout(f"--seq: must be positive, got {seq}")
    if global_batch is None:
        batch_tokens = global_batch_tokens if global_batch_tokens is not None else 4e6
        global_batch = sequences_for_tokens(batch_tokens, seq)
    if global_batch <= 0:
        raise InvalidLayout(f"global batch must be positive, got {global_batch}")
    cluster = cluster_from_catalog(catalog, chip_id, chips, system_id=system)
    eff = efficiency_for(cluster.family, load_efficiency_table())
    if pue is None:
        pue = catalog.fact(DEFAULT_PUE_FACT).value if DEFAULT_PUE_FACT in catalog.facts else 1.2
    if layout is not None:
        full = dict(layout)
        if not full.get("dp"):
            denom = full["tp"] * full["pp"] * full["cp"]
            if denom <= 0 or chips % denom:
                raise InvalidLayout(f"--layout: tp*pp*cp = {denom} does not divide {chips} chips")
            full["dp"] = chips // denom
        estimate = evaluate_layout(
            spec, cluster, eff, full, global_batch=global_batch, seq_len=seq, tokens=tokens, pue=pue
        )
        estimates, result = [estimate], None
    else:
        result = search_layouts(spec, cluster, eff, global_batch=global_batch, seq_len=seq, allow_fp8=allow_fp8)
        estimates = best_estimates(result, cluster, eff, top=top, tokens=tokens, pue=pue)
    good = None
    if failures and tokens is not None and all(k in catalog.facts for k in ("failures-llama3-window", "restart-time")):
        from computeplan.perf.goodput import estimate_goodput as goodput_of

        setup = checkpoint_setup(catalog, spec.param_count(), chips)
        good = goodput_of(failure_model(catalog), setup, chips)
        wall = estimates[0].time_to_train_s
        if wall is not None:  # interruptions expected over the run's wall time, failures included
            good = goodput_of(failure_model(catalog), setup, chips, run_s=wall / good.goodput)
    return TrainingPlan(spec, cluster, eff, global_batch, seq, tokens, estimates, result, pue, good)


@dataclass(frozen=True)
class ValidationReport:
    """Predicted vs measured rows of a training or serving CSV; held-out rows summarised apart."""

    rows: list[Any]
    skipped: list[tuple[str, str]]
    held_out: set[str]
    summary: dict[str, Any]
    summary_fit: dict[str, Any]
    summary_held_out: dict[str, Any]


def _report(rows: list[Any], run_ids: list[str], held: set[str], skipped: list[tuple[str, str]]) -> ValidationReport:
    from computeplan.calibration.validate import summarize

    order = {run_id: i for i, run_id in enumerate(run_ids)}
    rows.sort(key=lambda r: order.get(r.id, 0))
    return ValidationReport(
        rows=rows,
        skipped=skipped,
        held_out=held,
        summary=summarize(rows),
        summary_fit=summarize([r for r in rows if r.id not in held]),
        summary_held_out=summarize([r for r in rows if r.id in held]),
    )


def validate_file(
    path: str | Path, *, catalog: Catalog | None = None, table: Mapping[str, Any] | str | None = "builtin"
) -> ValidationReport:
    """Predict every row of a training CSV and summarize the error (held-out rows reported apart)."""
    from computeplan.calibration.fit import split
    from computeplan.calibration.runs import read_training_runs
    from computeplan.calibration.validate import prepare_all, validate_runs

    catalog = catalog or load_catalog()
    runs, skipped = read_training_runs(path, catalog)
    prepared, failed = prepare_all(runs, catalog)
    eff_table = load_efficiency_table() if table == "builtin" else table
    rows = validate_runs(prepared, eff_table if isinstance(eff_table, Mapping) else None) + failed
    held = {p.run.id for p in split(prepared)[1]}
    return _report(rows, [run.id for run in runs], held, skipped)


def is_inference_file(path: str | Path) -> bool:
    """Whether a measured-runs CSV holds serving runs (it has the inference columns of SCHEMA.md)."""
    try:
        header = Path(path).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return False
    return "scenario" in header.split(",")


def validate_inference_file(
    path: str | Path, *, catalog: Catalog | None = None, table: Mapping[str, Any] | str | None = "builtin"
) -> ValidationReport:
    """Predict every serving run of a CSV and summarize the error (held-out rows reported apart)."""
    from computeplan.calibration import inference as ci
    from computeplan.calibration.fit import split

    catalog = catalog or load_catalog()
    runs, skipped = ci.read_inference_runs(path, catalog)
    prepared, failed = [], []
    for run in runs:
        try:
            prepared.append(ci.prepare(run, catalog))
        except ComputeplanError as exc:
            failed.append(
                ci.InferenceRowResult(
                    id=run.id,
                    metric=run.metric,
                    measured=run.value,
                    predicted=None,
                    error_pct=None,
                    chip=run.chip,
                    family="",
                    calibrated=False,
                    layout={},
                    filled=run.filled,
                    reason=str(exc),
                )
            )
    eff_table = load_efficiency_table(kind="inference") if table == "builtin" else table
    rows = ci.validate(prepared, eff_table if isinstance(eff_table, Mapping) else None) + failed
    held = {p.run.id for p in split(prepared)[1]}
    return _report(rows, [run.id for run in runs], held, skipped)


def calibrate_file(path: str | Path, *, catalog: Catalog | None = None) -> dict[str, Any]:
    """Fit the efficiency parameters per chip family on a measured-runs CSV (held-out rows excluded).

    Training and serving CSVs are told apart by their columns; each fits its own model's parameters.
    """
    if is_inference_file(path):
        from computeplan.calibration import inference as ci

        catalog = catalog or load_catalog()
        serving, _ = ci.read_inference_runs(path, catalog)
        return ci.fit_table([ci.prepare(run, catalog) for run in serving])
    from computeplan.calibration.fit import fit_table
    from computeplan.calibration.runs import read_training_runs
    from computeplan.calibration.validate import prepare_all

    catalog = catalog or load_catalog()
    runs, _ = read_training_runs(path, catalog)
    prepared, _ = prepare_all(runs, catalog)
    return fit_table(prepared)


def parse_traffic(text: str, output_len: float) -> float:
    """Output tokens per day from '1e9tok/day', '2B tok/day', '50req/s' (x output tokens) or a bare number."""
    from computeplan.units import Dimension, parse_quantity

    raw = text.replace(" ", "")
    for suffix, scale in (
        ("tok/day", 1.0),
        ("tokens/day", 1.0),
        ("tok/s", SECONDS_PER_DAY_),
        ("req/s", SECONDS_PER_DAY_ * output_len),
        ("req/day", output_len),
    ):
        if raw.endswith(suffix):
            return parse_quantity(raw[: -len(suffix)], Dimension.COUNT, field="--traffic") * scale
    try:
        return parse_quantity(raw, Dimension.COUNT, field="--traffic")
    except ComputeplanError:
        raise InvalidLayout(
            f"--traffic: cannot read {text!r}; use e.g. 1e9tok/day, 2B tok/day, 20000tok/s or 50req/s"
        ) from None


SECONDS_PER_DAY_ = 86400.0


@dataclass(frozen=True)
class ServingPlan:
    model: TransformerSpec
    input_len: float
    output_len: float
    tpot_s: float | None
    ttft_s: float | None
    traffic_tokens_per_day: float | None
    rows: list[Any]  # one ServingEstimate (or an error text) per chip
    pareto: dict[str, list[dict[str, Any]]]
    evaluated: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "input_len": self.input_len,
            "output_len": self.output_len,
            "tpot_target_s": self.tpot_s,
            "ttft_target_s": self.ttft_s,
            "traffic_tokens_per_day": self.traffic_tokens_per_day,
            "layouts_evaluated": self.evaluated,
            "results": [r if isinstance(r, dict) else r.to_dict() for r in self.rows],
            "pareto": self.pareto,
        }


def estimate_serving(
    model: str | TransformerSpec,
    chips: list[str],
    *,
    input_len: float,
    output_len: float,
    tpot_s: float | None = None,
    ttft_s: float | None = None,
    traffic: str | None = None,
    weight_precisions: list[str] | None = None,
    prefix_hit_rate: float = 0.0,
    speculative_tokens: int = 0,
    acceptance_rate: float = 0.0,
    catalog: Catalog | None = None,
    pue: float | None = None,
    utilization: float = 1.0,
) -> ServingPlan:
    """The cheapest replica per chip that meets the latency targets, with $/Mtok, J/token and chips needed."""
    from computeplan.calibration.inference import efficiency_for as serving_efficiency
    from computeplan.search.serving_search import estimate_at, search_serving

    catalog = catalog or load_catalog()
    spec = model if isinstance(model, TransformerSpec) else TransformerSpec.from_entry(resolve_model(catalog, model))
    if input_len < 0 or output_len <= 0:
        raise InvalidLayout("--input must be >= 0 and --output > 0 tokens")
    for name, value in (("--prefix-hit-rate", prefix_hit_rate), ("--acceptance-rate", acceptance_rate)):
        if not 0.0 <= value < 1.0:
            raise InvalidLayout(f"{name}: must be in [0, 1), got {value}")
    if not 0.0 < utilization <= 1.0:
        raise InvalidLayout(f"--utilization: must be in (0, 1], got {utilization}")
    tokens_per_day = parse_traffic(traffic, output_len) if traffic else None
    if pue is None:
        pue = catalog.fact(DEFAULT_PUE_FACT).value if DEFAULT_PUE_FACT in catalog.facts else 1.2
    table = load_efficiency_table(kind="inference")
    rows: list[Any] = []
    pareto: dict[str, list[dict[str, Any]]] = {}
    evaluated = 0
    for chip_value in chips:
        cat = resolve_chip(catalog, chip_value)
        chip_id = chip_id_of(chip_value, cat)
        cluster = cluster_from_catalog(
            cat, chip_id, cat.system(cat.chip(chip_id).system).scaleup_domain_chips.value.__int__()
        )
        eff = serving_efficiency(cluster.family, table)
        result = search_serving(
            spec,
            cluster,
            eff,
            input_len=input_len,
            output_len=output_len,
            tpot_s=tpot_s,
            ttft_s=ttft_s,
            weight_precisions=weight_precisions,
            prefix_hit_rate=prefix_hit_rate,
            speculative_tokens=speculative_tokens,
            acceptance_rate=acceptance_rate,
        )
        evaluated += len(result.candidates.weight)
        kwargs = dict(
            input_len=input_len,
            output_len=output_len,
            traffic_tokens_per_day=tokens_per_day,
            pue=pue,
            utilization=utilization,
        )
        pareto[chip_id] = [
            {
                k: v
                for k, v in estimate_at(result, int(i), cluster, eff, **kwargs).to_dict().items()  # type: ignore[arg-type]
                if k in ("layout", "tpot_s", "ttft_s", "throughput_tokens_per_s_per_chip")
            }
            for i in result.pareto
        ]
        if result.best is None:
            why = (
                "the weights fit no replica" if not result.arrays.fits.any() else "no layout meets the latency targets"
            )
            rows.append({"chip": chip_id, "error": why})
            continue
        rows.append(estimate_at(result, result.best, cluster, eff, **kwargs))  # type: ignore[arg-type]
    return ServingPlan(spec, input_len, output_len, tpot_s, ttft_s, tokens_per_day, rows, pareto, evaluated)


FAILURE_PREFIX = "failures-llama3-"
PCIE_SNAPSHOT_BYTES_PER_S = 25e9  # per chip, HBM to host copy of an asynchronous checkpoint (PCIe Gen5 x16, ~half peak)
CHECKPOINT_BYTES_PER_PARAM = 14.0  # bf16 weights 2 + fp32 master 4 + Adam m and v 8


def failure_model(catalog: Catalog) -> Any:
    """Per-chip interruption rates by root cause, from the Llama 3 interruption counts in the catalog."""
    from computeplan.perf.goodput import FailureModel

    window = catalog.fact("failures-llama3-window").value
    chips = catalog.fact("failures-llama3-chips").value
    rates = {
        fid.removeprefix(FAILURE_PREFIX): fact.value / (chips * window)
        for fid, fact in catalog.facts.items()
        if fid.startswith(FAILURE_PREFIX)
        and fid.removeprefix(FAILURE_PREFIX) not in ("window", "chips", "planned", "effective-time")
    }
    return FailureModel(rates_per_chip_s=rates)


def checkpoint_setup(
    catalog: Catalog,
    params: float,
    num_chips: int,
    *,
    asynchronous: bool = False,
    hot_spares: bool = True,
    storage_bytes_per_s_per_chip: float | None = None,
) -> Any:
    """Checkpoint cost for a model of ``params`` parameters on ``num_chips`` chips, from catalog facts."""
    from computeplan.perf.goodput import CheckpointSetup

    per_chip = storage_bytes_per_s_per_chip or catalog.fact("storage-write-bandwidth-per-chip").value
    restart = catalog.fact("restart-time")
    return CheckpointSetup(
        checkpoint_bytes=params * CHECKPOINT_BYTES_PER_PARAM,
        write_bytes_per_s=per_chip * num_chips,
        read_bytes_per_s=per_chip * num_chips,
        restart_s=restart.value if hot_spares else (restart.high or restart.value),
        asynchronous=asynchronous,
        snapshot_bytes_per_s=PCIE_SNAPSHOT_BYTES_PER_S * num_chips,
    )


def estimate_goodput(
    model: str | TransformerSpec,
    chips: int,
    *,
    days: float | None = None,
    asynchronous: bool = False,
    hot_spares: bool = True,
    storage_bytes_per_s_per_chip: float | None = None,
    catalog: Catalog | None = None,
) -> Any:
    """Interruptions, job MTBF, optimal checkpoint interval and goodput for a training job."""
    from computeplan.perf.goodput import estimate_goodput as goodput_of

    if chips < 1:
        raise InvalidLayout(f"--chips: must be at least 1, got {chips}")
    if days is not None and days <= 0:
        raise InvalidLayout(f"--days: must be positive, got {days}")
    catalog = catalog or load_catalog()
    spec = model if isinstance(model, TransformerSpec) else TransformerSpec.from_entry(resolve_model(catalog, model))
    setup = checkpoint_setup(
        catalog,
        spec.param_count(),
        chips,
        asynchronous=asynchronous,
        hot_spares=hot_spares,
        storage_bytes_per_s_per_chip=storage_bytes_per_s_per_chip,
    )
    return goodput_of(failure_model(catalog), setup, chips, run_s=days * 86400.0 if days else None)


def plan_fleet(
    scenario_path: str | Path,
    *,
    overrides: Mapping[str, str] | None = None,
    catalog: Catalog | None = None,
    progress: Any = None,
) -> Any:
    """Solve a fleet scenario: what the budget, power and chip roadmap buy, year by year."""
    from computeplan.fleet.inputs import build_inputs
    from computeplan.fleet.lp import build_and_solve
    from computeplan.fleet.results import summarize
    from computeplan.fleet.scenario import load_scenario

    scenario = load_scenario(scenario_path, dict(overrides or {}))
    catalog = catalog or load_catalog()
    inputs = build_inputs(scenario, catalog, progress=progress)
    return summarize(scenario, inputs, build_and_solve(scenario, inputs))
