"""Regressions from the hostile-user review of the command line (issue 14): messages that name the flag the user
gave and show what was typed, contradictory flags refused, honest notes, and nothing raw reaches the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from computeplan.cli.options import message_for_cli
from computeplan.errors import InvalidInput
from tests.cli.test_cli import run

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "cloud-commitment-100b-5gw.yaml"
TRAIN = ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64"]
SERVE = ["serve", "--model", "llama3-8b"]
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "", out[:300]
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# --- messages: the flag the user gave, in the user's terms ---


def test_a_token_batch_too_large_blames_the_tokens_not_global_batch(capsys):
    err = _one_line_error(*run(capsys, *TRAIN, "--seq", "1", "--global-batch-tokens", "1e9"))
    assert err.startswith("error: --global-batch-tokens: 1e9 tokens per step make 1,073,741,824 sequences of 1 ")
    assert "16,777,216" in err and "--global-batch:" not in err


def test_a_token_batch_too_large_at_the_models_sequence_length(capsys):
    err = _one_line_error(*run(capsys, *TRAIN, "--set", "seq_len=2", "--global-batch-tokens", "1e9"))
    assert "--global-batch-tokens: 1e9 tokens per step make" in err and "sequences of 2 tokens" in err


def test_both_batch_flags_are_refused_by_flag_name(capsys):
    err = _one_line_error(*run(capsys, *TRAIN, "--global-batch", "1", "--global-batch-tokens", "4M"))
    assert "--global-batch and --global-batch-tokens" in err
    assert "global_batch" not in err.replace("--global-batch", "")


@pytest.mark.parametrize(
    ("traffic", "shown"),
    [
        ("-5req/s", "must be > 0 output tokens/day, got '-5req/s'"),
        ("1e19tok/day", "must be at most 1e+18 output tokens/day, got '1e19tok/day'"),
    ],
)
def test_traffic_errors_show_what_was_typed(capsys, traffic, shown):
    err = _one_line_error(*run(capsys, *SERVE, "--traffic", traffic))
    assert f"--traffic: {shown}" in err and "e+0" not in err


def test_tpot_errors_show_what_was_typed(capsys):
    err = _one_line_error(*run(capsys, *SERVE, "--tpot-ms", "-3"))
    assert "--tpot-ms: must be > 0 s, got '-3'" in err


@pytest.mark.parametrize("flag", ["--model", "--chip"])
def test_a_long_value_is_shortened_in_the_message(capsys, flag):
    value = "x" * 5000
    args = [*TRAIN, flag, value] if flag == "--chip" else ["serve", "--model", value]
    err = _one_line_error(*run(capsys, *args))
    assert "(5,000 characters)" in err and "x" * 61 not in err
    assert len(err) < 400


def test_a_long_unknown_option_is_shortened(capsys):
    err = _one_line_error(*run(capsys, "chips", "--no-such-" + "y" * 300))
    assert "(310 characters)" in err and "y" * 61 not in err


def test_a_catalog_value_is_not_blamed_on_a_flag_the_user_did_not_give():
    exc = InvalidInput("pue", "must be at most 3, got 5")
    assert "--pue" not in message_for_cli(exc, {"--model": "llama3-8b"})
    assert message_for_cli(exc, {"--model": "llama3-8b"}).startswith("pue: must be at most 3, got 5")
    assert message_for_cli(exc, {"--pue": "5"}) == "--pue: must be at most 3, got 5"


def test_a_chip_error_names_compare_when_the_chips_came_from_compare():
    exc = InvalidInput("chip", "expected a catalog id or a YAML file, got ''")
    assert message_for_cli(exc, {"--compare": "a,b"}).startswith("--compare: ")
    assert message_for_cli(exc, {"--chip": "a"}).startswith("--chip: ")


# --- contradictory or empty options are refused, not silently resolved ---


def test_chip_and_compare_together_are_refused(capsys):
    err = _one_line_error(*run(capsys, *SERVE, "--chip", "h100-sxm", "--compare", "trn2"))
    assert "--chip and --compare" in err and "h100-sxm" in err


def test_a_chip_twice_in_compare_is_refused(capsys):
    err = _one_line_error(*run(capsys, *SERVE, "--compare", "h100-sxm,trn2,h100-sxm"))
    assert err == "error: --compare: 'h100-sxm' is listed twice; give each once\n"


def test_an_empty_catalog_path_is_refused(capsys, tmp_path, monkeypatch):
    (tmp_path / "not-a-catalog.yaml").write_text("name: a scenario, not catalog data\n")
    monkeypatch.chdir(tmp_path)
    err = _one_line_error(*run(capsys, "chips", "--catalog", ""))
    assert "--catalog: empty path" in err
    code, _, _ = run(capsys, "chips", "--catalog", str(tmp_path / "none"), "--catalog", "")
    assert code == 2


# --- goodput: the failure rates are H100's, said so ---


def test_goodput_on_another_chip_says_the_rates_are_assumed(capsys):
    code, out, err = run(capsys, "goodput", "--chips", "8", "--chip", "trn4")
    assert code == 0, err
    note = next(line for line in out.splitlines() if line.startswith("note:"))
    assert "H100" in note and "Llama 3" in note and "for trn4 this is an assumption" in note
    code, out, _ = run(capsys, "goodput", "--chips", "8", "--chip", "trn4", "--json")
    data = json.loads(out)
    assert "H100" in data["failure_rates_note"] and "for trn4 this is an assumption" in data["failure_rates_note"]
    assert data["failure_rates_assumed"] is True


def test_goodput_on_h100_says_the_rates_are_measured(capsys):
    code, out, _ = run(capsys, "goodput", "--chips", "8", "--json")
    data = json.loads(out)
    assert code == 0 and "H100" in data["failure_rates_note"] and "assumption" not in data["failure_rates_note"]
    assert data["failure_rates_assumed"] is False


def test_train_says_where_its_failure_rates_come_from(capsys):
    code, out, err = run(capsys, "train", "--model", "llama3-8b", "--chip", "trn2", "--chips", "64", "--tokens", "1T")
    assert code == 0, err
    assert "for trn2 this is an assumption" in out
    _, raw, _ = run(
        capsys, "train", "--model", "llama3-8b", "--chip", "trn2", "--chips", "64", "--tokens", "1T", "--json"
    )
    assert json.loads(raw)["goodput"]["failure_rates_assumed"] is True


@pytest.mark.parametrize("name", ["x.txt", "s.yaml", "noext", "g.PNGX"])
def test_goodput_refuses_a_plot_type_it_cannot_write(capsys, tmp_path, name):
    err = _one_line_error(*run(capsys, "goodput", "--chips", "8", "--plot", str(tmp_path / name)))
    assert "--plot:" in err and ".png, .svg, .pdf" in err
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(("name", "magic"), [("g.svg", b"<?xml"), ("g.pdf", b"%PDF"), ("G.PNG", b"\x89PNG")])
def test_goodput_writes_each_plot_type(capsys, tmp_path, name, magic):
    code, out, err = run(capsys, "goodput", "--chips", "4096", "--plot", str(tmp_path / name))
    assert code == 0, err
    assert (tmp_path / name).read_bytes().startswith(magic) and "wrote" in out


def test_a_plot_that_cannot_be_drawn_is_one_line(capsys, tmp_path, monkeypatch):
    from computeplan.report import charts

    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded\nsecond line")

    monkeypatch.setattr(charts, "goodput_vs_chips", broken)
    err = _one_line_error(*run(capsys, "goodput", "--chips", "8", "--plot", str(tmp_path / "g.png")))
    assert "cannot draw the plot: renderer exploded second line" in err
    assert not (tmp_path / "g.png").exists()


def test_a_dollar_in_the_plot_title_is_plain_text(capsys, tmp_path):
    model = tmp_path / "a$b$c.yaml"
    model.write_text(yaml.safe_dump({"id": "cheap-model", **_small_model()}))
    code, _, err = run(capsys, "goodput", "--chips", "8", "--model", str(model), "--plot", str(tmp_path / "g.png"))
    assert code == 0, err


def _small_model() -> dict[str, object]:
    from computeplan.catalog import load_catalog

    entry = load_catalog().model("llama3-8b").model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in entry.items() if k != "id"}


# --- nothing raw reaches the terminal ---


def _hostile_scenario(tmp_path: Path, name: str) -> Path:
    data = yaml.safe_load(SCENARIO.read_text())
    data["name"] = name
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_control_characters_in_a_scenario_name_are_escaped(capsys, tmp_path):
    scenario = _hostile_scenario(tmp_path, "a\nb\x1b[31m [bold]c\u202e")
    code, out, err = run(capsys, "plan", str(scenario))
    assert code == 0, err
    assert not RAW_CONTROL.search(out)
    first = out.splitlines()[0]
    assert first == "a\\nb\\x1b[31m [bold]c\\u202e"


def test_the_html_report_escapes_a_hostile_name(capsys, tmp_path):
    scenario = _hostile_scenario(tmp_path, "<script>alert(1)</script> & co")
    report = tmp_path / "r.html"
    code, _, err = run(capsys, "plan", str(scenario), "--report", str(report))
    assert code == 0, err
    page = report.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_control_characters_in_csv_ids_are_escaped(capsys, tmp_path):
    rows = (REPO / "examples" / "runs-training.csv").read_text().splitlines()
    rows[1] = "T\x1b[31mRED," + rows[1].split(",", 1)[1]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    for extra in ([], ["--markdown"]):
        code, out, err = run(capsys, "validate", str(path), *extra)
        assert code == 0, err
        assert not RAW_CONTROL.search(out) and "T\\x1b[31mRED" in out


def test_control_characters_in_an_error_are_escaped(capsys):
    err = _one_line_error(*run(capsys, "show", "chip", "h1\x1b[31m\u202e"))
    assert not RAW_CONTROL.search(err) and "h1\\x1b[31m\\u202e" in err


def test_markup_in_a_user_catalog_is_printed_as_text(capsys, write_catalog):
    directory = write_catalog(
        {"facts": [{"id": "x-fact", "name": "[bold]n[/bold] \x1b[31m", "dimension": "count", "value": 1, **_sourced()}]}
    )
    code, out, err = run(capsys, "facts", "--catalog", str(directory))
    assert code == 0, err
    assert "[bold]n[/bold] \\x1b[31m" in out
    code, out, err = run(capsys, "show", "fact", "x-fact", "--catalog", str(directory))
    assert code == 0, err
    assert "[bold]n[/bold] \\x1b[31m" in out and "[red]s" in out and not RAW_CONTROL.search(out)


def _sourced() -> dict[str, str]:
    return {"source": "https://example.com [red]s", "date": "2025", "confidence": "estimate"}


# --- output glitches ---


def test_plan_json_has_no_negative_zero(capsys):
    code, out, err = run(capsys, "plan", str(SCENARIO), "--json")
    assert code == 0, err
    assert "-0.0" not in out and "-0," not in out


def test_print_json_writes_negative_zero_as_zero(capsys):
    from computeplan.cli.options import print_json

    print_json({"a": -0.0, "b": [-0.0, 1.5, {"c": -0.0}], "d": (-0.0,)})
    out = capsys.readouterr().out
    assert "-0" not in out and json.loads(out) == {"a": 0.0, "b": [0.0, 1.5, {"c": 0.0}], "d": [0.0]}


@pytest.mark.parametrize("traffic", ["1e18tok/day", "999.9e15tok/day"])
def test_huge_traffic_is_printed_without_a_format_glitch(capsys, traffic):
    code, out, err = run(capsys, *SERVE, "--chip", "h100-sxm", "--traffic", traffic)
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("traffic:"))
    assert line == "traffic: 1e+18 output tokens/day"


def test_no_bare_seconds_per_hour_in_the_cli_and_report():
    for folder in ("cli", "report"):
        for path in (REPO / "src" / "computeplan" / folder).glob("*.py"):
            assert not re.search(r"[*/]\s*3600\b", path.read_text()), f"{path.name}: use units.SECONDS_PER_HOUR"


# --- the train table's layout text is a valid --layout ---


def test_the_printed_layout_round_trips_through_layout(capsys):
    args = ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--global-batch-tokens", "4M"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("1 "))
    words = row.split()[1:]  # after '#': the layout words, then the step time and the other figures
    first_number = next(i for i, w in enumerate(words) if w.replace(".", "", 1).isdigit())
    layout = " ".join(words[:first_number])
    _, searched, _ = run(capsys, *args, "--json")
    _, given, err = run(capsys, *args, "--layout", layout, "--json")
    assert given, f"--layout {layout!r} refused: {err}"
    best, again = json.loads(searched)["results"][0], json.loads(given)["results"][0]
    assert again["layout"] == best["layout"]
    assert again["step_time_s"] == pytest.approx(best["step_time_s"], rel=1e-12)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["validate", ""], "FILE.csv"),
        (["calibrate", " "], "FILE.csv"),
        (["plan", ""], "SCENARIO.yaml"),
        (["plan", str(SCENARIO), "--report", ""], "--report"),
        (["calibrate", str(REPO / "examples" / "runs-training.csv"), "--out", ""], "--out"),
        (["goodput", "--chips", "8", "--plot", ""], "--plot"),
    ],
)
def test_an_empty_file_argument_is_refused_not_ignored(capsys, args, named):
    err = _one_line_error(*run(capsys, *args))
    assert err == f"error: {named}: empty path; give a file name\n"
