"""Prediction intervals from leave-one-source-out errors: hand-computed conversions, grouping, the table schema, and
the band every training prediction carries."""

from __future__ import annotations

import pytest

from computeplan.calibration.bands import error_bands, is_time_metric, time_error_pct
from computeplan.calibration.validate import RowResult
from computeplan.catalog.efficiency_schema import ErrorBand, parse_efficiency_table
from computeplan.errors import CatalogError
from computeplan.hardware.efficiency import TRAINING_SPACE, efficiency_for


def row(metric: str, error_pct: float, family: str = "f", calibration: str = "calibrated") -> RowResult:
    return RowResult(
        id="x", metric=metric, measured=1.0, predicted=1.0 + error_pct / 100, error_pct=error_pct, family=family,
        calibration=calibration,
    )  # fmt: skip


def test_a_rate_error_becomes_the_error_of_its_time():
    assert is_time_metric("step_time_s") and is_time_metric("ttft_s") and not is_time_metric("tokens_per_s_per_chip")
    assert time_error_pct(row("step_time_s", 10.0)) == pytest.approx(10.0)
    # tokens/s predicted 25% high: the step predicted 1/1.25 - 1 = -20% off
    assert time_error_pct(row("tokens_per_s_per_chip", 25.0)) == pytest.approx(-20.0)
    assert time_error_pct(RowResult(id="x", metric="step_time_s", measured=1.0)) is None


def test_bands_per_family_status_and_all_need_enough_rows():
    rows = [row("step_time_s", e) for e in range(-10, 11)]  # 21 calibrated rows of family f, errors -10..10
    rows += [row("step_time_s", 50.0, family="g", calibration="uncalibrated")] * 3  # too few for a band
    bands = error_bands(rows, min_rows=8)
    assert set(bands) == {"all", "calibrated", "f"}
    assert (bands["f"].p10_pct, bands["f"].p50_pct, bands["f"].p90_pct, bands["f"].rows) == (-8.0, 0.0, 8.0, 21)
    assert bands["all"].rows == 24


def test_the_measured_range_takes_the_p90_error_for_the_p10_time():
    band = ErrorBand(p10_pct=-20.0, p50_pct=0.0, p90_pct=25.0, rows=10)
    # predicted 10 s; a prediction 25% slow means 8 s measured, 20% fast 12.5 s
    assert band.measured_range(10.0) == pytest.approx((8.0, 10.0, 12.5))


TABLE = {
    "families": {"nvidia-hopper": {"realized_fraction": 0.7}},
    "default": {"realized_fraction": 0.85},
    "prediction_error": {
        "nvidia-hopper": {"p10_pct": -10.0, "p50_pct": 1.0, "p90_pct": 12.0, "rows": 50},
        "uncalibrated": {"p10_pct": -25.0, "p50_pct": 5.0, "p90_pct": 30.0, "rows": 40},
    },
}


def test_every_prediction_carries_its_band():
    assert efficiency_for("nvidia-hopper", TABLE).error_band == ErrorBand(-10.0, 1.0, 12.0, 50)
    assert efficiency_for("google-tpu", TABLE).error_band == ErrorBand(-25.0, 5.0, 30.0, 40)  # uncalibrated
    assert efficiency_for("nvidia-hopper", None).error_band is None


def test_a_band_out_of_order_is_refused():
    bad = {**TABLE, "prediction_error": {"all": {"p10_pct": 5.0, "p50_pct": 1.0, "p90_pct": 9.0, "rows": 3}}}
    with pytest.raises(CatalogError, match=r"t\.yaml: prediction_error\.all"):
        parse_efficiency_table(bad, TRAINING_SPACE, where="t.yaml")


def test_train_reports_the_step_time_band():
    from computeplan import api

    result = api.train("llama3-70b", "h100-sxm", 256)
    band = result.to_dict()["results"][0]["step_time_band_s"]
    step = result.estimates[0].step_time_s
    assert band["p10"] <= band["p50"] <= band["p90"] and band["p10"] < step < band["p90"]
    assert band["rows"] >= 8


def test_serve_reports_latency_and_throughput_bands():
    from computeplan import api

    estimate = api.serve("llama3-8b", ["h100-sxm"], input_len=1024, output_len=256).chips[0].estimate
    assert estimate is not None and estimate.bands is not None
    tpot, rate = estimate.bands["tpot_s"], estimate.bands["throughput_tokens_per_s_per_chip"]
    assert tpot["p10"] <= tpot["p50"] <= tpot["p90"] and rate["p10"] <= rate["p50"] <= rate["p90"]
    # a time and its rate move apart: the fast end of the time is the high end of the rate
    assert tpot["p10"] < estimate.tpot_s < tpot["p90"] and rate["p10"] < estimate.throughput_tokens_per_s_per_chip
    assert estimate.bands["runs"] >= 8
