"""Prediction intervals from the errors on runs never fitted: the leave-one-source-out residuals of each chip family
(and of each calibration status, for chips without a family band) as quantiles of the predicted time's error.

A rate's error (tokens/s, FLOP/s, MFU) is turned into the error of the time it implies: a rate predicted 10% high is
a time predicted 1/1.1 - 1 = -9.1% off. The bands are written into the calibration table (``prediction_error``)
and every prediction made from it carries its band (:meth:`EfficiencyTable.error_band`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from computeplan.calibration.validate import RowResult
from computeplan.catalog.efficiency_schema import ErrorBand

MIN_BAND_ROWS = 8  # fewer residuals than this give no band of their own (the status's or all rows' is used)


def is_time_metric(metric: str) -> bool:
    """``step_time_s``, ``ttft_s``, ``tpot_s``, ``e2e_latency_s``: a time; anything else (a rate, MFU) is not."""
    return metric.endswith("_s") and "_per_s" not in metric


def time_error_pct(row: RowResult) -> float | None:
    """The error of the time the row's prediction implies, percent (None when the row was not predicted)."""
    if row.error_pct is None:
        return None
    ratio = 1.0 + row.error_pct / 100.0
    return 100.0 * ((ratio if is_time_metric(row.metric) else 1.0 / ratio) - 1.0)


def _band(errors: Sequence[float]) -> ErrorBand:
    p10, p50, p90 = (round(float(v), 1) for v in np.percentile(np.asarray(errors, dtype=float), [10, 50, 90]))
    return ErrorBand(p10_pct=p10, p50_pct=p50, p90_pct=p90, rows=len(errors))


def error_bands(rows: Sequence[RowResult], *, min_rows: int = MIN_BAND_ROWS) -> Mapping[str, ErrorBand]:
    """Bands per calibrated family (its rows predicted calibrated), per calibration status, and over ``all`` rows;
    a group of fewer than ``min_rows`` predicted rows has none."""
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        error = time_error_pct(row)
        if error is None:
            continue
        groups["all"].append(error)
        groups[row.calibration].append(error)
        if row.calibration == "calibrated":
            groups[f"family:{row.family}"].append(error)
    bands = {}
    for name, errors in sorted(groups.items()):
        if len(errors) >= min_rows:
            bands[name.removeprefix("family:")] = _band(errors)
    return bands
