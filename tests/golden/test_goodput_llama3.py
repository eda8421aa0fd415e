"""The goodput model against the published Llama 3 405B run (Dubey et al. 2024, sec. 3.3.4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from computeplan import api
from computeplan.calibration.goodput_report import goodput_markdown
from computeplan.perf.goodput import simulate_goodput


@pytest.fixture(scope="module")
def llama():
    return api.goodput("llama3-405b", 16384, days=54)


def test_interruptions_over_54_days_match_the_paper(llama):
    assert llama.interruptions == pytest.approx(419, rel=0.01)


def test_effective_training_time_is_above_the_published_90_percent(llama):
    assert 0.90 < llama.goodput < 0.97


def test_simulation_agrees_with_the_closed_form(llama):
    sim, failures = simulate_goodput(
        llama.checkpoint_interval_s,
        llama.checkpoint_blocking_s,
        llama.recovery_s,
        llama.job_mtbf_s,
        work_s=200 * 86400,
        seed=7,
    )
    assert sim == pytest.approx(llama.goodput, abs=0.02)
    assert failures == pytest.approx(200 / llama.goodput * 86400 / llama.job_mtbf_s, rel=0.1)


def test_accuracy_doc_has_the_current_goodput_section():
    doc = (Path(__file__).parents[2] / "docs" / "ACCURACY.md").read_text()
    assert doc.endswith(goodput_markdown()), "run `make accuracy`"
