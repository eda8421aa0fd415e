"""`computeplan train`, `validate` and `calibrate` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run

DATA = Path(__file__).parents[1] / "golden" / "data" / "calibration-training.csv"
SERVING_DATA = DATA.with_name("calibration-inference.csv")
TRAIN = [
    "train",
    "--model",
    "llama3-8b",
    "--chip",
    "h100-sxm",
    "--chips",
    "64",
    "--seq",
    "8192",
    "--global-batch-tokens",
    "4M",
]


def test_train_json_has_every_documented_field(capsys):
    code, out, err = run(capsys, *TRAIN, "--tokens", "15T", "--json", "--top", "2")
    assert code == 0, err
    data = json.loads(out)
    assert data["global_batch_sequences"] == 512 and len(data["results"]) == 2
    best = data["results"][0]
    for key in (
        "layout",
        "step_time_s",
        "mfu",
        "hfu",
        "memory_bytes",
        "memory_breakdown_bytes",
        "time_to_train_s",
        "energy_j",
        "cost_usd",
        "breakdown_s",
    ):
        assert key in best
    assert 0 < best["mfu"] < 1 and best["fits"] is True
    assert best["time_to_train_s"] == pytest.approx(15e12 / best["tokens_per_s"])
    assert data["results"][1]["step_time_s"] >= best["step_time_s"]


def test_train_table(capsys):
    code, out, _ = run(capsys, *TRAIN, "--tokens", "1T")
    assert code == 0 and "Best layouts" in out and "time to train" in out


def test_train_given_layout(capsys):
    code, out, _ = run(capsys, *TRAIN, "--layout", "tp=4,pp=2,mb=1,sp=1,recompute=selective", "--json")
    layout = json.loads(out)["results"][0]["layout"]
    assert code == 0 and layout["tp"] == 4 and layout["dp"] == 8 and layout["recompute"] == 1


def test_a_layout_that_cannot_run_says_why(capsys):
    code, out, err = run(capsys, *TRAIN, "--layout", "tp=3")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "does not divide 64 chips" in err


def test_a_layout_that_does_not_fit_shows_the_shortfall(capsys):
    code, out, _ = run(
        capsys,
        "train",
        "--model",
        "llama3-70b",
        "--chip",
        "h100-sxm",
        "--chips",
        "8",
        "--global-batch",
        "8",
        "--layout",
        "tp=1,zero=0",
    )
    assert code == 0 and "does NOT fit: short by" in out


def test_nothing_fits_is_explained(capsys):
    code, _, err = run(
        capsys, "train", "--model", "llama3-405b", "--chip", "h100-sxm", "--chips", "8", "--global-batch", "8"
    )
    assert code == 2 and "no layout fits in 80 GB of HBM" in err


def test_unknown_model_and_bad_layout_key_suggest(capsys):
    code, _, err = run(capsys, "train", "--model", "llama3-8", "--chip", "h100-sxm", "--chips", "8")
    assert code == 2 and "did you mean 'llama3-8b'" in err
    code, _, err = run(capsys, *TRAIN, "--layout", "tpp=2")
    assert code == 2 and "did you mean 'tp'" in err


def test_architecture_override(capsys):
    code, out, _ = run(capsys, *TRAIN, "--set", "layers=16", "--json")
    assert code == 0 and json.loads(out)["model"] == "llama3-8b"
    code, _, err = run(capsys, *TRAIN, "--set", "layer=16")
    assert code == 2 and "did you mean 'layers'" in err


def test_zero_sequence_length_is_refused(capsys):
    code, _, err = run(capsys, "train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--seq", "0")
    assert code == 2 and "--seq: must be at least 1, got 0" in err


def test_bad_quantity_is_one_line(capsys):
    code, _, err = run(capsys, *TRAIN, "--tokens", "lots")
    assert code == 2 and "--tokens: cannot read 'lots'" in err


def test_validate_json_shape(capsys):
    code, out, _ = run(capsys, "validate", str(DATA), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data["rows"][0]) >= {"id", "metric", "predicted", "measured", "error_pct"}
    assert data["median_abs_error_pct"] <= 9.4 and data["max_abs_error_pct"] <= 87.0  # docs/ACCURACY.md


def test_validate_markdown_leads_with_leave_one_source_out(capsys):
    # the serving file: its leave-one-source-out takes a second (the training file's, ~25 s, is in tests/golden)
    code, out, _ = run(capsys, "validate", str(SERVING_DATA), "--markdown")
    assert code == 0 and "| held out (every 4th row; secondary) |" in out
    assert out.index("leave one source out (headline)") < out.index("every fourth row held out")
    assert "| source | `github:nvidia/tensorrt-llm` |" in out


def test_validate_loso_table_and_json(capsys):
    code, out, _ = run(capsys, "validate", str(SERVING_DATA), "--loso")
    assert code == 0 and "LOSO" in out and "leave one source out: 122 of 122 rows predicted" in out
    assert "90th percentile" in out
    code, out, _ = run(capsys, "validate", str(SERVING_DATA), "--loso", "--json")
    loso = json.loads(out)["loso"]
    assert loso["summary"]["predicted"] == 122 and loso["summary"]["p90_abs_error_pct"] is not None
    assert set(loso["by_source"]) == {r["source"] for r in loso["rows"]} and len(loso["by_source"]) == 10


def test_validate_reports_rows_it_cannot_predict(capsys, tmp_path):
    text = DATA.read_text().splitlines()
    bad = text[1].replace(",a100-sxm-80gb,", ",a100-pcie,")
    (tmp_path / "runs.csv").write_text("\n".join([text[0], bad]) + "\n")
    code, out, _ = run(capsys, "validate", str(tmp_path / "runs.csv"), "--json")
    report = json.loads(out)
    assert code == 0 and report["rows"] == []  # a row naming an unknown chip is skipped, with the reason
    assert [s["id"] for s in report["skipped"]] == ["T001"]
    assert "unknown chip 'a100-pcie'" in report["skipped"][0]["reason"]


def test_validate_bad_file(capsys, tmp_path):
    (tmp_path / "x.csv").write_text("id,foo\n1,2\n")
    code, _, err = run(capsys, "validate", str(tmp_path / "x.csv"))
    assert code == 2 and "missing column(s)" in err


def test_calibrate_writes_only_where_asked(capsys, tmp_path):
    small = tmp_path / "runs.csv"
    lines = DATA.read_text().splitlines()
    # A100 rows of two publications (SC21 and Korthikanti et al.): enough evidence to fit the family
    picked = [line for line in lines[1:] if line.startswith(("T001,", "T002,", "T003,", "T022,", "T023,", "T024,"))]
    small.write_text("\n".join([lines[0], *picked]) + "\n")
    target = tmp_path / "eff.yaml"
    code, _, _ = run(capsys, "calibrate", str(small), "--out", str(target))
    assert code == 0 and target.exists() and "nvidia-ampere" in target.read_text()


def test_model_and_chip_from_yaml_files(capsys, tmp_path):
    model = {
        "id": "tiny-llama",
        "name": "Tiny",
        "source": "test",
        "date": "2026",
        "layers": 8,
        "hidden": 1024,
        "heads": 8,
        "kv_heads": 8,
        "head_dim": 128,
        "ffn_hidden": 4096,
        "mlp": "swiglu",
        "vocab": 32000,
        "seq_len": 2048,
        "attention": "mha",
    }
    src = {"source": "test", "date": "2026", "confidence": "estimate"}
    chip = {
        "id": "my-accel",
        "name": "Mine",
        "vendor": "Acme",
        "family": "acme",
        "status": "shipping",
        "system": "hgx-h100",
        "year_available": {"value": 2026, **src},
        "bf16_flops_per_s": {"value": "500 TFLOP/s", **src},
        "hbm_bytes": {"value": "64 GB", **src},
        "hbm_bytes_per_s": {"value": "2 TB/s", **src},
        "power_w": {"value": "500 W", **src},
        "scaleup_bytes_per_s": {"value": "200 GB/s", **src},
        "scaleup_domain_chips": {"value": 8, **src},
        "scaleout_bytes_per_s": {"value": "200 Gb/s", **src},
    }
    import yaml

    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model))
    (tmp_path / "chip.yaml").write_text(yaml.safe_dump({"chips": [chip]}))
    code, out, err = run(
        capsys,
        "train",
        "--model",
        str(tmp_path / "model.yaml"),
        "--chip",
        str(tmp_path / "chip.yaml"),
        "--chips",
        "8",
        "--global-batch",
        "64",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == "tiny-llama" and data["chip"] == "my-accel"
    assert "uncalibrated" in " ".join(data["results"][0]["notes"])


def test_framework_prices_its_software_and_unknown_names_are_refused(capsys):
    args = ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--json"]
    code, out, _ = run(capsys, *args, "--framework", "NeMo")
    data = json.loads(out)
    assert code == 0 and data["framework"] == "nemo" and data["software"]["tp_overlap"] is True
    code, out, _ = run(capsys, *args)
    assert code == 0 and json.loads(out)["framework"] is None
    assert json.loads(out)["results"][0]["calibration"] == "calibrated"
    code, _, err = run(capsys, *args, "--framework", "torchtitn")
    assert code == 2 and "--framework: unknown framework 'torchtitn' (did you mean 'torchtitan'?)" in err
