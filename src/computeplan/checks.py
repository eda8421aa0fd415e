"""Range checks for arguments at the boundary of the library, so that the math never sees NaN, inf, negative
lengths or absurd sizes. Each raises :class:`computeplan.errors.InvalidInput` naming the parameter.

A number is any real number but a bool (``True`` is not a chip count): Python ints of any size, floats, numpy
scalars and fractions. Strings are refused, not parsed: units belong at the edges (:mod:`computeplan.units`).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping

from computeplan.errors import InvalidInput, shown, shown_count


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def number(field: str, value: object, *, low: float, high: float, low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] with ``low_open``)."""
    if not _is_real(value):
        raise InvalidInput(field, f"expected a number, got {shown(value)}")
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
        raise InvalidInput(field, f"expected a whole number, got {shown(value)}")
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        try:
            x = float(value)  # type: ignore[arg-type]  # a numbers.Real
        except OverflowError:
            raise InvalidInput(field, f"must be at most {high:,}, got a number beyond the float range") from None
        if not math.isfinite(x) or x != math.floor(x):
            raise InvalidInput(field, f"expected a whole number, got {shown(value)}")
        n = int(x)
    if n < low:
        raise InvalidInput(field, f"must be at least {low}, got {shown_count(n)}")
    if n > high:
        raise InvalidInput(field, f"must be at most {high:,}, got {shown_count(n)}")
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
        raise InvalidInput(field, f"expected True or False, got {shown(value)}")
    return value


def text(field: str, value: object) -> str:
    """A non-empty string (an id, a file name)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"expected a non-empty id or file name, got {shown(value)}")
    return value


def file_path(field: str, value: object, *, expected: str = "a file name (str or os.PathLike)") -> str:
    """A file name: a non-empty string or an ``os.PathLike`` (``pathlib.Path``), as text."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            field, f"expected {expected}, got {shown(value) if isinstance(value, str) else _kind(value)}"
        )
    return value


def id_or_file(field: str, value: object) -> str:
    """A catalog id or a YAML file name: a non-empty string, or an ``os.PathLike`` (always a file)."""
    return file_path(field, value, expected="a catalog id or a YAML file name (str or os.PathLike)")


def callback(field: str, value: object) -> None:
    """None or something to call (a progress callback)."""
    if value is not None and not callable(value):
        raise InvalidInput(field, f"expected None or a function, got {_kind(value)}")


def yaml_texts(field: str, value: object) -> dict[str, str]:
    """Dotted-path overrides as ``{path: YAML text}``: a mapping with text keys; values that are not text (numbers,
    booleans, None, lists, mappings) are written as the YAML that reads back to them (``1.1``, ``true``, ``[1, 2]``).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"expected a mapping such as {{'power.pue': 1.1}}, got {_kind(value)}")
    texts = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInput(field, f"expected dotted field paths as keys, got {shown(key)}")
        texts[key] = raw if isinstance(raw, str) else _yaml_text(field, key, raw)
    return texts


def _yaml_text(field: str, key: str, value: object) -> str:
    import yaml

    if _is_real(value) and not isinstance(value, numbers.Integral):
        value = float(value)  # type: ignore[arg-type]  # numpy and decimal reals, which YAML cannot write
    elif _is_real(value):
        value = int(value)  # type: ignore[call-overload]  # a numbers.Integral
    try:
        text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError):
        raise InvalidInput(field, f"{key}: cannot write {shown(value)} as a YAML value") from None
    return str(text).removesuffix("\n...\n").strip()


def _kind(value: object) -> str:
    """What a value of the wrong kind is, for a message: ``None``, or its type's name."""
    return "None" if value is None else type(value).__name__
