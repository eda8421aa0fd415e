"""Goodput formulas against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from computeplan.perf.goodput import (
    CheckpointSetup,
    FailureModel,
    estimate_goodput,
    expected_segment_time_s,
    goodput,
    optimal_interval_s,
    simulate_goodput,
    young_daly_interval_s,
)


def test_young_daly_by_hand():
    # delta 60 s, M 10 h: sqrt(2 * 60 * 36000) - 60 = 2078.46 - 60
    assert young_daly_interval_s(60, 36000) == pytest.approx(math.sqrt(2 * 60 * 36000) - 60)


def test_no_failures_costs_only_the_checkpoints():
    assert expected_segment_time_s(100, 10, 600, math.inf) == 110
    assert goodput(100, 10, 600, math.inf) == pytest.approx(100 / 110)


def test_first_order_agrees_with_the_exact_formula_when_failures_are_rare():
    tau, delta, restart, mtbf = 600.0, 5.0, 300.0, 1e6
    first_order = tau / (tau + delta) * (1 - (restart + (tau + delta) / 2) / mtbf)
    assert goodput(tau, delta, restart, mtbf) == pytest.approx(first_order, rel=1e-3)


def test_the_optimum_is_near_young_daly_and_no_worse():
    delta, restart, mtbf = 30.0, 600.0, 3 * 3600.0
    best = optimal_interval_s(delta, restart, mtbf)
    assert best == pytest.approx(young_daly_interval_s(delta, mtbf), rel=0.15)
    assert goodput(best, delta, restart, mtbf) >= goodput(young_daly_interval_s(delta, mtbf), delta, restart, mtbf)


@pytest.mark.parametrize(
    ("tau", "delta", "restart", "mtbf"), [(300, 3, 600, 11000), (1200, 60, 1800, 3600 * 24), (60, 1, 120, 1800)]
)
def test_simulation_matches_the_closed_form(tau, delta, restart, mtbf):
    sim, _ = simulate_goodput(tau, delta, restart, mtbf, work_s=100 * mtbf, seed=3)
    assert sim == pytest.approx(goodput(tau, delta, restart, mtbf), abs=0.02)


def test_failure_rates_scale_with_chips():
    model = FailureModel(rates_per_chip_s={"gpu": 1e-9, "net": 1e-9})
    assert model.job_mtbf_s(1000) == pytest.approx(1 / 2e-6)
    assert model.job_mtbf_s(2000) == pytest.approx(model.job_mtbf_s(1000) / 2)


def test_asynchronous_checkpoints_block_only_for_the_copy():
    sync = CheckpointSetup(checkpoint_bytes=1e12, write_bytes_per_s=1e10, read_bytes_per_s=1e10, restart_s=60)
    asyn = CheckpointSetup(
        checkpoint_bytes=1e12,
        write_bytes_per_s=1e10,
        read_bytes_per_s=1e10,
        restart_s=60,
        asynchronous=True,
        snapshot_bytes_per_s=1e12,
    )
    assert sync.blocking_s == 100 and asyn.blocking_s == 1
    assert sync.recovery_s == asyn.recovery_s == 160
    failures = FailureModel(rates_per_chip_s={"all": 1e-8})
    assert estimate_goodput(failures, asyn, 1000).goodput > estimate_goodput(failures, sync, 1000).goodput
