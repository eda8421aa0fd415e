"""Golden check of the serving model against published runs: the 148 rows of shared/reference (MLPerf v4.1 and
v5.0, TensorRT-LLM, NIM, vLLM on ROCm, TPU and Neuron, Neuron SDK, optimum-neuron, ...), 127 of them readable (21
rows without request lengths are skipped with their reason: no source gives their dataset's mean lengths).

The headline, leave-one-source-out (measured 2026-11-26 on 10 publications): median 35.9%, 90th percentile 124.8%,
worst 1970% (a TTFT at concurrency 50, priced as one static batch); 123 of 127 rows predicted (three DeepSeek rows
need expert parallelism, one KV cache does not fit). In-sample 17.3% (shipped tables), 19.9% on held-out rows.
Bounds leave room for noise only (issue 10 asks for median <= 10%).
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
    assert loso.summary.count == 127 and loso.summary.predicted == 123
    assert loso.summary.median_abs_error_pct <= 36.5  # measured 35.9
    assert loso.summary.p90_abs_error_pct <= 127.0  # measured 124.8
    assert loso.summary.max_abs_error_pct <= 2000.0  # measured 1970
    assert len(loso.by_source) == 10


def test_rows_not_predicted_say_why(report):
    assert report.summary.count == 127 and report.summary.predicted == 123
    reasons = {r.id: r.reason for r in report.rows if r.reason}
    assert set(reasons) == {"M121", "M133", "M134", "M135"}
    assert all("weights do not fit" in reasons[i] for i in ("M133", "M134", "M135"))  # no expert parallelism yet
    assert "KV cache" in reasons["M121"]
    assert len(report.skipped) == 21 and all(
        "blank: the request lengths are required" in why for _, why in report.skipped
    )


def test_serving_error_stays_at_the_documented_value(report):
    assert report.summary.median_abs_error_pct <= 18.0  # measured 17.3 (in-sample)
    assert report.summary_held_out.median_abs_error_pct <= 20.5  # measured 19.9


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
        skipped=report.skipped,
    )
    assert text in (root / "docs" / "ACCURACY.md").read_text(), "run `make accuracy`"
