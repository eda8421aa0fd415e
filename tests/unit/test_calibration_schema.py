"""Efficiency tables are validated against their parameter space when loaded; errors name file, family, field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from computeplan.catalog.efficiency_schema import EfficiencyTable, parse_efficiency_table
from computeplan.catalog.kernels import builtin_kernels
from computeplan.catalog.loader import efficiency_table_path, load_efficiency_table
from computeplan.errors import CatalogError
from computeplan.estimate.efficiency import SERVING_SPACE, EfficiencyTables, builtin_efficiency_tables
from computeplan.hardware.efficiency import PRIOR, TRAINING_SPACE, efficiency_for

GOOD = {
    "families": {"nvidia-hopper": {"realized_fraction": 0.6, "rows": 24}},
    "default": {"realized_fraction": 0.7, "rows": 57, "sources": 5},
}


def _write(tmp_path: Path, table: dict) -> Path:
    path = tmp_path / "eff.yaml"
    path.write_text(yaml.safe_dump(table), encoding="utf-8")
    return path


def _error(tmp_path: Path, table: dict) -> str:
    path = _write(tmp_path, table)
    with pytest.raises(CatalogError) as info:
        EfficiencyTables.from_files(training=path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def _with(family: str, field: str, value: object) -> dict:
    table = yaml.safe_load(yaml.safe_dump(GOOD))
    table["families"][family][field] = value
    return table


def test_a_good_table_loads_typed(tmp_path):
    tables = EfficiencyTables.from_files(training=_write(tmp_path, GOOD))
    assert isinstance(tables.training, EfficiencyTable) and tables.serving is None
    hopper = tables.for_training("nvidia-hopper")
    assert (
        hopper.calibrated
        and hopper.realized_fraction == 0.6
        and hopper.basis == "fitted on 24 runs of family nvidia-hopper"
    )
    other = tables.for_training("aws-neuron-v2")
    assert not other.calibrated and other.realized_fraction == 0.7
    assert tables.for_serving("nvidia-hopper").basis == "first-principles prior"


def test_a_value_out_of_bounds_names_file_family_and_field(tmp_path):
    message = _error(tmp_path, _with("nvidia-hopper", "realized_fraction", 1.2))
    assert "families.nvidia-hopper.realized_fraction: must be within [0.4, 1]" in message
    assert "got 1.2" in message


def test_an_unknown_field_is_refused_with_a_suggestion(tmp_path):
    table = _with("nvidia-hopper", "realized", 0.6)
    message = _error(tmp_path, table)
    assert "families.nvidia-hopper.realized: unknown field (did you mean 'realized_fraction'?)" in message


def test_a_missing_parameter_is_refused(tmp_path):
    table = _with("nvidia-hopper", "rows", 3)
    del table["families"]["nvidia-hopper"]["realized_fraction"]
    assert "families.nvidia-hopper.realized_fraction: required field is missing" in _error(tmp_path, table)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "0.5", None])
def test_values_that_are_not_finite_numbers_are_refused(tmp_path, value):
    message = _error(tmp_path, _with("nvidia-hopper", "realized_fraction", value))
    assert "families.nvidia-hopper.realized_fraction: must be" in message


def test_the_default_is_checked_too(tmp_path):
    table = yaml.safe_load(yaml.safe_dump(GOOD))
    table["default"]["realized_fraction"] = 0.1
    assert "default.realized_fraction: must be within [0.4, 1]" in _error(tmp_path, table)


def test_an_unknown_top_level_key_is_refused(tmp_path):
    table = {**GOOD, "familes": {}}
    assert "familes: unknown field (did you mean 'families'?)" in _error(tmp_path, table)


def test_a_serving_table_is_checked_against_the_serving_space(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(CatalogError, match=r"families\.nvidia-hopper\.memory_efficiency: required field is missing"):
        EfficiencyTables.from_files(serving=path)


def test_a_mapping_is_validated_on_construction():
    assert EfficiencyTables(training=GOOD).training == parse_efficiency_table(GOOD, TRAINING_SPACE, where="x")  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match=r"training efficiency table: families\.nvidia-hopper\.realized"):
        EfficiencyTables(training=_with("nvidia-hopper", "realized_fraction", 2.0))  # type: ignore[arg-type]
    assert EfficiencyTables(training={}).training is None  # type: ignore[arg-type]


def test_a_typed_table_of_the_other_model_is_refused():
    serving = builtin_efficiency_tables().serving
    with pytest.raises(CatalogError, match=r"has parameters memory_efficiency, .*\(a table of another model\?\)"):
        EfficiencyTables(training=serving)


def test_no_table_means_the_priors_with_the_pinned_kernels():
    pinned = {k: v for k, v in builtin_kernels()["nvidia-hopper"].items() if k != "attention_relative_fa3"}
    hopper = PRIOR.with_values(pinned)  # FlashAttention-2 class attention unless a framework says cuDNN / FA3
    assert EfficiencyTables().for_training("nvidia-hopper") == hopper
    assert efficiency_for("nvidia-hopper", None) == hopper
    assert efficiency_for("amd-cdna3", None) == PRIOR  # no kernel microbenchmarks for this family
    assert efficiency_for("aws-neuron-v2", None) == PRIOR.with_values({"matmul_plateau": 0.85})  # NKI matmul
    assert efficiency_for("nvidia-hopper", None, kernels={}) == PRIOR


def test_a_family_without_a_fit_borrows_its_ancestors_or_takes_the_default():
    blackwell = efficiency_for("nvidia-blackwell", GOOD)
    assert blackwell.calibration == "borrowed" and blackwell.borrowed_from == "nvidia-hopper"
    assert blackwell.realized_fraction == 0.6 and "borrowed from nvidia-hopper" in blackwell.basis
    # the borrowed share of the plateau applies to the borrower's own plateau (none measured: the cross-family one)
    assert blackwell.matmul_plateau == PRIOR.matmul_plateau != efficiency_for("nvidia-hopper", GOOD).matmul_plateau
    tpu = efficiency_for("google-tpu", GOOD)
    assert tpu.calibration == "uncalibrated" and tpu.realized_fraction == 0.7 and "cross-chip default" in tpu.basis
    assert efficiency_for("nvidia-hopper", GOOD).calibration == "calibrated"


@pytest.mark.parametrize(("kind", "space"), [("training", TRAINING_SPACE), ("inference", SERVING_SPACE)])
def test_the_shipped_tables_pass_the_schema_and_write_back_as_read(kind, space):
    raw = load_efficiency_table(kind=kind)
    table = parse_efficiency_table(raw, space, where=str(efficiency_table_path(kind)))
    assert table.to_dict() == raw
    assert table.families and table.default is not None and table.fitted_on and table.held_out


def test_builtin_tables_are_typed():
    tables = builtin_efficiency_tables()
    assert isinstance(tables.training, EfficiencyTable) and isinstance(tables.serving, EfficiencyTable)
    assert tables.table("training") is tables.training and tables.table("inference") is tables.serving


def test_an_uncalibrated_chip_says_what_error_to_expect():
    table = {**GOOD, "family_holdout": {"all": {"median_pct": 26.4, "p90_pct": 55.0, "rows": 134}}}
    tpu = efficiency_for("google-tpu", table)
    assert tpu.calibration == "uncalibrated"
    assert "a family left out of the fit is predicted with a median error of 26% (90th percentile 55%" in tpu.basis
    shipped = builtin_efficiency_tables().training
    assert shipped is not None and shipped.family_holdout["all"].rows == shipped.default.rows  # type: ignore[union-attr]
