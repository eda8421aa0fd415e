"""Scenario files: validation with field paths, overrides, and the flagship scenario end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from computeplan.errors import ScenarioError
from computeplan.fleet.inputs import check_ids
from computeplan.fleet.scenario import Scenario, load_scenario, override_scenario, scenario_warnings
from tests.cli.test_cli import run

FLAGSHIP = Path(__file__).parents[2] / "scenarios" / "cloud-commitment-100b-5gw.yaml"
# yearly budgets, a total budget and a hard commitment together: the validation and override tests run on it
CEILINGS = Path(__file__).parent / "data" / "budget-ceilings.yaml"


def test_flagship_scenario_validates():
    sc = load_scenario(FLAGSHIP)
    (aws,) = sc.contracts
    assert aws.commitment_usd == 100e9 and aws.take_or_pay and aws.capacity_w is not None
    assert aws.capacity_w[-1] == 5e9 and sc.money.budget_total_usd is None  # a floor, not ceilings
    assert {c.chip for c in sc.chips} == {"trn2", "trn3", "trn4"}
    installed = [c for c in sc.chips if c.installed is not None]
    assert len(installed) == 1 and installed[0].installed.chips == 500e3  # type: ignore[union-attr]
    assert scenario_warnings(sc) == []


def test_unknown_key_names_the_path_and_suggests(tmp_path):
    text = FLAGSHIP.read_text().replace("  pue: 1.15", "  peu: 1.15")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"power.peu: unknown field \(did you mean 'pue'\?\)"):
        load_scenario(tmp_path / "s.yaml")


def test_wrong_unit_is_an_error(tmp_path):
    text = CEILINGS.read_text().replace("[1 GW, 3 GW", "[1 GB, 3 GW")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"power.available_w.0: .*not a unit of W"):
        load_scenario(tmp_path / "s.yaml")


def test_set_overrides_any_field():
    sc = load_scenario(CEILINGS, {"money.discount_rate": "0.12", "chips.2.supply_per_year": "3M"})
    assert sc.money.discount_rate == 0.12 and sc.chips[2].supply_per_year == 3e6
    with pytest.raises(ScenarioError, match=r"override money\.nope\.x: no field 'money\.nope'"):
        load_scenario(CEILINGS, {"money.nope.x": "1"})


def test_plan_json_has_the_documented_fields(capsys, tmp_path):
    report = tmp_path / "plan.html"
    code, out, err = run(capsys, "plan", str(FLAGSHIP), "--json", "--report", str(report))
    assert code == 0, err
    data = json.loads(out)
    period = data["periods"][0]
    for key in ("chips", "power_w", "spend_usd", "training_flop", "tokens_served", "fill_cost_usd", "value_usd"):
        assert key in period
    assert data["binding_constraints"] and {"shadow_price", "unit"} <= set(data["binding_constraints"][0])
    for key in ("npv_usd", "value_pv_usd", "cost_pv_usd", "unspent_commitment_usd", "peak_chips", "usd_per_w_year"):
        assert key in data["totals"]
    (aws,) = data["contracts"]
    assert aws["spent_usd"] >= 100e9 * (1 - 1e-9)  # the floor holds (take-or-pay: met or paid)
    assert max(p["power_w"] for p in data["periods"]) <= 6e9 * (1 + 1e-9)
    assert {r["verdict"] for r in data["cost_plus"]} == {"within"}  # the scenario's rents are cost plus 35%
    assert report.read_text().count('<svg class="chart"') == 5


def test_plan_set_and_errors_on_the_cli(capsys):
    caps = "[" + ", ".join(["0.1 GW"] * 10) + "]"
    code, _, err = run(capsys, "plan", str(CEILINGS), "--set", f"power.available_w={caps}")
    assert code == 2 and err.count("\n") == 1
    assert "commitment: $100.0B cannot be spent; at most $" in err and "raise power.available_w" in err
    code, _, err = run(capsys, "plan", "nope.yaml")
    assert code == 2 and err.startswith("error: nope.yaml: scenario file does not exist")


# --- validation rules ------------------------------------------------------------------------------------------


def _error(overrides: dict[str, str]) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(CEILINGS, overrides)
    message = str(info.value)
    assert "--" not in message, "library messages never name command-line flags"
    return message


def test_tpot_zero_is_an_error_and_null_means_no_target():
    message = _error({"inference.0.tpot_ms": "0"})
    assert message.startswith(f"{CEILINGS}: inference.0.tpot_ms: must be > 0 ms, got 0 (null means no latency target)")
    assert "(from override inference.0.tpot_ms=0)" in message
    assert load_scenario(CEILINGS, {"inference.0.tpot_ms": "null"}).inference[0].tpot_ms is None


def test_a_lifetime_shorter_than_one_period_is_an_error_naming_the_minimum():
    message = _error({"chips.0.lifetime_years": "0.4"})
    assert "chips.0.lifetime_years: 0.4 years is shorter than one period; the minimum is 1 year" in message
    quarterly = load_scenario(CEILINGS, {"periods_per_year": "4", "chips.0.lifetime_years": "0.25"})
    assert quarterly.chips[0].lifetime_years == 0.25
    assert "the minimum is 0.25 years" in _error({"periods_per_year": "4", "chips.0.lifetime_years": "0.2"})


def test_a_lifetime_between_periods_is_rounded_with_a_warning():
    sc = load_scenario(CEILINGS, {"chips.0.lifetime_years": "2.5"})
    assert "chips.0.lifetime_years: 2.5 years is not a whole number of periods; the plan keeps each chip 3 years" in (
        scenario_warnings(sc)
    )


def test_duplicate_yaml_key_in_a_scenario_is_an_error(tmp_path):
    text = CEILINGS.read_text().replace("years: 10\n", "years: 10\nyears: 5\n")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"s\.yaml:\d+: invalid YAML: duplicate key 'years' \(first on line \d+\)"):
        load_scenario(tmp_path / "s.yaml")


def test_a_misspelt_model_or_chip_id_fails_with_a_suggestion(builtin):
    sc = load_scenario(CEILINGS, {"inference.0.model": "llama3-70"})
    with pytest.raises(
        ScenarioError, match=r"inference\.0\.model: unknown model 'llama3-70': did you mean 'llama3-70b'"
    ):
        check_ids(sc, builtin)
    sc = load_scenario(CEILINGS, {"chips.1.chip": "trn33"})
    with pytest.raises(ScenarioError, match=r"chips\.1\.chip: unknown chip 'trn33': did you mean 'trn3'"):
        check_ids(sc, builtin)


def test_a_workload_chips_list_must_name_an_option():
    assert "training.0.chips: trn33 is not one of the scenario's chip options (did you mean 'trn3'?)" in _error(
        {"training.0.chips": "trn33"}
    )
    assert "an empty list allows no chip" in _error({"training.0.chips": "[]"})
    sc = load_scenario(CEILINGS, {"training.0.chips": "[trn3, h100-sxm]"})
    assert sc.training[0].chips == ["trn3", "h100-sxm"]
    assert "training.0.chips: h100-sxm not among the scenario's chip options; ignored" in scenario_warnings(sc)


def test_numbers_must_be_finite_and_not_negative():
    assert "money.discount_rate: Input should be a finite number" in _error({"money.discount_rate": ".nan"})
    assert "training.0.value_usd_per_flop: Input should be a finite number" in _error(
        {"training.0.value_usd_per_flop": ".inf"}
    )
    assert "power.available_w.2: inf is not a finite number" in _error({"power.available_w.2": ".inf"})
    assert "power.available_w.2: cannot read 'inf GW' as a quantity in W" in _error({"power.available_w.2": "inf GW"})
    assert "chips.0.supply_per_year: Input should be greater than or equal to 0" in _error(
        {"chips.0.supply_per_year": "-1"}
    )
    assert "inference.0.output_len: Input should be greater than 0" in _error({"inference.0.output_len": "0"})


def test_a_scalar_for_a_per_year_list_means_every_year():
    sc = load_scenario(CEILINGS, {"power.available_w": "5GW", "money.budget_per_year_usd": "$10B"})
    assert sc.power.available_w == [5e9] * 10
    assert sc.money.budget_per_year_usd == [10e9] * 10
    longer = load_scenario(CEILINGS, {"power.available_w": "2 GW", "years": "12", "money.budget_per_year_usd": "$9B"})
    assert longer.power.available_w == [2e9] * 12 and longer.years == 12
    values = load_scenario(CEILINGS, {"inference.0.tokens_per_day.values": "1e12"})
    assert values.inference[0].tokens_per_day.values == [1e12] * 10 and values.inference[0].tokens_per_day.first is None


def test_malformed_overrides_say_what_is_expected():
    assert "expected a YAML value such as 0.12, 5 GW, [1 GW, 3 GW]" in _error({"power.available_w": "[1 GW"})
    assert "override chips.5.supply_per_year: index 5 is out of range: chips has 3 entries (0-2)" in _error(
        {"chips.5.supply_per_year": "1M"}
    )
    assert "override chips.x.chip: chips is a list; give an index, it has 3 entries (0-2)" in _error(
        {"chips.x.chip": "trn2"}
    )
    assert "override power.available_w: expected one value for every year or a list, got a mapping" in _error(
        {"power.available_w": "{a: 1}"}
    )
    assert "expected a dotted field path" in _error({"power..pue": "1.2"})
    assert "override mony.x: no field 'mony' in the scenario (did you mean 'money'?)" in _error({"mony.x": "1"})


def test_list_lengths_must_cover_the_years():
    assert "power.available_w: has 10 entries for 12 years (2026-2037)" in _error({"years": "12"})
    sc = load_scenario(CEILINGS, {"years": "5", "money.commitment_usd": "0", "money.budget_total_usd": "null"})
    warnings = scenario_warnings(sc)
    assert "power.available_w: 10 entries for 5 years; entries after 2030 are ignored" in warnings
    assert any(w.startswith("money.budget_per_year_usd: 10 entries for 5 years") for w in warnings)


def test_money_contradictions_are_errors_and_redundancies_warnings():
    assert (
        "money.commitment_usd: $200B is above money.budget_total_usd ($100B): the commitment can never be met"
        in _error({"money.commitment_usd": "$200B"})
    )
    message = _error({"money.budget_per_year_usd": "$5B"})
    assert "money.commitment_usd: $100B is above the sum of money.budget_per_year_usd over 10 years ($50B)" in message
    assert "(from override money.budget_per_year_usd=$5B)" in message
    sc = load_scenario(CEILINGS, {"money.budget_total_usd": "$150B"})
    assert (
        "money.budget_total_usd: $150B is above the sum of money.budget_per_year_usd ($100B); the total never binds"
        in scenario_warnings(sc)
    )
    assert scenario_warnings(load_scenario(CEILINGS)) == []


def test_chip_windows_outside_the_years_warn_and_none_usable_is_an_error():
    sc = load_scenario(CEILINGS, {"years": "1", "money.commitment_usd": "0", "money.budget_total_usd": "null"})
    assert (
        "chips.2: trn4 can be added only in 2027-2035, outside the scenario's years 2026-2026; the plan never uses it"
        in scenario_warnings(sc)
    )
    everything_late = {f"chips.{i}.first_year": "2040" for i in range(3)} | {
        f"chips.{i}.last_year": "2041" for i in range(3)
    }
    assert "chips: no chip option can be added in any year of 2026-2035" in _error(everything_late)


def test_nothing_to_plan_is_an_error_before_solving():
    zero = "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    message = _error({"training.0.run_flop.values": zero, "inference.0.tokens_per_day.values": zero})
    assert "training.0.run_flop, inference.0.tokens_per_day: nothing to plan: every workload's demand is 0" in message
    message = _error({"training.0.value_usd_per_flop": "0", "inference.0.value_usd_per_million_tokens": "0"})
    assert "nothing to maximise: every workload's value is 0 (give a value, or use objective min_cost)" in message
    assert "power.available_w: is 0 in every year and no power can be built in time" in _error(
        {"power.available_w": "0 W"}
    )


def test_a_demand_gives_first_and_growth_or_values():
    sc = load_scenario(CEILINGS)
    data = sc.model_dump()
    data["training"][0]["run_flop"]["values"] = [1e26] * 10
    with pytest.raises(ValueError, match="give 'first' \\(with 'growth'\\) or 'values', not both"):
        Scenario.model_validate(data)


def test_overrides_are_kept_on_the_scenario():
    sc = load_scenario(CEILINGS, {"money.discount_rate": "0.12"})
    assert sc.overrides == (("money.discount_rate", "0.12"),)
    again = override_scenario(sc, {"chips.2.supply_per_year": "3M"})
    assert again.overrides == (("money.discount_rate", "0.12"), ("chips.2.supply_per_year", "3M"))
    assert load_scenario(CEILINGS).overrides == ()


def test_numbers_have_generous_upper_bounds_so_typos_do_not_overflow():
    assert "chips.0.supply_per_year: Input should be less than or equal to 1e+12" in _error(
        {"chips.0.supply_per_year": "1e300"}
    )
    assert "inference.0.input_len: Input should be less than or equal to 1e+08" in _error(
        {"inference.0.input_len": str(10**400)}
    )
