"""User catalog directories: adding and overriding entries, and one-line errors for bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from computeplan.catalog import load_catalog
from computeplan.catalog.loader import load_efficiency_table, user_dirs_from_env
from computeplan.errors import CatalogError, UnknownEntryError

H100_PRICE = {
    "id": "h100-sxm",
    "price_usd_per_hour": {
        "value": "2.10 USD/h",
        "source": "our contract",
        "date": "2026-01",
        "confidence": "spec",
    },
}


def _new_chip(**over):
    src = {"source": "test", "date": "2026", "confidence": "estimate"}
    chip = {
        "id": "my-chip",
        "name": "My Chip",
        "vendor": "Acme",
        "family": "acme-v1",
        "status": "shipping",
        "system": "hgx-h100",
        "year_available": {"value": 2026, **src},
        "bf16_flops_per_s": {"value": "1 PFLOP/s", **src},
        "hbm_bytes": {"value": "96 GB", **src},
        "hbm_bytes_per_s": {"value": "4 TB/s", **src},
        "power_w": {"value": "800 W", **src},
        "scaleup_bytes_per_s": {"value": "400 GB/s", **src},
        "scaleup_domain_chips": {"value": 8, **src},
        "scaleout_bytes_per_s": {"value": "400 Gb/s", **src},
    }
    chip.update(over)
    return chip


def test_a_user_file_overrides_one_field_and_keeps_the_rest(write_catalog, builtin):
    directory = write_catalog({"chips": [H100_PRICE]})
    catalog = load_catalog([directory], use_env=False)
    h100 = catalog.chip("h100-sxm")
    assert h100.price_usd_per_hour.value == pytest.approx(2.10)
    assert h100.hbm_bytes == builtin.chip("h100-sxm").hbm_bytes
    assert catalog.origin("chip", "h100-sxm").endswith("mine.yaml")


def test_a_user_file_adds_a_chip(write_catalog):
    catalog = load_catalog([write_catalog({"chips": [_new_chip()]})], use_env=False)
    assert catalog.chip("my-chip").bf16_flops_per_s.value == pytest.approx(1e15)


def test_the_environment_variable_adds_directories_only_when_asked(write_catalog, monkeypatch):
    directory = write_catalog({"chips": [H100_PRICE]})
    monkeypatch.setenv("COMPUTEPLAN_CATALOG", f"{directory}{os.pathsep}")
    assert user_dirs_from_env() == [directory]
    assert load_catalog(use_env=True).chip("h100-sxm").price_usd_per_hour.value == pytest.approx(2.10)
    # the library never reads the environment on its own: only the command line passes use_env=True
    assert load_catalog().chip("h100-sxm").price_usd_per_hour.value == pytest.approx(3.9)


def _error(write_catalog, content) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog([write_catalog(content)], use_env=False)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_negative_hbm_names_file_entry_and_field(write_catalog):
    bad = _new_chip(hbm_bytes={"value": "-80 GB", "source": "x", "date": "2026", "confidence": "spec"})
    message = _error(write_catalog, {"chips": [bad]})
    assert "mine.yaml" in message
    assert "chips[id=my-chip].hbm_bytes.value" in message
    assert "must be > 0" in message and "-80 GB" in message


def test_wrong_unit_is_named(write_catalog):
    bad = _new_chip(hbm_bytes_per_s={"value": "3 TB", "source": "x", "date": "2026", "confidence": "spec"})
    message = _error(write_catalog, {"chips": [bad]})
    assert "hbm_bytes_per_s.value" in message and "not a unit of bytes/s" in message


def test_unknown_field_suggests_the_close_one(write_catalog):
    message = _error(write_catalog, {"chips": [_new_chip(hbm_byte=1)]})
    assert "unknown field 'hbm_byte' (did you mean 'hbm_bytes'?)" in message


def test_bad_confidence_lists_the_allowed_values(write_catalog):
    bad = _new_chip(power_w={"value": "800 W", "source": "x", "date": "2026", "confidence": "sure"})
    message = _error(write_catalog, {"chips": [bad]})
    assert "power_w.confidence" in message
    assert "'spec', 'announced' or 'estimate'" in message


def test_missing_source_is_an_error(write_catalog):
    bad = _new_chip(power_w={"value": "800 W", "date": "2026", "confidence": "spec"})
    assert "power_w.source: required field is missing" in _error(write_catalog, {"chips": [bad]})


def test_fp8_below_bf16_is_rejected(write_catalog):
    bad = _new_chip(fp8_flops_per_s={"value": "0.5 PFLOP/s", "source": "x", "date": "2026", "confidence": "spec"})
    assert "fp8 peak is below bf16" in _error(write_catalog, {"chips": [bad]})


def test_unknown_system_reference_suggests(write_catalog):
    message = _error(write_catalog, {"chips": [_new_chip(system="hgx-h10")]})
    assert "chips[id=my-chip].system: unknown system 'hgx-h10': did you mean 'hgx-h100'" in message


def test_model_consistency_errors(write_catalog):
    model = {
        "id": "tiny",
        "name": "Tiny",
        "source": "test",
        "date": "2026",
        "layers": 2,
        "hidden": 64,
        "heads": 4,
        "kv_heads": 3,
        "head_dim": 16,
        "ffn_hidden": 256,
        "mlp": "swiglu",
        "vocab": 100,
        "seq_len": 128,
        "attention": "gqa",
    }
    assert "kv_heads (3) must divide heads (4)" in _error(write_catalog, {"models": [model]})
    model.update(kv_heads=4, mlp="relu")
    assert "models[id=tiny].mlp" in _error(write_catalog, {"models": [model]})


def test_fact_with_unknown_dimension_lists_the_allowed_ones(write_catalog):
    fact = {
        "id": "my-pue",
        "name": "PUE",
        "dimension": "percent",
        "value": 1.2,
        "source": "x",
        "date": "2026",
        "confidence": "spec",
    }
    message = _error(write_catalog, {"facts": [fact]})
    assert "facts[id=my-pue].dimension" in message and "'USD/kWh'" in message


def test_fact_value_is_parsed_with_its_dimension(write_catalog):
    fact = {
        "id": "power-price",
        "name": "price",
        "dimension": "USD/kWh",
        "value": "45 USD/MWh",
        "source": "x",
        "date": "2026",
        "confidence": "spec",
    }
    catalog = load_catalog([write_catalog({"facts": [fact]})], use_env=False)
    assert catalog.fact("power-price").value == pytest.approx(0.045)
    fact["value"] = "45 GW"
    assert "facts[id=power-price].value: unit 'GW'" in _error(write_catalog, {"facts": [fact]})


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("chips: [\n  - id: a\n   bad", "invalid YAML"),
        ({"gpus": []}, "unknown top-level key 'gpus'"),
        ({"chips": {"id": "x"}}, "'chips' must be a list"),
        ({"chips": [{"name": "no id"}]}, "every entry needs a string 'id'"),
        ({"chips": [H100_PRICE, H100_PRICE]}, "duplicate id in the same file"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_files(write_catalog, content, fragment):
    assert fragment in _error(write_catalog, content)


def test_missing_directory(tmp_path):
    with pytest.raises(CatalogError, match="catalog directory does not exist"):
        load_catalog([tmp_path / "nowhere"], use_env=False)


def test_unknown_id_suggests_close_matches(builtin):
    with pytest.raises(UnknownEntryError, match=r"unknown chip 'h10': did you mean 'h100-sxm'"):
        builtin.chip("h10")
    with pytest.raises(UnknownEntryError, match="unknown model 'llama3-450b': did you mean 'llama3-405b'"):
        builtin.model("llama3-450b")
    with pytest.raises(UnknownEntryError, match="known kinds"):
        builtin.entry("gpu", "h100-sxm")


def test_user_files_are_never_written(write_catalog):
    directory = write_catalog({"chips": [H100_PRICE]})
    before = {p: p.read_bytes() for p in directory.iterdir()}
    load_catalog([directory], use_env=False)
    assert {p: p.read_bytes() for p in directory.iterdir()} == before


def test_an_edited_file_is_read_again(write_catalog):
    directory = write_catalog({"chips": [H100_PRICE]})
    assert load_catalog([directory], use_env=False).chip("h100-sxm").price_usd_per_hour.value == pytest.approx(2.1)
    cheaper = {**H100_PRICE, "price_usd_per_hour": {**H100_PRICE["price_usd_per_hour"], "value": "1.50 USD/h"}}
    write_catalog({"chips": [cheaper]})
    assert load_catalog([directory], use_env=False).chip("h100-sxm").price_usd_per_hour.value == pytest.approx(1.5)


# --- hostile files in a catalog directory: one line naming the file, never a hang or a traceback -----------------

BILLION_LAUGHS = "chips: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def _file_error(directory: Path, name: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog([directory])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(directory / name))
    return message


def test_a_broken_symlink_is_named(tmp_path):
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert "catalog file is a broken symbolic link" in _file_error(tmp_path, "gone.yaml")


def test_a_fifo_is_named_and_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    assert "FIFO" in _file_error(tmp_path, "pipe.yaml")


def test_a_subdirectory_named_like_a_file_is_named(tmp_path):
    (tmp_path / "x.yaml").mkdir()
    assert "catalog file is a directory" in _file_error(tmp_path, "x.yaml")


def test_a_file_not_in_utf8_is_named(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("chips: []  # Ökonomie\n".encode("latin-1"))
    assert "not UTF-8 text (byte 0xd6 at offset 13)" in _file_error(tmp_path, "latin1.yaml")


def test_a_duplicate_key_is_named_with_its_line(tmp_path):
    (tmp_path / "dup.yaml").write_text("chips:\n- id: h100-sxm\n  name: A\n  name: B\n")
    assert _file_error(tmp_path, "dup.yaml").endswith(
        "dup.yaml:4: invalid YAML: duplicate key 'name' (first on line 3)"
    )


def test_billion_laughs_is_refused(tmp_path):
    (tmp_path / "bomb.yaml").write_text(BILLION_LAUGHS)
    assert "alias bomb" in _file_error(tmp_path, "bomb.yaml")


def test_hidden_files_are_skipped(tmp_path, write_catalog):
    directory = write_catalog({"chips": [H100_PRICE]})
    (directory / ".#mine.yaml").symlink_to("user@host.1234:1700000000")  # an Emacs lock file
    assert load_catalog([directory]).chip("h100-sxm").price_usd_per_hour.value == pytest.approx(2.10)


def test_a_file_given_as_catalog_directory(tmp_path):
    (tmp_path / "chips.yaml").write_text("chips: []\n")
    with pytest.raises(CatalogError, match=r"chips\.yaml: catalog directory is a file, not a directory"):
        load_catalog([tmp_path / "chips.yaml"])


def test_a_bad_calibration_file_is_one_line(tmp_path):
    with pytest.raises(CatalogError, match="calibration file does not exist"):
        load_efficiency_table(tmp_path / "fit.yaml")
    (tmp_path / "fit.yaml").write_text("families: {}\nfamilies: {}\n")
    with pytest.raises(CatalogError, match=r"fit.yaml:2: invalid YAML: duplicate key 'families'"):
        load_efficiency_table(tmp_path / "fit.yaml")


# --- numbers that are not numbers: inf, nan, overflow, absurd magnitudes -----------------------------------------


def _price(value):
    return {**H100_PRICE, "price_usd_per_hour": {**H100_PRICE["price_usd_per_hour"], "value": value}}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (float("inf"), "not a finite number"),
        (float("nan"), "not a finite number"),
        ("1e400", "not a finite number"),
        ("1e400 USD/h", "not a finite number"),
        (10**400, "beyond the float range"),
        (1e35, "outside the plausible magnitudes"),
        ("1e-40 USD/h", "outside the plausible magnitudes"),
    ],
)
def test_non_finite_or_absurd_sourced_values_are_refused(write_catalog, value, fragment):
    message = _error(write_catalog, {"chips": [_price(value)]})
    assert "mine.yaml: chips[id=h100-sxm].price_usd_per_hour.value: " in message
    assert fragment in message
    assert len(message) < 300


def test_a_yaml_float_overflowing_to_inf_is_refused(write_catalog):
    text = "chips:\n- id: h100-sxm\n  power_w: {value: 1.0e+400, source: x, date: '2026', confidence: spec}\n"
    assert "chips[id=h100-sxm].power_w.value: inf is not a finite number" in _error(write_catalog, text)


def test_non_finite_alternative_and_fact_values_are_refused(write_catalog):
    alternative = {"value": float("nan"), "source": "y", "date": "2026", "confidence": "estimate"}
    price = {**H100_PRICE["price_usd_per_hour"], "alternatives": [alternative]}
    message = _error(write_catalog, {"chips": [{"id": "h100-sxm", "price_usd_per_hour": price}]})
    assert "price_usd_per_hour.alternatives[0].value: nan is not a finite number" in message
    fact = {"id": "pue-x", "name": "PUE", "dimension": "ratio", "value": float("inf")}
    fact.update(source="x", date="2026", confidence="spec")
    assert "facts[id=pue-x].value: inf is not a finite number" in _error(write_catalog, {"facts": [fact]})


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("layers", 10**400, "less than or equal to 1000000000"),
        ("layers", float("inf"), "finite number"),
        ("hidden", "1e400", "valid integer"),
        ("stated_params", float("inf"), "finite number"),
        ("stated_params", float("nan"), "finite number"),
        ("stated_params", 10**400, "valid number"),
    ],
)
def test_non_finite_or_absurd_model_numbers_are_refused(write_catalog, field, value, fragment):
    message = _error(write_catalog, {"models": [{"id": "llama3-8b", field: value}]})
    assert f"mine.yaml: models[id=llama3-8b].{field}: " in message
    assert fragment in message
    assert len(message) < 300
