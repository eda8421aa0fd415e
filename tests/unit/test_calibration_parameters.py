"""The parameter space every calibrated model is fitted in: vectors, log scale, bounds, priors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from computeplan.catalog.efficiency_schema import Parameter, ParameterSpace
from computeplan.estimate.efficiency import SERVING_PRIOR, SERVING_SPACE
from computeplan.hardware.efficiency import PRIOR, TRAINING_SPACE
from computeplan.perf.inference import InferenceEfficiency

SPACE = ParameterSpace(
    (
        Parameter(name="fraction", low=0.2, high=1.0, prior=0.5),
        Parameter(name="width", low=1.0, high=1000.0, prior=10.0, log_scale=True),
    )
)


def test_vector_round_trip():
    values = {"fraction": 0.75, "width": 123.0}
    x = SPACE.to_vector(values)
    assert SPACE.from_vector(x) == pytest.approx(values, rel=1e-12)


def test_log_scale_parameters_are_logarithms_in_the_vector():
    x = SPACE.to_vector({"fraction": 0.75, "width": 100.0})
    assert x[0] == 0.75
    assert x[1] == pytest.approx(math.log(100.0))
    assert SPACE.from_vector([0.3, 0.0])["width"] == 1.0  # e^0


def test_bounds_are_in_the_fits_coordinates():
    lower, upper = SPACE.bounds()
    np.testing.assert_allclose(lower, [0.2, 0.0])  # ln 1 = 0
    np.testing.assert_allclose(upper, [1.0, math.log(1000.0)])


def test_prior_vector():
    assert SPACE.priors() == {"fraction": 0.5, "width": 10.0}
    np.testing.assert_allclose(SPACE.prior_vector(), [0.5, math.log(10.0)])


def test_lookup_by_name_and_order():
    assert SPACE.names == ("fraction", "width")
    assert SPACE["width"].log_scale and len(SPACE) == 2
    with pytest.raises(KeyError):
        SPACE["height"]


def test_a_vector_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="expected 2 coordinates, got 3"):
        SPACE.from_vector([0.5, 1.0, 2.0])


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"low": 1.0, "high": 0.5, "prior": 0.7}, "low < high"),
        ({"low": 0.0, "high": 1.0, "prior": 0.5, "log_scale": True}, "log-scale parameter needs low > 0"),
        ({"low": 0.2, "high": 1.0, "prior": 1.5}, "prior 1.5 is outside"),
        ({"low": 0.2, "high": math.inf, "prior": 0.5}, "finite"),
    ],
)
def test_inconsistent_parameters_are_refused(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        Parameter(name="p", **kwargs)


def test_duplicate_names_are_refused():
    p = Parameter(name="p", low=0.0, high=1.0, prior=0.5)
    with pytest.raises(ValueError, match="duplicate"):
        ParameterSpace((p, p))


def test_training_fits_one_parameter_and_pins_the_rest():
    # the realized share of the matmul plateau is fitted; the plateau, kernels and network are pinned (microbenchmarks)
    assert TRAINING_SPACE.names == ("realized_fraction",)
    assert {name: getattr(PRIOR, name) for name in TRAINING_SPACE.names} == TRAINING_SPACE.priors()
    pinned = (PRIOR.matmul_half_dim, PRIOR.network_efficiency, PRIOR.dp_overlap, PRIOR.attention_relative)
    assert pinned == (100.0, 0.8, 0.8, 0.5) and PRIOR.fp8_matmul_relative == 0.89


def test_serving_space_priors_are_the_serving_efficiency_defaults():
    assert all(p.log_scale for p in SERVING_SPACE)
    defaults = InferenceEfficiency()
    assert SERVING_SPACE.priors() == {name: getattr(defaults, name) for name in SERVING_SPACE.names}
    assert defaults == SERVING_PRIOR
