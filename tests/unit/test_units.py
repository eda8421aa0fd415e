import math

import pytest

from computeplan.errors import UnitError
from computeplan.units import GIB, Dimension, format_quantity, parse_quantity

D = Dimension


@pytest.mark.parametrize(
    ("text", "dim", "expected"),
    [
        ("3.35 TB/s", D.BYTES_PER_S, 3.35e12),
        ("400 Gb/s", D.BYTES_PER_S, 50e9),  # bits: 400e9 / 8
        ("900 GB/s", D.BYTES_PER_S, 900e9),
        ("192 GiB/s", D.BYTES_PER_S, 192 * GIB),
        ("80 GiB", D.BYTES, 80 * 2**30),
        ("141 GB", D.BYTES, 141e9),
        ("989.4 TFLOP/s", D.FLOP_PER_S, 989.4e12),
        ("3.8e25 FLOP", D.FLOP, 3.8e25),
        ("700 W", D.WATTS, 700.0),
        ("1.2 kW", D.WATTS, 1200.0),
        ("5 GW", D.WATTS, 5e9),
        ("1 kWh", D.JOULES, 3.6e6),
        ("2 us", D.SECONDS, 2e-6),
        ("54 days", D.SECONDS, 54 * 86400.0),
        ("16M", D.COUNT, 16e6),
        ("15.6T", D.COUNT, 15.6e12),
        ("$30000", D.USD, 30000.0),
        ("$100B", D.USD, 100e9),
        ("3.9 USD/h", D.USD_PER_HOUR, 3.9),
        ("80 USD/MWh", D.USD_PER_KWH, 0.08),
        ("85%", D.RATIO, 0.85),
        (989e12, D.FLOP_PER_S, 989e12),  # bare numbers are SI
        (8, D.COUNT, 8.0),
    ],
)
def test_parse_quantity_converts_to_si(text, dim, expected):
    assert parse_quantity(text, dim) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "dim", "fragment"),
    [
        ("3 TB", D.BYTES_PER_S, "not a unit of bytes/s"),
        ("700 GB", D.WATTS, "not a unit of W"),
        ("fast", D.SECONDS, "cannot read 'fast'"),
        ("inf W", D.WATTS, "cannot read"),
        (float("nan"), D.WATTS, "not a finite number"),
        (float("inf"), D.WATTS, "not a finite number"),
        ("1e400", D.WATTS, "not a finite number"),
        ("1e400 W", D.WATTS, "not a finite number"),
        (10**400, D.WATTS, "beyond the float range"),
        ("nan", D.WATTS, "cannot read 'nan'"),
        (True, D.COUNT, "expected a number"),
    ],
)
def test_parse_quantity_rejects_wrong_units_with_an_example(text, dim, fragment):
    with pytest.raises(UnitError, match=fragment) as info:
        parse_quantity(text, dim, field="hbm")
    assert str(info.value).startswith("hbm: ")


def test_a_very_long_input_is_shortened_in_the_message():
    with pytest.raises(UnitError) as info:
        parse_quantity("9" * 400 + " W", D.WATTS, field="power")
    assert len(str(info.value)) < 120 and "(402 characters)" in str(info.value)


def test_parse_error_shows_an_example_of_the_right_unit():
    with pytest.raises(UnitError, match=r"e\.g\. '3\.35 TB/s'"):
        parse_quantity("3 TB", D.BYTES_PER_S)


@pytest.mark.parametrize(
    ("value", "dim", "expected"),
    [
        (3.35e12, D.BYTES_PER_S, "3.35 TB/s"),
        (80e9, D.BYTES, "80 GB"),
        (989.4e12, D.FLOP_PER_S, "989 TFLOP/s"),
        (700.0, D.WATTS, "700 W"),
        (5e9, D.WATTS, "5 GW"),
        (2e-6, D.SECONDS, "2 us"),
        (54 * 86400.0, D.SECONDS, "54 days"),
        (30000.0, D.USD, "$30,000"),
        (3.9, D.USD_PER_HOUR, "$3.9/h"),
    ],
)
def test_format_quantity(value, dim, expected):
    assert format_quantity(value, dim) == expected


def test_format_keeps_non_finite_visible():
    assert format_quantity(math.inf, D.WATTS) == "inf"


@pytest.mark.parametrize(
    ("value", "dim", "text"),
    [
        (999.95e12, Dimension.COUNT, "1P"),  # rounding carries to the next suffix, not '1e+03T'
        (1.2e18, Dimension.COUNT, "1.2e+18"),  # past the largest suffix: scientific, not '1.2e+03P'
        (999.5e12, Dimension.USD, "$1e+15"),
        (100e9, Dimension.USD, "$100B"),
        (999.9e9, Dimension.BYTES, "1 TB"),
        (16e6, Dimension.COUNT, "16M"),
    ],
)
def test_format_quantity_never_prints_a_thousand_of_a_prefix(value, dim, text):
    assert format_quantity(value, dim) == text
