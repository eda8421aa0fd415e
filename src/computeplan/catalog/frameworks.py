"""What each training framework does when a publication does not say: the documented defaults of
``catalog/data/frameworks.yaml`` (each with its source), as layout fields and as the software the training step
prices (attention kernel, communication overlap, eager or compiled, pipeline schedule).

A measured run's blank cell means "not reported"; the calibration fills it with the default of the run's framework
(Megatron-Core's distributed optimizer, torchtitan's FSDP and per-layer recompute, MaxText's full remat, ...), not
with the fastest choice, and says so per row. A framework the table does not know gets no default (the field is
then searched for the fastest layout, and the row says that too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from computeplan.catalog.loader import FRAMEWORKS_FILE, data_file, validate_table
from computeplan.errors import CatalogError
from computeplan.files import load_yaml

RECOMPUTE_LEVELS = {"none": 0, "selective": 1, "full": 2, "half": 3, "cheap": 4}  # perf.layout.Recompute values
LOCAL_BATCH = 0  # micro_batch "local": no gradient accumulation, a micro-batch is the global batch / dp
PER_STAGE = -1  # pipeline_micro_batch "stages": the local batch split into as many micro-batches as stages
ATTENTION_KERNELS = ("flash-attention-2", "flash-attention-3", "cudnn", "splash", "nki", "unfused")
PIPELINE_SCHEDULES = ("1f1b", "dualpipe")


class SourcedFact(BaseModel):
    """A documented default: its value, where it is documented, and what was seen there."""

    model_config = ConfigDict(extra="forbid")
    value: Any
    source: str
    note: str = ""


_Fact = SourcedFact


class _Framework(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    zero_stage: _Fact | None = None
    optimizer_shard_over_cp: _Fact | None = None
    recompute: _Fact | None = None
    selective_recompute: _Fact | None = None
    sequence_parallel: _Fact | None = None
    tp_comm_overlap: _Fact | None = None
    ep_comm_overlap: _Fact | None = None
    compiled: _Fact | None = None
    pipeline_schedule: _Fact | None = None
    fsdp_hybrid: _Fact | None = None
    vpp: _Fact | None = None
    micro_batch: _Fact | None = None
    pipeline_micro_batch: _Fact | None = None
    fp8_recipe: _Fact | None = None
    fp8_output_layer: _Fact | None = None
    attention_kernel: _Fact | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frameworks: dict[str, _Framework]


@dataclass(frozen=True)
class FrameworkDefaults:
    """One framework's defaults as layout fields (``perf.layout`` names and codes) and what "selective" recompute
    means in it (a ``Recompute`` code: attention only in Megatron, every second layer in torchtitan)."""

    id: str
    name: str
    layout: Mapping[str, int]
    selective_recompute: int
    attention_kernel: str = "flash-attention-2"  # "unfused": scores materialised in HBM
    tp_overlap: bool = False  # tensor-parallel collectives overlapped with the layer's matmuls
    ep_overlap: bool = False  # expert-parallel all-to-alls overlapped with compute (DeepSeek's DualPipe)
    compiled: bool = True  # element-wise kernels fused (compiler, fused kernels); False: eager PyTorch
    pipeline_schedule: str = "1f1b"  # or "dualpipe"
    pipeline_micro_batch: int | None = None  # sequences per micro-batch with pp > 1 (PER_STAGE: local batch / pp)

    def recompute_code(self, word: str) -> int:
        """The Recompute code of a run's ``recompute`` cell in this framework."""
        return self.selective_recompute if word == "selective" else RECOMPUTE_LEVELS[word]


def _layout_of(fw: _Framework) -> tuple[dict[str, int], int]:
    layout: dict[str, int] = {}
    if fw.zero_stage is not None:
        layout["zero"] = int(fw.zero_stage.value)
    selective = RECOMPUTE_LEVELS[str(fw.selective_recompute.value)] if fw.selective_recompute else 1
    if fw.recompute is not None:
        word = str(fw.recompute.value)
        layout["recompute"] = selective if word == "selective" else RECOMPUTE_LEVELS[word]
    if fw.sequence_parallel is not None:
        layout["sp"] = int(bool(fw.sequence_parallel.value))
    if fw.fsdp_hybrid is not None:
        layout["hsdp"] = int(bool(fw.fsdp_hybrid.value))
    if fw.vpp is not None and int(fw.vpp.value) >= 1:  # MaxText's -1 means "chosen by the framework": searched
        layout["vpp"] = int(fw.vpp.value)
    if fw.micro_batch is not None:
        local = str(fw.micro_batch.value) == "local"
        layout["mb"] = LOCAL_BATCH if local else int(fw.micro_batch.value)
    return layout, selective


def _pipeline_micro_batch(fact: _Fact | None) -> int | None:
    if fact is None:
        return None
    return PER_STAGE if str(fact.value) == "stages" else int(fact.value)


def parse_frameworks(raw: Any, *, where: str) -> dict[str, FrameworkDefaults]:
    """Validate a frameworks table (as read from YAML); :class:`CatalogError` names ``where`` and the field."""
    table = validate_table(_File, raw, where=where)
    out: dict[str, FrameworkDefaults] = {}
    for key, fw in table.frameworks.items():
        choices = {
            "recompute": tuple(RECOMPUTE_LEVELS),
            "selective_recompute": tuple(RECOMPUTE_LEVELS),
            "attention_kernel": ATTENTION_KERNELS,
            "pipeline_schedule": PIPELINE_SCHEDULES,
        }
        for name, allowed in choices.items():
            fact = getattr(fw, name)
            if fact is not None and str(fact.value) not in allowed:
                expected = ", ".join(allowed)
                raise CatalogError(f"{where}: frameworks.{key}.{name}: expected one of {expected}, got {fact.value!r}")
        layout, selective = _layout_of(fw)
        kernel = "flash-attention-2" if fw.attention_kernel is None else str(fw.attention_kernel.value)
        out[key] = FrameworkDefaults(
            id=key,
            name=fw.name,
            layout=layout,
            selective_recompute=selective,
            attention_kernel=kernel,
            tp_overlap=fw.tp_comm_overlap is not None and bool(fw.tp_comm_overlap.value),
            ep_overlap=fw.ep_comm_overlap is not None and bool(fw.ep_comm_overlap.value),
            compiled=fw.compiled is None or bool(fw.compiled.value),
            pipeline_schedule="1f1b" if fw.pipeline_schedule is None else str(fw.pipeline_schedule.value),
            pipeline_micro_batch=_pipeline_micro_batch(fw.pipeline_micro_batch),
        )
    return out


@lru_cache(maxsize=1)
def builtin_frameworks() -> Mapping[str, FrameworkDefaults]:
    """The shipped framework defaults (``catalog/data/frameworks.yaml``), read once."""
    path = data_file(FRAMEWORKS_FILE)
    return parse_frameworks(load_yaml(path, what="frameworks file", error=CatalogError), where=str(path))
