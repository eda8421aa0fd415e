"""Terminal tables stay readable at 100 columns: no id cut short ("h10…"), no layout cut, no number wrapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from computeplan.catalog import load_catalog
from computeplan.report import console
from computeplan.report.training_tables import short_layout
from tests.cli.test_cli import run

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--tokens", "1T", "--top", "3"]


@pytest.fixture
def columns_100(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")


def _check_width(out: str, width: int = 100) -> None:
    assert "…" not in out, "a cell was cut short"
    for line in out.splitlines():
        assert len(line.rstrip()) <= width, f"{len(line.rstrip())} columns: {line}"


@pytest.mark.parametrize("command", ["chips", "systems", "models", "facts"])
def test_catalog_tables_show_every_id_whole(capsys, columns_100, command):
    code, out, _ = run(capsys, command)
    assert code == 0
    _check_width(out)
    catalog = load_catalog()
    ids = {"chips": catalog.chips, "systems": catalog.systems, "models": catalog.models, "facts": catalog.facts}
    words = {word for line in out.splitlines() for word in line.split()}
    for entry_id in ids[command]:
        assert entry_id in words, f"{entry_id} not shown whole"


def test_chips_table_keeps_the_numbers_whole(capsys, columns_100):
    _, out, _ = run(capsys, "chips")
    trn4 = next(line for line in out.splitlines() if line.startswith("trn4 "))
    assert "15,102†" in trn4 and "19.60†" in trn4 and "announced" in trn4


def test_train_table_shows_every_layout_whole(capsys, columns_100):
    code, out, _ = run(capsys, *TRAIN)
    assert code == 0
    _check_width(out)
    _, raw, _ = run(capsys, *TRAIN, "--json")
    layouts = [short_layout(r["layout"]) for r in json.loads(raw)["results"]]
    assert len(layouts) == 3
    lines = out.splitlines()
    for rank, layout in enumerate(layouts, start=1):
        assert any(line.startswith(f"{rank} {layout} ") for line in lines), f"layout {rank} '{layout}' not whole"


def test_a_long_given_layout_fits(capsys, columns_100):
    layout = "tp=8,pp=8,vpp=2,mb=2,sp=1,recompute=selective,zero=1"
    code, out, err = run(
        capsys, "train", "--model", "llama3-70b", "--chip", "h100-sxm", "--chips", "512", "--layout", layout
    )
    assert code == 0, err
    _check_width(out)
    assert "tp=8 pp=8 dp=8 vpp=2 mb=2 recompute=selective sp zero=1" in out


def test_serve_table_fits(capsys, columns_100):
    chips = "h100-sxm,h200-sxm,b200,trn2,a100-sxm-40gb,tpu-v5e"
    code, out, _ = run(capsys, "serve", "--model", "llama3-70b", "--compare", chips, "--traffic", "1e9tok/day")
    assert code == 0
    _check_width(out)
    for chip in chips.split(","):
        assert any(line.split()[:1] == [chip] for line in out.splitlines()), chip


def test_short_layout_names_only_what_is_not_default():
    full = {"tp": 8, "pp": 16, "dp": 1, "cp": 1, "ep": 1, "vpp": 2, "mb": 1, "recompute": 0, "sp": 1, "zero": 1}
    assert short_layout({**full, "hsdp": 0, "fp8": 0}) == "tp=8 pp=16 vpp=2 sp zero=1"
    assert short_layout({"tp": 1, "recompute": 2, "fp8": 1, "hsdp": 1, "zero": 3}) == "recompute=full zero=3 hsdp fp8"
    assert short_layout({}) == "one chip, no options"


@pytest.mark.parametrize(
    ("value", "width"), [("100", 100), ("10", 40), ("abc", 200), ("", 200), ("٣", 200), ("1" + "0" * 400, 10_000)]
)
def test_console_width_follows_columns(monkeypatch, value, width):
    monkeypatch.setenv("COLUMNS", value)
    assert console().width == width  # piped (pytest captures): 200 unless $COLUMNS says otherwise


@pytest.mark.parametrize(
    "args",
    [
        ["show", "chip", "trn4"],
        ["show", "model", "deepseek-v3"],
        ["goodput", "--chips", "16384"],
        ["validate", str(REPO / "tests" / "golden" / "data" / "calibration-training.csv")],
        ["validate", str(REPO / "tests" / "golden" / "data" / "calibration-inference.csv")],
    ],
    ids=lambda a: " ".join(Path(x).name for x in a[:2]),
)
def test_other_tables_fit(capsys, columns_100, args):
    code, out, err = run(capsys, *args)
    assert code == 0, err
    _check_width(out)


def test_plan_tables_fit(capsys, columns_100):
    """report/plan_report.py still draws its year-by-year table with frames: its numbers are cut at 100 columns
    ("6.15e+…"); report.table() and report.fit_columns() are the helpers the other tables use."""
    code, out, err = run(capsys, "plan", str(REPO / "scenarios" / "cloud-commitment-100b-5gw.yaml"))
    assert code == 0, err
    _check_width(out)
