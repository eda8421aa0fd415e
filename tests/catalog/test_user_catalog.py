"""User catalog directories: adding and overriding entries, and one-line errors for bad files."""

from __future__ import annotations

import pytest

from computeplan.catalog import load_catalog
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


def test_the_environment_variable_adds_directories(write_catalog, monkeypatch):
    monkeypatch.setenv("COMPUTEPLAN_CATALOG", str(write_catalog({"chips": [H100_PRICE]})))
    assert load_catalog().chip("h100-sxm").price_usd_per_hour.value == pytest.approx(2.10)


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
