"""Properties of the training model: finite outputs, bounded utilisation, monotone in bandwidth and model size."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeplan.errors import InvalidSpec
from computeplan.hardware.cluster import Precision
from computeplan.hardware.efficiency import PRIOR
from computeplan.perf.training import Software, model_flops_per_token, training_step
from computeplan.search.space import enumerate_layouts
from computeplan.workload.transformer import TransformerSpec
from tests.unit.test_training_formulas import cluster, gpt

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

specs = st.builds(
    gpt,
    layers=st.sampled_from([2, 4, 12, 24]),
    hidden=st.sampled_from([512, 1024, 4096]),
    heads=st.sampled_from([8, 16]),
    seq=st.sampled_from([512, 2048, 8192]),
    gated=st.booleans(),
)
clusters = st.builds(
    cluster,
    num_chips=st.sampled_from([8, 16, 64]),
    domain=st.sampled_from([4, 8]),
    up=st.floats(10e9, 1e12),
    out=st.floats(1e9, 100e9),
    hbm_bw=st.floats(0.5e12, 8e12),
)


softwares = st.builds(
    Software,
    attention_kernel=st.sampled_from(["flash-attention-2", "cudnn", "unfused"]),
    tp_overlap=st.booleans(),
    ep_overlap=st.booleans(),
    compiled=st.booleans(),
    pipeline_schedule=st.sampled_from(["1f1b", "dualpipe"]),
)


def _all_layouts(spec, c, batch):
    return enumerate_layouts(spec, c, global_batch=batch, seq_len=spec.seq_len)


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]))
def test_no_nan_or_inf_for_any_layout_that_can_run(spec, c, batch):
    lay = _all_layouts(spec, c, batch)
    r = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    ok = r.invalid == 0
    for name in ("step_time_s", "memory_bytes", "mfu", "hfu", "tokens_per_s", "dp_comm_s", "bubble_s"):
        values = getattr(r, name)[ok]
        assert np.all(np.isfinite(values)), name
        assert np.all(values >= 0), name
    assert np.all(r.step_time_s[ok] > 0)


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]), factor=st.floats(1.0, 10.0))
def test_more_bandwidth_never_slows_a_step(spec, c, batch, factor):
    lay = _all_layouts(spec, c, batch)
    base = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    faster = replace(
        c,
        scaleup_bytes_per_s=c.scaleup_bytes_per_s * factor,
        scaleout_bytes_per_s=c.scaleout_bytes_per_s * factor,
        hbm_bytes_per_s=c.hbm_bytes_per_s * factor,
    )
    quick = training_step(spec, faster, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    assert np.all(quick.step_time_s <= base.step_time_s * (1 + 1e-12))


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]))
def test_a_bigger_model_never_trains_faster_on_the_same_layout(spec, c, batch):
    bigger = replace(spec, layers=spec.layers * 2, ffn_hidden=spec.ffn_hidden * 2)
    lay = _all_layouts(spec, c, batch)
    small = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    big = training_step(bigger, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    ok = (small.invalid == 0) & (big.invalid == 0)
    assert np.all(big.step_time_s[ok] >= small.step_time_s[ok] * (1 - 1e-12))
    assert np.all(big.memory_bytes[ok] >= small.memory_bytes[ok])


@st.composite
def any_specs(draw):
    """Any valid architecture: MHA/GQA or MLA, dense or MoE (with dense leading layers and shared experts)."""
    heads = draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64]))
    layers = draw(st.integers(1, 96))
    extra = {}
    if draw(st.booleans()):
        experts = draw(st.sampled_from([2, 4, 8, 16, 64, 256]))
        extra.update(
            experts=experts,
            top_k=draw(st.integers(1, min(experts, 8))),
            expert_ffn_hidden=draw(st.sampled_from([64, 512, 2048, 14336])),
            shared_experts=draw(st.integers(0, 2)),
            dense_layers=draw(st.integers(0, layers)),
        )
    if draw(st.booleans()):
        extra.update(
            q_lora_rank=draw(st.sampled_from([0, 512, 1536])),
            kv_lora_rank=draw(st.sampled_from([64, 512])),
            qk_nope_head_dim=draw(st.sampled_from([0, 64, 128])),
            qk_rope_head_dim=draw(st.sampled_from([16, 64])),
            v_head_dim=draw(st.sampled_from([32, 128])),
        )
    return TransformerSpec(
        name="drawn",
        layers=layers,
        hidden=draw(st.sampled_from([64, 256, 1024, 4096, 16384])),
        heads=heads,
        kv_heads=draw(st.sampled_from([k for k in (1, 2, 4, 8, 16, 32, 64) if heads % k == 0])),
        head_dim=draw(st.sampled_from([16, 64, 128, 256])),
        ffn_hidden=draw(st.sampled_from([64, 1024, 4096, 53248])),
        gated_mlp=draw(st.booleans()),
        vocab=draw(st.sampled_from([100, 32000, 256000])),
        seq_len=draw(st.sampled_from([128, 2048, 8192, 32768])),
        **extra,
    )


@SETTINGS
@given(
    spec=any_specs(),
    num_chips=st.sampled_from([1, 2, 8, 24, 64]),
    domain=st.sampled_from([4, 8, 72]),
    batch=st.sampled_from([1, 16, 96, 512]),
    fp8=st.booleans(),
)
def test_valid_specs_and_layouts_give_finite_bounded_results(spec, num_chips, domain, batch, fp8):
    """Every float result is finite and non-negative, and HFU >= MFU: both count FLOPs in Megatron's accounting
    against the peak of the precision used; HFU adds the recomputed work. (MFU itself may pass 1 only for
    attention-dominated toy shapes, because non-causal attention is counted where causal runs:
    test_mfu_is_at_most_one covers realistic shapes.)"""
    c = cluster(num_chips=num_chips, domain=domain)
    if fp8:
        c = replace(c, peak_flops_per_s={Precision.BF16: 1e15, Precision.FP8: 2e15})
    lay = enumerate_layouts(spec, c, global_batch=batch, seq_len=spec.seq_len)
    r = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    ok = r.invalid == 0
    for f in fields(r):
        values = getattr(r, f.name)[ok]
        if values.dtype.kind == "f":
            assert np.all(np.isfinite(values)), f.name
            assert np.all(values >= 0), f.name
    assert np.all(r.step_time_s[ok] > 0)
    assert np.all(r.hfu[ok] >= r.mfu[ok])
    no_recompute = ok & (lay.recompute == 0)
    assert np.allclose(r.hfu[no_recompute], r.mfu[no_recompute], rtol=1e-12)


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]), software=softwares)
def test_mfu_is_at_most_one(spec, c, batch, software):
    """MFU against the peak of the precision each layout uses (fp8 layouts against the fp8 peak), whatever the
    framework's software; HFU >= MFU; overlap never makes a step slower, eager never faster."""
    lay = _all_layouts(spec, c, batch)
    r = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len, software=software)
    ok = r.invalid == 0
    assert np.all(r.mfu[ok] <= 1.0)
    assert np.all(r.mfu[ok] > 0.0)
    assert np.all(r.hfu[ok] >= r.mfu[ok])
    assert np.all(np.isfinite(r.step_time_s[ok]))
    overlapped = replace(software, tp_overlap=True, ep_overlap=True)
    faster = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len, software=overlapped)
    assert np.all(faster.step_time_s[ok] <= r.step_time_s[ok] * (1 + 1e-12))
    eager = training_step(
        spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len, software=replace(software, compiled=False)
    )
    assert np.all(eager.step_time_s[ok] >= r.step_time_s[ok] * (1 - 1e-12))


@settings(max_examples=200, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {
            name: st.one_of(st.integers(-3, 70), st.integers(2**31 - 2, 2**31 + 2), st.just(10**400))
            for name in ("layers", "hidden", "heads", "kv_heads", "head_dim", "experts", "top_k", "dense_layers")
        }
    )
)
def test_a_spec_either_builds_or_says_why_in_one_line(values):
    base = dict(name="x", ffn_hidden=64, gated_mlp=True, vocab=1000, seq_len=2048, expert_ffn_hidden=32)
    try:
        spec = TransformerSpec(**base, **values)
    except InvalidSpec as exc:
        text = str(exc)
        assert text.startswith("model 'x': ") and "\n" not in text and len(text) < 1000
        return
    assert spec.heads % spec.kv_heads == 0
    assert 0 < spec.param_count() < 2**256
    assert np.isfinite(model_flops_per_token(spec, spec.seq_len))
