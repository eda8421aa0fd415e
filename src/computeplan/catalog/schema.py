"""Schema of catalog entries (chips, systems, models), validated with pydantic v2.

Catalog YAML may write quantities in human units (``"3.35 TB/s"``); each field declares its dimension and
the value is converted to SI once, here, at load. Every number of a chip or a system is a
:class:`Sourced` value: the number, optionally a ``low``/``high`` range, its ``source``, ``date`` and
``confidence``. A model's architecture comes from one source (paper or config file) given on the entry.
"""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from computeplan.units import Dimension, format_quantity, parse_quantity

ID_PATTERN = r"^[a-z0-9][a-z0-9.+-]*$"

MAX_SI_MAGNITUDE = 1e30
"""Largest magnitude of a sourced figure in SI units (and 1 / the smallest non-zero one); the biggest real
figures, peak FLOP/s and training budgets, are below 1e27. Beyond it a value is a typo, and products of such
values would overflow to inf in the performance model."""

MAX_SIZE = 10**9
"""Largest architecture integer (layers, widths, heads, vocabulary, context length, experts); real ones < 1e7."""

Size = Annotated[int, Field(le=MAX_SIZE)]


def _date_text(value: Any) -> Any:
    """YAML reads 2024-07-23 as a date; keep dates as the text the source gave."""
    return value.isoformat() if isinstance(value, datetime.date) else value


DateText = Annotated[str, BeforeValidator(_date_text), Field(min_length=1)]


class Confidence(StrEnum):
    """How far a number can be trusted."""

    SPEC = "spec"  # vendor datasheet, documentation or price list
    ANNOUNCED = "announced"  # vendor keynote or press claim for an announced or just-launched product
    ESTIMATE = "estimate"  # third-party estimate, or derived by computeplan from other sourced numbers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False)


def _parse_sourced(data: Any, dim: Dimension, allow_zero: bool) -> Any:
    """Parse ``value``, ``low``, ``high`` and alternatives' values of a sourced mapping into SI floats."""
    if not isinstance(data, dict):
        return data
    data = dict(data)

    def parse_one(raw: Any, key: str) -> float:
        value = parse_quantity(raw, dim, field=key)
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"{key}: must be {bound} {dim.value}, got {raw!r}")
        if value != 0 and not 1 / MAX_SI_MAGNITUDE <= value <= MAX_SI_MAGNITUDE:
            shown = f"{value:.3g} {dim.value}"
            if isinstance(raw, str):
                shown = f"{raw[:40]!r} (= {shown})"
            raise ValueError(
                f"{key}: {shown} is outside the plausible magnitudes {1 / MAX_SI_MAGNITUDE:g} .. "
                f"{MAX_SI_MAGNITUDE:g}; check the number and its unit"
            )
        return value

    for key in ("value", "low", "high"):
        if data.get(key) is not None:
            data[key] = parse_one(data[key], key)
    alternatives = data.get("alternatives")
    if isinstance(alternatives, list):
        parsed = []
        for i, alt in enumerate(alternatives):
            if isinstance(alt, dict) and alt.get("value") is not None:
                alt = {**alt, "value": parse_one(alt["value"], f"alternatives[{i}].value")}
            parsed.append(alt)
        data["alternatives"] = parsed
    return data


def _check_range(value: float, low: float | None, high: float | None) -> None:
    if low is not None and low > value:
        raise ValueError(f"low ({low:g}) is above value ({value:g})")
    if high is not None and high < value:
        raise ValueError(f"high ({high:g}) is below value ({value:g})")


def _human(value: float, low: float | None, high: float | None, dim: Dimension) -> str:
    """A value in human units, followed by its range when one is given."""
    text = format_quantity(value, dim)
    if low is not None or high is not None:
        lo = format_quantity(low if low is not None else value, dim)
        hi = format_quantity(high if high is not None else value, dim)
        text += f" [{lo} .. {hi}]"
    return text


class Observation(_Strict):
    """A reading of the same quantity from another source, kept where sources disagree."""

    value: float
    source: str = Field(min_length=1)
    date: DateText
    confidence: Confidence
    note: str | None = None


class Sourced(_Strict):
    """A number with its provenance. ``value`` (and ``low``/``high``) are SI once loaded.

    Subclasses fix the dimension; a string such as ``"80 GiB"`` is parsed with it, a bare number is taken as
    SI. ``low``/``high`` give the range of an uncertain (announced or estimated) figure.
    """

    dimension: ClassVar[Dimension] = Dimension.RATIO
    allow_zero: ClassVar[bool] = False

    value: float = Field(description="the figure, in the SI unit of the field")
    low: float | None = Field(default=None, description="lower end of the plausible range (SI)")
    high: float | None = Field(default=None, description="upper end of the plausible range (SI)")
    source: str = Field(min_length=1, description="URL (and table/page) the figure comes from")
    date: DateText = Field(description="publication date of the source, or 'n.d.'")
    confidence: Confidence = Field(
        description="spec (datasheet, docs, price list), announced (vendor claim) or "
        "estimate (third party, or computeplan's own with its basis in the note)"
    )
    note: str | None = Field(default=None, description="caveats, arithmetic of derived figures")
    alternatives: tuple[Observation, ...] = Field(default=(), description="conflicting readings")

    @model_validator(mode="before")
    @classmethod
    def _parse_units(cls, data: Any) -> Any:
        return _parse_sourced(data, cls.dimension, cls.allow_zero)

    @model_validator(mode="after")
    def _range_holds(self) -> Sourced:
        _check_range(self.value, self.low, self.high)
        return self

    def human(self) -> str:
        """The value in human units, with its range when one is given."""
        return _human(self.value, self.low, self.high, self.dimension)


class SourcedBytes(Sourced):
    dimension = Dimension.BYTES


class SourcedBandwidth(Sourced):
    dimension = Dimension.BYTES_PER_S


class SourcedFlops(Sourced):
    dimension = Dimension.FLOP_PER_S


class SourcedWatts(Sourced):
    dimension = Dimension.WATTS


class SourcedCount(Sourced):
    dimension = Dimension.COUNT


class SourcedSeconds(Sourced):
    dimension = Dimension.SECONDS


class SourcedUsd(Sourced):
    dimension = Dimension.USD


class SourcedUsdPerHour(Sourced):
    dimension = Dimension.USD_PER_HOUR


class SourcedYear(Sourced):
    dimension = Dimension.YEAR

    @field_validator("value")
    @classmethod
    def _plausible_year(cls, v: float) -> float:
        if not 2015 <= v <= 2040:
            raise ValueError(f"year {v:g} is outside 2015..2040")
        return v


class ChipStatus(StrEnum):
    SHIPPING = "shipping"  # generally available; figures can be checked against datasheets
    ANNOUNCED = "announced"  # announced, not shipping in volume: figures are projections with ranges


class ChipEntry(_Strict):
    """One accelerator chip (or, for multi-die packages, one addressable device as software sees it)."""

    kind: ClassVar[str] = "chip"

    id: str = Field(pattern=ID_PATTERN, description="short catalog id, e.g. 'h100-sxm'")
    name: str = Field(min_length=1, description="full product name")
    vendor: str = Field(min_length=1, description="company that sells the chip")
    family: str = Field(
        pattern=ID_PATTERN,
        description="architecture family; performance-model calibration is shared within it",
    )
    status: ChipStatus = Field(
        description="shipping, or announced (unshipped: every figure is a projection with a range)"
    )
    system: str = Field(pattern=ID_PATTERN, description="id of the system this chip is usually deployed in")
    year_available: SourcedYear = Field(description="first year of general availability [year]")
    bf16_flops_per_s: SourcedFlops = Field(description="dense bf16 matmul peak [FLOP/s]")
    fp8_flops_per_s: SourcedFlops | None = Field(default=None, description="dense fp8 peak; absent = no fp8")
    fp4_flops_per_s: SourcedFlops | None = Field(default=None, description="dense fp4 peak; absent = no fp4")
    hbm_bytes: SourcedBytes = Field(description="device memory capacity [bytes]")
    hbm_bytes_per_s: SourcedBandwidth = Field(description="device memory bandwidth [bytes/s]")
    power_w: SourcedWatts = Field(description="chip board power (TDP/TBP) [W]; host and network excluded")
    scaleup_bytes_per_s: SourcedBandwidth = Field(
        description="scale-up (NVLink/ICI/NeuronLink/xGMI) bandwidth per chip, per direction [bytes/s]"
    )
    scaleup_domain_chips: SourcedCount = Field(description="largest scale-up domain the chip ships in [chips]")
    scaleout_bytes_per_s: SourcedBandwidth = Field(
        description="scale-out (InfiniBand/Ethernet/EFA/DCN) bandwidth per chip, per direction [bytes/s]"
    )
    price_usd_per_hour: SourcedUsdPerHour | None = Field(
        default=None, description="cloud on-demand price per chip-hour [USD/h]"
    )
    purchase_usd: SourcedUsd | None = Field(
        default=None, description="purchase price per chip incl. its share of the server [USD]"
    )
    notes: str | None = Field(default=None, description="free text: caveats, variants")

    def sourced_fields(self) -> dict[str, Sourced]:
        """Every sourced number of this entry, by field name."""
        return {k: v for k, v in self if isinstance(v, Sourced)}

    @model_validator(mode="after")
    def _precision_order(self) -> ChipEntry:
        if self.fp8_flops_per_s and self.fp8_flops_per_s.value < self.bf16_flops_per_s.value:
            raise ValueError("fp8_flops_per_s: dense fp8 peak is below bf16 peak; check the figures")
        if self.fp4_flops_per_s and self.fp8_flops_per_s and self.fp4_flops_per_s.value < self.fp8_flops_per_s.value:
            raise ValueError("fp4_flops_per_s: dense fp4 peak is below fp8 peak; check the figures")
        return self


class Topology(StrEnum):
    SWITCH = "switch"  # all-to-all through switches (NVSwitch, NeuronSwitch, fat tree)
    FULL_MESH = "full-mesh"  # point-to-point links between every pair (AMD xGMI, Gaudi RoCE)
    RING = "ring"
    TORUS_2D = "torus-2d"
    TORUS_3D = "torus-3d"
    HYPERCUBE = "hypercube"


class SystemEntry(_Strict):
    """How chips are packaged and networked: the scale-up domain and the scale-out network beyond it."""

    kind: ClassVar[str] = "system"

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    chip: str = Field(pattern=ID_PATTERN, description="catalog id of the chip this system holds")
    scaleup_domain_chips: SourcedCount = Field(description="chips in one scale-up domain [chips]")
    scaleup_topology: Topology = Field(description="how the scale-up domain is wired")
    scaleup_bytes_per_s: SourcedBandwidth | None = Field(
        default=None, description="per-chip scale-up bandwidth per direction; absent = the chip's figure"
    )
    scaleup_latency_s: SourcedSeconds = Field(description="one-hop latency of a scale-up collective step [s]")
    scaleout_topology: Topology = Field(description="how scale-up domains are joined")
    scaleout_bytes_per_s: SourcedBandwidth | None = Field(
        default=None, description="per-chip scale-out bandwidth per direction; absent = the chip's figure"
    )
    scaleout_latency_s: SourcedSeconds = Field(description="one-hop latency across the scale-out network [s]")
    host_power_w_per_chip: SourcedWatts = Field(
        description="server power beyond the chips (CPUs, NICs, fans, switches share), per chip [W]"
    )
    max_chips: SourcedCount | None = Field(default=None, description="largest cluster of this system [chips]")
    notes: str | None = None

    def sourced_fields(self) -> dict[str, Sourced]:
        return {k: v for k, v in self if isinstance(v, Sourced)}


class AttentionKind(StrEnum):
    MHA = "mha"  # multi-head attention, kv_heads == heads
    GQA = "gqa"  # grouped-query attention, kv_heads < heads
    MLA = "mla"  # multi-head latent attention (DeepSeek-V2/V3)


class MlaSpec(_Strict):
    """Multi-head latent attention dimensions (DeepSeek-V2 paper, section 2.1)."""

    q_lora_rank: Size = Field(gt=0, description="query compression rank d_c'")
    kv_lora_rank: Size = Field(gt=0, description="key-value compression rank d_c (what the KV cache stores)")
    qk_nope_head_dim: Size = Field(gt=0, description="per-head query/key dimension without RoPE")
    qk_rope_head_dim: Size = Field(gt=0, description="decoupled RoPE dimension d_h^R (shared key part cached)")
    v_head_dim: Size = Field(gt=0, description="per-head value dimension")


class SlidingWindowSpec(_Strict):
    """Local attention: ``layers`` of the model's layers attend only the last ``tokens`` tokens."""

    tokens: Size = Field(gt=0, description="window w")
    layers: Size = Field(gt=0, description="layers with the window (the rest attend the whole context)")


class MoeSpec(_Strict):
    """Mixture-of-experts feed-forward layers."""

    experts: Size = Field(gt=1, description="routed experts E")
    top_k: Size = Field(gt=0, description="routed experts per token")
    expert_ffn_hidden: Size = Field(gt=0, description="ffn width of one expert")
    shared_experts: Size = Field(default=0, ge=0, description="experts every token passes through")
    dense_layers: Size = Field(default=0, ge=0, description="leading layers with a dense FFN instead of MoE")

    @model_validator(mode="after")
    def _top_k_fits(self) -> MoeSpec:
        if self.top_k > self.experts:
            raise ValueError(f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        return self


class ModelEntry(_Strict):
    """A transformer's architecture in the notation of docs/notation.md (L, D, N, K, F, V)."""

    kind: ClassVar[str] = "model"

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="paper or config file the architecture comes from")
    date: DateText
    confidence: Confidence = Field(default=Confidence.SPEC, description="of the architecture as a whole")
    layers: Size = Field(gt=0, description="transformer blocks L")
    hidden: Size = Field(gt=0, description="model width D")
    heads: Size = Field(gt=0, description="query heads N")
    kv_heads: Size = Field(gt=0, description="key/value heads K (== N for MHA)")
    head_dim: Size = Field(gt=0, description="per-head dimension (D / N unless stated)")
    ffn_hidden: Size = Field(gt=0, description="dense FFN width F")
    mlp: Literal["gelu", "swiglu"] = Field(description="gelu: two matrices; swiglu: three")
    vocab: Size = Field(gt=0, description="vocabulary size V")
    seq_len: Size = Field(gt=0, description="training context length T")
    tied_embeddings: bool = False
    attention: AttentionKind = Field(description="mha, gqa or mla (then an 'mla' block is required)")
    mla: MlaSpec | None = None
    moe: MoeSpec | None = None
    sliding_window: SlidingWindowSpec | None = None
    mtp_modules: Size = Field(default=0, ge=0, description="multi-token-prediction modules (DeepSeek-V3: 1)")
    stated_params: float | None = Field(default=None, gt=0, le=1e18, description="total parameters the source states")
    stated_active_params: float | None = Field(default=None, gt=0, le=1e18, description="active parameters per token")
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if self.heads % self.kv_heads:
            raise ValueError(f"kv_heads ({self.kv_heads}) must divide heads ({self.heads})")
        if self.attention is AttentionKind.MHA and self.kv_heads != self.heads:
            raise ValueError("attention 'mha' needs kv_heads == heads (use 'gqa')")
        if self.attention is AttentionKind.GQA and self.kv_heads == self.heads:
            raise ValueError("attention 'gqa' needs kv_heads < heads (use 'mha')")
        if (self.attention is AttentionKind.MLA) != (self.mla is not None):
            raise ValueError("attention 'mla' and an 'mla' block go together")
        if self.moe and self.moe.dense_layers >= self.layers:
            raise ValueError("moe.dense_layers must be fewer than layers")
        if self.sliding_window and self.sliding_window.layers > self.layers:
            raise ValueError(f"sliding_window.layers ({self.sliding_window.layers}) exceeds layers ({self.layers})")
        return self


class FactEntry(_Strict):
    """A sourced datacenter or market fact (PUE, electricity price, facility capex, depreciation, deal terms).

    Unlike chip fields, each fact names its own dimension; ``value`` is parsed with it.
    """

    kind: ClassVar[str] = "fact"

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, description="what the number is")
    dimension: Dimension = Field(description="unit kind of value/low/high; they are SI once loaded")
    value: float = Field(description="the figure, in the SI unit of its dimension")
    low: float | None = Field(default=None, description="lower end of the plausible range (SI)")
    high: float | None = Field(default=None, description="upper end of the plausible range (SI)")
    source: str = Field(min_length=1, description="URL (and table/page) the figure comes from")
    date: DateText = Field(description="publication date of the source, or 'n.d.'")
    confidence: Confidence = Field(description="spec, announced or estimate")
    note: str | None = Field(default=None, description="caveats, arithmetic of derived figures")
    alternatives: tuple[Observation, ...] = Field(default=(), description="conflicting readings")

    @model_validator(mode="before")
    @classmethod
    def _parse_units(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "dimension" not in data:
            return data
        try:
            dim = Dimension(data["dimension"])
        except ValueError:
            return data  # the field validator reports the allowed dimensions
        return _parse_sourced(data, dim, allow_zero=dim is Dimension.RATIO)

    @model_validator(mode="after")
    def _range_holds(self) -> FactEntry:
        _check_range(self.value, self.low, self.high)
        return self

    def human(self) -> str:
        """The value in human units, with its range when one is given."""
        return _human(self.value, self.low, self.high, self.dimension)


CatalogEntry = ChipEntry | SystemEntry | ModelEntry | FactEntry

ENTRY_TYPES: dict[str, type[ChipEntry] | type[SystemEntry] | type[ModelEntry] | type[FactEntry]] = {
    "chips": ChipEntry,
    "systems": SystemEntry,
    "models": ModelEntry,
    "facts": FactEntry,
}
