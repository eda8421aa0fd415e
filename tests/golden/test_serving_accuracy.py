"""Golden check of the serving model against published runs (MLPerf, TensorRT-LLM, Neuron).

Documented (docs/ACCURACY.md, `make accuracy`): median 7.3% over 36 rows, 5.3% on the 6 held-out rows. The
headline, leave-one-source-out (measured 2026-11-26 on 3 publications: MLPerf v4.1, TensorRT-LLM, Neuron): median
25.1%, 90th percentile 57.6%, worst 91.3%; bounds leave room for noise only (issue 10 asks for median <= 10%).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from computeplan import api
from computeplan.calibration.report import inference_markdown
from computeplan.estimate.efficiency import builtin_efficiency_tables

DATA = Path(__file__).parent / "data" / "calibration-inference.csv"


@pytest.fixture(scope="module")
def report():
    return api.validate(DATA, loso=True)


def test_serving_leave_one_source_out_stays_at_the_documented_value(report):
    loso = report.loso
    assert loso.summary.count == loso.summary.predicted == 36
    assert loso.summary.median_abs_error_pct <= 25.5  # measured 25.1
    assert loso.summary.p90_abs_error_pct <= 58.5  # measured 57.6
    assert loso.summary.max_abs_error_pct <= 92.5  # measured 91.3
    assert len(loso.by_source) == 3


def test_every_serving_row_is_predicted(report):
    assert report.summary.count == report.summary.predicted == 36


def test_serving_error_stays_at_the_documented_value(report):
    assert report.summary.median_abs_error_pct <= 8.0  # issue target: 15
    assert report.summary_held_out.median_abs_error_pct <= 15.0


def test_mlperf_rows_say_where_their_lengths_come_from(report):
    row = next(r for r in report.rows if r.id == "I001")
    assert any("MLPerf benchmark description" in f for f in row.filled)


def test_accuracy_doc_has_the_current_serving_section(report, monkeypatch):
    root = Path(__file__).parents[2]
    monkeypatch.chdir(root)
    text = inference_markdown(
        report.rows,
        report.held_out,
        builtin_efficiency_tables().serving,
        source="tests/golden/data/calibration-inference.csv",
        loso=report.loso,
    )
    assert text in (root / "docs" / "ACCURACY.md").read_text(), "run `make accuracy`"
