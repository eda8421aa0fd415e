"""Parallel layouts as columns of numpy arrays, so that one evaluation prices millions of candidates.

Fields (one array each, equal length): tp, pp, dp, cp, ep (parallel degrees in chips), vpp (virtual pipeline
stages per device), mb (sequences per micro-batch), recompute (0 none, 1 selective, 2 full), sp (sequence
parallel, 0/1), zero (ZeRO stage 0-3), hsdp (with ZeRO-3: shard inside the scale-up domain and replicate across
domains, as HSDP in PyTorch and FSDP-over-ICI with data parallelism over DCN in MaxText; 0/1), fp8 (fp8 matmuls, 0/1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


class Recompute(IntEnum):
    NONE = 0
    SELECTIVE = 1  # attention core only (Korthikanti et al. 2022)
    FULL = 2  # whole layer; only its input is kept


LAYOUT_FIELDS = ("tp", "pp", "dp", "cp", "ep", "vpp", "mb", "recompute", "sp", "zero", "hsdp", "fp8")


@dataclass(frozen=True)
class Layouts:
    """A batch of candidate layouts, one per index."""

    tp: IntArray
    pp: IntArray
    dp: IntArray
    cp: IntArray
    ep: IntArray
    vpp: IntArray
    mb: IntArray
    recompute: IntArray
    sp: IntArray
    zero: IntArray
    hsdp: IntArray
    fp8: IntArray

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> Layouts:
        arrays = {name: np.atleast_1d(np.asarray(columns[name], dtype=np.int64)) for name in LAYOUT_FIELDS}
        n = max(a.shape[0] for a in arrays.values())
        return cls(**{k: np.broadcast_to(v, (n,)).copy() for k, v in arrays.items()})

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Layouts:
        return Layouts(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def row(self, i: int) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)[i]) for f in fields(self)}


def describe_layout(row: Mapping[str, int]) -> str:
    """``tp=8,pp=16,dp=128,cp=1,ep=1,vpp=1,mb=1,recompute=none,sp=1,zero=1,fp8=0`` style text."""
    parts = []
    for name in LAYOUT_FIELDS:
        value: Any = row[name]
        if name == "recompute":
            value = Recompute(value).name.lower()
        parts.append(f"{name}={value}")
    return ",".join(parts)
