"""The shipped catalog: complete, sourced, in the right units, and physically sane."""

from __future__ import annotations

import re

import pytest

from computeplan.catalog.schema import ChipEntry, ChipStatus, Confidence, Sourced, SystemEntry
from computeplan.units import GIB, Dimension
from computeplan.workload import TransformerSpec
from tests.conftest import SHARED_REFERENCE

# Ids that shared/reference/SCHEMA.md requires the catalog to use.
SCHEMA_CHIP_IDS = {
    "a100-sxm-40gb",
    "a100-sxm-80gb",
    "h100-sxm",
    "h800-sxm",
    "h200-sxm",
    "b200",
    "b300",
    "gb200",
    "gb300",
    "mi300x",
    "mi325x",
    "mi355x",
    "trn1",
    "trn2",
    "trn3",
    "trn4",
    "inf2",
    "tpu-v4",
    "tpu-v5e",
    "tpu-v5p",
    "tpu-v6e",
    "tpu-v7",
    "gaudi3",
}
SCHEMA_MODEL_IDS = {
    "gpt3-175b",
    "llama2-7b",
    "llama2-13b",
    "llama2-70b",
    "llama3-8b",
    "llama3-70b",
    "llama3-405b",
    "mixtral-8x7b",
    "mixtral-8x22b",
    "deepseek-v3",
}

# The SI unit of every sourced field. A new sourced field must be added here, with its unit.
FIELD_DIMENSIONS = {
    "year_available": Dimension.YEAR,
    "bf16_flops_per_s": Dimension.FLOP_PER_S,
    "fp8_flops_per_s": Dimension.FLOP_PER_S,
    "fp4_flops_per_s": Dimension.FLOP_PER_S,
    "hbm_bytes": Dimension.BYTES,
    "hbm_bytes_per_s": Dimension.BYTES_PER_S,
    "power_w": Dimension.WATTS,
    "scaleup_bytes_per_s": Dimension.BYTES_PER_S,
    "scaleup_domain_chips": Dimension.COUNT,
    "scaleout_bytes_per_s": Dimension.BYTES_PER_S,
    "price_usd_per_hour": Dimension.USD_PER_HOUR,
    "purchase_usd": Dimension.USD,
    "scaleup_latency_s": Dimension.SECONDS,
    "scaleout_latency_s": Dimension.SECONDS,
    "host_power_w_per_chip": Dimension.WATTS,
    "max_chips": Dimension.COUNT,
}


def _sourced_annotation(model, name):
    annotation = model.model_fields[name].annotation
    for candidate in getattr(annotation, "__args__", (annotation,)):
        if isinstance(candidate, type) and issubclass(candidate, Sourced):
            return candidate
    return None


def test_every_schema_chip_and_model_id_is_present(builtin):
    assert set(builtin.chips) >= SCHEMA_CHIP_IDS
    assert set(builtin.models) >= SCHEMA_MODEL_IDS


@pytest.mark.skipif(not (SHARED_REFERENCE / "SCHEMA.md").exists(), reason="shared/reference not beside the repo")
def test_id_lists_match_schema_md():
    text = (SHARED_REFERENCE / "SCHEMA.md").read_text()
    chips_section = text.split("## Chip ids", 1)[1].split("##", 1)[0]
    models_section = text.split("## Model ids", 1)[1]
    assert set(re.findall(r"`([a-z0-9.-]+)`", chips_section)) == SCHEMA_CHIP_IDS
    assert set(re.findall(r"`([a-z0-9.-]+)`", models_section)) == SCHEMA_MODEL_IDS


@pytest.mark.parametrize("model", [ChipEntry, SystemEntry])
def test_every_sourced_field_declares_its_unit(model):
    for name in model.model_fields:
        sourced = _sourced_annotation(model, name)
        if sourced is not None:
            assert name in FIELD_DIMENSIONS, f"{model.__name__}.{name} has no declared unit in this test"
            assert sourced.dimension is FIELD_DIMENSIONS[name], name


def _all_sourced(builtin):
    for table in (builtin.chips, builtin.systems):
        for entry in table.values():
            for name, value in entry.sourced_fields().items():
                yield entry, name, value


def test_every_number_is_sourced_dated_and_rated(builtin):
    count = 0
    for entry, name, value in _all_sourced(builtin):
        count += 1
        assert value.source.strip(), f"{entry.id}.{name} has no source"
        assert value.date.strip(), f"{entry.id}.{name} has no date"
        assert isinstance(value.confidence, Confidence)
        if value.confidence is Confidence.ESTIMATE and value.source.startswith("computeplan estimate"):
            assert value.note, f"{entry.id}.{name}: a computeplan estimate must state its basis"
        for alt in value.alternatives:
            assert alt.source and alt.date
    assert count > 300


def test_every_fact_is_sourced_and_in_si(builtin):
    facts = builtin.facts
    assert {"pue-hyperscale", "electricity-us-industrial", "dc-capex-ai", "anthropic-aws-commitment"} <= set(facts)
    for fact in facts.values():
        assert fact.source.strip() and fact.date.strip(), fact.id
    assert facts["electricity-us-industrial"].value == pytest.approx(0.0806)  # USD/kWh from 80.6 USD/MWh
    assert facts["dc-capex-average"].value == pytest.approx(10.7)  # USD/W from 10.7 MUSD/MW
    assert facts["anthropic-aws-capacity"].value == pytest.approx(5e9)  # W
    assert facts["depreciation-life-amazon"].value == pytest.approx(5 * 365.25 * 86400)  # s
    assert 1.0 < facts["pue-hyperscale"].value < facts["pue-industry-average"].value < 2.0


def test_unshipped_chips_give_ranges_and_no_spec_figures(builtin):
    announced = [c for c in builtin.chips.values() if c.status is ChipStatus.ANNOUNCED]
    assert {c.id for c in announced} >= {"trn4", "rubin"}
    for chip in announced:
        for name, value in chip.sourced_fields().items():
            assert value.confidence is not Confidence.SPEC, f"{chip.id}.{name}"
            assert value.low is not None and value.high is not None, f"{chip.id}.{name} needs a range"
            assert value.low <= value.value <= value.high


def test_si_values_of_known_figures(builtin):
    h100 = builtin.chip("h100-sxm")
    assert h100.bf16_flops_per_s.value == pytest.approx(989.4e12)
    assert h100.fp8_flops_per_s.value == pytest.approx(1978.9e12)
    assert h100.hbm_bytes.value == pytest.approx(80e9)
    assert h100.hbm_bytes_per_s.value == pytest.approx(3.35e12)
    assert h100.scaleup_bytes_per_s.value == pytest.approx(450e9)  # 900 GB/s bidirectional
    assert h100.scaleout_bytes_per_s.value == pytest.approx(50e9)  # 400 Gb/s
    assert builtin.chip("trn1").hbm_bytes.value == pytest.approx(32 * GIB)
    assert builtin.chip("trn2").bf16_flops_per_s.value == pytest.approx(667e12)
    assert builtin.system("hgx-h100").scaleup_latency_s.value == pytest.approx(2e-6)


def test_physical_sanity_of_every_chip(builtin):
    for chip in builtin.chips.values():
        bf16 = chip.bf16_flops_per_s.value
        assert 50e12 <= bf16 <= 20e15, chip.id
        if chip.fp8_flops_per_s:
            assert chip.fp8_flops_per_s.value >= bf16, chip.id
        if chip.fp4_flops_per_s:
            assert chip.fp4_flops_per_s.value >= (chip.fp8_flops_per_s or chip.bf16_flops_per_s).value, chip.id
        assert 8e9 <= chip.hbm_bytes.value <= 1e12, chip.id
        assert 0.3e12 <= chip.hbm_bytes_per_s.value <= 30e12, chip.id
        assert 50 <= chip.power_w.value <= 3000, chip.id
        assert chip.scaleup_domain_chips.value >= 1, chip.id
        # scale-up links are faster than the scale-out network, per chip
        assert chip.scaleup_bytes_per_s.value > chip.scaleout_bytes_per_s.value > 0, chip.id
        # machine balance: FLOPs per byte of HBM between a memory-rich and a compute-rich design
        assert 50 <= bf16 / chip.hbm_bytes_per_s.value <= 1000, chip.id


def test_every_system_points_at_a_chip_and_back(builtin):
    for system in builtin.systems.values():
        chip = builtin.chip(system.chip)
        assert system.scaleup_domain_chips.value <= max(chip.scaleup_domain_chips.value, 1e9)
        assert 0 < system.scaleup_latency_s.value < system.scaleout_latency_s.value * 2
        assert 0 < system.host_power_w_per_chip.value < 2 * chip.power_w.value
    for chip in builtin.chips.values():
        assert builtin.system(chip.system).chip == chip.id


def test_models_have_the_parameter_counts_their_sources_state(builtin):
    for model in builtin.models.values():
        spec = TransformerSpec.from_entry(model)
        assert spec.param_count() == pytest.approx(model.stated_params, rel=0.015), model.id
        if model.stated_active_params:
            active = spec.param_count(active_only=True)
            assert active == pytest.approx(model.stated_active_params, rel=0.02), model.id
