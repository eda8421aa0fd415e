"""What a calibrated performance model gives the shared read/fit/validate machinery, and the machinery's cache.

A model (:data:`computeplan.calibration.training.TRAINING`, :data:`computeplan.calibration.serving.SERVING`) says
how to read its own columns of a row, how to build the row's *case* (cluster and candidate layouts: everything
that does not depend on the fitted parameters), how to evaluate a case for given parameters (the expensive step),
and how to turn that evaluation into the row's metric (cheap). Rows that ran the same configuration share one case
(:meth:`CalibratedModel.prepare_all`), and each case is evaluated once per parameter set
(:meth:`CalibratedModel.predict_all`): a file of 20,000 rows over 75 configurations costs 75 evaluations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from computeplan.calibration.runs import BadRow, Cells, MeasuredRun, Progress
from computeplan.catalog.efficiency_schema import EfficiencyTable, ParameterSpace
from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError

RunT = TypeVar("RunT", bound=MeasuredRun)
CaseT = TypeVar("CaseT")
EvalT = TypeVar("EvalT")
ParamsT = TypeVar("ParamsT", bound="Efficiency")


class Efficiency(Protocol):
    """What every efficiency-parameter object says about itself."""

    @property
    def calibrated(self) -> bool: ...

    @property
    def basis(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """A row's predicted metric, the layout that gives it, and notes on how it was found."""

    value: float
    layout: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prepared(Generic[RunT, CaseT]):
    """A run with its case (shared with the other runs of the same configuration)."""

    run: RunT
    case: CaseT

    @property
    def measured(self) -> float:
        return self.run.value


@dataclass(frozen=True)
class PrepareFailure(Generic[RunT]):
    """A run whose case cannot be built (unknown chip, no layout divides its chips), with the reason."""

    run: RunT
    reason: str


class CalibratedModel(ABC, Generic[RunT, CaseT, EvalT, ParamsT]):
    """A performance model with fitted efficiency parameters, as the calibration machinery sees it."""

    kind: str  # "training" or "inference"
    metrics: tuple[str, ...]
    required_columns: tuple[str, ...]
    default_num_chips: int | None  # None: the column is required
    space: ParameterSpace
    prior_weight: float  # pull of the fit towards the priors (0: none)
    # a family is fitted only on at least this many rows from this many publications (calibration.fit)
    min_family_rows: int = 1
    min_family_sources: int = 1
    decimals: int  # digits after the point of fitted values in a written table
    no_prediction_reason: str  # the reason given when no candidate of a case can run (see why_not)
    value_ranges: Mapping[str, tuple[float, float, str]]  # metric -> plausible (low, high, unit) of a measured value

    @abstractmethod
    def read_row(self, cells: Cells, catalog: Catalog, common: dict[str, Any], shared: dict[Hashable, Any]) -> RunT:
        """The run of a row, from the checked common fields and the model's own columns (BadRow if unusable).

        ``shared`` holds values read once for every row that repeats them (keys: tuples starting with a tag).
        """

    @abstractmethod
    def case_key(self, run: RunT) -> Hashable:
        """Equal for runs whose case is the same (everything but id, source, metric, value and line)."""

    @abstractmethod
    def make_case(self, run: RunT, catalog: Catalog) -> CaseT:
        """Cluster and candidate layouts of a run; a ComputeplanError when it cannot run at all."""

    @abstractmethod
    def family(self, case: CaseT) -> str:
        """The chip family whose parameters predict the case."""

    @abstractmethod
    def params(self, values: Mapping[str, float]) -> ParamsT:
        """Efficiency parameters with the fitted ``values`` (the priors elsewhere)."""

    @abstractmethod
    def efficiency(self, family: str, table: EfficiencyTable | None) -> ParamsT:
        """A family's parameters from a table (its own, else the cross-chip default, else the priors)."""

    @abstractmethod
    def evaluate(self, case: CaseT, params: ParamsT) -> EvalT | None:
        """The expensive step: every candidate of the case under ``params``; None when none can run."""

    @abstractmethod
    def finish(self, run: RunT, case: CaseT, evaluation: EvalT) -> Prediction:
        """The run's metric from its case's evaluation (the best candidate for the run's metric).

        Depends on the run only through its metric (the rest is in the case), so rows of one case share it.
        """

    @abstractmethod
    def filled(self, run: RunT, case: CaseT) -> list[str]:
        """What the model filled in for the row (searched layout fields, inferred lengths), for the reader."""

    def why_not(self, case: CaseT, params: ParamsT) -> str:
        """Why no candidate of ``case`` can run under ``params`` (asked only of rows without a prediction)."""
        return self.no_prediction_reason

    def fastest(self, item: Prepared[RunT, CaseT], params: ParamsT) -> Prediction | None:
        """The row predicted with every field it left blank searched for the fastest layout that fits, where the
        model fills blanks otherwise (framework defaults); None where it does not. Reported beside the prediction,
        never used while fitting."""
        return None

    def check_value(self, metric: str, value: float) -> None:
        """A measured value outside its metric's plausible range is a :class:`BadRow` (a unit slip, a typo): a
        value of 1e-300 would otherwise give an error of 1e302 % and pull the fit."""
        low, high, unit = self.value_ranges[metric]
        if not low <= value <= high:
            raise BadRow(
                f"column 'value': {metric} {value:g}{unit} is outside the plausible range {low:g}-{high:g}{unit} "
                "(check the unit)"
            )

    # --- shared machinery -------------------------------------------------------------------------------------

    def prepare_all(
        self, runs: Sequence[RunT], catalog: Catalog, *, progress: Progress | None = None
    ) -> tuple[list[Prepared[RunT, CaseT]], list[PrepareFailure[RunT]]]:
        """Each run with its case, runs of the same configuration sharing one; the runs that cannot be prepared."""
        cases: dict[Hashable, CaseT | str] = {}
        prepared: list[Prepared[RunT, CaseT]] = []
        failed: list[PrepareFailure[RunT]] = []
        for i, run in enumerate(runs):
            outcome = self.case_of(run, catalog, cases)
            if isinstance(outcome, str):
                failed.append(PrepareFailure(run, outcome))
            else:
                prepared.append(Prepared(run, outcome))
            if progress is not None:
                progress(i + 1, len(runs))
        return prepared, failed

    def case_of(self, run: RunT, catalog: Catalog, cases: dict[Hashable, CaseT | str]) -> CaseT | str:
        """The run's case from ``cases`` (built and added when new), or the reason it cannot be built."""
        key = self.case_key(run)
        found = cases.get(key)
        if found is None:
            try:
                found = self.make_case(run, catalog)
            except ComputeplanError as exc:
                found = str(exc)
            cases[key] = found
        return found

    def predict(self, item: Prepared[RunT, CaseT], params: ParamsT, memo: Memo | None = None) -> Prediction | None:
        """The row's prediction; ``memo`` shares it between rows of one case and metric (same ``params`` object)."""
        if memo is None:
            evaluation = self.evaluate(item.case, params)
            return None if evaluation is None else self.finish(item.run, item.case, evaluation)
        key = (id(item.case), id(params))
        hit = memo.get(key)
        if hit is None:
            hit = _Evaluated(item.case, params, self.evaluate(item.case, params))
            memo[key] = hit
        if hit.evaluation is None:
            return None
        metric = item.run.metric
        if metric not in hit.by_metric:
            hit.by_metric[metric] = self.finish(item.run, item.case, hit.evaluation)
        return hit.by_metric[metric]

    def predict_all(self, items: Sequence[Prepared[RunT, CaseT]], params: ParamsT) -> list[Prediction | None]:
        """Predictions of ``items`` under one parameter set, each case evaluated once."""
        memo: Memo = {}
        return [self.predict(item, params, memo) for item in items]

    def predictor(self) -> Callable[[Sequence[Prepared[RunT, CaseT]], Mapping[str, float]], list[float | None]]:
        """``predict_fn(rows, values)`` for :func:`computeplan.calibration.fit.fit`: predicted values (None: no run)."""

        def predict_fn(rows: Sequence[Prepared[RunT, CaseT]], values: Mapping[str, float]) -> list[float | None]:
            return [None if p is None else p.value for p in self.predict_all(rows, self.params(values))]

        return predict_fn


@dataclass
class _Evaluated:
    """A case's evaluation under one parameter set, and the prediction per metric (holding the case and the
    parameters keeps their ids, the memo's key, from being reused while the memo lives)."""

    case: Any
    params: Any
    evaluation: Any
    by_metric: dict[str, Prediction] = field(default_factory=dict)


Memo = dict[tuple[int, int], _Evaluated]
