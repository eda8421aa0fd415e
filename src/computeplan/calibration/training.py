"""The training-step model as calibration sees it: a row's layout columns, its candidate layouts (the fields the
source did not report are searched for the fastest layout that fits), and the metric in the source's accounting."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prediction
from computeplan.calibration.runs import MAX_WHOLE, BadRow, Cells, MeasuredRun
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog
from computeplan.hardware.cluster import Cluster, Precision, cluster_from_catalog
from computeplan.hardware.efficiency import PRIOR, TRAINING_SPACE, EfficiencyParams, efficiency_for
from computeplan.perf.layout import LAYOUT_FIELDS, LayoutProblem, Layouts
from computeplan.perf.training import model_flops_per_token, training_step, validity
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
RECOMPUTE = {"none": 0, "selective": 1, "full": 2}
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
# The largest tp the layout search tries is the scale-up domain, and at least this (as search.space.enumerate_layouts)
TP_CAP = 8
LAYOUT_TEXT_COLUMNS = (*(c for c, _, _ in LAYOUT_COLUMNS), "recompute", "sequence_parallel", "precision")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingRun(MeasuredRun):
    """One measured training run: the model, the hardware, whatever layout the source gave, and the measurement."""

    seq_len: int
    global_batch: int
    fixed: dict[str, list[int]]  # layout fields the source reported


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
        key = ("layout", *(cells.text(c) for c in LAYOUT_TEXT_COLUMNS))
        fixed = shared.get(key)
        if fixed is None:
            fixed = shared[key] = self._fixed(cells)
        ep = fixed.get("ep", [1])[0]
        if ep > 1 and not spec.is_moe:
            raise BadRow(
                f"column 'ep': expert parallelism ({ep}) needs a mixture-of-experts model, and this row's model is "
                "dense (give 'moe_experts', or leave 'ep' blank or 1)"
            )
        return TrainingRun(**common, seq_len=spec.seq_len, global_batch=global_batch, fixed=fixed)

    def _fixed(self, cells: Cells) -> dict[str, list[int]]:
        """The layout fields a row gives (shared by the rows that give the same; never modified)."""
        fixed: dict[str, list[int]] = {}
        for column, name, low in LAYOUT_COLUMNS:
            value = cells.whole(column, low=low, high=3 if name == "zero" else MAX_WHOLE)
            if value is not None:
                fixed[name] = [value]
        if fixed.get("zero") != [3]:
            fixed["hsdp"] = [0]  # hybrid sharding is a ZeRO-3 variant; a run at stage 3 may have used either
        recompute = cells.choice("recompute", RECOMPUTE)
        if recompute:
            fixed["recompute"] = [RECOMPUTE[recompute]]
        sp = cells.choice("sequence_parallel", ("true", "false"), lower=True)
        if sp:
            fixed["sp"] = [1 if sp == "true" else 0]
        precision = cells.choice("precision", ("bf16", "fp8")) or "bf16"
        fixed["fp8"] = [1 if precision == "fp8" else 0]
        return fixed

    def case_key(self, run: TrainingRun) -> Hashable:
        fixed = tuple(sorted((k, tuple(v)) for k, v in run.fixed.items()))
        return (run.spec, run.chip, run.num_chips, run.global_batch, run.seq_len, fixed)

    def make_case(self, run: TrainingRun, catalog: Catalog) -> TrainingCase:
        cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
        layouts = enumerate_layouts(
            run.spec, cluster, global_batch=run.global_batch, seq_len=run.seq_len, fixed=run.fixed
        )
        return TrainingCase(
            spec=run.spec,
            cluster=cluster,
            global_batch=run.global_batch,
            seq_len=run.seq_len,
            layouts=layouts,
            searched=[f for f in LAYOUT_FIELDS if f not in run.fixed],
            fixed=run.fixed,
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
        steps = training_step(
            case.spec, case.cluster, params, case.layouts, global_batch=case.global_batch, seq_len=case.seq_len
        )
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
        steps = training_step(
            case.spec, case.cluster, params, case.layouts, global_batch=case.global_batch, seq_len=case.seq_len
        )
        every = LayoutProblem(int(np.bitwise_and.reduce(steps.invalid)))  # the problems every candidate has
        problems = every or LayoutProblem(int(steps.invalid[0]))
        return f"{self.no_prediction_reason}: {problems.describe()}" if problems else self.no_prediction_reason

    def finish(self, run: TrainingRun, case: TrainingCase, evaluation: TrainingEvaluation) -> Prediction:
        value = float(metric_from_step(run, case.cluster, evaluation.step_time_s)[0])
        notes = []
        if case.searched:
            notes.append("searched for the fastest: " + ", ".join(case.searched))
        if not evaluation.fits:
            notes.append("the memory model says this layout does not fit; predicted anyway (the run was measured)")
        return Prediction(value=value, layout=case.layouts.row(evaluation.index), notes=tuple(notes))

    def filled(self, run: TrainingRun, case: TrainingCase) -> list[str]:
        return list(case.searched)


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
    tp_cap = max(case.cluster.scaleup_domain_chips, TP_CAP)
    if given.get("tp", 1) > tp_cap:
        return f"tp ({given['tp']}) is more than the chips of one scale-up domain ({tp_cap})"
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
