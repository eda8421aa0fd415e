"""Each named term of the training step against a tiny case computed by hand (numbers in the comments).

The tiny model: L=2 layers, D=8, N=K=2 heads of H=4, GELU FFN F=32, V=10, sequence s=16. Its attention block has
4 D^2 = 256 weights, its FFN 2 D F = 512, its norms 2 D = 16: 784 per layer; embeddings 2 V D + D = 168.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from computeplan.hardware.cluster import Precision
from computeplan.hardware.efficiency import EfficiencyParams
from computeplan.perf import training as tr
from computeplan.perf.layout import LayoutProblem, Layouts
from computeplan.search.training_search import invalid_reasons
from tests.specs import tiny
from tests.unit.test_training_formulas import cluster

EFF = EfficiencyParams(
    realized_fraction=0.5,
    matmul_plateau=1.0,
    matmul_half_dim=8.0,
    network_efficiency=1.0,
    dp_overlap=0.5,
    attention_relative=0.5,
    memory_efficiency=0.5,
)


def tiny_moe(**over):
    # 4 experts of width 16 (2 D F_e = 256 weights each), top-1, router D E = 32
    return tiny(experts=4, top_k=1, expert_ffn_hidden=16, **over)


def geometry(spec, global_batch=8, **over):
    base = dict(tp=2, pp=1, dp=2, cp=2, ep=1, vpp=1, mb=2, recompute=0, sp=0, zero=0, hsdp=0, fp8=0)
    base.update(over)
    lay = Layouts.from_columns({k: [v] for k, v in base.items()})
    return tr.step_geometry(spec, lay, global_batch=global_batch, seq_len=spec.seq_len), lay


def test_geometry_by_hand():
    g, _ = geometry(tiny(layers=3), pp=2, tp=1, dp=2, cp=2, mb=2)
    assert g.tokens[0] == 16  # b s / c = 2 * 16 / 2
    assert g.micro_batches[0] == 2  # B / (d b) = 8 / (2 * 2)
    assert g.layers_per_stage[0] == 2  # ceil(3 / 2)


def test_mean_ffn_params_and_width_average_dense_and_moe_layers():
    spec = tiny_moe(shared_experts=1, dense_layers=1)
    # half the layers MoE: dense 2*8*32 = 512; MoE per token (1 + 1) * 256 + 32 = 544
    assert tr.moe_layer_share(spec) == 0.5
    assert tr.mean_ffn_params_per_token(spec) == pytest.approx((512 + 544) / 2)
    # widths: dense 32; MoE (k + S) F_e = 2 * 16 = 32
    assert tr.mean_active_ffn_width(spec) == pytest.approx(32)
    assert tr.mean_ffn_params_per_token(tiny()) == 512


def test_micro_batch_flops_by_hand():
    g, _ = geometry(tiny())  # t=2, c=2, b=2: 16 tokens per chip
    flops = tr.micro_batch_flops(tiny(), g)
    assert flops.matmul_per_layer[0] == 2 * 16 * (256 + 512) / 2  # 12,288
    assert flops.attention_per_layer[0] == 2 * 16 * 16 * 2 * (4 + 4) / (2 * 2)  # 2,048: b s^2 N (H + H) / (c t)
    assert flops.logits[0] == 2 * 16 * 10 * 8 / 2  # 1,280


@pytest.mark.parametrize(("recompute", "extra"), [(0, 0), (1, 2 * 2048), (2, 2 * (12288 + 2048))])
def test_hardware_flops_add_backward_and_recompute(recompute, extra):
    g, _ = geometry(tiny(), recompute=recompute)
    flops = tr.micro_batch_flops(tiny(), g)
    # 2 layers x (3 x 12,288 + 3.5 x 2,048) + 3 x 1,280 = 91,904, plus the recomputed forward
    assert tr.hardware_flops_per_micro_batch(g, flops)[0] == 91904 + extra


def test_matmul_and_attention_efficiency():
    x = np.array([8.0, 24.0])
    np.testing.assert_allclose(tr.matmul_efficiency(x, EFF), [0.25, 0.375])  # 0.5 x / (x + 8)
    g, _ = geometry(tiny())  # s / c = 8 tokens: e_max 0.5 x 8 / (8 + 800) x attention_relative 0.5
    assert tr.attention_efficiency(tiny(), g, EFF)[0] == pytest.approx(0.5 * 8 / 808 * 0.5)
    _, lay = geometry(tiny())
    long = tr.step_geometry(tiny(), lay, global_batch=8, seq_len=16_384)  # 8,192 tokens per chip: 0.91 of the asymptote
    assert tr.attention_efficiency(tiny(), long, EFF)[0] == pytest.approx(0.5 * 8192 / 8992 * 0.5)


def test_narrowest_matmul_dimension():
    g, _ = geometry(tiny())
    # min(tokens 16, D 8, N H / t = 4, F / t = 16)
    assert tr.narrowest_matmul_dim(tiny(), g)[0] == 4
    g, _ = geometry(tiny_moe(), tp=1, ep=1)
    # tokens per expert 16 * k 1 * e 1 / E 4 = 4; min with N H = 8, D 8, F_e 16
    assert tr.narrowest_matmul_dim(tiny_moe(), g)[0] == 4


def test_matmul_peak_uses_fp8_only_where_asked_and_present():
    lay = Layouts.from_columns({k: [1, 1] for k in ("tp", "pp", "dp", "cp", "ep", "vpp", "mb")} | _zeros(fp8=[0, 1]))
    with_fp8 = replace(cluster(), peak_flops_per_s={Precision.BF16: 1e15, Precision.FP8: 2e15})
    np.testing.assert_array_equal(tr.matmul_peak(with_fp8, lay), [1e15, 2e15])
    peak = tr.matmul_peak(cluster(), lay)
    assert peak[0] == 1e15 and np.isnan(peak[1])


def _zeros(**over):
    base = {k: [0, 0] for k in ("recompute", "sp", "zero", "hsdp", "fp8")}
    base.update(over)
    return base


@pytest.mark.parametrize(("recompute", "recompute_s"), [(0, 0.0), (1, 16.0), (2, 64.0), (3, 32.0)])
def test_compute_times_by_hand(recompute, recompute_s):
    g, _ = geometry(tiny(), recompute=recompute)
    flops = tr.micro_batch_flops(tiny(), g)
    one = np.ones(1)
    times = tr.compute_times(g, flops, peak=1024 * one, matmul_eff=0.5 * one, attention_eff=0.25 * one)
    # per layer: matmul 12,288 / 512 = 24 s, attention 2,048 / 256 = 8 s; logits 1,280 / 512 = 2.5 s
    assert times.attention_per_layer_s[0] == 8
    assert times.forward_s[0] == 2 * (24 + 8) + 2.5  # 66.5
    assert times.backward_s[0] == 2 * (2 * 24 + 2.5 * 8) + 2 * 2.5  # 141
    assert times.recompute_s[0] == recompute_s  # full: 2 x (24 + 8); selective: 2 x 8; half: 2 x (24 + 8) / 2
    assert times.total_s[0] == 66.5 + 141 + recompute_s


@pytest.mark.parametrize(("sp", "recompute", "seconds"), [(0, 0, 48.0), (0, 2, 64.0), (1, 0, 33.0)])
def test_elementwise_time_by_hand(sp, recompute, seconds):
    g, _ = geometry(tiny(), sp=sp, recompute=recompute)
    c = cluster(hbm_bw=1024.0)
    # one pass: 2 B x 16 tokens x (10 x 8 / t_sp + (2 + 1) x 32 / 2) = 4,096 B (t_sp = 1) or 2,816 B (t_sp = 2);
    # 2 layers x 3 passes (4 with full recompute) at 1,024 B/s x 0.5
    assert tr.elementwise_time(tiny(), c, EFF, g)[0] == pytest.approx(seconds)


def _ring(nbytes, g, bw=100e9, alpha=1e-6):
    """Ring all-reduce inside a domain: 2 (g - 1)/g S / bw + 2 (g - 1) alpha."""
    return 2 * (g - 1) / g * nbytes / bw + 2 * (g - 1) * alpha


@pytest.mark.parametrize(("recompute", "count"), [(0, 4), (2, 6)])
def test_tp_comm_time_by_hand(recompute, count):
    g, _ = geometry(tiny(), recompute=recompute)
    # all-reduce of 2 B x 16 tokens x D 8 = 256 B over t = 2, 4 per layer (6 with full recompute), 2 layers
    expected = 2 * count * _ring(256, 2)
    assert tr.tp_comm_time(tiny(), cluster(), EFF, g)[0] == pytest.approx(expected)


def test_cp_comm_time_exposed_only_beyond_attention():
    g, _ = geometry(tiny())
    # K,V per chip: 2 B x 16 tokens x 2 K H / t = 8 wide -> 256 B; all-gather of 256 x c = 512 B over c = 2 costs
    # half an all-reduce; exposed once in forward and twice in backward when attention takes no time; 2 layers
    gather = 0.5 * _ring(512, 2)
    assert tr.cp_comm_time(tiny(), cluster(), EFF, g, np.zeros(1))[0] == pytest.approx(2 * 3 * gather)
    assert tr.cp_comm_time(tiny(), cluster(), EFF, g, np.ones(1))[0] == 0.0


def test_ep_comm_time_by_hand():
    assert tr.ep_comm_time(tiny(), cluster(), EFF, geometry(tiny())[0])[0] == 0.0  # dense
    g, _ = geometry(tiny_moe(), tp=2, cp=2, dp=2, ep=2)
    # 2 B x 16 tokens x D 8 x k 1 = 256 B; all-to-all over e = 2 members 4 apart, both in one domain of 8:
    # 256 x (2 - 1) / 2 / 100 GB/s + 1 us; 4 per MoE layer, both layers MoE
    a2a = 256 / 2 / 100e9 + 1e-6
    assert tr.ep_comm_time(tiny_moe(), cluster(), EFF, g)[0] == pytest.approx(2 * 4 * a2a)


def test_pp_comm_time_by_hand():
    assert tr.pp_comm_time(tiny(), cluster(), EFF, geometry(tiny())[0])[0] == 0.0  # p = 1
    g, _ = geometry(tiny(), tp=2, cp=2, dp=2, pp=2, vpp=1)
    # t c d = 8 fills the domain of 8: stages talk over scale-out; 2 B x 16 x 8 / t = 128 B, sent twice
    assert tr.pp_comm_time(tiny(), cluster(), EFF, g)[0] == pytest.approx(2 * (128 / 10e9 + 5e-6))


def test_bubble_time_is_p_minus_1_over_v_micro_batches():
    g, _ = geometry(tiny(layers=8), pp=4, vpp=2, tp=1, cp=1, dp=2)
    assert tr.bubble_time(g, np.array([3.0]))[0] == pytest.approx(3 / 2 * 3)


def test_params_per_chip_by_hand():
    g, _ = geometry(tiny())
    # (2 layers x 784 + one embedding table V D = 80) / t 2
    assert tr.params_per_chip(tiny(), g)[0] == (2 * 784 + 80) / 2
    g, _ = geometry(tiny_moe(), tp=1, cp=1, dp=8, ep=2)
    # non-expert per layer: attention 256 + router 32 + norms 16 = 304; routed experts 2 x 4 x 256 = 2,048 split by e=2
    assert tr.params_per_chip(tiny_moe(), g)[0] == (2 * 304 + 80) + 2 * (2048 / 2) / 2


def test_zero_shards_and_hsdp_groups():
    c = cluster(num_chips=16)
    g, _ = geometry(tiny(), tp=2, cp=2, dp=4, hsdp=1, zero=3)
    # the replica group is dp x cp = 8 ranks, tp = 2 apart: 4 per domain of 8, 2 domains
    shard, replicas = tr.zero3_shard_group(c, g)
    assert (shard[0], replicas[0]) == (4, 2)
    # optimizer state (ZeRO >= 1), gradients (>= 2) and weights (3) are sharded over dp x cp = 8 (Megatron-Core's
    # distributed optimizer and torchtitan's FSDP shard over the context-parallel ranks too)
    expected = {0: (1, 1, 1), 1: (1, 1, 8), 2: (1, 8, 8), 3: (8, 8, 8)}
    for zero, (w, gr, opt) in expected.items():
        g, _ = geometry(tiny(), tp=2, cp=2, dp=4, zero=zero)
        s = tr.zero_shards(c, g)
        assert (s.weights[0], s.grads[0], s.optimizer[0]) == (w, gr, opt)


def test_tp_above_the_kv_heads_replicates_them():
    spec = tiny(heads=4, kv_heads=2)  # D 8, 4 heads of 4, 2 key/value heads
    g, lay = geometry(spec, tp=4, cp=1, dp=4, mb=1)
    assert tr.validity(spec, cluster(num_chips=16), lay, 8, 16)[0] == 0
    # 2 more K/V heads (4 chips, 2 distinct heads): 2 (K and V) x D 8 x H 4 x 2 = 128 weights over the 4 chips
    assert tr.replicated_kv_params(spec, g)[0] == 128
    _, odd = geometry(tiny(heads=6, kv_heads=2, head_dim=2), tp=3, cp=1, dp=4, mb=1)
    assert tr.validity(tiny(heads=6, kv_heads=2, head_dim=2), cluster(num_chips=12), odd, 8, 16)[0] == int(
        tr.LayoutProblem.HEADS_SPLIT
    )
    g_plain, _ = geometry(spec, tp=2, cp=1, dp=8)
    assert tr.replicated_kv_params(spec, g_plain)[0] == 0


def test_gradient_all_reduce_is_bucketed():
    c = cluster(num_chips=8)
    g, _ = geometry(tiny(), tp=1, cp=1, dp=8, mb=1)
    # 120 MB in ceil(120 / 50) = 3 buckets of 40 MB over 8 ranks in one domain
    expected = 3 * _ring(40e6, 8)
    assert tr.gradient_all_reduce_time(c, EFF, g, np.array([120e6]))[0] == pytest.approx(expected)


@pytest.mark.parametrize("zero", [0, 1, 3])
def test_dp_exposed_time_by_zero_stage(zero):
    c = cluster(num_chips=8)
    g, _ = geometry(tiny(), tp=1, cp=1, dp=8, mb=1, zero=zero)
    params = np.array([60e6])  # 120 MB of bf16 gradients
    ar = 3 * _ring(40e6, 8)
    fwd, bwd = np.array([1e-4]), np.array([2e-4])
    got = tr.dp_exposed_time(c, EFF, g, params, forward_window_s=fwd, backward_window_s=bwd)[0]
    if zero == 0:  # all-reduce beyond half (dp_overlap) of the backward
        assert got == pytest.approx(ar - 0.5 * 2e-4)
    elif zero == 1:  # reduce-scatter behind the backward, all-gather behind the forward
        assert got == pytest.approx((ar / 2 - 0.5 * 2e-4) + (ar / 2 - 0.5 * 1e-4))
    else:  # per layer (60 MB each): all-gather x 2 and reduce-scatter, 8 micro-batches, 2 layers
        m = 8 / 8
        traffic = m * 3 * 2 * 0.5 * _ring(60e6, 8)
        expected = traffic - 0.5 * m * (1e-4 + 2e-4)
        assert got == pytest.approx(expected)
        assert got == pytest.approx(
            tr.fsdp_exposed_time(c, EFF, g, 2 * params, forward_window_s=fwd, backward_window_s=bwd)[0]
        )
    g1, _ = geometry(tiny(), tp=8, cp=1, dp=1, mb=1, zero=zero)
    assert tr.dp_exposed_time(c, EFF, g1, params, forward_window_s=fwd, backward_window_s=bwd)[0] == 0.0
    # context-parallel ranks hold the same weights: with dp 1 the gradients are still reduced over cp
    g_cp, _ = geometry(tiny(), tp=2, cp=4, dp=1, mb=1, zero=zero)
    assert tr.dp_exposed_time(c, EFF, g_cp, params, forward_window_s=fwd, backward_window_s=bwd)[0] > 0.0


def test_optimizer_time_by_hand():
    c = cluster(hbm_bw=1000.0)
    shards = tr.ZeroShards(weights=np.ones(1), grads=np.ones(1), optimizer=np.array([4.0]))
    # 30 B x 1,000 / 4 parameters at 1,000 B/s x 0.5
    assert tr.optimizer_time(c, EFF, np.array([1000.0]), shards)[0] == pytest.approx(30 * 250 / 500)


def test_activations_per_layer_match_korthikanti_34_sbh():
    g, _ = geometry(tiny())
    # s b D = 16 x 8 = 128; MHA, F = 4 D: s b D (10 + 24 / t) = 128 x 22 = 2,816
    # = 10 x 128 + (q,k,v 2 x 16 x (8 + 16) + context 2 x 16 x 8 + GELU 2 x 16 x 32 x 2) / 2
    assert tr.activation_bytes_per_layer(tiny(), g)[0] == 2816


def test_in_flight_micro_batches():
    for (p, v, dp, batch), expected in (((1, 1, 8, 8), 1), ((4, 1, 2, 4), 2), ((4, 2, 2, 16), 4 * (1 + 3 / 8))):
        g, _ = geometry(tiny(layers=8), global_batch=batch, tp=1, cp=1, mb=1, pp=p, vpp=v, dp=dp)
        assert tr.in_flight_micro_batches(g)[0] == pytest.approx(expected)


def test_activation_memory_with_full_recompute_keeps_layer_inputs():
    g, _ = geometry(tiny(), recompute=2)
    # 2 layers x 2 B x s b D 128 (no SP), 1 micro-batch in flight, plus one layer's full 2,816 B
    assert tr.activation_memory(tiny(), g)[0] == 2 * 256 + 2816


def test_logits_and_total_memory_by_hand():
    g, _ = geometry(tiny())
    assert tr.logits_memory(tiny(), g)[0] == 2 * 4 * 16 * 10 / 2  # 640
    shards = tr.ZeroShards(weights=np.ones(1), grads=np.ones(1), optimizer=np.ones(1))
    mem = tr.memory_per_chip(tiny(), g, np.array([100.0]), shards)
    # 100 parameters: 200 B weights, 400 B fp32 gradients, 1,200 B Adam; 2 layers x 2,816 B activations, 640 B logits
    allocated = 200 + 400 + 1200 + 2 * 2816 + 640
    assert (mem.weights[0], mem.grads[0], mem.optimizer[0]) == (200, 400, 1200)
    assert mem.workspace[0] == pytest.approx(2 * 2**30 + 0.05 * allocated)
    assert mem.total[0] == pytest.approx(allocated + mem.workspace[0])


def test_training_step_is_the_sum_of_its_terms():
    spec = tiny()
    c = cluster()
    _, lay = geometry(spec, pp=2, vpp=1, dp=2, tp=2, cp=1, mb=2, recompute=1, zero=1, global_batch=8)
    r = tr.training_step(spec, c, EFF, lay, global_batch=8, seq_len=16)
    per_step = r.compute_s + r.elementwise_s + r.tp_comm_s + r.cp_comm_s + r.ep_comm_s + r.pp_comm_s
    total = per_step + r.bubble_s + r.dp_comm_s + r.optimizer_s
    assert r.step_time_s[0] == pytest.approx(total[0], rel=1e-12)
    memory = r.weights_bytes + r.grads_bytes + r.optimizer_bytes + r.activations_bytes + r.logits_bytes
    assert r.memory_bytes[0] == pytest.approx((memory + r.workspace_bytes)[0], rel=1e-12)


# ---------------------------------------------------------------------------------------------- LayoutProblem


def test_layout_problem_bits_are_stable():
    expected = {
        "CHIP_COUNT": 1,
        "HEADS_SPLIT": 2,
        "PIPELINE_SPLIT": 4,
        "BATCH_SPLIT": 8,
        "EXPERT_SPLIT": 16,
        "CONTEXT_SPLIT": 32,
        "SEQUENCE_PARALLEL_WITHOUT_TP": 64,
        "INTERLEAVING": 128,
        "FP8_UNSUPPORTED": 256,
        "EXPERTS_ON_DENSE_MODEL": 512,
        "HSDP_WITHOUT_ZERO3": 1024,
    }
    assert {p.name: p.value for p in LayoutProblem} == expected


def test_every_layout_problem_has_a_one_line_message():
    for problem in LayoutProblem:
        text = problem.describe()
        assert text and "\n" not in text and problem.messages() == [text]
    assert LayoutProblem.HSDP_WITHOUT_ZERO3.describe() == "hsdp needs ZeRO stage 3"


def test_layout_problem_messages_of_a_combination():
    both = LayoutProblem.CHIP_COUNT | LayoutProblem.FP8_UNSUPPORTED
    assert both.messages() == [
        "tp*pp*dp*cp does not equal the number of chips",
        "fp8 is not supported by this chip",
    ]
    assert both.describe() == "; ".join(both.messages())
    assert LayoutProblem(0).describe() == "" and invalid_reasons(0) == []
    assert invalid_reasons(int(both)) == both.messages()


def test_validity_returns_int64_layout_problem_bits():
    spec = tiny()
    c = cluster()  # 8 chips, bf16 only
    lay = Layouts.from_columns(
        dict(tp=[2, 2], pp=[1, 1], dp=[4, 4], cp=[1, 1], ep=[1, 2], vpp=[1, 1], mb=[1, 1])
        | dict(recompute=[0, 0], sp=[0, 0], zero=[0, 1], hsdp=[0, 1], fp8=[0, 1])
    )
    flags = tr.validity(spec, c, lay, 8, 16)
    assert flags.dtype == np.int64
    assert flags[0] == 0
    assert LayoutProblem(int(flags[1])) == (
        LayoutProblem.EXPERTS_ON_DENSE_MODEL | LayoutProblem.HSDP_WITHOUT_ZERO3 | LayoutProblem.FP8_UNSUPPORTED
    )


def test_fp8_runs_only_the_linear_gemms_at_the_fp8_rate():
    g, _ = geometry(tiny(), fp8=1)
    flops = tr.micro_batch_flops(tiny(), g)
    one = np.ones(1)
    times = tr.compute_times(
        g,
        flops,
        peak=2048 * one,  # fp8
        matmul_eff=0.5 * 0.89 * one,
        attention_eff=0.25 * one,
        bf16_peak=1024 * one,
        bf16_matmul_eff=0.5 * one,
    )
    # per layer: matmul 12,288 / (2,048 x 0.445) s; attention 2,048 / (1,024 x 0.25) = 8 s at the bf16 peak;
    # logits 1,280 / (1,024 x 0.5) = 2.5 s (the output layer stays bf16)
    matmul = 12_288 / (2048 * 0.445)
    assert times.attention_per_layer_s[0] == 8
    assert times.forward_s[0] == pytest.approx(2 * (matmul + 8) + 2.5)
    assert 2 * 24 / (2 * matmul) == pytest.approx(1.78)  # the GEMMs alone: 1.78x faster than bf16, not 2x


def test_fp8_cast_bytes_by_hand():
    g, _ = geometry(tiny(), fp8=1)
    # per layer, 3 B x 16 tokens x (D-wide forward inputs and backward gradients 2 x 8 + 2 x 8 = 32, and over t = 2:
    # N H_v 8 + F 32 + N H_qk 8 + 2 K H_v 16 + 2 F 64 = 128 / 2 = 64) = 4,608 B; 2 layers
    assert tr.fp8_cast_bytes(tiny(), g)[0] == 2 * 3 * 16 * (32 + 64)
    g_bf16, _ = geometry(tiny(), fp8=0)
    assert tr.fp8_cast_bytes(tiny(), g_bf16)[0] == 0


@pytest.mark.parametrize(("recompute", "per_score"), [(0, 13 + 26), (1, 2 * 13 + 26), (2, 2 * 13 + 26)])
def test_unfused_attention_moves_its_scores_through_hbm(recompute, per_score):
    _, lay = geometry(tiny(), recompute=recompute)
    g = tr.step_geometry(tiny(), lay, global_batch=8, seq_len=16, fused_attention=False)
    # b N s^2 / (c t) = 2 x 2 x 256 / 4 = 256 scores per layer; 2 layers
    assert tr.unfused_score_bytes(tiny(), g)[0] == 2 * 256 * per_score
    fused = tr.step_geometry(tiny(), lay, global_batch=8, seq_len=16)
    assert tr.unfused_score_bytes(tiny(), fused)[0] == 0
    # the score products are batched matmuls of inner dimension H = 4 that compute the masked half too:
    # 0.5 x e(min(s / c = 8, 4)) = 0.5 x 0.5 x 4 / (4 + 8)
    assert tr.attention_efficiency(tiny(), g, EFF)[0] == pytest.approx(0.5 * 0.5 * 4 / 12)


def test_overlapped_traffic_is_exposed_only_beyond_the_compute():
    one = np.ones(2)
    compute = tr.ComputeTimes(attention_per_layer_s=one, forward_s=10 * one, backward_s=20 * one, recompute_s=0 * one)
    np.testing.assert_array_equal(tr.overlapped_exposed_time(np.array([5.0, 50.0]), compute), [0.0, 20.0])


def test_half_recompute_sits_between_none_and_full():
    spec = tiny()
    g_none, _ = geometry(spec, recompute=0)
    g_full, _ = geometry(spec, recompute=2)
    g_half, _ = geometry(spec, recompute=3)
    none, full, half = (tr.activation_memory(spec, g)[0] for g in (g_none, g_full, g_half))
    one_layer = tr.activation_bytes_per_layer(spec, g_none)[0]
    # half the layers keep everything, half only their input; plus one layer's activations while recomputing
    assert half == pytest.approx((none + full) / 2 + one_layer / 2)
    c = cluster(hbm_bw=1024.0)
    # 3.5 element-wise passes: between 3 (none) and 4 (full)
    e_none, e_full, e_half = (tr.elementwise_time(spec, c, EFF, g)[0] for g in (g_none, g_full, g_half))
    assert e_half == pytest.approx((e_none + e_full) / 2)


def test_a_torus_slice_smaller_than_its_pod_uses_its_own_axes():
    from computeplan.perf import collectives

    pod = replace(cluster(num_chips=256, domain=256), scaleup_topology="torus-2d")
    small = replace(pod, num_chips=8)  # a 2 x 4 slice of a 16 x 16 pod
    g = np.array([8.0])
    # in the pod (side 16) a group of 8 lies on one axis: 2 of the chip's 4 links, half its bandwidth
    assert collectives._scaleup_share(pod, g)[0] == 0.5
    # the 8-chip slice is the whole torus (side sqrt(8) = 2.8): the group spans both axes and every link
    assert collectives._scaleup_share(small, g)[0] == 1.0


def test_eager_pytorch_moves_twice_the_fused_elementwise_bytes():
    spec = tiny()
    lay = Layouts.from_columns(
        dict(tp=1, pp=1, dp=8, cp=1, ep=1, vpp=1, mb=1, recompute=0, sp=0, zero=0, hsdp=0, fp8=0)
    )
    c = cluster(num_chips=8)
    fused = tr.training_step(spec, c, EFF, lay, global_batch=8, seq_len=16)
    eager = tr.training_step(spec, c, EFF, lay, global_batch=8, seq_len=16, software=tr.Software(compiled=False))
    assert eager.elementwise_s[0] == pytest.approx(tr.EAGER_ELEMENTWISE_FACTOR * fused.elementwise_s[0])
    assert eager.compute_s[0] == fused.compute_s[0]


def test_dualpipe_halves_the_pipeline_bubble():
    g, _ = geometry(tiny(layers=16), pp=16, tp=1, dp=1, cp=1, mb=1, global_batch=32)
    t_mb = np.array([2.0])
    assert tr.bubble_time(g, t_mb)[0] == 15 * 2.0  # 1F1B: p - 1 micro-batch times
    assert tr.bubble_time(g, t_mb, dualpipe=True)[0] == 7 * 2.0  # DualPipe: p / 2 - 1


def test_cheap_recompute_drops_the_norm_and_activation_outputs_at_no_flop_cost():
    spec = tiny()  # D 8, GELU FFN F 32 (2 matrices), t 2, no SP, 16 tokens per chip
    g_none, _ = geometry(spec, recompute=0)
    g_cheap, _ = geometry(spec, recompute=4)
    flops = tr.micro_batch_flops(spec, g_cheap)
    assert tr._recomputed(g_cheap, flops.matmul_per_layer, flops.attention_per_layer)[0] == 0
    # 16 tokens: 4 of the 10 B per s b D element (the two norm outputs), and one F-wide 2 B tensor over t = 2
    saved = 4 * 16 * 8 + 2 * 16 * 32 / 2
    none, cheap = (tr.activation_bytes_per_layer(spec, g)[0] for g in (g_none, g_cheap))
    assert none - cheap == saved
    c = cluster(hbm_bw=1024.0)
    # half a pass more element-wise traffic: 3.5 passes against 3
    assert tr.elementwise_time(spec, c, EFF, g_cheap)[0] == pytest.approx(
        tr.elementwise_time(spec, c, EFF, g_none)[0] * 3.5 / 3
    )
