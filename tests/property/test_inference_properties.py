"""Properties of the serving model: latency never falls as the batch grows, bandwidth never slows decode."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.perf.inference import InferenceEfficiency, replica_performance
from tests.unit.test_training_formulas import cluster, gpt

EFF = InferenceEfficiency()
specs = st.builds(
    gpt,
    layers=st.sampled_from([2, 8, 32]),
    hidden=st.sampled_from([512, 2048, 4096]),
    heads=st.sampled_from([8, 16]),
    gated=st.booleans(),
)
clusters = st.builds(
    cluster, num_chips=st.just(8), up=st.floats(10e9, 1e12), hbm=st.floats(16e9, 200e9), hbm_bw=st.floats(0.5e12, 8e12)
)


def _run(spec, c, batch, tp=1.0, continuous=True, in_len=512.0, out_len=128.0, ep=1.0, closed=False):
    n = len(batch)
    return replica_performance(
        spec,
        c,
        EFF,
        tp=np.full(n, tp),
        pp=np.ones(n),
        batch=np.asarray(batch, dtype=float),
        weight_bytes=np.full(n, 2.0),
        kv_bytes=np.full(n, 2.0),
        compute_peak=np.full(n, 1e15),
        input_len=np.full(n, in_len),
        output_len=np.full(n, out_len),
        saturate=np.zeros(n, dtype=bool),
        continuous=np.full(n, continuous),
        closed_loop=np.full(n, closed),
        ep=np.full(n, ep),
    )


@settings(max_examples=50, deadline=None)
@given(spec=specs, c=clusters, tp=st.sampled_from([1.0, 2.0, 8.0]), continuous=st.booleans())
def test_latency_never_falls_when_the_batch_grows(spec, c, tp, continuous):
    batches = [1, 2, 4, 8, 16, 64, 256, 1024]
    r = _run(spec, c, batches, tp=tp, continuous=continuous)
    assert np.all(np.diff(r.tpot_s) >= -1e-15)
    assert np.all(np.diff(r.ttft_s) >= -1e-15)
    for name in ("tpot_s", "ttft_s", "throughput_tokens_per_s", "max_sequences"):
        assert np.all(np.isfinite(getattr(r, name))), name


@settings(max_examples=50, deadline=None)
@given(spec=specs, c=clusters, factor=st.floats(1.0, 20.0), batch=st.sampled_from([1, 8, 128]))
def test_more_hbm_bandwidth_never_slows_decode(spec, c, factor, batch):
    slow = _run(spec, c, [batch])
    fast = _run(spec, replace(c, hbm_bytes_per_s=c.hbm_bytes_per_s * factor), [batch])
    assert fast.tpot_s[0] <= slow.tpot_s[0] * (1 + 1e-12)
    assert fast.throughput_tokens_per_s[0] >= slow.throughput_tokens_per_s[0] * (1 - 1e-12)


moe_specs = st.builds(
    lambda base, experts, top_k: replace(base, experts=experts, top_k=top_k, expert_ffn_hidden=base.hidden),
    specs,
    st.sampled_from([8, 16, 64]),
    st.sampled_from([1, 2, 4]),
)


@settings(max_examples=50, deadline=None)
@given(spec=moe_specs, c=clusters, ep=st.sampled_from([1.0, 2.0, 4.0, 8.0]), closed=st.booleans())
def test_expert_parallel_replicas_keep_the_serving_invariants(spec, c, ep, closed):
    """With experts spread over ep chips: latency never falls as the batch grows, a request's TPOT is never below
    a decode step, each sequence makes at most one token per step, and more HBM bandwidth never slows decode."""
    batches = [1, 2, 4, 8, 16, 64, 256]
    r = _run(spec, c, batches, ep=ep, closed=closed)
    assert np.all(np.diff(r.tpot_s) >= -1e-12 * r.tpot_s[1:])
    assert np.all(r.tpot_s >= r.decode_step_s * (1 - 1e-12))
    assert np.all(r.throughput_tokens_per_s <= r.batch / r.decode_step_s * (1 + 1e-12))
    assert np.all(r.prefill_latency_s >= r.prefill_s * (1 - 1e-12))
    for name in ("tpot_s", "ttft_s", "throughput_tokens_per_s", "weights_bytes_per_chip", "chips"):
        assert np.all(np.isfinite(getattr(r, name))), name
    fast = _run(spec, replace(c, hbm_bytes_per_s=c.hbm_bytes_per_s * 4), batches, ep=ep, closed=closed)
    assert np.all(fast.decode_step_s <= r.decode_step_s * (1 + 1e-12))
