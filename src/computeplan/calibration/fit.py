"""Fit the efficiency parameters of each chip family to measured runs: one least-squares fit for every model.

The fit minimises, within the bounds of the parameter space,

    sum_i soft_l1(ln(predicted_i / measured_i))  [+ sum_j (w (x_j - prior_j))^2 with a prior pull w > 0]

where x are the fit's coordinates (log-scale parameters as logarithms). ``soft_l1`` with scale 0.1 makes a run off
by more than ~10% count roughly linearly rather than quadratically, so one odd source cannot drag a family. A row no
layout can run costs a fixed residual of 1 (a factor of e).

Rows are split deterministically: every fourth row of each source (by id order) is held out and never fitted.
A cross-chip default is fitted on the fit rows of all families, for chips without calibration runs; there the
families with enough evidence for a fit of their own count alike, whatever their number of runs
(:func:`family_weights`): the default stands for a family never seen, and the family with the most published runs
should not be it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prepared
from computeplan.calibration.publications import publication
from computeplan.calibration.runs import Progress
from computeplan.catalog.efficiency_schema import EfficiencyTable, FamilyFit, HoldoutError, ParameterSpace
from computeplan.errors import ComputeplanError

HOLD_OUT_EVERY = 4
MAX_EVALUATIONS = 400
MISS_RESIDUAL = 1.0  # a row with no prediction counts as off by a factor of e


class Measured(Protocol):
    @property
    def measured(self) -> float: ...


R = TypeVar("R", bound=Measured)
T = TypeVar("T")


def split(prepared: Sequence[T]) -> tuple[list[T], list[T]]:
    """(fit, held out): within each source, rows in id order; every 4th (the 4th, 8th, ...) is held out.

    Works for any prepared run with ``.run.source`` and ``.run.id`` (training and serving alike).
    """
    by_source: dict[str, list[T]] = defaultdict(list)
    for item in prepared:
        by_source[item.run.source.split(" ")[0]].append(item)  # type: ignore[attr-defined]
    fit_rows: list[T] = []
    held: list[T] = []
    for items in by_source.values():
        for i, item in enumerate(sorted(items, key=lambda x: x.run.id)):  # type: ignore[attr-defined]
            (held if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else fit_rows).append(item)
    return fit_rows, held


def family_weights(families: Sequence[str], established: frozenset[str] | set[str] | None = None) -> np.ndarray:
    """Weight of each row in a fit pooled over families: the rows of each ``established`` family (one with enough
    evidence to be fitted on its own; all families when None) weigh n_e / (F_e n_f) each, so that those families
    count alike (n_e their rows, F_e their number, n_f the family's rows); a row of any other family weighs 1,
    as one run. All 1 for a single family; the weights sum to the number of rows."""
    counts: dict[str, int] = defaultdict(int)
    for family in families:
        counts[family] += 1
    chosen = set(counts) if established is None else set(established) & set(counts)
    rows_established = sum(counts[f] for f in chosen)
    return np.array(
        [rows_established / (len(chosen) * counts[f]) if f in chosen else 1.0 for f in families], dtype=float
    )


def _weighted_soft_l1(weights: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """scipy's soft_l1 loss rho(z) = 2 (sqrt(1 + z) - 1) per residual, times the residual's weight (z = r^2)."""

    def loss(z: np.ndarray) -> np.ndarray:
        root = np.sqrt(1.0 + z)
        rho = np.empty((3, z.size))
        rho[0] = 2.0 * (root - 1.0)
        rho[1] = 1.0 / root
        rho[2] = -0.5 / root**3
        rho[:, : weights.size] *= weights  # prior terms (after the rows) keep weight 1
        return rho

    return loss


def fit(
    space: ParameterSpace,
    rows: Sequence[R],
    predict_fn: Callable[[Sequence[R], Mapping[str, float]], Sequence[float | None]],
    prior_weight: float = 0.0,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Least-squares fit of ``space`` to ``rows`` (see the module docstring); returns the fitted values.

    ``predict_fn(rows, values)`` predicts every row for the parameter ``values`` (None where a row cannot be
    predicted); each row has a ``measured`` value. ``prior_weight`` > 0 adds the pull towards the priors.
    ``weights`` (one per row, default 1) scale each row's robust term (:func:`family_weights`).
    """
    from scipy.optimize import least_squares  # type: ignore[import-untyped]  # slow to import; only fits need it

    if not rows:
        raise ComputeplanError("nothing to fit: no row could be predicted")
    lower, upper = space.bounds()
    x_prior = space.prior_vector()
    x0 = np.clip(x_prior, lower, upper)
    measured = [row.measured for row in rows]

    def residuals(x: np.ndarray) -> np.ndarray:
        predicted = predict_fn(rows, space.from_vector(x))
        errors = np.array(
            [
                math.log(p / m) if p is not None and 0 < p < math.inf else MISS_RESIDUAL
                for p, m in zip(predicted, measured, strict=True)
            ]
        )
        if prior_weight:
            return np.concatenate([errors, prior_weight * (x - x_prior)])
        return errors

    result = least_squares(
        residuals,
        x0,
        bounds=(lower, upper),
        diff_step=1e-3,
        loss="soft_l1" if weights is None else _weighted_soft_l1(np.asarray(weights, dtype=float)),
        f_scale=0.1,
        max_nfev=MAX_EVALUATIONS,
    )
    return space.from_vector(result.x)


def fit_default(
    model: CalibratedModel[Any, Any, Any, Any],
    rows: Sequence[Prepared[Any, Any]],
    predict_fn: Callable[[Sequence[Prepared[Any, Any]], Mapping[str, float]], Sequence[float | None]],
) -> dict[str, float]:
    """The cross-chip default: one fit over the rows of every family, each family with enough evidence for a fit
    of its own weighing alike, a run of a thinner family as one run (:func:`family_weights`)."""
    by_family: dict[str, list[Prepared[Any, Any]]] = defaultdict(list)
    for item in rows:
        by_family[model.family(item.case)].append(item)
    established = {
        f for f, own in by_family.items() if enough_evidence(own, model.min_family_rows, model.min_family_sources)
    }
    weights = family_weights([model.family(item.case) for item in rows], established)
    return fit(model.space, rows, predict_fn, model.prior_weight, weights)


def _sources(rows: Sequence[Prepared[Any, Any]]) -> int:
    return len({publication(item.run.source) for item in rows})


def enough_evidence(rows: Sequence[Prepared[Any, Any]], min_rows: int = 1, min_sources: int = 1) -> bool:
    """True when ``rows`` hold at least ``min_rows`` rows from ``min_sources`` publications (a model's
    ``min_family_rows`` and ``min_family_sources``: training asks 3 rows from 2 publications, so that no fitted
    parameter rests on one setup)."""
    return len(rows) >= min_rows and _sources(rows) >= min_sources


def family_holdout(
    model: CalibratedModel[Any, Any, Any, Any], rows: Sequence[Prepared[Any, Any]]
) -> dict[str, HoldoutError]:
    """Leave one family out: each family's rows predicted by the cross-chip default fitted on the other families'
    rows; the error to expect for a chip whose family has no runs (uncalibrated). Keys: each family, and "all"."""
    families: dict[str, list[Prepared[Any, Any]]] = defaultdict(list)
    for item in rows:
        families[model.family(item.case)].append(item)
    if len(families) < 2:
        return {}
    predict_fn = model.predictor()
    errors: dict[str, list[float]] = {}
    for family, own in sorted(families.items()):
        others = [item for item in rows if model.family(item.case) != family]
        values = fit_default(model, others, predict_fn)
        predicted = predict_fn(own, values)
        errors[family] = [
            100.0 * abs(p / item.measured - 1.0) for p, item in zip(predicted, own, strict=True) if p is not None
        ]
    errors["all"] = [e for found in errors.values() for e in found]

    def summary(found: list[float]) -> HoldoutError:
        return HoldoutError(
            median_pct=round(float(np.median(found)), 1),
            p90_pct=round(float(np.percentile(found, 90)), 1),
            rows=len(found),
        )

    return {name: summary(found) for name, found in errors.items() if found}


def fit_table(
    model: CalibratedModel[Any, Any, Any, Any],
    prepared: Sequence[Prepared[Any, Any]],
    *,
    skipped: Sequence[tuple[str, str]] = (),
    progress: Progress | None = None,
    done: int = 0,
    total: int | None = None,
    hold_out: bool = True,
    family_errors: bool = False,
) -> EfficiencyTable:
    """The calibration table: parameters per family and the cross-chip default, with what they were fitted on.

    With ``hold_out`` (the shipped tables) every fourth row of each source is held out (:func:`split`); without
    it every row given is fitted (leave-one-source-out passes the rows of the other sources). With
    ``family_errors``, the table also carries the leave-one-family-out error (:func:`family_holdout`).

    ``progress(done, total)`` advances by a family's fit rows as each family is fitted, then by all fit rows for
    the default. ``done`` and ``total`` carry the count of a caller's earlier work (preparing the rows); units
    of ``total`` beyond ``done`` + 2 x fit rows (rows not fitted) are counted done when fitting starts.
    """
    fit_rows, held = split(prepared) if hold_out else (list(prepared), [])
    families: dict[str, list[Prepared[Any, Any]]] = defaultdict(list)
    for item in fit_rows:
        families[model.family(item.case)].append(item)
    total = done + 2 * len(fit_rows) if total is None else total
    done = max(done, total - 2 * len(fit_rows))
    if progress is not None:
        progress(done, total)
    predict_fn = model.predictor()

    def rounded(values: Mapping[str, float], rows: int, sources: int) -> FamilyFit:
        return FamilyFit(values={k: round(v, model.decimals) for k, v in values.items()}, rows=rows, sources=sources)

    fitted: dict[str, FamilyFit] = {}
    for family, rows in sorted(families.items()):
        if not enough_evidence(rows, model.min_family_rows, model.min_family_sources):
            continue  # predicted with a borrowed fit or the cross-chip default, and marked so
        fitted[family] = rounded(fit(model.space, rows, predict_fn, model.prior_weight), len(rows), _sources(rows))
        done += len(rows)
        if progress is not None:
            progress(done, total)
    default = rounded(fit_default(model, fit_rows, predict_fn), len(fit_rows), _sources(fit_rows))
    holdout = family_holdout(model, fit_rows) if family_errors else {}
    if progress is not None:
        progress(total, total)
    return EfficiencyTable(
        families=fitted,
        default=default,
        fitted_on=tuple(sorted(item.run.id for item in fit_rows)),
        held_out=tuple(sorted(item.run.id for item in held)),
        skipped=tuple(skipped),
        family_holdout=holdout,
    )
