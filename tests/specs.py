"""Small architectures shared by unit tests, with counts easy to do by hand."""

from computeplan.workload import TransformerSpec


def tiny(**over: object) -> TransformerSpec:
    """2 layers, D 8, 2 heads of 4, F 32, GELU, V 10, T 16; fields replaced by ``over``."""
    base: dict[str, object] = dict(
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
    return TransformerSpec(**base)  # type: ignore[arg-type]
