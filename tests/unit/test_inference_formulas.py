"""The serving model against hand-computed cases: KV-cache bytes, prefill FLOPs, the decode roofline."""

from __future__ import annotations

import numpy as np
import pytest

from computeplan.catalog import get_model
from computeplan.perf.inference import (
    ACTIVATION_RESERVE_BYTES,
    KV_MEMORY_FRACTION,
    InferenceEfficiency,
    kv_bytes_per_token,
    prefill_flops,
    replica_performance,
)
from computeplan.perf.training import matmul_params_per_token
from computeplan.workload import TransformerSpec
from tests.unit.test_training_formulas import cluster, gpt

EFF = InferenceEfficiency(memory_efficiency=1.0, prefill_efficiency=1.0, step_overhead_s=0.0, network_efficiency=1.0)


def test_kv_bytes_gqa_by_hand():
    llama = TransformerSpec.from_entry(get_model("llama3-70b"))
    # 2 (K and V) x 80 layers x 8 kv heads x 128 x 2 bytes = 327,680 bytes per token
    assert kv_bytes_per_token(llama, 2.0) == 2 * 80 * 8 * 128 * 2 == 327_680


def test_kv_bytes_mla_by_hand():
    deepseek = TransformerSpec.from_entry(get_model("deepseek-v3"))
    # 61 layers x (512 latent + 64 rope) x 2 bytes = 70,272 bytes per token
    assert kv_bytes_per_token(deepseek, 2.0) == 61 * (512 + 64) * 2 == 70_272


def test_prefill_flops_by_hand():
    spec = gpt(layers=2, hidden=64, heads=4, vocab=100)
    n = np.array([10.0])
    expected = 2 * matmul_params_per_token(spec) * 10 + 2 * 10**2 * 4 * (16 + 16)
    assert prefill_flops(spec, n)[0] == pytest.approx(expected)


SCALAR_OPTIONS = ("prefix_hit_rate", "speculative_tokens", "acceptance_rate")
BOOL_ARRAYS = ("saturate", "continuous")


def _one(spec, c, **over):
    """One replica: tp = pp = batch = 1, bf16, 100 + 100 tokens, static batch, unless overridden."""
    args = dict(
        tp=[1.0],
        pp=[1.0],
        batch=[1.0],
        weight_bytes=[2.0],
        kv_bytes=[2.0],
        compute_peak=[1e15],
        input_len=[100.0],
        output_len=[100.0],
        saturate=[False],
        continuous=[False],
    )
    args.update(over)
    options = {k: args.pop(k) for k in SCALAR_OPTIONS if k in args}
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=bool if k in BOOL_ARRAYS else float)) for k, v in args.items()}
    return replica_performance(spec, c, EFF, **arrays, **options)


def test_decode_at_batch_one_is_bound_by_reading_the_weights():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1, hbm_bw=2e12)
    r = _one(spec, c)
    weights = spec.param_count() * 2.0
    kv = 150 * kv_bytes_per_token(spec, 2.0)  # mean context 100 + 100/2
    assert r.tpot_s[0] == pytest.approx((weights + kv) / 2e12)


def test_decode_at_large_batch_is_bound_by_compute():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1, hbm_bw=1e15)  # absurd bandwidth: memory is free
    r = _one(spec, c, batch=64)
    flops = 64 * (2 * matmul_params_per_token(spec) + 2 * 4 * 150 * 8 * 256)
    assert r.tpot_s[0] == pytest.approx(flops / 1e15)


def test_saturated_batch_is_what_the_kv_cache_holds():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1, hbm=20e9)
    r = _one(spec, c, saturate=True)
    free = (20e9 - ACTIVATION_RESERVE_BYTES - spec.param_count() * 2.0) * KV_MEMORY_FRACTION
    assert r.max_sequences[0] == np.floor(free / (kv_bytes_per_token(spec, 2.0) * 200))
    assert r.batch[0] == r.max_sequences[0]


def test_speculative_decoding_yields_more_tokens_per_step():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1)
    plain = _one(spec, c)
    spec_dec = _one(spec, c, speculative_tokens=3, acceptance_rate=0.8)
    yielded = (1 - 0.8**4) / (1 - 0.8)
    assert spec_dec.tpot_s[0] == pytest.approx(plain.tpot_s[0] * 1.1 / yielded, rel=0.05)


def test_prefix_caching_removes_prefill_work():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1)
    cold = _one(spec, c, input_len=1000.0, output_len=10.0, continuous=True)
    warm = _one(spec, c, input_len=1000.0, output_len=10.0, continuous=True, prefix_hit_rate=0.9)
    assert warm.prefill_s[0] < 0.2 * cold.prefill_s[0]
    assert warm.ttft_s[0] < cold.ttft_s[0]
