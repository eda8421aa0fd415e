"""The training-step model as calibration sees it: a row's layout columns, its candidate layouts (the fields the
source did not report are searched for the fastest layout that fits), and the metric in the source's accounting."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prediction
from computeplan.calibration.runs import MAX_WHOLE, BadRow, Cells, MeasuredRun
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog
from computeplan.hardware.cluster import Cluster, Precision, cluster_from_catalog
from computeplan.hardware.efficiency import PRIOR, TRAINING_SPACE, EfficiencyParams, efficiency_for
from computeplan.perf.layout import LAYOUT_FIELDS, Layouts
from computeplan.perf.training import model_flops_per_token, training_step
from computeplan.search.space import enumerate_layouts
from computeplan.workload.transformer import TransformerSpec

TRAINING_METRICS = ("step_time_s", "tokens_per_s_per_chip", "tflops_per_chip", "mfu")
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
        return flops / step_time_s / cluster.num_chips / 1e12
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

    def read_row(
        self, cells: Cells, catalog: Catalog, common: dict[str, Any], shared: dict[Hashable, Any]
    ) -> TrainingRun:
        if common["metric"] == "mfu" and common["value"] > 1:
            raise BadRow(
                f"column 'value': mfu is a fraction of peak in (0, 1], got {common['value']:g} (a percentage?)"
            )
        global_batch = cells.whole("global_batch")
        if global_batch is None:
            raise BadRow("column 'global_batch' is blank; it is required")
        spec: TransformerSpec = common["spec"]
        key = ("layout", *(cells.text(c) for c in LAYOUT_TEXT_COLUMNS))
        fixed = shared.get(key)
        if fixed is None:
            fixed = shared[key] = self._fixed(cells)
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


TRAINING = TrainingModel()
