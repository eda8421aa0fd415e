"""`computeplan profile`, `measure` and `--profile`: errors are one line with exit code 2, and a profile file adds
a chip that train and serve price (no PyTorch needed: the profile here is synthetic)."""

from __future__ import annotations

import json

import yaml

from computeplan.cli import main
from tests.profiling.test_device_profile import synthetic_profile


def run(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_profile_is_one_line_naming_the_file(capsys, tmp_path):
    code, _, err = run(capsys, "measure", "--profile", str(tmp_path / "none.yaml"))
    assert code == 2 and len(err.splitlines()) == 1 and err.strip().endswith("device profile does not exist")


def test_an_unknown_device_names_the_allowed_ones(capsys, tmp_path):
    code, _, err = run(capsys, "profile", "--device", "tpu", "--out", str(tmp_path / "p.yaml"))
    assert code == 2 and err == "error: --device: 'tpu' is not a device; allowed: cpu, cuda, neuron\n"
    assert not (tmp_path / "p.yaml").exists()
    code, _, err = run(capsys, "profile", "--dtype", "int3", "--out", str(tmp_path / "p.yaml"))
    assert code == 2 and err == "error: --dtype: 'int3' is not supported; allowed: fp32, bf16, fp16\n"


def test_train_and_serve_price_a_profiled_chip(capsys, tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(synthetic_profile().model_dump(mode="json")), encoding="utf-8")
    tiny = ["--set", "layers=2", "--set", "hidden=256", "--set", "heads=4", "--set", "kv_heads=4"]
    tiny += ["--set", "head_dim=64", "--set", "ffn_hidden=768", "--set", "vocab=4096"]
    args = ["--model", "llama3-8b", *tiny, "--chip", "profile-test", "--chips", "1", "--global-batch", "8"]
    code, out, err = run(capsys, "train", *args, "--profile", str(path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["efficiency"]["calibration"] == "calibrated" and "profiled on test cpu" in data["efficiency"]["basis"]
    serve = ["serve", "--model", "llama3-8b", "--chip", "profile-test", "--profile", str(path), "--json"]
    code, out, err = run(capsys, *serve)
    assert code == 0, err
    assert json.loads(out)["results"][0]["calibrated"] is True
