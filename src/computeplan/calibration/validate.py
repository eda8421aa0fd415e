"""Predict each measured run with its own layout (blank fields filled by the model) and compare with what was
measured: one loop and one result row for every calibrated model."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from computeplan.calibration.model import CalibratedModel, Memo, Prepared
from computeplan.calibration.runs import Progress
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog


@dataclass(frozen=True, kw_only=True, slots=True)
class RowResult:
    """One measured run against its prediction (``predicted`` None, with a ``reason``, when it cannot be predicted).

    ``error_pct`` is 100 (predicted - measured) / measured; ``layout`` the layout predicted; ``filled`` what the
    model filled in (searched layout fields, inferred lengths); ``notes`` how the prediction was made. Rows of
    one configuration may share their ``layout``, ``filled`` and ``notes`` objects: treat them as read-only.
    """

    id: str
    metric: str
    measured: float
    predicted: float | None = None
    error_pct: float | None = None
    chip: str = ""
    family: str = ""
    calibrated: bool = False
    calibration: str = "uncalibrated"  # calibrated, borrowed (another family's fit) or uncalibrated
    fastest_predicted: float | None = None  # with every blank field searched for the fastest (not the default)
    layout: dict[str, Any] = field(default_factory=dict)
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
            "calibration": self.calibration,
            "fastest_predicted": self.fastest_predicted,
            "layout": self.layout,
            "filled": self.filled,
            "notes": self.notes,
            "reason": self.reason,
        }


def validate_runs(
    model: CalibratedModel[Any, Any, Any, Any],
    runs: Sequence[Any],
    catalog: Catalog,
    table: EfficiencyTable | None,
    *,
    progress: Progress | None = None,
) -> tuple[list[RowResult], list[Prepared[Any, Any]]]:
    """A result per run, in order, and the runs that could be prepared (for the held-out split).

    Runs of the same configuration share their preparation and their evaluation; ``progress(done, total)`` is
    called after each run.
    """
    cases: dict[Any, Any] = {}
    params: dict[str, Any] = {}
    memo: Memo = {}
    lists: dict[tuple[str, ...], list[str]] = {}  # equal 'filled' and 'notes' lists held once
    # the fastest-layout prediction depends on the case and the metric only (the case holds the rest of the row and
    # its family's parameters are one object here): searched once per case and metric, not per row
    fastest_of: dict[tuple[int, str], Any] = {}
    results: list[RowResult] = []
    prepared: list[Prepared[Any, Any]] = []
    for i, run in enumerate(runs):
        case = model.case_of(run, catalog, cases)
        if isinstance(case, str):
            results.append(RowResult(id=run.id, metric=run.metric, measured=run.value, chip=run.chip, reason=case))
        else:
            item = Prepared(run, case)
            prepared.append(item)
            family = model.family(case)
            if family not in params:
                params[family] = model.efficiency(family, table)
            result = row_result(model, item, family, params[family], memo, lists)
            fastest = None
            if result.predicted is not None:
                key = (id(case), run.metric)
                if key not in fastest_of:
                    fastest_of[key] = model.fastest(item, params[family])
                fastest = fastest_of[key]
            results.append(replace(result, fastest_predicted=fastest.value) if fastest is not None else result)
        if progress is not None:
            progress(i + 1, len(runs))
    return results, prepared


def row_result(
    model: CalibratedModel[Any, Any, Any, Any],
    item: Prepared[Any, Any],
    family: str,
    eff: Any,
    memo: Memo,
    lists: dict[tuple[str, ...], list[str]],
) -> RowResult:
    """A prepared run predicted with the parameters ``eff`` of its ``family`` (``memo`` and ``lists`` shared by the
    rows predicted with the same parameters)."""
    run = item.run
    common = {"id": run.id, "metric": run.metric, "measured": run.value, "chip": run.chip, "family": family}
    prediction = model.predict(item, eff, memo)
    if prediction is None:
        return RowResult(
            **common, calibrated=eff.calibrated, calibration=eff.calibration, reason=model.why_not(item.case, eff)
        )
    notes = (*prediction.notes, f"{eff.calibration}: {eff.basis}") if not eff.calibrated else prediction.notes
    filled = tuple(model.filled(run, item.case))
    return RowResult(
        **common,
        calibrated=eff.calibrated,
        calibration=eff.calibration,
        predicted=prediction.value,
        error_pct=100.0 * (prediction.value - run.value) / run.value,
        layout=prediction.layout,
        filled=lists.setdefault(filled, list(filled)),
        notes=lists.setdefault(notes, list(notes)),
    )


@dataclass(frozen=True, kw_only=True)
class ErrorSummary:
    """How well a set of rows is predicted: rows, rows predicted, median, 90th percentile and worst absolute %
    error (None: no row predicted). The percentile interpolates linearly between ranks (numpy's default)."""

    count: int
    predicted: int
    median_abs_error_pct: float | None
    max_abs_error_pct: float | None
    p90_abs_error_pct: float | None = None

    def to_dict(self) -> dict[str, int | float | None]:
        return asdict(self)


def summarize(rows: Sequence[RowResult]) -> ErrorSummary:
    """Count, predicted count, median, 90th percentile and worst absolute % error of rows with an ``error_pct``."""
    errors = [abs(r.error_pct) for r in rows if r.error_pct is not None]
    if len(errors) > 1:
        p90: float | None = statistics.quantiles(errors, n=10, method="inclusive")[8]
    else:
        p90 = errors[0] if errors else None
    return ErrorSummary(
        count=len(rows),
        predicted=len(errors),
        median_abs_error_pct=statistics.median(errors) if errors else None,
        max_abs_error_pct=max(errors) if errors else None,
        p90_abs_error_pct=p90,
    )
