"""Scenario files: validation with field paths, overrides, and the flagship scenario end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from computeplan.errors import ScenarioError
from computeplan.fleet.scenario import load_scenario
from tests.cli.test_cli import run

FLAGSHIP = Path(__file__).parents[2] / "scenarios" / "cloud-commitment-100b-5gw.yaml"


def test_flagship_scenario_validates():
    sc = load_scenario(FLAGSHIP)
    assert sc.money.commitment_usd == 100e9 and sc.power.available_w[-1] == 5e9
    assert {c.chip for c in sc.chips} == {"trn2", "trn3", "trn4"}


def test_unknown_key_names_the_path_and_suggests(tmp_path):
    text = FLAGSHIP.read_text().replace("  pue: 1.15", "  peu: 1.15")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"power.peu: unknown field \(did you mean 'pue'\?\)"):
        load_scenario(tmp_path / "s.yaml")


def test_wrong_unit_is_an_error(tmp_path):
    text = FLAGSHIP.read_text().replace("[1 GW, 3 GW", "[1 GB, 3 GW")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"power.available_w.0: .*not a unit of W"):
        load_scenario(tmp_path / "s.yaml")


def test_set_overrides_any_field():
    sc = load_scenario(FLAGSHIP, {"money.discount_rate": "0.12", "chips.2.supply_per_year": "3M"})
    assert sc.money.discount_rate == 0.12 and sc.chips[2].supply_per_year == 3e6
    with pytest.raises(ScenarioError, match=r"override money\.nope\.x: no field 'money\.nope'"):
        load_scenario(FLAGSHIP, {"money.nope.x": "1"})


def test_plan_json_has_the_documented_fields(capsys, tmp_path):
    report = tmp_path / "plan.html"
    code, out, err = run(capsys, "plan", str(FLAGSHIP), "--json", "--report", str(report))
    assert code == 0, err
    data = json.loads(out)
    period = data["periods"][0]
    for key in ("chips", "power_w", "spend_usd", "training_flop", "tokens_served"):
        assert key in period
    assert data["binding_constraints"] and "shadow_price_usd_billion" in data["binding_constraints"][0]
    assert sum(p["spend_usd"] for p in data["periods"]) == pytest.approx(100e9, rel=1e-6)
    assert max(p["power_w"] for p in data["periods"]) <= 5e9 * (1 + 1e-9)
    assert report.read_text().count('<svg class="chart"') == 5


def test_plan_set_and_errors_on_the_cli(capsys):
    caps = "[" + ", ".join(["0.1 GW"] * 10) + "]"
    code, _, err = run(capsys, "plan", str(FLAGSHIP), "--set", f"power.available_w={caps}")
    assert code == 2 and err.count("\n") == 1
    assert "commitment: $100.0B cannot be spent; at most $" in err and "raise power.available_w" in err
    code, _, err = run(capsys, "plan", "nope.yaml")
    assert code == 2 and err.startswith("error: nope.yaml: scenario file does not exist")
