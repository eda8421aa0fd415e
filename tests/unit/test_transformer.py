"""Parameter counts against hand-computed cases."""

import pytest

from computeplan.workload import TransformerSpec


def tiny(**over):
    base = dict(
        name="tiny",
        layers=2,
        hidden=8,
        heads=2,
        kv_heads=2,
        head_dim=4,
        ffn_hidden=32,
        gated_mlp=False,
        vocab=10,
        seq_len=16,
    )
    base.update(over)
    return TransformerSpec(**base)


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
