"""Range checks for arguments at the boundary of the library, so that the math never sees NaN, inf, negative
lengths or absurd sizes. Each raises :class:`computeplan.errors.InvalidInput` naming the parameter.

A number is any real number but a bool (``True`` is not a chip count): Python ints of any size, floats, numpy
scalars and fractions. Strings are refused, not parsed: units belong at the edges (:mod:`computeplan.units`).
"""

from __future__ import annotations

import math
import numbers

from computeplan.errors import InvalidInput


def _shown(value: object, limit: int = 40) -> str:
    """``repr`` of a value for a message, shortened when a hostile input is very long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _shown_int(n: int) -> str:
    """An int for a message; a huge one by its digit count (``str`` of an int over 4300 digits raises ValueError)."""
    if n.bit_length() <= 64:
        return str(n)
    sign = "negative " if n < 0 else ""
    if n.bit_length() < 14_000:  # under Python's 4300-digit limit on int to str
        return f"a {len(str(abs(n)))}-digit {sign}number"
    return f"a {sign}number of about {round(n.bit_length() * math.log10(2)):,} digits"


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def number(field: str, value: object, *, low: float, high: float, low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] with ``low_open``)."""
    if not _is_real(value):
        raise InvalidInput(field, f"expected a number, got {_shown(value)}")
    try:
        x = float(value)  # type: ignore[arg-type]  # a numbers.Real
    except OverflowError:  # an int or fraction beyond the float range
        raise InvalidInput(field, f"must be at most {high:g}, got a number beyond the float range") from None
    if not math.isfinite(x):
        raise InvalidInput(field, f"must be a finite number, got {x}")
    if x < low or (low_open and x == low):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise InvalidInput(field, f"must be {bound}, got {x:g}")
    if x > high:
        raise InvalidInput(field, f"must be at most {high:g}, got {x:g}")
    return x


def whole(field: str, value: object, *, low: int, high: int) -> int:
    """A whole number in [low, high]: an int, or a real number without a fractional part (``8.0``)."""
    if not _is_real(value):
        raise InvalidInput(field, f"expected a whole number, got {_shown(value)}")
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        try:
            x = float(value)  # type: ignore[arg-type]  # a numbers.Real
        except OverflowError:
            raise InvalidInput(field, f"must be at most {high:,}, got a number beyond the float range") from None
        if not math.isfinite(x) or x != math.floor(x):
            raise InvalidInput(field, f"expected a whole number, got {_shown(value)}")
        n = int(x)
    if n < low:
        raise InvalidInput(field, f"must be at least {low}, got {_shown_int(n)}")
    if n > high:
        raise InvalidInput(field, f"must be at most {high:,}, got {_shown_int(n)}")
    return n


def fraction(field: str, value: object, *, high_open: bool = True) -> float:
    """A fraction in [0, 1) (or [0, 1] when ``high_open`` is False)."""
    x = number(field, value, low=0.0, high=1.0)
    if high_open and x >= 1.0:
        raise InvalidInput(field, f"must be in [0, 1), got {x:g}")
    return x


def flag(field: str, value: object) -> bool:
    """A switch: True or False (not 'yes', 1 or None)."""
    if not isinstance(value, bool):
        raise InvalidInput(field, f"expected True or False, got {_shown(value)}")
    return value


def text(field: str, value: object) -> str:
    """A non-empty string (an id, a file name)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"expected a non-empty id or file name, got {_shown(value)}")
    return value
