"""The serving model against hand-computed cases: KV-cache bytes, prefill FLOPs, the decode roofline."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from computeplan.catalog import get_model
from computeplan.catalog.serving_frameworks import GENERIC, serving_framework
from computeplan.perf.inference import (
    ACTIVATION_RESERVE_BYTES,
    KV_MEMORY_FRACTION,
    InferenceEfficiency,
    expert_load_imbalance,
    kv_bytes_per_token,
    prefill_flops,
    replica_performance,
    routed_flops_per_token,
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
BOOL_ARRAYS = ("saturate", "continuous", "closed_loop")


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


def test_a_closed_loop_of_concurrent_requests_pays_for_the_others_prefills():
    """Continuous batching of B = 8 staggered requests: per cycle 8 prefills and 100 decode steps, by hand."""
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1)
    r = _one(spec, c, batch=8.0, continuous=False, closed_loop=True)
    t_p, t_step = r.prefill_latency_s[0], r.decode_step_s[0]
    cycle = 8 * t_p + 100 * t_step
    others = 7 * t_p / cycle
    wait = others * t_p / (2 * (1 - others))  # M/D/1 behind the other requests' prefills
    first = spec.param_count() * 2.0 / c.hbm_bytes_per_s
    assert r.throughput_tokens_per_s[0] == pytest.approx(8 * 100 / cycle)
    assert r.ttft_s[0] == pytest.approx(t_p + wait + first)
    assert r.tpot_s[0] == pytest.approx((cycle - t_p - wait) / 100)
    assert r.tpot_s[0] > t_step


def test_a_closed_loop_of_one_request_is_prefill_then_decode():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1)
    loop = _one(spec, c, closed_loop=True)
    static = _one(spec, c)
    assert loop.ttft_s[0] == pytest.approx(static.ttft_s[0])
    assert loop.tpot_s[0] == pytest.approx(static.tpot_s[0])


def test_a_closed_loop_beyond_the_kv_cache_waits_for_a_slot():
    spec = gpt(layers=4, hidden=1024, heads=8)
    c = cluster(num_chips=1, hbm=20e9)
    held = _one(spec, c, saturate=True).max_sequences[0]
    r = _one(spec, c, batch=held + 10.0, closed_loop=True)
    assert r.fits[0] and r.batch[0] == held
    cycle = held * r.prefill_latency_s[0] + 100 * r.decode_step_s[0]
    at_capacity = _one(spec, c, batch=held, closed_loop=True)
    assert r.ttft_s[0] == pytest.approx(at_capacity.ttft_s[0] + 10 * cycle / held)  # Little's law


def moe(experts=8, top_k=2, layers=4, hidden=512, heads=8):
    base = gpt(layers=layers, hidden=hidden, heads=heads, gated=True)
    return replace(base, experts=experts, top_k=top_k, expert_ffn_hidden=256)


def test_routed_flops_by_hand():
    # 2 x 4 MoE layers x top-2 x (3 matrices x 512 x 256) = 6,291,456 FLOPs per token
    assert routed_flops_per_token(moe()) == 2 * 4 * 2 * 3 * 512 * 256 == 6_291_456
    assert routed_flops_per_token(gpt()) == 0.0


def test_expert_load_imbalance_by_hand():
    spec = moe(experts=64, top_k=8)
    # 64 tokens x 8 experts over 8 chips: lambda = 64; busiest ~ 1 + sqrt(2 ln 8 / 64) = 1.2549
    got = expert_load_imbalance(spec, np.array([64.0]), np.array([8.0]))[0]
    assert got == pytest.approx(1 + np.sqrt(2 * np.log(8) / 64))
    assert expert_load_imbalance(spec, np.array([1.0]), np.array([8.0]))[0] <= 8.0  # never more than all on one
    assert expert_load_imbalance(spec, np.array([64.0]), np.array([1.0]))[0] == 1.0  # no EP, no imbalance


def test_expert_parallel_weights_by_hand():
    """ep 8 over tp 1: each chip holds all dense weights and 1/8 of the routed experts; 8 chips per replica."""
    spec = moe(experts=64, top_k=8)
    c = cluster(num_chips=8)
    r = _one(spec, c, ep=8.0)
    dense = (spec.param_count() - spec.expert_params_total()) * 2.0
    assert r.weights_bytes_per_chip[0] == pytest.approx(dense + spec.expert_params_total() * 2.0 / 8)
    assert r.chips[0] == 8.0
    split = _one(spec, c, tp=[8.0])
    assert split.chips[0] == 8.0
    assert split.weights_bytes_per_chip[0] == pytest.approx(spec.param_count() * 2.0 / 8)


def test_serving_frameworks_batching_comes_from_data():
    assert not serving_framework("Transformers NeuronX (Neuron 2.18.1)").continuous
    for text in ("NVIDIA NIM 1.8.0 (TensorRT-LLM-based)", "vLLM TPU (vllm/vllm-tpu:v0.12.0)", "TGI (optimum-neuron)"):
        assert serving_framework(text).continuous and serving_framework(text).known
    assert serving_framework("my in-house server") == GENERIC and GENERIC.continuous


def test_expert_parallel_prefill_costs_the_prompts_flops_over_all_chips():
    """ep 8 over tp 1 (8 attention groups): a request's replica time is its FLOPs over the 8 chips, however the
    routed work is split; one prompt alone takes its group 8 times as long."""
    spec = moe(experts=64, top_k=8)
    c = replace(cluster(num_chips=8, up=1e18, out=1e18), scaleup_latency_s=0.0, scaleout_latency_s=0.0)  # free
    r = _one(spec, c, ep=8.0, input_len=1000.0, continuous=True)
    flops = prefill_flops(spec, np.array([1000.0]))[0]
    assert r.prefill_s[0] == pytest.approx(flops / 8 / 1e15, rel=1e-3)
    assert r.prefill_latency_s[0] == pytest.approx(8 * r.prefill_s[0])


def test_a_batch_smaller_than_the_pipeline_makes_one_token_per_sequence_per_step():
    spec = gpt(layers=8, hidden=1024, heads=8)
    c = cluster(num_chips=4)
    r = _one(spec, c, pp=[4.0], continuous=True)
    assert r.throughput_tokens_per_s[0] <= 1.0 / r.decode_step_s[0]
    static = _one(spec, c, pp=[4.0])
    assert static.ttft_s[0] == pytest.approx(r.prefill_latency_s[0] + spec.param_count() * 2.0 / 4 / c.hbm_bytes_per_s)


def test_local_attention_by_hand():
    """gpt-oss-120b: 18 of 36 layers attend a 128-token window. At 8,192 tokens a local layer has
    (2 w s - w^2) / s^2 = 0.0310 of the causal pairs, so the mean share is (18 + 18 x 0.0310) / 36 = 0.5155, and a
    query attends (18 x 8192 + 18 x 128) / 36 = 4,160 keys on average (also the KV-cache tokens per layer)."""
    spec = TransformerSpec.from_entry(get_model("gpt-oss-120b"))
    local = (2 * 128 * 8192 - 128**2) / 8192**2
    assert spec.causal_attention_share(8192.0) == pytest.approx((18 + 18 * local) / 36)
    assert spec.attended_tokens(8192.0) == pytest.approx(4160.0)
    assert spec.attended_tokens(100.0) == pytest.approx(100.0)  # shorter than the window: no saving
    glob = replace(spec, attention_window=0, window_layers=0)
    n = np.array([8192.0])
    saved = prefill_flops(glob, n)[0] - prefill_flops(spec, n)[0]
    assert saved == pytest.approx(36 * 8192**2 * 64 * 128 * (1 - (18 + 18 * local) / 36))


def test_local_attention_holds_more_sequences_and_reads_less_kv():
    spec = TransformerSpec.from_entry(get_model("gpt-oss-120b"))
    glob = replace(spec, attention_window=0, window_layers=0)
    c = cluster(num_chips=8, hbm=192e9)
    args = dict(tp=[8.0], input_len=[8192.0], output_len=[1024.0], saturate=True)
    windowed, full = _one(spec, c, **args), _one(glob, c, **args)
    ratio = full.max_sequences[0] / windowed.max_sequences[0]
    assert ratio == pytest.approx(spec.attended_tokens(9216.0) / 9216.0, rel=0.02)
    assert windowed.decode_step_s[0] < full.decode_step_s[0] * 1.5  # 1.9x the batch for much less than 1.9x time
