"""Kernel efficiencies pinned by microbenchmarks, per chip family (``catalog/data/kernels.yaml``): the attention
kernel's (FlashAttention-2 class, and cuDNN / FlashAttention-3 where measured) and the fp8 GEMM's efficiency
relative to a large bf16 GEMM. The training-step model uses them as they
are; only the sustained matmul efficiency is fitted (``catalog/data/efficiency.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from computeplan.catalog.loader import KERNELS_FILE, data_file, validate_table
from computeplan.errors import CatalogError
from computeplan.files import load_yaml


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float = Field(gt=0.0, le=1.0, allow_inf_nan=False)
    source: str
    note: str = ""


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attention_relative: _Fact | None = None  # FlashAttention-2 class kernels
    attention_relative_fa3: _Fact | None = None  # cuDNN fused attention / FlashAttention-3
    fp8_matmul_relative: _Fact | None = None
    matmul_plateau: _Fact | None = None  # a large bf16 GEMM's sustained fraction of the dense peak


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    families: dict[str, _Family]


def parse_kernels(raw: Any, *, where: str) -> dict[str, dict[str, float]]:
    """{family: {parameter: value}} from a kernels table (as read from YAML); errors name ``where`` and the field."""
    table = validate_table(_File, raw, where=where)
    return {
        family: {name: fact.value for name, fact in entry if isinstance(fact, _Fact)}
        for family, entry in table.families.items()
    }


@lru_cache(maxsize=1)
def builtin_kernels() -> Mapping[str, Mapping[str, float]]:
    """The shipped kernel efficiencies (``catalog/data/kernels.yaml``), read once."""
    path = data_file(KERNELS_FILE)
    return parse_kernels(load_yaml(path, what="kernels file", error=CatalogError), where=str(path))
