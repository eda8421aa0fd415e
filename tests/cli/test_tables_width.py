"""Terminal tables stay readable at 100 columns: no id cut short ("h10…"), no layout cut, no number wrapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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
    """The year-by-year table drops optional columns, then folds chip options, rather than cut a number."""
    code, out, err = run(capsys, "plan", str(REPO / "scenarios" / "cloud-commitment-100b-5gw.yaml"))
    assert code == 0, err
    _check_width(out)


SCENARIO = REPO / "scenarios" / "cloud-commitment-100b-5gw.yaml"
MORE_CHIPS = [("h100-sxm", 2.0), ("h200-sxm", 3.0), ("b200", 5.0), ("gb200", 6.0), ("tpu-v6e", 2.5), ("mi300x", 2.2)]


def _nine_options(tmp_path: Path) -> Path:
    """The cloud-commitment scenario with six more rented chips (2026-2030, 200k a year): nine options."""
    data = yaml.safe_load(SCENARIO.read_text())
    for chip, price in MORE_CHIPS:
        data["chips"].append(
            {
                "chip": chip,
                "mode": "rent",
                "first_year": 2026,
                "last_year": 2030,
                "supply_per_year": "200k",
                "lifetime_years": 4,
                "price_usd_per_hour": f"{price} USD/h",
                "committed_discount": 0.3,
            }
        )
    path = tmp_path / "nine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _thousand_identical_options(tmp_path: Path) -> Path:
    data = yaml.safe_load(SCENARIO.read_text())
    trn4 = {k: v for k, v in next(c for c in data["chips"] if c["chip"] == "trn4").items() if k != "contract"}
    data["chips"] = [trn4] * 1000  # trn4, 1,000 times
    data["contracts"] = []
    data["money"].update(commitment_usd="$50B", budget_total_usd="$50B")
    path = tmp_path / "thousand.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _year_rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Year by year")))
    return [line.split() for line in lines[start:] if line[:4].isdigit()]


def _plan(capsys, path: Path) -> tuple[str, dict]:
    code, out, err = run(capsys, "plan", str(path))
    assert code == 0, err
    _, raw, _ = run(capsys, "plan", str(path), "--json")
    return out, json.loads(raw)


def test_a_plan_with_nine_options_keeps_every_number_whole(capsys, columns_100, tmp_path):
    out, data = _plan(capsys, _nine_options(tmp_path))
    _check_width(out)
    rows = _year_rows(out)
    periods = [str(p["period"]) for p in data["periods"]]
    assert [r[0] for r in rows] == periods  # every period whole, in order
    # the option with the most chip-years keeps its own column: each of its counts is printed whole
    totals: dict[str, float] = {}
    for p in data["periods"]:
        for option, n in p["chips"].items():
            totals[option] = totals.get(option, 0.0) + n
    top = max(totals, key=lambda o: totals[o])
    for row, p in zip(rows, data["periods"], strict=True):
        assert f"{p['chips'][top]:,.0f}" in row
        assert f"{p['spend_usd'] / 1e9:.1f}" in row
    assert "other options" in out and "--json has each" in out


def test_a_plan_with_a_thousand_identical_options_still_shows_its_table(capsys, columns_100, tmp_path):
    out, data = _plan(capsys, _thousand_identical_options(tmp_path))
    _check_width(out)
    rows = _year_rows(out)
    assert [r[0] for r in rows] == [str(p["period"]) for p in data["periods"]]
    for row, p in zip(rows, data["periods"], strict=True):
        assert f"{p['spend_usd'] / 1e9:.1f}" in row  # the table is not blank
    assert "options with the fewest chip-years summed" in out


def test_the_html_report_of_many_options_folds_them(capsys, tmp_path):
    report = tmp_path / "r.html"
    code, _, err = run(capsys, "plan", str(_thousand_identical_options(tmp_path)), "--report", str(report))
    assert code == 0, err
    page = report.read_text()
    assert "other options" in page and page.count("<th>") < 60


def test_a_long_csv_id_wraps_and_the_chip_stays_whole(capsys, columns_100, tmp_path):
    rows = (REPO / "examples" / "runs-training.csv").read_text().splitlines()
    long_id = "run-" + "x" * 80 + "-end"
    rows[1] = long_id + "," + rows[1].split(",", 1)[1]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0, err
    _check_width(out)
    chip = rows[1].split(",")[16]
    assert chip == "a100-sxm-80gb" and chip in out.split()
    # the id wraps over as many lines as the narrowed column needs (the leave-one-source-out columns take room)
    assert long_id in "".join(line.split()[0] for line in out.splitlines() if line.startswith(("run-", "x", "-end")))
