"""A serving replica under Poisson arrivals: the analytic queue against a seeded event-by-event simulation of the
same scheduler, the order of its quantiles, its saturation, and the SLO rate."""

from __future__ import annotations

import json

import pytest

from computeplan.estimate.serving_queue import slo_rate
from computeplan.perf.queueing import Replica, latency, simulate
from tests.cli.test_cli import run

STEPS = tuple(0.020 + 0.0001 * b for b in range(1, 129))  # 20 ms a step plus 0.1 ms a sequence, up to 128
FIGURES = ("ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s")


@pytest.mark.parametrize(
    ("output_len", "rate"),
    [(64, 0.5), (64, 2.0), (64, 4.0), (256, 2.0)],  # prefill load 0.075, 0.3, 0.6, 0.3
)
def test_the_approximation_agrees_with_the_simulation_within_10_percent(output_len, rate):
    replica = Replica(0.15, STEPS, output_len)
    approx = latency(replica, rate)
    sim = simulate(replica, rate, requests=6000, seed=1)
    for figure in FIGURES:
        assert getattr(approx, figure) == pytest.approx(getattr(sim, figure), rel=0.10), figure
    assert approx.mean_batch == pytest.approx(sim.mean_batch, rel=0.10)


def test_p99_is_never_below_p50_and_load_only_raises_latency():
    replica = Replica(0.15, STEPS, 64)
    previous = None
    stable = [latency(replica, rate).stable for rate in (0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)]
    assert stable[:6] == [True] * 6 and stable == sorted(stable, reverse=True)  # once saturated, stays so
    for rate in (0.1, 0.5, 1.0, 2.0, 3.0, 4.0):
        q = latency(replica, rate)
        assert q.ttft_p99_s >= q.ttft_p50_s and q.tpot_p99_s >= q.tpot_p50_s
        if previous is not None:
            assert q.ttft_p99_s >= previous.ttft_p99_s and q.tpot_p50_s >= previous.tpot_p50_s
        previous = q
    assert not latency(replica, 1.0 / 0.15).stable  # the prefills alone fill the replica
    assert not latency(Replica(0.01, STEPS[:4], 512), 20.0).stable  # more decoding than a batch of 4 holds


def test_the_slo_rate_is_the_most_load_that_keeps_the_target():
    replica = Replica(0.15, STEPS, 64)
    rate = slo_rate(replica, p99_ttft_s=0.5, p99_tpot_s=None)
    assert latency(replica, rate).ttft_p99_s <= 0.5
    assert latency(replica, rate * 1.05).ttft_p99_s > 0.5
    assert slo_rate(replica, p99_ttft_s=0.1, p99_tpot_s=None) == 0.0  # below the prefill time itself


def test_serve_under_load_on_the_cli(capsys):
    code, out, err = run(
        capsys, "serve", "--model", "llama3-70b", "--chip", "h100-sxm", "--tpot-ms", "50", "--arrival-rate", "1",
        "--p99-ttft-ms", "1000", "--json",
    )  # fmt: skip
    assert code == 0, err
    (row,) = json.loads(out)["under_load"]
    assert row["chip"] == "h100-sxm" and row["stable"] and row["ttft_p99_s"] >= row["ttft_p50_s"]
    assert row["slo_arrivals_per_s"] > 1 and row["slo_usd_per_million_output_tokens"] > 0


def test_the_slo_rate_holds_in_the_simulation_of_a_real_replica():
    # found in review: near its batch limit the analytic queue promised 11.7 req/s for a 0.5 s P99 TTFT on an
    # H100 llama3-70b replica, where the simulation gave 5.9 s; the approximation now stops at half the batch
    import computeplan
    from computeplan.catalog import load_catalog
    from computeplan.estimate.efficiency import builtin_efficiency_tables
    from computeplan.estimate.serving_queue import replica_of
    from computeplan.hardware.cluster import cluster_from_catalog

    catalog, tables = load_catalog(), builtin_efficiency_tables()
    served = computeplan.serve("llama3-70b", "h100-sxm", input_len=2048, output_len=256, tpot_s=0.05, catalog=catalog)
    cluster = cluster_from_catalog(catalog, "h100-sxm", 8)
    replica = replica_of(
        served.model, cluster, tables.for_serving(cluster.family), served.job, served.chips[0].estimate
    )
    rate = slo_rate(replica, p99_ttft_s=0.5, p99_tpot_s=None)
    assert rate > 0
    assert simulate(replica, rate, requests=3000, seed=1).ttft_p99_s <= 0.5 * 1.1
