"""The training-step model as calibration sees it: a row's layout columns, its candidate layouts, and the metric in
the source's accounting.

A field the source did not report takes the documented default of the row's framework
(:mod:`computeplan.catalog.frameworks`) where there is one and it can run; any field left is searched for the
fastest layout that fits. Each row names the fields filled either way."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prediction, Prepared
from computeplan.calibration.runs import MAX_WHOLE, BadRow, Cells, MeasuredRun
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.frameworks import LOCAL_BATCH, PER_STAGE, FrameworkDefaults, builtin_frameworks
from computeplan.catalog.loader import Catalog
from computeplan.estimate.frameworks import software_of
from computeplan.hardware.cluster import Cluster, Precision, cluster_from_catalog
from computeplan.hardware.efficiency import (
    PRIOR,
    TRAINING_SPACE,
    EfficiencyParams,
    efficiency_for,
    with_family_kernels,
)
from computeplan.perf.layout import LAYOUT_FIELDS, LayoutProblem, Layouts
from computeplan.perf.training import (
    DEFAULT_SOFTWARE,
    Software,
    StepArrays,
    model_flops_per_token,
    training_step,
    validity,
)
from computeplan.search.space import enumerate_layouts
from computeplan.units import TERA
from computeplan.workload.transformer import TransformerSpec

TRAINING_METRICS = ("step_time_s", "tokens_per_s_per_chip", "tflops_per_chip", "mfu")
# plausible measured values (low, high, unit): a millisecond to a day per step; MFU from 0.01% to all of peak
TRAINING_VALUE_RANGES = {
    "step_time_s": (1e-3, 1e5, " s"),
    "tokens_per_s_per_chip": (1e-3, 1e7, " tokens/s"),
    "tflops_per_chip": (1e-3, 1e5, " TFLOP/s"),
    "mfu": (1e-4, 1.0, ""),
}
RECOMPUTE = {"none": 0, "selective": 1, "full": 2, "half": 3, "cheap": 4}
REQUIRED_COLUMNS = ("id", "chip", "num_chips", "global_batch", "metric", "value")
# CSV column -> layout field, and the smallest value it may hold
LAYOUT_COLUMNS = (
    ("tp", "tp", 1),
    ("pp", "pp", 1),
    ("dp", "dp", 1),
    ("cp", "cp", 1),
    ("ep", "ep", 1),
    ("vpp", "vpp", 1),
    ("micro_batch", "mb", 1),
    ("zero_stage", "zero", 0),
)
LAYOUT_TEXT_COLUMNS = (*(c for c, _, _ in LAYOUT_COLUMNS), "recompute", "sequence_parallel", "precision")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingRun(MeasuredRun):
    """One measured training run: the model, the hardware, whatever layout the source gave, and the measurement."""

    seq_len: int
    global_batch: int
    fixed: dict[str, list[int]]  # layout fields the source reported
    framework: str = ""  # the training software, as the row names it (blank: not reported)


@dataclass(frozen=True, kw_only=True)
class TrainingCase:
    """A configuration's cluster and candidate layouts, built once (they do not depend on the fitted parameters)."""

    spec: TransformerSpec
    cluster: Cluster
    global_batch: int
    seq_len: int
    layouts: Layouts
    searched: list[str]
    fixed: Mapping[str, list[int]] = field(default_factory=dict)  # the layout fields the row gave
    defaulted: Mapping[str, int] = field(default_factory=dict)  # blank fields given the framework's default
    software: Software = DEFAULT_SOFTWARE  # what the row's framework does beyond the layout
    framework_notes: tuple[str, ...] = ()  # how the framework's defaults were applied


@dataclass(frozen=True)
class TrainingEvaluation:
    """The fastest candidate (fitting in memory when any does) and its step time."""

    index: int
    step_time_s: np.ndarray  # one element
    fits: bool


def metric_from_step(run: TrainingRun, cluster: Cluster, step_time_s: np.ndarray) -> np.ndarray:
    """Convert predicted step times into the run's metric, with the source's FLOP accounting."""
    tokens = run.global_batch * run.seq_len
    if run.metric == "step_time_s":
        return step_time_s
    if run.metric == "tokens_per_s_per_chip":
        return tokens / step_time_s / cluster.num_chips
    flops = tokens * model_flops_per_token(run.spec, run.seq_len)
    if run.metric == "tflops_per_chip":
        return flops / step_time_s / cluster.num_chips / TERA
    return flops / step_time_s / cluster.num_chips / cluster.peak(Precision.BF16)  # mfu


class TrainingModel(CalibratedModel[TrainingRun, TrainingCase, TrainingEvaluation, EfficiencyParams]):
    kind = "training"
    metrics = TRAINING_METRICS
    required_columns = REQUIRED_COLUMNS
    default_num_chips = None
    space = TRAINING_SPACE
    prior_weight = 0.0  # enough runs per family; no pull towards the priors
    min_family_rows = 3  # no parameter rests on fewer than three runs
    min_family_sources = 2  # nor on one publication's setup alone (issue 9)
    decimals = 4
    no_prediction_reason = "no layout consistent with the row can run"
    value_ranges = TRAINING_VALUE_RANGES

    def check_value(self, metric: str, value: float) -> None:
        if metric == "mfu" and value > 1:
            raise BadRow(f"column 'value': mfu is a fraction of peak in (0, 1], got {value:g} (a percentage?)")
        super().check_value(metric, value)

    def read_row(
        self, cells: Cells, catalog: Catalog, common: dict[str, Any], shared: dict[Hashable, Any]
    ) -> TrainingRun:
        global_batch = cells.whole("global_batch")
        if global_batch is None:
            raise BadRow("column 'global_batch' is blank; it is required")
        spec: TransformerSpec = common["spec"]
        framework = cells.text("framework").strip().lower()
        key = ("layout", framework, *(cells.text(c) for c in LAYOUT_TEXT_COLUMNS))
        fixed = shared.get(key)
        if fixed is None:
            fixed = shared[key] = self._fixed(cells, builtin_frameworks().get(framework))
        ep = fixed.get("ep", [1])[0]
        if ep > 1 and not spec.is_moe:
            raise BadRow(
                f"column 'ep': expert parallelism ({ep}) needs a mixture-of-experts model, and this row's model is "
                "dense (give 'moe_experts', or leave 'ep' blank or 1)"
            )
        return TrainingRun(**common, seq_len=spec.seq_len, global_batch=global_batch, fixed=fixed, framework=framework)

    def _fixed(self, cells: Cells, framework: FrameworkDefaults | None) -> dict[str, list[int]]:
        """The layout fields a row gives (shared by the rows that give the same; never modified); "selective"
        recompute as the row's framework means it (attention only in Megatron, every second layer in torchtitan)."""
        fixed: dict[str, list[int]] = {}
        for column, name, low in LAYOUT_COLUMNS:
            value = cells.whole(column, low=low, high=3 if name == "zero" else MAX_WHOLE)
            if value is not None:
                fixed[name] = [value]
        if fixed.get("zero") != [3]:
            fixed["hsdp"] = [0]  # hybrid sharding is a ZeRO-3 variant; a run at stage 3 may have used either
        recompute = cells.choice("recompute", RECOMPUTE)
        if recompute:
            fixed["recompute"] = [framework.recompute_code(recompute) if framework else RECOMPUTE[recompute]]
        sp = cells.choice("sequence_parallel", ("true", "false"), lower=True)
        if sp:
            fixed["sp"] = [1 if sp == "true" else 0]
        precision = cells.choice("precision", ("bf16", "fp8")) or "bf16"
        fixed["fp8"] = [1 if precision == "fp8" else 0]
        return fixed

    def case_key(self, run: TrainingRun) -> Hashable:
        fixed = tuple(sorted((k, tuple(v)) for k, v in run.fixed.items()))
        return (run.spec, run.chip, run.num_chips, run.global_batch, run.seq_len, fixed, run.framework)

    def make_case(self, run: TrainingRun, catalog: Catalog) -> TrainingCase:
        cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
        layouts = enumerate_layouts(
            run.spec, cluster, global_batch=run.global_batch, seq_len=run.seq_len, fixed=run.fixed
        )
        framework = builtin_frameworks().get(run.framework)
        defaulted: dict[str, int] = {}
        notes: list[str] = []
        if framework is None:
            said = f"framework '{run.framework}' is not in the defaults table" if run.framework else "no framework"
            notes.append(f"{said}: blank fields searched for the fastest")
        else:
            layouts, defaulted, refused = apply_framework_defaults(run, cluster, layouts, framework)
            if defaulted:
                shown = ", ".join(
                    f"{k}={'local' if k == 'mb' and v == LOCAL_BATCH else v}" for k, v in defaulted.items()
                )
                notes.append(f"{framework.id} defaults (catalog/data/frameworks.yaml): {shown}")
            if refused:
                notes.append(f"{framework.id} default cannot run this row, searched: " + ", ".join(refused))
            if framework.attention_kernel == "unfused":
                notes.append(f"{framework.id} attention is unfused: scores materialised in HBM")
            if framework.tp_overlap:
                notes.append(f"{framework.id} overlaps tensor-parallel collectives with matmuls")
            if framework.ep_overlap:
                notes.append(f"{framework.id} overlaps expert-parallel all-to-alls with compute")
        return TrainingCase(
            spec=run.spec,
            cluster=cluster,
            global_batch=run.global_batch,
            seq_len=run.seq_len,
            layouts=layouts,
            searched=[f for f in LAYOUT_FIELDS if f not in run.fixed and f not in defaulted],
            fixed=run.fixed,
            defaulted=defaulted,
            software=software_of(framework),
            framework_notes=tuple(notes),
        )

    def family(self, case: TrainingCase) -> str:
        return case.cluster.family

    def params(self, values: Mapping[str, float]) -> EfficiencyParams:
        return PRIOR.with_values(values)

    def efficiency(self, family: str, table: EfficiencyTable | None) -> EfficiencyParams:
        return efficiency_for(family, table)

    def evaluate(self, case: TrainingCase, params: EfficiencyParams) -> TrainingEvaluation | None:
        if len(case.layouts) == 0:
            return None
        steps = _price(case, params)
        valid = steps.invalid == 0
        if not np.any(valid):
            return None
        fitting = valid & steps.fits
        pool = fitting if np.any(fitting) else valid
        candidates = np.flatnonzero(pool)
        best = int(candidates[np.argmin(steps.step_time_s[candidates])])
        return TrainingEvaluation(best, steps.step_time_s[best : best + 1], bool(np.any(fitting)))

    def why_not(self, case: TrainingCase, params: EfficiencyParams) -> str:
        if len(case.layouts) == 0:
            return f"{self.no_prediction_reason}: {why_no_layout(case)}"
        steps = _price(case, params)
        every = LayoutProblem(int(np.bitwise_and.reduce(steps.invalid)))  # the problems every candidate has
        problems = every or LayoutProblem(int(steps.invalid[0]))
        return f"{self.no_prediction_reason}: {problems.describe()}" if problems else self.no_prediction_reason

    def finish(self, run: TrainingRun, case: TrainingCase, evaluation: TrainingEvaluation) -> Prediction:
        value = float(metric_from_step(run, case.cluster, evaluation.step_time_s)[0])
        notes = list(case.framework_notes)
        if case.searched:
            notes.append("searched for the fastest: " + ", ".join(case.searched))
        if not evaluation.fits:
            notes.append("the memory model says this layout does not fit; predicted anyway (the run was measured)")
        return Prediction(value=value, layout=case.layouts.row(evaluation.index), notes=tuple(notes))

    def fastest(self, item: Prepared[TrainingRun, TrainingCase], params: EfficiencyParams) -> Prediction | None:
        case = item.case
        if not case.defaulted:
            return None  # nothing was filled with a default: the prediction already is the fastest
        run = item.run
        layouts = enumerate_layouts(
            run.spec, case.cluster, global_batch=run.global_batch, seq_len=run.seq_len, fixed=run.fixed
        )
        searched = replace(
            case, layouts=layouts, defaulted={}, searched=[f for f in LAYOUT_FIELDS if f not in run.fixed]
        )
        evaluation = self.evaluate(searched, params)
        return None if evaluation is None else self.finish(run, searched, evaluation)

    def filled(self, run: TrainingRun, case: TrainingCase) -> list[str]:
        return [f for f in LAYOUT_FIELDS if f in case.defaulted or f in case.searched]


# The order framework defaults are applied in: one that leaves no layout able to run is refused (and searched)
DEFAULT_ORDER = ("zero", "recompute", "hsdp", "sp", "vpp", "mb")


def default_mask(
    layouts: Layouts, name: str, value: int, framework: FrameworkDefaults, global_batch: int
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Layouts that follow the framework's ``name`` = ``value`` where it applies: sequence parallel only with
    tp > 1, hybrid sharding only at ZeRO-3, interleaving only with pp > 1; a "local" micro-batch is the global
    batch over the data-parallel ranks (no accumulation), or the framework's pipeline micro-batch with pp > 1."""
    column: np.ndarray[Any, np.dtype[np.int64]] = getattr(layouts, name)
    follows = column == value
    if name == "mb" and value == LOCAL_BATCH:
        follows = column * layouts.dp == global_batch
    pipeline_mb = framework.pipeline_micro_batch
    if name == "mb" and pipeline_mb is not None:
        in_pipeline = (
            column * layouts.dp * layouts.pp == global_batch if pipeline_mb == PER_STAGE else column == pipeline_mb
        )
        follows = np.where(layouts.pp > 1, in_pipeline, follows)
    if name == "sp":
        follows = np.where(layouts.tp > 1, follows, column == 0)
    elif name == "hsdp":
        follows = np.where(layouts.zero == 3, follows, column == 0)
    elif name == "vpp":
        follows = np.where(layouts.pp > 1, follows, column == 1)
    mask: np.ndarray[Any, np.dtype[np.bool_]] = np.asarray(follows, dtype=bool)
    return mask


def apply_framework_defaults(
    run: TrainingRun, cluster: Cluster, layouts: Layouts, framework: FrameworkDefaults
) -> tuple[Layouts, dict[str, int], list[str]]:
    """Restrict ``layouts`` to the framework's default for each field the row left blank, in
    :data:`DEFAULT_ORDER`; a default that leaves no layout able to run (it does not divide this row's batch or
    layers) is refused. Returns the layouts, the defaults applied and the fields refused."""
    applied: dict[str, int] = {}
    refused: list[str] = []
    for name in DEFAULT_ORDER:
        if name in run.fixed or name not in framework.layout:
            continue
        value = framework.layout[name]
        kept = layouts.take(default_mask(layouts, name, value, framework, run.global_batch))
        runnable = validity(run.spec, cluster, kept, run.global_batch, run.seq_len) == 0
        shown = "local" if name == "mb" and value == LOCAL_BATCH else value
        if np.any(runnable):
            layouts, applied[name] = kept, value
        else:
            refused.append(f"{name}={shown}")
    return layouts, applied, refused


def _price(case: TrainingCase, params: EfficiencyParams) -> StepArrays:
    """Every candidate layout of ``case`` priced with ``params``, the family's kernels and the framework's software."""
    return training_step(
        case.spec,
        case.cluster,
        with_family_kernels(params, case.cluster.family, case.software.attention_kernel),
        case.layouts,
        global_batch=case.global_batch,
        seq_len=case.seq_len,
        software=case.software,
    )


def why_no_layout(case: TrainingCase) -> str:
    """Why the layouts a row allows are none: the chip count its degrees imply, else the problems of the simplest
    layout it allows (its given fields, 1 for the other degrees, dp the rest of the chips)."""
    n = case.cluster.num_chips
    given = {f: case.fixed[f][0] for f in ("tp", "pp", "dp", "cp") if f in case.fixed}
    product = math.prod(given.values())
    if given and (product != n if len(given) == 4 else n % product != 0):
        names, values = "*".join(given), "*".join(str(v) for v in given.values())
        shown = f"{names} = {values} = {product}" if len(given) > 1 else f"{names} = {product}"
        need = "does not equal" if len(given) == 4 else "does not divide"
        return f"{shown} {need} num_chips ({n}); tp*pp*dp*cp must equal num_chips"
    simplest = {name: case.fixed[name][0] if name in case.fixed else 0 for name in LAYOUT_FIELDS}
    for name in ("tp", "pp", "cp", "ep", "vpp", "mb"):
        simplest[name] = simplest[name] or 1
    simplest["dp"] = given.get("dp") or max(n // (simplest["tp"] * simplest["pp"] * simplest["cp"]), 1)
    layout = Layouts.from_columns(simplest)
    problems = LayoutProblem(int(validity(case.spec, case.cluster, layout, case.global_batch, case.seq_len)[0]))
    if problems:
        return problems.describe()
    searched = ", ".join(case.searched) or "nothing"
    return f"no combination of the searched fields ({searched}) divides the model, batch and chips evenly"


TRAINING = TrainingModel()
