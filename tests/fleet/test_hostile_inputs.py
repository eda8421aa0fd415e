"""Regressions from the hostile-user review (issue 14): one PUE default for train and plan, overrides and YAML that
cannot be read as something else (empty text, yes/no as a number), clean JSON, and results that stay as solved."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import computeplan
from computeplan.catalog.loader import load_catalog
from computeplan.economics import DEFAULT_PUE, PUE_FACT_ID
from computeplan.errors import CatalogError, ComputeplanError, ScenarioError
from computeplan.estimate.facts import default_pue
from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.results import PlanResult, summarize
from computeplan.fleet.scenario import load_scenario, override_scenario
from computeplan.report.plan_report import plan_html
from tests.fleet.helpers import inputs, scenario

FLAGSHIP = Path(__file__).parents[2] / "scenarios" / "cloud-commitment-100b-5gw.yaml"


def _pue_fact(value: float) -> dict[str, object]:
    return {
        "facts": [
            {
                "id": PUE_FACT_ID,
                "name": "PUE of a hyperscale AI campus",
                "dimension": "ratio",
                "value": value,
                "low": value,
                "high": value,
                "source": "test",
                "date": "2025",
                "confidence": "estimate",
            }
        ]
    }


@pytest.fixture(scope="module")
def flagship_plan() -> PlanResult:
    return computeplan.plan(FLAGSHIP)


def _without_pue(tmp_path: Path) -> Path:
    text = FLAGSHIP.read_text()
    assert "  pue: 1.15" in text
    path = tmp_path / "no-pue.yaml"
    path.write_text(text.replace("  pue: 1.15", ""))
    return path


# --- 1. one PUE default -----------------------------------------------------------------------------------------


def test_a_scenario_without_pue_uses_the_catalogs_default_as_train_does(tmp_path, write_catalog):
    catalog = load_catalog([write_catalog(_pue_fact(1.5))])
    path = _without_pue(tmp_path)
    assert load_scenario(path).power.pue is None
    result = computeplan.plan(path, catalog=catalog)
    trained = computeplan.train("llama3-8b", "h100-sxm", 64, catalog=catalog)
    assert result.pue == trained.job.pue == 1.5
    assert result.scenario.power.pue == 1.5  # the scenario as planned: what the report's assumptions show
    assert result.to_dict()["pue"] == 1.5
    p = result.periods
    chip_w = (result.fleet["power_w"] / 1.5).groupby(level="period", sort=False).sum()
    assert np.allclose(p["power_w"], chip_w.loc[p.index] * 1.5)
    assert "PUE 1.5;" in plan_html(result, catalog)


def test_the_scenarios_own_pue_wins_over_the_catalogs(write_catalog):
    catalog = load_catalog([write_catalog(_pue_fact(1.5))])
    result = computeplan.plan(FLAGSHIP, overrides={"power.pue": "1.3"}, catalog=catalog)
    assert result.pue == 1.3 and result.scenario.power.pue == 1.3


def test_without_the_catalog_fact_the_plan_uses_the_constant_and_an_implausible_fact_is_an_error(tmp_path, builtin):
    path = _without_pue(tmp_path)
    facts = {k: v for k, v in builtin.facts.items() if k != PUE_FACT_ID}
    assert computeplan.plan(path, catalog=replace(builtin, facts=facts)).pue == DEFAULT_PUE
    odd = builtin.fact(PUE_FACT_ID).model_copy(update={"value": 7.0})
    with pytest.raises(CatalogError, match=r"pue-hyperscale.*a PUE must be between 1 and 3, got 7"):
        computeplan.plan(path, catalog=replace(builtin, facts={**facts, PUE_FACT_ID: odd}))
    assert computeplan.plan(path, catalog=builtin).pue == default_pue(builtin) == builtin.fact(PUE_FACT_ID).value


def test_the_lp_prices_power_and_energy_with_the_resolved_pue():
    sc = scenario(**{"power.pue": None})
    assert sc.power.pue is None
    inp = replace(inputs(sc), pue=1.5)
    result = summarize(sc, inp, build_and_solve(sc, inp))
    fleet = result.fleet
    assert np.allclose(fleet["power_w"], fleet["chips_in_service"] * 1000.0 * 1.5)
    assert result.scenario.power.pue == 1.5 and result.pue == 1.5


# --- 2. overrides and YAML types --------------------------------------------------------------------------------


def test_an_empty_override_is_refused_and_null_removes_explicitly():
    with pytest.raises(ScenarioError, match=r"override inference\.0\.tpot_ms: no value given; give a value"):
        load_scenario(FLAGSHIP, {"inference.0.tpot_ms": ""})
    with pytest.raises(ScenarioError, match="no value given"):
        load_scenario(FLAGSHIP, {"inference.0.tpot_ms": "   "})
    assert load_scenario(FLAGSHIP, {"inference.0.tpot_ms": "null"}).inference[0].tpot_ms is None
    with pytest.raises(ScenarioError, match=r"tpot_ms: must be > 0 ms"):
        load_scenario(FLAGSHIP, {"inference.0.tpot_ms": "0"})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("years", "true"),
        ("start_year", "false"),
        ("periods_per_year", "true"),
        ("availability", "true"),
        ("chips.0.lifetime_years", "true"),
        ("chips.0.training_cluster_chips", "true"),
        ("money.discount_rate", "false"),
        ("power.pue", "true"),
        ("inference.0.tpot_ms", "true"),
        ("training.0.seq_len", "true"),
    ],
)
def test_a_yes_no_is_not_read_as_a_number(path, value):
    with pytest.raises(ScenarioError, match=re.escape(f"{path}: expected a number, got {value} (a yes/no)")):
        load_scenario(FLAGSHIP, {path: value})


def test_years_true_in_a_file_is_an_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(FLAGSHIP.read_text().replace("years: 10", "years: true", 1))
    assert "years: true" in path.read_text()
    with pytest.raises(ScenarioError, match=r"years: expected a number, got true \(a yes/no\)"):
        load_scenario(path)


def test_a_yes_no_where_text_is_expected_keeps_pydantics_message():
    with pytest.raises(ScenarioError, match=r"name: Input should be a valid string"):
        load_scenario(FLAGSHIP, {"name": "true"})


# --- 3. JSON ----------------------------------------------------------------------------------------------------


def test_plan_json_has_no_negative_zero_nan_or_inf(flagship_plan):
    text = json.dumps(flagship_plan.to_dict(), allow_nan=False)
    assert "-0.0" not in text
    for name in ("fleet", "periods", "training", "serving", "binding", "rates"):
        numbers = getattr(flagship_plan, name).select_dtypes("number").to_numpy()
        assert not ((numbers == 0) & np.signbit(numbers)).any(), name


def test_unpriced_binding_limits_are_nan_in_the_frame_and_null_in_json():
    # yearly budgets that sum to a hard commitment: the budgets are at their limits, the commitment carries the price
    ceilings = computeplan.plan(Path(__file__).parent / "data" / "budget-ceilings.yaml")
    frame = ceilings.binding
    unpriced = frame["shadow_price"].isna()
    assert unpriced.any()
    rows = ceilings.to_dict()["binding_constraints"]
    assert [r["shadow_price"] is None for r in rows] == unpriced.tolist()  # type: ignore[index]


# --- 4. results stay as solved ----------------------------------------------------------------------------------


def test_to_frame_is_a_copy_and_the_inputs_are_read_only(flagship_plan):
    before = float(flagship_plan.fleet.iloc[0, 0])
    frame = flagship_plan.to_frame()
    frame.iloc[0, 0] = 1e99
    assert float(flagship_plan.fleet.iloc[0, 0]) == before
    inp = flagship_plan.inputs
    assert isinstance(inp.labels, tuple) and isinstance(inp.periods, tuple) and isinstance(inp.notes, tuple)
    with pytest.raises(ValueError, match="read-only"):
        inp.watts_per_chip[0] = 0.0
    assert isinstance(flagship_plan.warnings, tuple)
    layout = next(r.layout for r in inp.rates if r.layout is not None)
    with pytest.raises(TypeError):
        layout["tp"] = 2  # type: ignore[index]


def test_built_inputs_leave_the_callers_arrays_writable():
    sc = scenario()
    watts = np.full(1, 1000.0)
    inp = replace(inputs(sc), watts_per_chip=watts)
    watts[0] = 5.0  # the caller's array is still its own
    assert not inp.watts_per_chip.flags.writeable


def test_overriding_a_planned_scenario_keeps_its_overrides(flagship_plan):
    again = override_scenario(flagship_plan.scenario, {"money.discount_rate": "0.1"})
    assert again.overrides[-1] == ("money.discount_rate", "0.1")


def test_errors_are_computeplan_errors():
    assert issubclass(ScenarioError, ComputeplanError)


def test_every_rate_says_how_its_chip_is_calibrated(flagship_plan, builtin):
    from computeplan.report.plan_report import plan_html

    # Trainium has three public training runs from one publication: too few for a fit of its own; its serving
    # runs (Trainium2: Neuron SDK and optimum-neuron) are enough for a serving fit
    rates = flagship_plan.rates
    kinds = {str(workload).split()[0] for workload, _ in rates.index}
    assert kinds == {"train", "serve"}
    for (workload, option), calibration in rates["calibration"].items():
        if str(workload).startswith("train"):
            assert calibration == "uncalibrated"
        elif str(option).startswith("trn2"):
            assert calibration == "calibrated"
        else:  # later Trainiums: no serving runs of their own families
            assert calibration == "uncalibrated"
    assert {r["calibration"] for r in flagship_plan.to_dict()["rates"]} == {"uncalibrated", "calibrated"}  # type: ignore[index]
    html = plan_html(flagship_plan, builtin)
    assert "<th>chip calibration</th>" in html and "<td>uncalibrated</td>" in html and "<td>calibrated</td>" in html
