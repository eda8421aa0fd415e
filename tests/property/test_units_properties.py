"""Properties of unit parsing: formatting then parsing returns the value to the printed precision."""

from hypothesis import given
from hypothesis import strategies as st

from computeplan.units import Dimension, format_quantity, parse_quantity

ROUND_TRIP = [
    Dimension.BYTES,
    Dimension.BYTES_PER_S,
    Dimension.FLOP,
    Dimension.FLOP_PER_S,
    Dimension.WATTS,
    Dimension.SECONDS,
]


@given(
    value=st.floats(min_value=1e-5, max_value=1e24, allow_nan=False),
    dim=st.sampled_from(ROUND_TRIP),
    digits=st.integers(min_value=3, max_value=8),
)
def test_format_then_parse_round_trips(value, dim, digits):
    text = format_quantity(value, dim, digits=digits)
    parsed = parse_quantity(text, dim)
    assert abs(parsed - value) <= value * 10.0 ** (1 - digits)


@given(value=st.floats(min_value=0, max_value=1e30, allow_nan=False), dim=st.sampled_from(list(Dimension)))
def test_bare_numbers_are_si_and_finite(value, dim):
    assert parse_quantity(value, dim) == value
