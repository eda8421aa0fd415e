"""The training-step model against hand-computed cases (FLOPs, Korthikanti activations, memory, collectives)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from computeplan.hardware.cluster import Cluster, Precision
from computeplan.hardware.efficiency import EfficiencyParams
from computeplan.perf import collectives
from computeplan.perf.layout import LayoutProblem, Layouts
from computeplan.perf.training import (
    matmul_params_per_token,
    model_flops_per_token,
    training_step,
)
from computeplan.workload.transformer import TransformerSpec

EFF = EfficiencyParams(
    realized_fraction=0.5,
    matmul_plateau=1.0,
    matmul_half_dim=1e-9,
    network_efficiency=1.0,
    dp_overlap=0.0,
    attention_relative=1.0,
    memory_efficiency=1.0,
)


def gpt(layers=4, hidden=1024, heads=8, seq=2048, vocab=32000, ffn=None, gated=False, kv=None):
    return TransformerSpec(
        name="gpt",
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv or heads,
        head_dim=hidden // heads,
        ffn_hidden=ffn or 4 * hidden,
        gated_mlp=gated,
        vocab=vocab,
        seq_len=seq,
    )


def cluster(num_chips=8, domain=8, up=100e9, out=10e9, hbm=80e9, hbm_bw=2e12):
    return Cluster(
        chip_id="test",
        family="test",
        system_id="test",
        num_chips=num_chips,
        peak_flops_per_s={Precision.BF16: 1e15},
        hbm_bytes=hbm,
        hbm_bytes_per_s=hbm_bw,
        power_w=700,
        host_power_w_per_chip=300,
        scaleup_domain_chips=domain,
        scaleup_bytes_per_s=up,
        scaleup_latency_s=1e-6,
        scaleup_topology="switch",
        scaleout_bytes_per_s=out,
        scaleout_latency_s=5e-6,
        price_usd_per_hour=2.0,
        announced=False,
    )


def layout(**over):
    base = dict(tp=1, pp=1, dp=8, cp=1, ep=1, vpp=1, mb=1, recompute=0, sp=0, zero=0, hsdp=0, fp8=0)
    base.update(over)
    return Layouts.from_columns({k: [v] for k, v in base.items()})


def test_model_flops_match_megatron_formula():
    """Megatron-LM num_floating_point_operations: 12 s L h^2 (1 + g/n + s/h + F/h * gated + V / (2 L h))."""
    for gated, kv in ((False, None), (True, 2)):
        spec = gpt(gated=gated, kv=kv, ffn=2816 if gated else None)
        s, h, n_layers = 2048, spec.hidden, spec.layers
        gl = 1.5 if gated else 1.0
        megatron = (
            12
            * s
            * n_layers
            * h
            * h
            * (1 + spec.kv_heads / spec.heads + s / h + spec.ffn_hidden / h * gl + spec.vocab / (2 * n_layers * h))
        )
        assert model_flops_per_token(spec, s) * s == pytest.approx(megatron, rel=1e-9)


def test_model_flops_are_6n_plus_attention_for_a_large_model():
    spec = gpt(layers=126, hidden=16384, heads=128, kv=8, ffn=53248, gated=True, vocab=128256, seq=8192)
    six_n = 6 * matmul_params_per_token(spec)
    attention = 12 * 126 * 8192 * 16384
    assert model_flops_per_token(spec, 8192) == pytest.approx(six_n + attention)
    assert model_flops_per_token(spec, 8192) / (6 * spec.param_count()) == pytest.approx(1.084, abs=0.01)


def test_korthikanti_activations_without_sequence_parallel():
    """Per layer sbh (10 + 24/t) bytes (Korthikanti et al. 2022, Eq. 2; flash attention drops the s^2 term)."""
    spec = gpt(layers=4, hidden=1024, heads=8)
    s, b, h, t = 2048, 2, 1024, 4
    result = training_step(spec, cluster(), EFF, layout(tp=t, dp=2, mb=b), global_batch=4, seq_len=s)
    assert result.activations_bytes[0] == pytest.approx(4 * s * b * h * (10 + 24 / t))


def test_korthikanti_activations_with_sequence_parallel_and_full_recompute():
    spec = gpt(layers=4, hidden=1024, heads=8)
    s, b, h, t = 2048, 2, 1024, 4
    sp = training_step(spec, cluster(), EFF, layout(tp=t, dp=2, mb=b, sp=1), global_batch=4, seq_len=s)
    assert sp.activations_bytes[0] == pytest.approx(4 * s * b * h * 34 / t)  # Eq. 4
    full = training_step(spec, cluster(), EFF, layout(tp=t, dp=2, mb=b, sp=1, recompute=2), global_batch=4, seq_len=s)
    # 2sbh/t kept per layer, plus one layer's full activations while it is recomputed
    assert full.activations_bytes[0] == pytest.approx(4 * 2 * s * b * h / t + s * b * h * 34 / t)


def test_pipeline_in_flight_activations_follow_1f1b_and_interleaving():
    spec = gpt(layers=8)
    one = training_step(spec, cluster(), EFF, layout(dp=8, mb=1), global_batch=64, seq_len=2048)
    pp = training_step(spec, cluster(), EFF, layout(pp=4, dp=2, mb=1), global_batch=64, seq_len=2048)
    inter = training_step(spec, cluster(), EFF, layout(pp=4, dp=2, mb=1, vpp=2), global_batch=64, seq_len=2048)
    # first stage holds p micro-batches of L/p layers: the same as all L layers of one micro-batch
    assert pp.activations_bytes[0] == pytest.approx(one.activations_bytes[0])
    assert inter.activations_bytes[0] == pytest.approx(one.activations_bytes[0] * (1 + 3 / 8))


def test_mixed_precision_adam_memory_by_zero_stage():
    spec = gpt()
    params = None
    for zero, per_param in ((0, 2 + 4 + 12), (1, 2 + 4 + 12 / 8), (2, 2 + 4 / 8 + 12 / 8), (3, (2 + 2 + 12) / 8)):
        r = training_step(spec, cluster(), EFF, layout(zero=zero), global_batch=8, seq_len=2048)
        total = r.weights_bytes[0] + r.grads_bytes[0] + r.optimizer_bytes[0]
        if params is None:
            params = r.weights_bytes[0] / 2
        assert total == pytest.approx(params * per_param)


def test_bubble_is_p_minus_1_over_v_micro_batches():
    spec = gpt(layers=8)
    for v in (1, 2):
        r = training_step(spec, cluster(), EFF, layout(pp=4, dp=2, mb=1, vpp=v), global_batch=16, seq_len=2048)
        m = 16 / 2
        per_mb = r.bubble_s[0] / (3 / v)
        pipeline = r.step_time_s[0] - r.dp_comm_s[0] - r.optimizer_s[0]
        assert pipeline == pytest.approx((m + 3 / v) * per_mb)


def test_ring_all_reduce_inside_a_domain_by_hand():
    c = cluster()
    t = collectives.all_reduce_time(c, np.array([1e9]), np.array([8.0]), np.array([1.0]), 0.5)
    assert t[0] == pytest.approx(2 * 7 / 8 * 1e9 / (0.5 * 100e9) + 2 * 7 * 1e-6)


def test_hierarchical_all_reduce_by_hand():
    c = cluster(num_chips=64)
    t = collectives.all_reduce_time(c, np.array([8e9]), np.array([16.0]), np.array([4.0]), 1.0)
    # 2 members per domain (8 / stride 4), 8 domains
    inner = 2 * 1 / 2 * 8e9 / 100e9 + 2 * 1 * 1e-6
    outer = 2 * 7 / 8 * (8e9 / 2) / 10e9 + 2 * 7 * 5e-6
    assert t[0] == pytest.approx(inner + outer)


def test_compute_time_is_flops_over_peak_times_efficiency():
    spec = gpt(layers=2)
    r = training_step(spec, cluster(num_chips=1), EFF, layout(dp=1), global_batch=1, seq_len=2048)
    # EFF: e_max 0.5 at every matmul shape; attention at 0.5 x 2048 / (2048 + 800) (the flash kernel's sequence
    # half length); no recompute: 3x forward matmul, 3.5x forward attention
    tokens = 2048
    mm = 2 * tokens * matmul_params_per_token(spec)
    att = 2 * 2048 * 2048 * spec.heads * spec.head_dim / 2 * 2 * 2  # causal QK^T and AV, 2 layers
    expected = 3 * mm / (1e15 * 0.5) + 3.5 * att / (1e15 * 0.5 * 2048 / 2848)
    assert r.compute_s[0] == pytest.approx(expected, rel=1e-6)


def test_reasons_for_a_layout_that_cannot_run():
    spec = gpt(heads=8)
    r = training_step(spec, cluster(), EFF, layout(tp=3, dp=8, sp=1), global_batch=8, seq_len=2048)
    flags = LayoutProblem(int(r.invalid[0]))
    assert flags == LayoutProblem.CHIP_COUNT | LayoutProblem.HEADS_SPLIT
    reasons = flags.messages()
    assert any("tp does not divide" in x for x in reasons)
    assert any("tp*pp*dp*cp" in x for x in reasons)


def test_mfu_uses_bf16_peak_and_model_flops():
    spec = gpt()
    r = training_step(spec, cluster(), EFF, layout(), global_batch=8, seq_len=2048)
    expected = 8 * 2048 * model_flops_per_token(spec, 2048) / (r.step_time_s[0] * 8 * 1e15)
    assert r.mfu[0] == pytest.approx(expected)
    assert math.isfinite(r.hfu[0]) and r.hfu[0] >= r.mfu[0] * 0.5


def test_small_all_reduces_go_by_tree_on_a_switch_and_by_ring_on_a_torus():
    """8 ranks in one switched domain (100 GB/s, 1 us): 1 kB by tree, 2 S/bw + 2 log2(8) alpha; 1 GB by ring."""
    from dataclasses import replace

    c = cluster(num_chips=8, domain=8)
    eight, one = np.array([8.0]), np.array([1.0])
    small = collectives.all_reduce_time(c, np.array([1e3]), eight, one, 1.0)[0]
    assert small == pytest.approx(2e3 / 100e9 + 6 * 1e-6)  # ring: 1.75e3 / 100e9 + 14 us
    large = collectives.all_reduce_time(c, np.array([1e9]), eight, one, 1.0)[0]
    assert large == pytest.approx(2 * 7 / 8 * 1e9 / 100e9 + 14 * 1e-6)
    torus = replace(c, scaleup_topology="torus-2d")
    ring = collectives.all_reduce_time(torus, np.array([1e3]), eight, one, 1.0)[0]
    assert ring > small  # chip-to-chip links keep the ring's 2 (g - 1) latency steps


def test_an_all_to_all_on_a_torus_is_bound_by_its_bisection():
    """16 x 16 torus (v6e pod): half the traffic crosses 2 x 16 links each way, about S k a / (4 bw) = 8 S / bw."""
    from dataclasses import replace

    torus = replace(cluster(num_chips=256, domain=256), scaleup_topology="torus-2d")
    g, one = np.array([256.0]), np.array([1.0])
    t = collectives.all_to_all_time(torus, np.array([1e9]), g, one, 1.0)[0]
    assert t == pytest.approx(1e9 * 16 * 2 / (4 * 100e9) + torus.scaleup_latency_s)
    switched = collectives.all_to_all_time(cluster(num_chips=256, domain=256), np.array([1e9]), g, one, 1.0)[0]
    assert switched == pytest.approx(1e9 * 255 / 256 / 100e9 + 1e-6)


def test_local_attention_model_flops_by_hand():
    """gpt-oss-120b at 8,192 tokens: a query attends 4,160 keys on average (18 layers all 8,192, 18 a 128 window),
    the attended length MaxText's accounting uses: 6 P_mm + 6 x 36 x 4,160 x 64 x (64 + 64)."""
    from computeplan.catalog import get_model

    spec = TransformerSpec.from_entry(get_model("gpt-oss-120b"))
    expected = 6 * matmul_params_per_token(spec) + 6 * 36 * 4160 * 64 * 128
    assert model_flops_per_token(spec, 8192) == pytest.approx(expected)
