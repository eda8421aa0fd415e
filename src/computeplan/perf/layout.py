"""Parallel layouts as columns of numpy arrays, so that one evaluation prices millions of candidates.

Fields (one array each, equal length): tp, pp, dp, cp, ep (parallel degrees in chips), vpp (virtual pipeline
stages per device), mb (sequences per micro-batch), recompute (0 none, 1 selective, 2 full, 3 half, 4 cheap), sp
(sequence parallel, 0/1), zero (ZeRO stage 0-3), hsdp (with ZeRO-3: shard inside the scale-up domain and replicate
across domains, as HSDP in PyTorch and FSDP-over-ICI with data parallelism over DCN in MaxText; 0/1), fp8 (fp8
matmuls, 0/1).

Why a layout cannot run is a :class:`LayoutProblem` bit flag (``perf.training.validity`` gives one int64 per layout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


class Recompute(IntEnum):
    NONE = 0
    SELECTIVE = 1  # attention core only (Korthikanti et al. 2022)
    FULL = 2  # whole layer; only its input is kept
    HALF = 3  # every second layer in full (torchtitan's selective default; its per-op policy recomputes a like share)
    CHEAP = 4  # norms and activation functions only: their outputs not kept, almost no FLOPs redone (DeepSeek-V3)


class LayoutProblem(IntFlag):
    """Reasons a layout cannot run, as bit flags: a layout may have several, 0 means it can run.

    The bit values are stable (stored in search results and compared by tests); ``describe()`` gives the text.
    """

    CHIP_COUNT = 1  # tp*pp*dp*cp != chips
    HEADS_SPLIT = 2  # tp does not divide N, or neither divides the other of tp and K
    PIPELINE_SPLIT = 4  # pp > L, or vpp does not divide a stage's layers
    BATCH_SPLIT = 8  # dp*mb does not divide the global batch
    EXPERT_SPLIT = 16  # ep does not divide E, or dp*cp
    CONTEXT_SPLIT = 32  # the sequence does not split into 2*cp chunks (load-balanced causal CP)
    SEQUENCE_PARALLEL_WITHOUT_TP = 64
    INTERLEAVING = 128  # vpp > 1 needs pp > 1 and micro-batches divisible by pp
    FP8_UNSUPPORTED = 256
    EXPERTS_ON_DENSE_MODEL = 512
    HSDP_WITHOUT_ZERO3 = 1024

    def describe(self) -> str:
        """What is wrong, in words: one member's message, or every member's joined by '; '."""
        return "; ".join(self.messages())

    def messages(self) -> list[str]:
        """One message per problem in this flag set, lowest bit first (empty for 0)."""
        return [_PROBLEM_MESSAGES[problem] for problem in LayoutProblem if problem in self]


_PROBLEM_MESSAGES = {
    LayoutProblem.CHIP_COUNT: "tp*pp*dp*cp does not equal the number of chips",
    LayoutProblem.HEADS_SPLIT: (
        "tp does not divide the attention heads, or the key/value heads and tp do not divide one another"
    ),
    LayoutProblem.PIPELINE_SPLIT: "pp exceeds the layers, or vpp does not divide the layers of a stage",
    LayoutProblem.BATCH_SPLIT: "dp*mb does not divide the global batch",
    LayoutProblem.EXPERT_SPLIT: "ep does not divide the experts, or dp*cp",
    LayoutProblem.CONTEXT_SPLIT: "cp does not divide the sequence into 2*cp chunks",
    LayoutProblem.SEQUENCE_PARALLEL_WITHOUT_TP: "sequence parallel needs tp > 1",
    LayoutProblem.INTERLEAVING: "interleaving (vpp > 1) needs pp > 1 and micro-batches divisible by pp",
    LayoutProblem.FP8_UNSUPPORTED: "fp8 is not supported by this chip",
    LayoutProblem.EXPERTS_ON_DENSE_MODEL: "expert parallelism (ep > 1) on a dense model",
    LayoutProblem.HSDP_WITHOUT_ZERO3: "hsdp needs ZeRO stage 3",
}


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
