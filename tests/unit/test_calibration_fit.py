"""The one least-squares fit: it recovers parameters that generated the data, from a hand-checkable toy model up
to the serving model predicting its own runs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from computeplan.calibration.fit import family_weights, fit, split
from computeplan.calibration.service import read_runs_file
from computeplan.calibration.serving import SERVING
from computeplan.catalog.efficiency_schema import Parameter, ParameterSpace
from computeplan.catalog.loader import load_catalog

SERVING_RUNS = Path(__file__).parents[1] / "golden" / "data" / "calibration-inference.csv"

# e(x) = e_max x / (x + x_half): the matmul-efficiency curve of the training model, on its own
CURVE = ParameterSpace(
    (
        Parameter(name="e_max", low=0.1, high=1.0, prior=0.5),
        Parameter(name="x_half", low=1.0, high=4096.0, prior=128.0, log_scale=True),
    )
)


@dataclass(frozen=True)
class Row:
    x: float
    measured: float


def curve(rows, values):
    return [values["e_max"] * r.x / (r.x + values["x_half"]) for r in rows]


def test_the_fit_recovers_the_parameters_that_made_the_rows():
    # e_max 0.6, x_half 50: at x = 50 the efficiency is 0.3, at x = 5000 nearly 0.6
    rows = [Row(x, 0.6 * x / (x + 50.0)) for x in (8.0, 32.0, 50.0, 128.0, 512.0, 5000.0)]
    assert rows[2].measured == pytest.approx(0.3)
    fitted = fit(CURVE, rows, curve)
    assert fitted["e_max"] == pytest.approx(0.6, rel=1e-5)
    assert fitted["x_half"] == pytest.approx(50.0, rel=1e-4)


def test_the_fit_stays_within_the_bounds():
    rows = [Row(x, 2.0 * x / (x + 50.0)) for x in (8.0, 128.0, 5000.0)]  # e_max 2 is out of bounds
    assert fit(CURVE, rows, curve)["e_max"] == pytest.approx(1.0)


def test_a_prior_pull_moves_the_fit_towards_the_prior():
    space = ParameterSpace((Parameter(name="p", low=0.01, high=100.0, prior=1.0, log_scale=True),))
    rows = [Row(0.0, 4.0)]

    def constant(rows, values):
        return [values["p"] for _ in rows]

    assert fit(space, rows, constant)["p"] == pytest.approx(4.0, rel=1e-4)
    pulled = fit(space, rows, constant, prior_weight=1.0)["p"]
    assert 1.0 < pulled < 4.0


def test_rows_that_cannot_be_predicted_count_as_a_fixed_miss():
    def sometimes(rows, values):
        return [None if r.x < 0 else values["e_max"] * r.x / (r.x + values["x_half"]) for r in rows]

    rows = [Row(x, 0.6 * x / (x + 50.0)) for x in (8.0, 50.0, 5000.0)] + [Row(-1.0, 1.0)]
    fitted = fit(CURVE, rows, sometimes)
    assert fitted["e_max"] == pytest.approx(0.6, rel=1e-4)  # the miss costs the same whatever the parameters


def test_families_with_enough_evidence_count_alike_in_a_pooled_fit():
    # 6 rows of a, 2 of b (both established), 1 of c (too thin): a and b share 8 rows' weight equally (4 each), c is
    # one run
    weights = family_weights(["a"] * 6 + ["b"] * 2 + ["c"], established={"a", "b"})
    assert weights.tolist() == pytest.approx([4 / 6] * 6 + [2.0, 2.0] + [1.0])
    assert weights.sum() == pytest.approx(9.0)
    assert family_weights(["a", "a", "b"]).tolist() == pytest.approx([0.75, 0.75, 1.5])  # all established
    assert family_weights(["a"] * 3).tolist() == [1.0, 1.0, 1.0]


def test_weights_move_a_pooled_fit_towards_the_lighter_family():
    space = ParameterSpace((Parameter(name="p", low=0.01, high=100.0, prior=1.0, log_scale=True),))
    rows = [Row(0.0, 1.0)] * 9 + [Row(0.0, 2.0)]  # nine runs say 1, one says 2

    def constant(rows, values):
        return [values["p"] for _ in rows]

    unweighted = fit(space, rows, constant)["p"]
    assert fit(space, rows, constant, weights=np.ones(10))["p"] == pytest.approx(unweighted, rel=1e-6)
    even = fit(space, rows, constant, weights=family_weights(["x"] * 9 + ["y"]))["p"]
    assert unweighted < 1.15 and even == pytest.approx(math.sqrt(2.0), rel=1e-3)  # the two families meet halfway (log)


def test_nothing_to_fit_is_an_error():
    from computeplan.errors import ComputeplanError

    with pytest.raises(ComputeplanError, match="nothing to fit"):
        fit(CURVE, [], curve)


def test_the_serving_model_recovers_its_own_parameters():
    """Rows whose 'measured' values are the serving model's own predictions at known parameters."""
    catalog = load_catalog()
    _, runs_file = read_runs_file(SERVING_RUNS, catalog)
    prepared, failed = SERVING.prepare_all(runs_file.runs, catalog)
    assert not failed
    hopper = [p for p in prepared if SERVING.family(p.case) == "nvidia-hopper"]
    truth = {"memory_efficiency": 0.8, "prefill_efficiency": 0.5, "step_overhead_s": 0.003}
    predicted = SERVING.predictor()(hopper, truth)
    synthetic = [_Measured(item, value) for item, value in zip(hopper, predicted, strict=True) if value is not None]
    assert len(synthetic) >= 8

    def predict_fn(rows, values):
        return SERVING.predictor()([r.item for r in rows], values)

    fitted = fit(SERVING.space, synthetic, predict_fn)
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=1e-4), name


@dataclass(frozen=True)
class _Measured:
    item: object
    measured: float


def test_split_holds_out_every_fourth_row_of_each_source():
    @dataclass(frozen=True)
    class Run:
        id: str
        source: str

    @dataclass(frozen=True)
    class Item:
        run: Run

    items = [Item(Run(f"A{i}", "paper-a table 1")) for i in range(8)] + [Item(Run("B0", "paper-b"))]
    fit_rows, held = split(items)
    assert [i.run.id for i in held] == ["A3", "A7"]
    assert len(fit_rows) == 7
    assert math.isclose(len(held) / 8, 0.25)
