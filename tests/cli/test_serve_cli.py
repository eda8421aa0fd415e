"""`computeplan serve` from the command line."""

from __future__ import annotations

import json

from tests.cli.test_cli import run

SERVE = ["serve", "--model", "llama3-70b", "--input", "2048", "--output", "256", "--tpot-ms", "50"]


def test_serve_compare_json(capsys):
    code, out, err = run(capsys, *SERVE, "--traffic", "1e9tok/day", "--compare", "h100-sxm,b200,trn2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["chip"] for r in data["results"]] == ["h100-sxm", "b200", "trn2"]
    for r in data["results"]:
        assert r["tpot_s"] <= 0.05 and r["meets_slo"]
        assert r["chips_needed"] >= 1 and r["joules_per_output_token"] > 0
        assert r["chips_needed"] * r["throughput_tokens_per_s_per_chip"] >= 1e9 / 86400 * 0.99
    assert data["pareto"]["b200"]


def test_serve_table_marks_uncalibrated_chips(capsys):
    code, out, _ = run(capsys, *SERVE, "--chip", "trn3")  # no serving runs of its family (Trainium3)
    assert code == 0 and "trn3 ~" in out


def test_serve_impossible_target_is_reported(capsys):
    code, out, _ = run(capsys, "serve", "--model", "llama3-405b", "--chip", "h100-sxm", "--tpot-ms", "0.1", "--json")
    assert code == 0 and json.loads(out)["results"][0]["error"] == "no layout meets the latency targets"


def test_serve_bad_inputs_are_one_line(capsys):
    code, _, err = run(capsys, *SERVE, "--traffic", "lots")
    assert code == 2 and "--traffic: cannot read 'lots'" in err
    code, _, err = run(capsys, *SERVE, "--weights", "fp6")
    assert code == 2 and "--weights: unknown precision 'fp6'" in err
    code, _, err = run(capsys, *SERVE, "--compare", "h100-sxm,h10")
    assert code == 2 and "did you mean 'h100-sxm'" in err


def test_utilization_scales_cost_and_chips(capsys):
    args = [*SERVE, "--chip", "h100-sxm", "--traffic", "1e9tok/day", "--json"]
    _, full, _ = run(capsys, *args)
    _, half, _ = run(capsys, *args, "--utilization", "0.5")
    a, b = json.loads(full)["results"][0], json.loads(half)["results"][0]
    assert b["usd_per_million_output_tokens"] == 2 * a["usd_per_million_output_tokens"]
    assert b["chips_needed"] >= 2 * a["chips_needed"] - a["chips_needed"] // 2


DEEPSEEK = ["serve", "--model", "deepseek-v3", "--input", "2048", "--output", "512", "--tpot-ms", "50"]


def test_serve_moe_offers_expert_parallel_and_disaggregated_layouts(capsys):
    """The command of issue 10: DeepSeek-V3 on four chips, EP and disaggregated options with $/Mtok."""
    args = [*DEEPSEEK, "--compare", "trn2,h200-sxm,b200,tpu-v6e", "--traffic", "1e10tok/day"]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    for r in data["results"]:
        lay = r["layout"]
        assert lay["ep"] > 1, r["chip"]  # 671B of weights: the experts must spread over the replica
        assert r["chips_per_replica"] == max(lay["ep"], lay["tp"]) * lay["pp"]
        assert any(c.startswith("expert parallelism: ep") for c in r["choices"])
        assert any(c.startswith("batch:") for c in r["choices"]) and any(
            c.startswith("precision:") for c in r["choices"]
        )
        split = data["disaggregated"][r["chip"]]
        assert split["tpot_s"] <= 0.05 and split["usd_per_million_output_tokens"] > 0
        # both pools sized in the ratio of their chip-seconds: output tokens per chip over both
        assert split["prefill_chips_per_decode_chip"] > 0
        assert split["chips_needed"] * split["throughput_tokens_per_s_per_chip"] >= 1e10 / 86400 * 0.99
        dec = split["decode_layout"]
        assert split["chips_needed"] % max(dec["ep"], dec["tp"]) == 0 or split["chips_needed"] > 2 * dec["ep"]
        assert "batch" not in split["prefill_layout"]  # a prefill replica has no decode batch
    code, out, _ = run(capsys, *args)
    assert code == 0 and "Disaggregated prefill/decode" in out and "ep 8 (tp 1)" in out
    assert "why this layout" in out


def test_disaggregated_decode_sees_no_prefill_interference(capsys):
    code, out, _ = run(capsys, *SERVE, "--chip", "h100-sxm", "--json")
    data = json.loads(out)
    co, split = data["results"][0], data["disaggregated"]["h100-sxm"]
    assert code == 0 and split["tpot_s"] <= 0.05
    # a decode pool may batch more at the same TPOT: its steps carry no prefills
    assert split["decode_layout"]["batch"] >= co["layout"]["batch"]
