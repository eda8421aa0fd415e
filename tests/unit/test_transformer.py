"""Parameter counts against hand-computed cases."""

from dataclasses import replace

import pytest

from computeplan.errors import ComputeplanError, InvalidSpec
from computeplan.workload import TransformerSpec
from tests.specs import tiny


def test_dense_gelu_by_hand():
    spec = tiny()
    # attention 4*D*D = 256, mlp 2*D*F = 512, norms 2*D = 16 -> 784 per layer
    assert spec.layer_params(False) == 784
    # 2 layers + embedding and unembedding 2*V*D = 160 + final norm 8
    assert spec.param_count() == 2 * 784 + 160 + 8


def test_gqa_and_swiglu_by_hand():
    spec = tiny(kv_heads=1, gated_mlp=True, tied_embeddings=True)
    # q,o: 2*D*N*H = 128; k,v: 2*D*K*H = 64; mlp 3*D*F = 768; norms 16
    assert spec.layer_params(False) == 128 + 64 + 768 + 16
    assert spec.embedding_params() == 10 * 8 + 8


def test_moe_active_counts_only_routed_top_k_plus_shared():
    spec = tiny(experts=4, top_k=1, expert_ffn_hidden=16, shared_experts=1, gated_mlp=True, dense_layers=1)
    expert = 3 * 8 * 16
    router = 8 * 4
    attn_norms = 256 + 16
    assert spec.layer_params(True) == attn_norms + 5 * expert + router
    assert spec.layer_params(True, active_only=True) == attn_norms + 2 * expert + router
    dense = spec.layer_params(False)
    assert spec.param_count() == dense + spec.layer_params(True) + spec.embedding_params()


def test_mla_by_hand():
    spec = tiny(heads=2, q_lora_rank=4, kv_lora_rank=3, qk_nope_head_dim=2, qk_rope_head_dim=1, v_head_dim=2)
    q = 8 * 4 + 4 * 2 * (2 + 1)
    kv = 8 * (3 + 1) + 3 * 2 * (2 + 2)
    out = 2 * 2 * 8
    assert spec.attention_params() == q + kv + out + 4 + 3


@pytest.mark.parametrize("layers", [1, 2, 10])
def test_params_grow_linearly_with_layers(layers):
    assert tiny(layers=layers + 1).param_count() - tiny(layers=layers).param_count() == tiny().layer_params(False)


def test_ffn_params_per_token_and_expert_total_by_hand():
    spec = tiny(experts=4, top_k=1, expert_ffn_hidden=16, shared_experts=1, dense_layers=1)
    # dense: 2 D F = 512; MoE per token: (k 1 + S 1) x 2 D F_e 256 + router D E 32 = 544; all: (4 + 1) x 256 + 32
    assert spec.ffn_params_per_token(False) == 512
    assert spec.ffn_params_per_token(True) == 544
    assert spec.ffn_params(True) == 5 * 256 + 32
    # one MoE layer x 4 routed experts x 256 (shared experts and routers not included)
    assert spec.expert_params_total() == 4 * 256
    assert tiny().expert_params_total() == 0


def test_every_catalog_model_is_a_valid_spec(builtin):
    for entry in builtin.models.values():
        spec = TransformerSpec.from_entry(entry)
        assert spec.problems() == []


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (dict(heads=32, kv_heads=3), "model 'tiny': kv_heads=3 must divide heads=32"),
        (dict(kv_heads=4), "kv_heads=4 must divide heads=2"),
        (dict(layers=0), "layers=0 must be at least 1"),
        (dict(hidden=-8), "hidden=-8 must be at least 1"),
        (dict(seq_len=0), "seq_len=0 must be at least 1"),
        (dict(shared_experts=-1), "shared_experts=-1 must not be negative"),
        (dict(layers=10**12), "layers=1000000000000 must be below 2**31"),
        (dict(hidden=10**400), "hidden=10...(401 digits) must be below 2**31"),
        (dict(vocab=2**31), "vocab=2147483648 must be below 2**31"),
        (dict(heads=2.5), "heads=2.5 must be a whole number"),
        (dict(layers=True), "layers=True must be a whole number"),
        (dict(experts=4, top_k=5, expert_ffn_hidden=16), "top_k=5 must be between 1 and experts=4"),
        (dict(experts=4, top_k=0, expert_ffn_hidden=16), "top_k=0 must be between 1 and experts=4"),
        (dict(experts=4, top_k=1), "expert_ffn_hidden=0 must be at least 1 with experts > 0"),
        (dict(experts=4, top_k=1, expert_ffn_hidden=16, dense_layers=3), "dense_layers=3 must not exceed layers=2"),
        (dict(kv_lora_rank=3, qk_rope_head_dim=1), "v_head_dim=0 must be at least 1 with MLA"),
    ],
)
def test_invalid_specs_are_refused_with_a_one_line_message(over, message):
    with pytest.raises(InvalidSpec) as caught:
        tiny(**over)
    text = str(caught.value)
    assert message in text
    assert text.startswith("model 'tiny': ") and "\n" not in text


def test_invalid_spec_is_a_computeplan_error_and_a_value_error():
    with pytest.raises(ComputeplanError):
        tiny(kv_heads=3)
    with pytest.raises(ValueError):
        tiny(kv_heads=3)


def test_several_problems_are_reported_together():
    with pytest.raises(InvalidSpec, match="layers=0 must be at least 1; vocab=-1 must be at least 1"):
        tiny(layers=0, vocab=-1)


def test_replace_validates_too():
    with pytest.raises(InvalidSpec, match="kv_heads=3"):
        replace(tiny(heads=32, kv_heads=8), kv_heads=3)


def test_mla_ignores_kv_heads_and_moe_edges_are_accepted():
    mla = tiny(heads=2, kv_heads=7, q_lora_rank=4, kv_lora_rank=3, qk_nope_head_dim=2, qk_rope_head_dim=1, v_head_dim=2)
    assert mla.is_mla
    top_all = tiny(experts=4, top_k=4, expert_ffn_hidden=16, dense_layers=2)
    assert top_all.moe_layers == 0


def test_one_moe_ffn_formula_by_hand():
    """(k + S) F_e for the width a token passes through, (E + S) F_e in all; the step model uses the same method."""
    from computeplan.perf.training import mean_active_ffn_width

    spec = tiny(layers=4, experts=8, top_k=2, expert_ffn_hidden=16, shared_experts=1, dense_layers=1)
    assert spec.active_ffn_width(False) == 32 and spec.active_ffn_width(True) == (2 + 1) * 16
    assert spec.ffn_width(True) == (8 + 1) * 16
    # mlp(F_e) = 2 D F_e = 256 per expert; router D E = 64
    assert spec.ffn_params(True) == 9 * 256 + 64 and spec.ffn_params(True, active_only=True) == 3 * 256 + 64
    # one dense layer of 4: (1 - 3/4) 32 + 3/4 x 48 = 44
    assert mean_active_ffn_width(spec) == pytest.approx(44.0)
    assert mean_active_ffn_width(tiny()) == 32.0
