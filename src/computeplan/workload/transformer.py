"""A transformer's architecture in the fixed notation of docs/notation.md, and its parameter counts.

Symbols: L layers, D model width, N query heads, K key/value heads, H head dimension, F dense FFN width,
V vocabulary, T sequence length, E routed experts, k experts per token, F_e expert FFN width, S shared experts.
Counts exclude biases (GPT-3 has them: +0.1%) and include RMS/LayerNorm weights.

A spec checks itself when built (:meth:`TransformerSpec.__post_init__`): every size is a whole number, the
sizes a model needs are at least 1, K divides N (MHA/GQA), 1 <= k <= E for MoE, and every field is below
``MAX_SPEC_FIELD`` so that no cost computed from it can overflow.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from computeplan.errors import InvalidSpec, shown

if TYPE_CHECKING:
    from computeplan.catalog.schema import ModelEntry

# Upper bound (exclusive) of every integer field: the int32 range of framework configs (Megatron-LM, Hugging Face).
# 1000x beyond any published model; products of up to a dozen such fields stay far below the float64 maximum
# (2**1024), so step times and FLOPs stay finite. Absurd values (layers=10**12, hidden=10**400) are refused.
MAX_SPEC_FIELD = 2**31

# Sizes every model needs at least one of (MoE and MLA sizes are checked only where they apply).
_POSITIVE_FIELDS = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "seq_len")


def _shown(value: int) -> str:
    """``value`` as text short enough for a one-line message (10**400 has 401 digits)."""
    text = str(value)
    return text if len(text) <= 16 else f"{text[:2]}...({len(text.lstrip('-'))} digits)"


@dataclass(frozen=True, kw_only=True)
class TransformerSpec:
    """Architecture of a decoder-only transformer (dense or MoE; MHA, GQA or MLA)."""

    name: str
    layers: int  # L
    hidden: int  # D
    heads: int  # N
    kv_heads: int  # K
    head_dim: int  # H
    ffn_hidden: int  # F
    gated_mlp: bool  # SwiGLU (three matrices) vs GELU (two)
    vocab: int  # V
    seq_len: int  # T
    tied_embeddings: bool = False
    # multi-head latent attention (DeepSeek-V2/V3); all zero for MHA/GQA
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # mixture of experts; experts == 0 means dense
    experts: int = 0  # E
    top_k: int = 0  # k
    expert_ffn_hidden: int = 0  # F_e
    shared_experts: int = 0  # S
    dense_layers: int = 0  # leading layers with a dense FFN
    mtp_modules: int = 0
    # local (sliding-window) attention: window_layers of the L layers attend only the last attention_window tokens
    # (gpt-oss: every second layer, 128 tokens; Gemma 3: five in six, 1,024; Mistral 7B v0.1: all, 4,096)
    attention_window: int = 0
    window_layers: int = 0

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidSpec(f"model '{self.name}': " + "; ".join(problems))
        for f in fields(self):  # a numpy integer is accepted and kept as a Python int (exact, and JSON-ready)
            value = getattr(self, f.name)
            if f.type in ("int", int) and not isinstance(value, int):
                object.__setattr__(self, f.name, int(value))

    def problems(self) -> list[str]:
        """What makes this architecture unusable, one phrase per problem naming the field (empty when valid)."""
        sizes = [(f.name, getattr(self, f.name)) for f in fields(self) if f.type in ("int", int)]
        wrong_type = [
            f"{name}={value!r} must be a whole number"
            for name, value in sizes
            if isinstance(value, bool) or not isinstance(value, Integral)
        ]
        wrong_type += [
            f"{f.name}={shown(getattr(self, f.name))} must be True or False"
            for f in fields(self)
            if f.type in ("bool", bool) and not isinstance(getattr(self, f.name), bool)
        ]
        if not isinstance(self.name, str):
            wrong_type.append(f"name={shown(self.name)} must be text")
        if wrong_type:
            return wrong_type  # the rules below compare numbers
        found = []
        for name, value in sizes:
            if value >= MAX_SPEC_FIELD:
                found.append(f"{name}={_shown(value)} must be below 2**31")
            elif name in _POSITIVE_FIELDS and value < 1:
                found.append(f"{name}={value} must be at least 1")
            elif value < 0:
                found.append(f"{name}={_shown(value)} must not be negative")
        if found:
            return found  # the structural rules below assume sizes in range
        return self._attention_problems() + self._moe_problems()

    def _attention_problems(self) -> list[str]:
        if self.is_mla:  # every head reads the shared latent: K plays no part
            found = []
            if self.qk_nope_head_dim + self.qk_rope_head_dim < 1:
                found.append("MLA needs qk_nope_head_dim + qk_rope_head_dim >= 1")
            if self.v_head_dim < 1:
                found.append(f"v_head_dim={self.v_head_dim} must be at least 1 with MLA (kv_lora_rank > 0)")
            return found
        if self.heads % self.kv_heads:
            return [f"kv_heads={self.kv_heads} must divide heads={self.heads}"]
        return []

    def _moe_problems(self) -> list[str]:
        if not self.is_moe:
            return []
        found = []
        if not 1 <= self.top_k <= self.experts:
            found.append(f"top_k={self.top_k} must be between 1 and experts={self.experts}")
        if self.expert_ffn_hidden < 1:
            found.append(f"expert_ffn_hidden={self.expert_ffn_hidden} must be at least 1 with experts > 0")
        if self.dense_layers > self.layers:
            found.append(f"dense_layers={self.dense_layers} must not exceed layers={self.layers}")
        return found + self._window_problems()

    def _window_problems(self) -> list[str]:
        if self.attention_window < 0 or not 0 <= self.window_layers <= self.layers:
            return [f"window_layers={self.window_layers} must be between 0 and layers={self.layers}, window >= 0"]
        if (self.attention_window > 0) != (self.window_layers > 0):
            return ["attention_window and window_layers go together (both 0 for global attention everywhere)"]
        return []

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> TransformerSpec:
        mla, moe = entry.mla, entry.moe
        return cls(
            name=entry.id,
            layers=entry.layers,
            hidden=entry.hidden,
            heads=entry.heads,
            kv_heads=entry.kv_heads,
            head_dim=entry.head_dim,
            ffn_hidden=entry.ffn_hidden,
            gated_mlp=entry.mlp == "swiglu",
            vocab=entry.vocab,
            seq_len=entry.seq_len,
            tied_embeddings=entry.tied_embeddings,
            q_lora_rank=mla.q_lora_rank if mla else 0,
            kv_lora_rank=mla.kv_lora_rank if mla else 0,
            qk_nope_head_dim=mla.qk_nope_head_dim if mla else 0,
            qk_rope_head_dim=mla.qk_rope_head_dim if mla else 0,
            v_head_dim=mla.v_head_dim if mla else 0,
            experts=moe.experts if moe else 0,
            top_k=moe.top_k if moe else 0,
            expert_ffn_hidden=moe.expert_ffn_hidden if moe else 0,
            shared_experts=moe.shared_experts if moe else 0,
            dense_layers=moe.dense_layers if moe else 0,
            mtp_modules=entry.mtp_modules,
            attention_window=entry.sliding_window.tokens if entry.sliding_window else 0,
            window_layers=entry.sliding_window.layers if entry.sliding_window else 0,
        )

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    def attended_tokens(self, context: Any) -> Any:
        """Keys one query attends at ``context`` tokens, averaged over the layers: the whole context in a global
        layer, at most ``attention_window`` in a local one. Also the KV-cache tokens a layer holds on average."""
        if not self.window_layers:
            return context
        local = np.minimum(context, float(self.attention_window))
        return ((self.layers - self.window_layers) * context + self.window_layers * local) / self.layers

    def causal_attention_share(self, seq_len: Any) -> Any:
        """Causal query-key pairs of a sequence of ``seq_len`` tokens over those of global attention, averaged over
        the layers: a local layer has w s - w^2/2 of the s^2/2 pairs (s > w); 1 without local layers."""
        if not self.window_layers:
            return np.ones_like(seq_len, dtype=float)
        s, w = np.maximum(np.asarray(seq_len, dtype=float), 1.0), float(self.attention_window)
        local = np.where(s > w, (2.0 * w * s - w * w) / (s * s), 1.0)
        return ((self.layers - self.window_layers) + self.window_layers * local) / self.layers

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers if self.is_moe else 0

    def attention_params(self) -> int:
        """Weights of one attention block.

        MHA/GQA: D·N·H (Q) + 2·D·K·H (K, V) + N·H·D (O).
        MLA (DeepSeek-V2 sec. 2.1): D·r_q + r_q·N·(H_nope + H_rope) + D·(r_kv + H_rope)
        + r_kv·N·(H_nope + H_v) + N·H_v·D, plus the two low-rank norms r_q + r_kv.
        """
        d = self.hidden
        if self.is_mla:
            n = self.heads
            q = d * self.q_lora_rank + self.q_lora_rank * n * (self.qk_nope_head_dim + self.qk_rope_head_dim)
            kv = d * (self.kv_lora_rank + self.qk_rope_head_dim)
            kv += self.kv_lora_rank * n * (self.qk_nope_head_dim + self.v_head_dim)
            out = n * self.v_head_dim * d
            return q + kv + out + self.q_lora_rank + self.kv_lora_rank
        q_and_o = 2 * d * self.heads * self.head_dim
        k_and_v = 2 * d * self.kv_heads * self.head_dim
        return q_and_o + k_and_v

    def mlp_params(self, width: int) -> int:
        """Weights of one feed-forward network of the given width: 3·D·F (SwiGLU) or 2·D·F (GELU)."""
        return (3 if self.gated_mlp else 2) * self.hidden * width

    def router_params(self) -> int:
        """Router weights of one MoE layer: D·E."""
        return self.hidden * self.experts

    def ffn_width(self, moe_layer: bool, *, active_only: bool = False) -> int:
        """FFN width of one block, summed over its experts: dense F; MoE (E + S)·F_e, or (k + S)·F_e for the
        experts one token passes through (``active_only``). The one place the MoE FFN is written down."""
        if not moe_layer:
            return self.ffn_hidden
        routed = self.top_k if active_only else self.experts
        return (routed + self.shared_experts) * self.expert_ffn_hidden

    def active_ffn_width(self, moe_layer: bool) -> int:
        """FFN width a token passes through in a block: F, or (k + S)·F_e in a MoE layer."""
        return self.ffn_width(moe_layer, active_only=True)

    def ffn_params(self, moe_layer: bool, *, active_only: bool = False) -> int:
        """FFN weights of one block, mlp(ffn_width): dense 3·D·F or 2·D·F; MoE (E + S)·mlp(F_e) + D·E, or
        (k + S)·mlp(F_e) + D·E for the weights one token uses (``active_only``)."""
        width = self.ffn_width(moe_layer, active_only=active_only)
        return self.mlp_params(width) + (self.router_params() if moe_layer else 0)

    def ffn_params_per_token(self, moe_layer: bool) -> int:
        """FFN weights one token multiplies with in a block: mlp(F), or (k + S)·mlp(F_e) + D·E in a MoE layer."""
        return self.ffn_params(moe_layer, active_only=True)

    def expert_params_total(self) -> int:
        """Routed-expert weights of the whole model, L_moe·E·mlp(F_e) (0 when dense). Shared experts and routers
        are not included: they are replicated like dense weights, while routed experts are split by expert
        parallelism."""
        return self.moe_layers * self.experts * self.mlp_params(self.expert_ffn_hidden)

    def embedding_params(self) -> int:
        """Input embedding plus output projection (V·D each, once when tied) and the final norm."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2) + self.hidden

    def layer_params(self, moe_layer: bool, *, active_only: bool = False) -> int:
        """Weights of one block (attention, FFN, two norms); ``active_only`` counts the experts a token uses."""
        norms = 2 * self.hidden
        return self.attention_params() + self.ffn_params(moe_layer, active_only=active_only) + norms

    def param_count(self, *, active_only: bool = False) -> int:
        """Total parameters (or parameters active per token) of the main model, MTP modules excluded."""
        dense_blocks = self.layers - self.moe_layers
        total = dense_blocks * self.layer_params(False)
        total += self.moe_layers * self.layer_params(True, active_only=active_only)
        return total + self.embedding_params()

    def mtp_params(self) -> int:
        """Multi-token-prediction modules: one block each plus a 2D->D projection and two norms."""
        block = self.layer_params(self.is_moe)
        return self.mtp_modules * (block + 2 * self.hidden * self.hidden + 2 * self.hidden)
