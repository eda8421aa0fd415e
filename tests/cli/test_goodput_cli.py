"""`computeplan goodput`, and failures in `computeplan train`."""

from __future__ import annotations

import json

from tests.cli.test_cli import run


def test_goodput_json_fields(capsys):
    code, out, err = run(capsys, "goodput", "--chips", "16384", "--model", "llama3-405b", "--days", "54", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("interruptions", "job_mtbf_s", "checkpoint_interval_s", "goodput"):
        assert key in data
    assert round(data["interruptions"]) == 419 and data["goodput"] > 0.9


def test_goodput_plot_writes_a_png(capsys, tmp_path):
    target = tmp_path / "g.png"
    code, out, _ = run(capsys, "goodput", "--chips", "4096", "--plot", str(target))
    assert code == 0 and "goodput" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_goodput_bad_input(capsys):
    code, _, err = run(capsys, "goodput", "--chips", "0")
    assert code == 2 and "--chips: must be at least 1" in err
    code, _, err = run(capsys, "goodput", "--chips", "8", "--chip", "h10")
    assert code == 2 and "did you mean 'h100-sxm'" in err


def test_train_reports_time_with_and_without_failures(capsys):
    args = [
        "train",
        "--model",
        "llama3-8b",
        "--chip",
        "h100-sxm",
        "--chips",
        "1024",
        "--global-batch-tokens",
        "4M",
        "--tokens",
        "15T",
        "--json",
    ]
    _, out, _ = run(capsys, *args)
    data = json.loads(out)
    best = data["results"][0]
    assert data["goodput"]["goodput"] < 1
    assert best["time_to_train_with_failures_s"] > best["time_to_train_s"]
    _, out, _ = run(capsys, *args, "--no-failures")
    data = json.loads(out)
    assert data["goodput"] is None and data["results"][0]["time_to_train_with_failures_s"] is None
