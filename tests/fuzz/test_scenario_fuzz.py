"""Fuzz scenario files: scenarios/cloud-commitment-100b-5gw.yaml with one leaf changed at a time (deleted, negative,
zero, huge, non-finite, null, text, list <-> scalar, an unknown key). Loading must raise ScenarioError or give a
Scenario; a full solve (a few seconds each, so fewer examples) must raise a ComputeplanError or give a plan whose
numbers are all finite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, event, given

import computeplan
from computeplan.errors import ComputeplanError, ScenarioError
from computeplan.fleet.scenario import load_scenario
from tests.fuzz.harness import finite, numbers, shown
from tests.fuzz.strategies import examples, leaf_paths, mutated, mutations_of

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "cloud-commitment-100b-5gw.yaml"
DATA = yaml.safe_load(SCENARIO.read_text())
PATHS = leaf_paths(DATA)
# The leaves that change a solve's numbers (not the free-text 'about' notes), for the expensive test.
NUMERIC_PATHS = [p for p in PATHS if "about" not in p and p[0] not in ("name", "description")]


def write(tmp: Path, data: Any) -> Path:
    """``data`` as a scenario file; YAML writes inf/nan as .inf/.nan and a 400-digit int in full."""
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def load(path: Path) -> Any:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        assert "\n" not in str(exc).strip(), f"a scenario error is one line: {exc}"
        return None


@examples(200)
@given(mutations_of(DATA, PATHS))
def test_load_refuses_or_accepts_every_one_leaf_change(tmp_path_factory, mutation):
    where, how, data = mutation
    scenario = load(write(tmp_path_factory.mktemp("s"), data))
    event("loaded" if scenario is not None else "refused")
    if scenario is None:
        return
    # what was accepted is finite where the plan computes with it
    for path, value in numbers(scenario.model_dump(mode="python")):
        assert finite(value), f"{'.'.join(map(str, where))} -> {how}: accepted {path} = {shown(value)}"


@examples(10)
@given(mutations_of(DATA, NUMERIC_PATHS))
def test_a_solve_errs_or_is_finite(tmp_path_factory, mutation):
    where, how, data = mutation
    path = write(tmp_path_factory.mktemp("s"), data)
    assume(load(path) is not None)  # loading is cheap: spend the solves on scenarios that load
    try:
        result = computeplan.plan(path)
    except ComputeplanError as exc:
        event("refused at solve")
        assert "\n" not in str(exc).strip()
        return
    event("solved")
    data_out = result.to_dict()
    json.dumps(data_out, allow_nan=False, default=str)  # finite, or a bug in the plan's output
    for key, value in numbers(data_out):
        assert finite(value), f"{'.'.join(map(str, where))} -> {how}: {key} = {shown(value)}"


def test_the_scenario_itself_solves():
    result = computeplan.plan(SCENARIO)
    json.dumps(result.to_dict(), allow_nan=False, default=str)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("inference", 0, "input_len"), 10**400),  # was accepted (an int of 1329 bits)
        (("chips", 0, "supply_per_year"), 1e300),  # overflowed in the solve
        (("chips", 0, "lifetime_years"), float("inf")),
        (("training", 0, "run_flop", "growth"), 1e300),
        (("chips", 1, "price_usd_per_hour"), 1e-300),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else None,
)
def test_found_edits_are_refused_or_finite(tmp_path, path, value):
    """Edits the fuzzer found (or that sit next to them), kept as plain regression cases."""
    scenario = write(tmp_path, mutated(DATA, path, lambda _: value))
    if load(scenario) is None:
        return
    data_out = computeplan.plan(scenario).to_dict()
    json.dumps(data_out, allow_nan=False, default=str)
    assert all(finite(v) for _, v in numbers(data_out))
