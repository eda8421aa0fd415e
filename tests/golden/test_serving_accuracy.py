"""Golden check of the serving model against published runs: the 148 rows of shared/reference (MLPerf v4.1 and
v5.0, TensorRT-LLM, NIM, vLLM on ROCm, TPU and Neuron, Neuron SDK, optimum-neuron, ...), 122 of them readable. Skipped
with their reasons: 21 rows without request lengths (no source gives their dataset's mean lengths), three Qwen3-Coder
rows without an expert FFN width, two speculative-decoding rows without an acceptance rate.

The headline, leave-one-source-out (measured 2026-11-26 on 10 publications, with closed-loop continuous batching,
expert parallelism, MLPerf Server rows at their latency limits, the frameworks' KV-cache defaults, and as in
training no family fit resting on fewer than three rows from two publications): median 31.0%, 90th percentile 91.1%,
worst 469% (a Qwen3-235B run on Trainium2 five times slower than its roofline); every readable row predicted.
In-sample 17.5% (shipped tables), 18.4% on held-out rows. Bounds leave room for noise only (issue 10 asks for
median <= 10%).
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
    assert loso.summary.count == 122 and loso.summary.predicted == 122
    assert loso.summary.median_abs_error_pct <= 31.7  # measured 31.0
    assert loso.summary.p90_abs_error_pct <= 93.5  # measured 91.1
    assert loso.summary.max_abs_error_pct <= 480.0  # measured 469
    assert len(loso.by_source) == 10


def test_rows_not_predicted_say_why(report):
    assert report.summary.count == 122 and report.summary.predicted == 122
    skipped = dict(report.skipped)
    assert len(skipped) == 26
    lengths = [why for why in skipped.values() if "blank: the request lengths are required" in why]
    widths = [why for why in skipped.values() if "moe_ffn_hidden blank" in why]
    drafts = [why for why in skipped.values() if "the framework speculates" in why]
    assert len(lengths) == 21 and len(widths) == 3 and len(drafts) == 2


def test_concurrency_rows_are_a_closed_loop_not_one_batch(report):
    """NIM at concurrency 50 (5,000 in / 500 out, H100 TP2): TTFT 0.83 s and ITL 60 ms were measured; one static
    batch of 50 prefills priced 17 s. Concurrency 100 holds only as many sequences as the KV cache takes."""
    rows = {r.id: r for r in report.rows}
    assert abs(rows["M119"].error_pct) < 40.0 and abs(rows["M120"].error_pct) < 10.0
    assert rows["M121"].predicted is not None and abs(rows["M121"].error_pct) < 10.0


def test_an_expert_parallel_row_is_priced_with_its_ep(report):
    row = next(r for r in report.rows if r.id == "M053")
    assert row.layout is not None and row.layout.get("ep") == 8
    assert abs(row.error_pct) < 20.0  # measured -0.9 as its decode pool (was -66 with experts split by tp)


def test_server_rows_are_priced_at_the_benchmarks_latency_limits(report):
    """MLPerf Server: the most throughput within the P99 TTFT/TPOT limits (llama2-70b: 2 s, 200 ms; interactive:
    450 ms, 40 ms). At saturation the interactive row's TPOT was priced at 162 ms against 34 ms measured."""
    rows = {r.id: r for r in report.rows}
    assert any("P99 limits" in f for f in rows["M011"].filled)
    assert abs(rows["M011"].error_pct) < 10.0 and abs(rows["M016"].error_pct) < 25.0


def test_serving_error_stays_at_the_documented_value(report):
    assert report.summary.median_abs_error_pct <= 18.0  # measured 17.5 (in-sample)
    assert report.summary_held_out.median_abs_error_pct <= 19.0  # measured 18.4


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
