"""Golden check against published measured runs: fails the build when accuracy regresses.

The data is `shared/reference/calibration-training.csv` (166 runs of 10 publications; copied into tests/golden/data).
The headline, leave-one-source-out (measured 2026-11-26, docs/ACCURACY.md): median 9.6%, 90th percentile 24.1%,
worst 86.6%. With the shipped tables (every fourth row held out): 8.9% median over all rows, 9.0% on held-out rows.
The bounds below leave a little room for numerical noise, not for regressions; lower them as the model improves
(issue 9 asks for median <= 8%, 90th percentile <= 20%).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from computeplan import api

DATA = Path(__file__).parent / "data" / "calibration-training.csv"
ROWS = 166


@pytest.fixture(scope="module")
def report():
    return api.validate(DATA, loso=True)  # leave-one-source-out fits 10 folds (~15 s): once per session


def test_leave_one_source_out_stays_at_the_documented_value(report):
    loso = report.loso
    assert loso.summary.count == loso.summary.predicted == ROWS
    assert loso.summary.median_abs_error_pct <= 10.0  # measured 9.61
    assert loso.summary.p90_abs_error_pct <= 25.0  # measured 24.0
    assert loso.summary.max_abs_error_pct <= 88.0  # measured 86.6 (Trainium N120)
    assert len(loso.by_source) == 10
    assert set(loso.by_family) == {"aws-neuron-v2", "google-tpu", "nvidia-ampere", "nvidia-hopper"}


def test_every_row_is_predicted_and_says_how_its_chip_is_calibrated(report):
    assert report.summary.count == report.summary.predicted == ROWS
    assert all(r.reason is None for r in report.rows)
    status = {r.family: r.calibration for r in report.rows}
    # Trainium's three runs come from one publication: too little evidence for a family fit of its own
    assert status == {
        "nvidia-ampere": "calibrated",
        "nvidia-hopper": "calibrated",
        "google-tpu": "calibrated",
        "aws-neuron-v2": "uncalibrated",
    }


def test_median_error_stays_at_the_documented_value(report):
    assert report.summary.median_abs_error_pct <= 9.4  # measured 8.9 (three in four rows in-sample)
    assert report.summary.max_abs_error_pct <= 87.0  # measured 85.5 (Trainium N120, uncalibrated)


def test_held_out_rows_hold(report):
    assert len(report.held_out) >= 30
    assert report.summary_held_out.median_abs_error_pct <= 9.5  # measured 9.0
    assert report.summary_held_out.max_abs_error_pct <= 44.0  # measured 41.9


def test_blank_fields_take_the_framework_default_not_the_fastest(report):
    by_id = {r.id: r for r in report.rows}
    # torchtitan's defaults fill the FSDP runs' blanks (hybrid sharding off, one micro-batch per local batch)
    titan = by_id["N001"]
    assert any(n.startswith("torchtitan defaults (catalog/data/frameworks.yaml)") for n in titan.notes)
    # MaxText's default remat is full: the v6e recipes' blank recompute is not "none" (the fastest)
    v6e = by_id["N085"]
    assert v6e.layout["recompute"] == 2 and "recompute" in v6e.filled
    # the fastest layout is reported beside the prediction, and is at least as fast
    assert v6e.fastest_predicted is not None and v6e.fastest_predicted >= v6e.predicted  # tokens/s


def test_rows_name_the_fields_filled_by_search(report):
    sc21 = next(r for r in report.rows if r.id == "T001")
    assert "mb" in sc21.filled and "recompute" not in sc21.filled
    assert any("searched for the fastest" in n for n in sc21.notes)


def test_accuracy_doc_is_current(report, monkeypatch):
    from computeplan.calibration.report import accuracy_markdown
    from computeplan.estimate.efficiency import builtin_efficiency_tables

    root = Path(__file__).parents[2]
    monkeypatch.chdir(root)
    source = "tests/golden/data/calibration-training.csv"
    text = accuracy_markdown(
        report.rows,
        report.held_out,
        builtin_efficiency_tables().training,
        source=source,
        command="make accuracy",
        loso=report.loso,
    )
    assert (root / "docs" / "ACCURACY.md").read_text().startswith(text), "run `make accuracy`"


def test_spot_checks_stay_close_to_published_frontier_runs():
    from computeplan.calibration.spot_checks import spot_checks, spot_checks_markdown
    from computeplan.catalog.loader import load_catalog
    from computeplan.estimate.efficiency import builtin_efficiency_tables

    catalog, tables = load_catalog(), builtin_efficiency_tables()
    llama, deepseek = spot_checks(catalog, tables)
    # priced with the published layouts (2026-11-26: Llama 3 with a plain framework's software, 34.9% MFU, -8%
    # against the range: the Hopper fit is pulled down by slower frameworks such as torchtitan and llm-foundry;
    # DeepSeek-V3 with HAI-LLM's DualPipe, all-to-all overlap and cheap recompute, 3.04M GPU-hours, +14%)
    assert 0.33 <= llama["predicted"] <= 0.45  # published 38-43% MFU
    assert deepseek["predicted"] == pytest.approx(2.664e6, rel=0.17)  # published 2.664M GPU-hours
    assert spot_checks_markdown(catalog, tables) in (Path(__file__).parents[2] / "docs" / "ACCURACY.md").read_text()
