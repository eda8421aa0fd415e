"""Range checks for arguments at the boundary of the library, so that the math never sees NaN, inf, negative
lengths or absurd sizes. Each raises :class:`computeplan.errors.InvalidInput` naming the parameter."""

from __future__ import annotations

import math

from computeplan.errors import InvalidInput


def number(field: str, value: object, *, low: float, high: float, low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, f"expected a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        raise InvalidInput(field, f"{str(value)[:20]}... is too large; at most {high:g}") from None
    if not math.isfinite(x):
        raise InvalidInput(field, f"must be a finite number, got {x}")
    if x < low or (low_open and x == low):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise InvalidInput(field, f"must be {bound}, got {x:g}")
    if x > high:
        raise InvalidInput(field, f"must be at most {high:g}, got {x:g}")
    return x


def whole(field: str, value: object, *, low: int, high: int) -> int:
    """A whole number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, f"expected a whole number, got {value!r}")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise InvalidInput(field, f"expected a whole number, got {value!r}")
    n = int(value)
    if n < low:
        raise InvalidInput(field, f"must be at least {low}, got {n}")
    if n > high:
        shown = str(n) if len(str(n)) <= 20 else f"a {len(str(n))}-digit number"
        raise InvalidInput(field, f"must be at most {high:,}, got {shown}")
    return n


def fraction(field: str, value: object, *, high_open: bool = True) -> float:
    """A fraction in [0, 1) (or [0, 1] when ``high_open`` is False)."""
    x = number(field, value, low=0.0, high=1.0)
    if high_open and x >= 1.0:
        raise InvalidInput(field, f"must be in [0, 1), got {x:g}")
    return x
