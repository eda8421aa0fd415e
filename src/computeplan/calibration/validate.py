"""Predict each measured run with its exact layout (blank fields searched for the fastest that fits) and
compare with what was measured."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from computeplan.calibration.runs import TrainingRun
from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError
from computeplan.hardware.cluster import Cluster, Precision, cluster_from_catalog
from computeplan.hardware.efficiency import EfficiencyParams, efficiency_for
from computeplan.perf.layout import LAYOUT_FIELDS, Layouts
from computeplan.perf.training import model_flops_per_token, training_step
from computeplan.search.space import enumerate_layouts


@dataclass(frozen=True, kw_only=True)
class PreparedRun:
    """A run with its cluster and candidate layouts built once (they do not depend on the fitted parameters)."""

    run: TrainingRun
    cluster: Cluster
    layouts: Layouts
    searched: list[str]


@dataclass(frozen=True, kw_only=True)
class RowResult:
    id: str
    metric: str
    measured: float
    predicted: float | None = None
    error_pct: float | None = None
    chip: str = ""
    family: str = ""
    calibrated: bool = False
    layout: dict[str, int] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "predicted": self.predicted,
            "measured": self.measured,
            "error_pct": self.error_pct,
            "chip": self.chip,
            "family": self.family,
            "calibrated": self.calibrated,
            "layout": self.layout,
            "filled_by_search": self.filled,
            "notes": self.notes,
            "reason": self.reason,
        }


def prepare(run: TrainingRun, catalog: Catalog) -> PreparedRun:
    cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
    layouts = enumerate_layouts(run.spec, cluster, global_batch=run.global_batch, seq_len=run.seq_len, fixed=run.fixed)
    searched = [f for f in LAYOUT_FIELDS if f not in run.fixed]
    return PreparedRun(run=run, cluster=cluster, layouts=layouts, searched=searched)


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


def predict(prepared: PreparedRun, eff: EfficiencyParams) -> tuple[float, int, bool] | None:
    """Predicted metric, index of the chosen layout, and whether it fits; None when no layout can run."""
    run = prepared.run
    if len(prepared.layouts) == 0:
        return None
    steps = training_step(
        run.spec, prepared.cluster, eff, prepared.layouts, global_batch=run.global_batch, seq_len=run.seq_len
    )
    valid = steps.invalid == 0
    if not np.any(valid):
        return None
    fitting = valid & steps.fits
    pool = fitting if np.any(fitting) else valid
    candidates = np.flatnonzero(pool)
    best = int(candidates[np.argmin(steps.step_time_s[candidates])])
    value = float(metric_from_step(run, prepared.cluster, steps.step_time_s[best : best + 1])[0])
    return value, best, bool(np.any(fitting))


def validate_runs(
    prepared: Sequence[PreparedRun], table: Mapping[str, Any] | None, *, override: EfficiencyParams | None = None
) -> list[RowResult]:
    rows = []
    for item in prepared:
        run = item.run
        eff = override or efficiency_for(item.cluster.family, table)
        outcome = predict(item, eff)
        if outcome is None:
            rows.append(_row(item, eff, reason="no layout consistent with the row can run"))
            continue
        value, index, fits = outcome
        notes = []
        if item.searched:
            notes.append("searched for the fastest: " + ", ".join(item.searched))
        if not fits:
            notes.append("the memory model says this layout does not fit; predicted anyway (the run was measured)")
        if not eff.calibrated:
            notes.append("uncalibrated: " + eff.basis)
        error = 100.0 * (value - run.value) / run.value
        rows.append(
            _row(
                item,
                eff,
                predicted=value,
                error_pct=error,
                layout=item.layouts.row(index),
                filled=item.searched,
                notes=notes,
            )
        )
    return rows


def _row(item: PreparedRun, eff: EfficiencyParams, **extra: Any) -> RowResult:
    run = item.run
    return RowResult(
        id=run.id,
        metric=run.metric,
        measured=run.value,
        chip=run.chip,
        family=item.cluster.family,
        calibrated=eff.calibrated,
        **extra,
    )


def summarize(rows: Sequence[Any]) -> dict[str, Any]:
    """Count, predicted count, median and worst absolute % error of rows with an ``error_pct``."""
    errors = [abs(r.error_pct) for r in rows if r.error_pct is not None]
    return {
        "count": len(rows),
        "predicted": len(errors),
        "median_abs_error_pct": statistics.median(errors) if errors else None,
        "max_abs_error_pct": max(errors) if errors else None,
    }


def prepare_all(runs: Sequence[TrainingRun], catalog: Catalog) -> tuple[list[PreparedRun], list[RowResult]]:
    """Prepared runs, and rows that cannot be predicted at all (unknown chip, bad layout) with the reason."""
    prepared, failed = [], []
    for run in runs:
        try:
            prepared.append(prepare(run, catalog))
        except ComputeplanError as exc:
            failed.append(RowResult(id=run.id, metric=run.metric, measured=run.value, chip=run.chip, reason=str(exc)))
    return prepared, failed
