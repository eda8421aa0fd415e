"""Pricing a scenario for the LP: identical options are priced once, labels stay unique, and a thousand options
still assemble and solve (the timing is in benchmarks/fleet_lp.py, not asserted here)."""

from __future__ import annotations

import pytest

from computeplan.errors import InvalidLayout
from computeplan.estimate.efficiency import builtin_efficiency_tables
from computeplan.fleet import inputs as fleet_inputs
from computeplan.fleet.inputs import ServingRate, TrainingRate, build_inputs, unique_labels
from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.results import summarize
from computeplan.fleet.scenario import Scenario


def many_options(n: int, years: int = 3) -> Scenario:
    option = {
        "chip": "h100-sxm",
        "first_year": 2026,
        "last_year": 2026 + years - 1,
        "supply_per_year": 1000,
        "lifetime_years": 2,
        "price_usd_per_hour": 2.0,
    }
    return Scenario.model_validate(
        {
            "name": "many",
            "start_year": 2026,
            "years": years,
            "chips": [option] * n,
            "training": [{"model": "llama3-8b", "run_flop": {"first": 1e24, "growth": 2}}],
            "inference": [{"model": "llama3-8b", "tokens_per_day": {"first": 1e11, "growth": 2}}],
            "power": {"available_w": [1e9] * years},
        }
    )


@pytest.fixture
def counted(monkeypatch):
    calls = {"training": 0, "serving": 0}

    def training_rate(job, chip, cluster_chips, catalog, tables):
        calls["training"] += 1
        return TrainingRate(flop_per_chip_hour=1e18, mfu=0.4)

    def serving_rate(serve, chip, catalog, tables):
        calls["serving"] += 1
        return ServingRate(tokens_per_chip_hour=1e7, layout={"tp": 1})

    monkeypatch.setattr(fleet_inputs, "training_rate", training_rate)
    monkeypatch.setattr(fleet_inputs, "serving_rate", serving_rate)
    return calls


def test_a_thousand_identical_options_are_priced_once_and_solve(builtin, counted):
    sc = many_options(1000)
    inp = build_inputs(sc, builtin, builtin_efficiency_tables())
    assert counted == {"training": 1, "serving": 1}
    assert len(set(inp.labels)) == 1000 and inp.labels[0] == "h100-sxm (rent) #1"
    result = summarize(sc, inp, build_and_solve(sc, inp))
    assert result.fleet.shape[0] == 3 * 1000
    assert result.fleet.index.get_level_values("option").nunique() == 1000
    assert (result.periods["tokens_served"] > 0).all() and (result.periods["training_flop"] > 0).all()


def test_a_pricing_failure_is_noted_once(builtin, monkeypatch, counted):
    def cannot(job, chip, cluster_chips, catalog, tables):
        counted["training"] += 1
        raise InvalidLayout("does not fit")

    monkeypatch.setattr(fleet_inputs, "training_rate", cannot)
    inp = build_inputs(many_options(50), builtin, builtin_efficiency_tables())
    assert counted["training"] == 1
    assert inp.notes == ("h100-sxm cannot train llama3-8b on 16384 chips: does not fit",)
    assert (inp.train_flop_per_chip_hour == 0).all()


def test_unique_labels_number_only_repeats():
    assert unique_labels(["a", "b", "a"]) == ["a #1", "b", "a #2"]


def test_a_disaggregated_workload_is_priced_at_its_pools_rate():
    """inference[].disaggregated: separate prefill and decode pools, where they give more tokens per chip-hour than
    co-located replicas (llama3-70b on Trainium4 at TPOT 50 ms: the decode pool batches without prefills)."""
    from computeplan.catalog import load_catalog
    from computeplan.fleet.scenario import InferenceWorkload

    catalog, tables = load_catalog(), builtin_efficiency_tables()
    serve = InferenceWorkload(model="llama3-70b", tokens_per_day={"first": 1e9})
    co_located = fleet_inputs.serving_rate(serve, "trn4", catalog, tables)
    split = fleet_inputs.serving_rate(serve.model_copy(update={"disaggregated": True}), "trn4", catalog, tables)
    assert isinstance(co_located, ServingRate) and isinstance(split, ServingRate)
    assert split.tokens_per_chip_hour > 1.1 * co_located.tokens_per_chip_hour
    assert {"prefill", "decode", "prefill chips per decode chip"} <= set(split.layout)
