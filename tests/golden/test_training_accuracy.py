"""Golden check against published measured runs: fails the build when accuracy regresses.

Documented values (docs/ACCURACY.md, `make accuracy`): median 5.5% over all rows, 7.4% on held-out rows, worst 23%.
The headline, leave-one-source-out (measured 2026-11-26 on this file's 5 publications): median 18.7%, 90th percentile
30.4%, worst 39.7%. The bounds below leave a little room for numerical noise, not for regressions; lower them as
the model improves (issue 9 asks for median <= 8%, 90th percentile <= 20%).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from computeplan import api

DATA = Path(__file__).parent / "data" / "calibration-training.csv"


@pytest.fixture(scope="module")
def report():
    return api.validate(DATA, loso=True)  # leave-one-source-out fits 5 folds (~25 s): once per session


def test_leave_one_source_out_stays_at_the_documented_value(report):
    loso = report.loso
    assert loso.summary.count == loso.summary.predicted == 75
    assert loso.summary.median_abs_error_pct <= 19.5  # measured 18.7
    assert loso.summary.p90_abs_error_pct <= 31.5  # measured 30.4
    assert loso.summary.max_abs_error_pct <= 41.0  # measured 39.7
    assert len(loso.by_source) == 5 and set(loso.by_family) == {"google-tpu", "nvidia-ampere", "nvidia-hopper"}


def test_every_row_is_predicted(report):
    assert report.summary.count == report.summary.predicted == 75
    assert all(r.reason is None for r in report.rows)


def test_median_error_stays_at_the_documented_value(report):
    assert report.summary.median_abs_error_pct <= 6.0
    assert report.summary.max_abs_error_pct <= 30.0


def test_held_out_rows_hold(report):
    assert len(report.held_out) >= 15
    assert report.summary_held_out.median_abs_error_pct <= 10.0
    assert report.summary_held_out.max_abs_error_pct <= 30.0


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
    assert 0.36 <= llama["predicted"] <= 0.45  # published 38-43% MFU
    assert deepseek["predicted"] == pytest.approx(2.664e6, rel=0.2)  # published 2.664M GPU-hours
    assert spot_checks_markdown(catalog, tables) in (Path(__file__).parents[2] / "docs" / "ACCURACY.md").read_text()
