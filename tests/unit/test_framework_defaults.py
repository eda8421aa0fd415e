"""Framework defaults (catalog/data/frameworks.yaml) fill a run's blank cells; kernel efficiencies are pinned."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from computeplan.calibration.training import default_mask
from computeplan.catalog.frameworks import (
    LOCAL_BATCH,
    PER_STAGE,
    FrameworkDefaults,
    builtin_frameworks,
    parse_frameworks,
)
from computeplan.catalog.kernels import builtin_kernels, parse_kernels
from computeplan.errors import CatalogError
from computeplan.hardware.efficiency import PRIOR, with_family_kernels
from computeplan.perf.layout import Layouts, Recompute

GOLDEN = Path(__file__).parents[1] / "golden" / "data" / "calibration-training.csv"


def test_every_framework_of_the_reference_runs_has_defaults_with_sources():
    with GOLDEN.open(newline="", encoding="utf-8") as f:
        named = {row["framework"] for row in csv.DictReader(f)}
    table = builtin_frameworks()
    assert named <= set(table)
    # what "selective" means differs: attention in Megatron, every second layer in torchtitan, attention + MLP in NxDT
    assert table["megatron-core"].recompute_code("selective") == Recompute.SELECTIVE
    assert table["torchtitan"].recompute_code("selective") == Recompute.HALF
    assert table["nxd-training"].recompute_code("selective") == Recompute.FULL
    assert table["maxtext"].layout["recompute"] == Recompute.FULL and table["maxtext"].layout["mb"] == LOCAL_BATCH
    assert table["megatron-lm"].attention_kernel == "unfused" and table["nemo"].attention_kernel == "cudnn"
    assert table["nemo"].tp_overlap and table["hai-llm"].ep_overlap
    assert not table["torchtitan"].compiled and table["maxtext"].compiled  # torch.compile is off by default
    # MaxText shards activations along the embedding over its tensor axis: the split sequence parallelism gives
    assert table["maxtext"].layout["sp"] == 1 and table["megatron-core"].layout["sp"] == 1


def test_a_bad_framework_table_names_the_field():
    raw = {"frameworks": {"x": {"name": "X", "recompute": {"value": "some", "source": "s"}}}}
    with pytest.raises(CatalogError, match=r"^f\.yaml: frameworks\.x\.recompute: expected one of none, selective"):
        parse_frameworks(raw, where="f.yaml")
    bad_kernel = {"frameworks": {"x": {"name": "X", "attention_kernel": {"value": "flash3", "source": "s"}}}}
    with pytest.raises(CatalogError, match=r"frameworks\.x\.attention_kernel: expected one of flash-attention-2"):
        parse_frameworks(bad_kernel, where="f.yaml")
    with pytest.raises(CatalogError, match=r"^f\.yaml: frameworks\.x\.zero_stage\.source: Field required"):
        parse_frameworks({"frameworks": {"x": {"name": "X", "zero_stage": {"value": 1}}}}, where="f.yaml")


def _layouts(**columns):
    base = {"tp": 1, "pp": 1, "dp": 8, "cp": 1, "ep": 1, "vpp": 1, "mb": 1, "recompute": 0, "sp": 0, "zero": 0}
    base.update({"hsdp": 0, "fp8": 0})
    base.update(columns)
    return Layouts.from_columns(base)


FW = FrameworkDefaults(id="fw", name="FW", layout={}, selective_recompute=1, pipeline_micro_batch=PER_STAGE)


def test_defaults_apply_only_where_they_mean_something():
    lay = _layouts(tp=[1, 2, 2], sp=[0, 0, 1], dp=[8, 4, 4])
    # sequence parallel on by default: a tp=1 layout keeps sp=0, a tp=2 layout must have it
    np.testing.assert_array_equal(default_mask(lay, "sp", 1, FW, 16), [True, False, True])
    hsdp = _layouts(zero=[3, 3, 1], hsdp=[1, 0, 0])
    np.testing.assert_array_equal(default_mask(hsdp, "hsdp", 1, FW, 16), [True, False, True])


def test_a_local_micro_batch_is_the_global_batch_over_the_data_parallel_ranks():
    lay = _layouts(dp=[8, 8, 4, 4], pp=[1, 1, 2, 2], mb=[2, 1, 2, 1])
    # B = 16: without pipelining the local batch 16 / 8 = 2 is one micro-batch; with pp = 2 the local batch of
    # 16 / 4 = 4 is split into pp = 2 micro-batches of 2
    np.testing.assert_array_equal(default_mask(lay, "mb", LOCAL_BATCH, FW, 16), [True, False, True, False])


def test_matmul_plateaus_are_pinned_per_family_and_scale_the_fitted_share():
    kernels = builtin_kernels()
    plateaus = {family: values["matmul_plateau"] for family, values in kernels.items() if "matmul_plateau" in values}
    assert plateaus == {"nvidia-hopper": 0.75, "nvidia-ampere": 0.82, "aws-neuron-v2": 0.85, "google-tpu": 0.90}
    tpu = with_family_kernels(PRIOR.with_values({"realized_fraction": 0.8}), "google-tpu")
    assert tpu.sustained_matmul_fraction == pytest.approx(0.72)  # e_max = plateau x realized share
    assert PRIOR.matmul_plateau == 0.82  # a family without a microbenchmark


def test_kernel_efficiencies_are_pinned_fractions_with_sources():
    kernels = builtin_kernels()
    assert kernels["nvidia-hopper"]["attention_relative"] == 0.43
    hopper = with_family_kernels(PRIOR, "nvidia-hopper", "cudnn")  # Transformer Engine's fused attention
    assert hopper.attention_relative == kernels["nvidia-hopper"]["attention_relative_fa3"] == 0.71
    assert with_family_kernels(PRIOR, "nvidia-hopper", "flash-attention-2").attention_relative == 0.43
    assert with_family_kernels(PRIOR, "nvidia-ampere", "cudnn").attention_relative == 0.70  # no FA3 figure: FA2
    assert kernels["nvidia-ampere"]["attention_relative"] == 0.70
    with pytest.raises(CatalogError, match=r"^k\.yaml: families\.x\.attention_relative\.value"):
        parse_kernels({"families": {"x": {"attention_relative": {"value": 1.5, "source": "s"}}}}, where="k.yaml")
