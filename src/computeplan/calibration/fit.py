"""Fit the efficiency parameters of each chip family to measured runs (least squares on log error).

Rows are split deterministically: every fourth row of each source (by id order) is held out and never fitted.
A cross-chip default is fitted on the fit rows of all families, for chips without calibration runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
from scipy.optimize import least_squares  # type: ignore[import-untyped]

from computeplan.calibration.validate import PreparedRun, predict
from computeplan.hardware.efficiency import BOUNDS, FITTED_NAMES, PRIOR, EfficiencyParams

HOLD_OUT_EVERY = 4
T = TypeVar("T")


def split(prepared: Sequence[T]) -> tuple[list[T], list[T]]:
    """(fit, held out): within each source, rows in id order; every 4th (the 4th, 8th, ...) is held out.

    Works for any prepared run with ``.run.source`` and ``.run.id`` (training and serving alike).
    """
    by_source: dict[str, list[T]] = defaultdict(list)
    for item in prepared:
        by_source[item.run.source.split(" ")[0]].append(item)  # type: ignore[attr-defined]
    fit: list[T] = []
    held: list[T] = []
    for items in by_source.values():
        for i, item in enumerate(sorted(items, key=lambda x: x.run.id)):  # type: ignore[attr-defined]
            (held if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else fit).append(item)
    return fit, held


def _to_vector(p: EfficiencyParams) -> np.ndarray:
    return np.array(
        [math.log(getattr(p, name)) if name == "matmul_half_dim" else getattr(p, name) for name in FITTED_NAMES]
    )


def _from_vector(x: np.ndarray) -> dict[str, float]:
    return {
        name: float(math.exp(v) if name == "matmul_half_dim" else v) for name, v in zip(FITTED_NAMES, x, strict=True)
    }


def _residuals(x: np.ndarray, rows: Sequence[PreparedRun]) -> np.ndarray:
    eff = PRIOR.with_values(_from_vector(x))
    out = []
    for item in rows:
        outcome = predict(item, eff)
        out.append(math.log(outcome[0] / item.run.value) if outcome else 1.0)
    return np.array(out)


def fit_family(rows: Sequence[PreparedRun]) -> dict[str, float]:
    """Least-squares fit of the fitted parameters on ``rows``; returns their values."""
    lower = [math.log(BOUNDS[n][0]) if n == "matmul_half_dim" else BOUNDS[n][0] for n in FITTED_NAMES]
    upper = [math.log(BOUNDS[n][1]) if n == "matmul_half_dim" else BOUNDS[n][1] for n in FITTED_NAMES]
    x0 = np.clip(_to_vector(PRIOR), lower, upper)
    result = least_squares(
        _residuals, x0, bounds=(lower, upper), args=(rows,), diff_step=1e-3, loss="soft_l1", f_scale=0.1, max_nfev=400
    )
    return _from_vector(result.x)


def fit_table(prepared: Sequence[PreparedRun]) -> dict[str, Any]:
    """The calibration table: parameters per family and the cross-chip default, with what they were fitted on."""
    fit_rows, held = split(prepared)
    families: dict[str, list[PreparedRun]] = defaultdict(list)
    for item in fit_rows:
        families[item.cluster.family].append(item)
    table: dict[str, Any] = {"families": {}, "default": {}}
    for family, rows in sorted(families.items()):
        values = fit_family(rows)
        table["families"][family] = {**{k: round(v, 4) for k, v in values.items()}, "rows": len(rows)}
    default = fit_family(fit_rows)
    table["default"] = {**{k: round(v, 4) for k, v in default.items()}, "rows": len(fit_rows)}
    table["fitted_on"] = sorted(item.run.id for item in fit_rows)
    table["held_out"] = sorted(item.run.id for item in held)
    return table
