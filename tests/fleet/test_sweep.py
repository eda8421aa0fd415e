"""Monte Carlo over a plan: quantile functions against hand-computed values, Latin hypercube strata, the draws the
same on every backend for the same seed, a collapsed distribution reproducing the single plan, P10 <= P50 <= P90,
and an interrupted sweep resuming to the same Parquet as an uninterrupted one."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import computeplan
from computeplan.catalog import load_catalog
from computeplan.errors import ScenarioError
from computeplan.estimate.efficiency import builtin_efficiency_tables
from computeplan.estimate.uncertainty import Input, latin_hypercube, parse_numbers
from computeplan.fleet.compare import FIGURES, plan_figures
from computeplan.fleet.scenario import load_scenario
from tests.cli.test_cli import run
from tests.fleet.test_flagship_set import FLAGSHIP

SHORT = {"years": "3"}  # three years keep each draw's LP small; pricing is the same


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_quantile_functions_match_hand_computed_values():
    u = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    assert Input("x", "field", "uniform", (2.0, 4.0)).quantile(u).tolist() == pytest.approx([2, 2.2, 3, 3.8, 4])
    tri = Input("x", "field", "triangular", (0.0, 1.0, 2.0))  # symmetric: the median is the mode
    assert tri.quantile(np.array([0.5, 0.125])).tolist() == pytest.approx([1.0, 0.5])  # F(0.5) = 0.5^2 / 2
    logn = Input("x", "field", "lognormal", (1.0, 4.0))
    assert logn.quantile(np.array([0.1, 0.5, 0.9])).tolist() == pytest.approx([1.0, 2.0, 4.0], rel=1e-9)
    pick = Input("x", "field", "choice", (3.0, 1.0), values=(2027, 2028))
    assert pick.quantile(np.array([0.0, 0.74, 0.76, 1.0])).tolist() == [0, 0, 1, 1]
    assert pick.text(1.0) == 2028
    factor = Input("x", "factor", "piecewise", (0.8, 1.0, 1.3))
    assert factor.quantile(u).tolist() == pytest.approx([0.75, 0.8, 1.0, 1.3, 1.375])


def test_a_latin_hypercube_puts_one_draw_in_each_stratum_of_each_column():
    u = latin_hypercube(40, 3, seed=7)
    for column in u.T:
        assert sorted(np.floor(column * 40).astype(int).tolist()) == list(range(40))
    assert np.array_equal(u, latin_hypercube(40, 3, seed=7))  # seeded
    assert not np.array_equal(u, latin_hypercube(40, 3, seed=8))


def test_values_keep_their_units_and_mixed_prefixes_are_read_in_si():
    assert parse_numbers(["2.2 USD/h", "3.6 USD/h"]) == ([2.2, 3.6], ("", " USD/h"))
    assert parse_numbers(["$90B", "$110B"]) == ([90.0, 110.0], ("$", "B"))
    assert parse_numbers(["500k", "1M"]) == ([5e5, 1e6], ("", ""))
    field = Input("chips.0.price_usd_per_hour", "field", "uniform", (2.2, 3.6), frame=("", " USD/h"))
    assert field.text(2.5) == "2.5 USD/h"
    with pytest.raises(ValueError, match="same unit"):
        parse_numbers(["1 GW", "2 USD/h"])


def test_bad_distributions_and_paths_are_one_line_errors(catalog):
    with pytest.raises(ScenarioError, match=r"uncertain\.money\.discount_rate: .*exactly one of uniform"):
        load_scenario(FLAGSHIP, {"uncertain": "{money.discount_rate: {uniform: [0.05, 0.1], lognormal: [0.05, 0.1]}}"})
    with pytest.raises(ScenarioError, match="values must not decrease"):
        load_scenario(FLAGSHIP, {"uncertain": "{money.discount_rate: {uniform: [0.1, 0.05]}}"})
    with pytest.raises(ScenarioError, match=r"uncertain\.money\.discount_rat: no such field"):
        computeplan.monte_carlo(
            FLAGSHIP, samples=2, overrides={"uncertain": "{money.discount_rat: {uniform: [0.05, 0.1]}}"}
        )


def test_draws_are_banded_and_identical_inline_and_on_a_process_pool(catalog):
    inline = computeplan.monte_carlo(FLAGSHIP, samples=30, seed=3, overrides=SHORT, catalog=catalog, workers=1)
    pooled = computeplan.monte_carlo(FLAGSHIP, samples=30, seed=3, overrides=SHORT, catalog=catalog, workers=2)
    pd.testing.assert_frame_equal(inline.draws, pooled.draws)
    assert (inline.draws["status"] == "ok").all()
    bands = inline.bands(list(FIGURES))
    finite = bands.dropna()
    assert (finite["p10"] <= finite["p50"]).all() and (finite["p50"] <= finite["p90"]).all()
    for name in ("power_w", "spend_usd"):
        series = inline.series(name)
        assert (series["p10"] <= series["p50"]).all() and (series["p50"] <= series["p90"]).all()
    chosen = inline.choice_probability()
    assert chosen.between(0, 1).all() and chosen["trn4 (rent)"] > 0
    tornado = inline.tornado()
    assert tornado.abs().is_monotonic_decreasing and tornado.index[0] == "training.0.value_usd_per_flop"
    other = computeplan.monte_carlo(FLAGSHIP, samples=30, seed=4, overrides=SHORT, catalog=catalog, workers=1)
    assert not other.draws.equals(inline.draws)


def test_a_collapsed_distribution_reproduces_the_single_plan_exactly(catalog):
    point = {
        **SHORT,
        "uncertain": "{chips.3.price_usd_per_hour: {uniform: [2.76 USD/h, 2.76 USD/h]}, "
        "chips.3.first_year: {choice: [2027]}, training.0.value_usd_per_flop: {lognormal: [3e-18, 3e-18]}}",
    }
    sweep = computeplan.monte_carlo(
        FLAGSHIP, samples=4, overrides=point, catalog=catalog, workers=1, model_error=False, catalog_ranges=False
    )
    single = plan_figures(computeplan.plan(FLAGSHIP, overrides=SHORT, catalog=catalog))
    for figure, value in single.items():
        column = sweep.draws[figure].to_numpy(float)
        assert (column == value).all() or (math.isnan(value) and np.isnan(column).all()), figure


def test_the_same_seed_gives_the_same_draws_on_ray(catalog):
    ray = pytest.importorskip("ray")
    local = computeplan.monte_carlo(FLAGSHIP, samples=30, seed=5, overrides=SHORT, catalog=catalog, workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local Ray, no external service
    try:
        on_ray = computeplan.monte_carlo(FLAGSHIP, samples=30, seed=5, overrides=SHORT, catalog=catalog, backend="ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(local.draws, on_ray.draws)


def test_an_interrupted_sweep_resumes_to_the_same_parquet(catalog, tmp_path):
    from computeplan.fleet.sweep import design, run_sweep

    tables = builtin_efficiency_tables()
    plan_design = design(load_scenario(FLAGSHIP, SHORT), catalog, tables)
    whole = tmp_path / "whole.parquet"
    run_sweep(plan_design, catalog, tables, samples=60, seed=9, workers=1, out=whole)
    resumed = tmp_path / "resumed.parquet"
    first = run_sweep(plan_design, catalog, tables, samples=60, seed=9, workers=1, out=resumed, stop_after=1)
    assert len(first.draws) == 25 and not resumed.exists()
    assert (tmp_path / "resumed.parquet.parts").is_dir()
    run_sweep(plan_design, catalog, tables, samples=60, seed=9, workers=1, out=resumed)
    pd.testing.assert_frame_equal(pd.read_parquet(whole), pd.read_parquet(resumed))
    assert not (tmp_path / "resumed.parquet.parts").exists()
    with pytest.raises(ScenarioError, match="exists; a finished sweep is not overwritten"):
        run_sweep(plan_design, catalog, tables, samples=60, seed=9, workers=1, out=resumed)
    other = tmp_path / "other.parquet"
    run_sweep(plan_design, catalog, tables, samples=60, seed=9, workers=1, out=other, stop_after=1)
    with pytest.raises(ScenarioError, match="holds the parts of a different sweep"):
        run_sweep(plan_design, catalog, tables, samples=60, seed=10, workers=1, out=other)


def test_plan_samples_on_the_cli(capsys, tmp_path):
    report = tmp_path / "mc.html"
    code, out, err = run(
        capsys, "plan", str(FLAGSHIP), "--set", "years=3", "--samples", "20", "--workers", "1", "--json",
        "--report", str(report),
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    npv = data["figures"]["npv_usd"]
    assert npv["p10"] <= npv["p50"] <= npv["p90"] and npv["point"] is not None
    assert data["samples"] == 20 and data["tornado_npv"][0]["input"] == "training.0.value_usd_per_flop"
    page = report.read_text()
    assert "<h2>Uncertainty</h2>" in page and "What moves the net present value" in page
    code, _, err = run(capsys, "plan", str(FLAGSHIP), "--samples", "5", "--backend", "spark")
    assert code == 2 and "'spark' is not a backend; allowed: local, ray" in err


def test_a_draws_file_in_a_missing_directory_is_refused_before_any_draw(capsys, tmp_path):
    missing = tmp_path / "no" / "draws.parquet"
    code, _, err = run(capsys, "plan", str(FLAGSHIP), "--samples", "5", "--out", str(missing))
    assert code == 2 and "cannot write draws file: directory" in err and not (tmp_path / "no").exists()


def test_review_findings_on_uncertain_inputs(catalog):
    # a range the field refuses is a one-line error before any draw (half the draws failed silently)
    with pytest.raises(
        ScenarioError, match=r"uncertain\.money\.discount_rate: the value -0\.0\d+ it can draw is refused"
    ):
        computeplan.monte_carlo(
            FLAGSHIP, samples=4, overrides={**SHORT, "uncertain": "{money.discount_rate: {uniform: [-0.1, 0.1]}}"}
        )
    with pytest.raises(ScenarioError, match=r"uncertain\.money\.discount_rate: the value a it can draw is refused"):
        computeplan.monte_carlo(
            FLAGSHIP, samples=4, overrides={**SHORT, "uncertain": "{money.discount_rate: {choice: [a, b]}}"}
        )
    # thousands separators are read, not taken for the unit
    assert parse_numbers(["$150,000M", "$1,250,000M"]) == ([150000.0, 1250000.0], ("$", "M"))


def test_a_choice_ranks_by_its_values_not_by_the_order_drawn():
    from computeplan.fleet.sweep import _choice_order

    years = Input("chips.3.first_year", "field", "choice", (1.0, 1.0), values=(2027, 2028))
    assert _choice_order(years, pd.Series(["2028", "2027", "2028"])).tolist() == [2028.0, 2027.0, 2028.0]
    named = Input("x", "field", "choice", (1.0, 1.0, 1.0), values=("low", "mid", "high"))
    assert _choice_order(named, pd.Series(["high", "low", "mid"])).tolist() == [2.0, 0.0, 1.0]


def test_break_even_json_has_null_where_nothing_flips(capsys):
    code, out, err = run(capsys, "plan", str(FLAGSHIP), "--set", "years=3", "--break-even", "--json")
    assert code == 0, err
    rows = json.loads(out)["break_even"]
    assert any(r["break_even"] is None for r in rows) or all(r["break_even"] is not None for r in rows)
    assert all(r["factor"] is None or math.isfinite(r["factor"]) for r in rows)


def test_flags_that_would_be_ignored_are_refused(capsys):
    for args, said in (
        (["--seed", "3"], "--seed and --out go with --samples"),
        (["--workers", "2"], "--backend, --workers and --address go with --samples or --vary"),
        (["--break-even", "--samples", "5"], "--break-even prices one plan"),
        (["--samples", "5", "--vary", "money.discount_rate=0.1,0.2"], "--samples and --vary: give one"),
    ):
        code, _, err = run(capsys, "plan", str(FLAGSHIP), *args)
        assert code == 2 and said in err, args
