"""SI units, parsing of human quantities, and one human formatter.

Inside computeplan every quantity is in SI base units (seconds, bytes, FLOP, watts, joules, dollars).
Human strings such as ``"80 GiB"``, ``"3.35 TB/s"``, ``"400 Gb/s"``, ``"989 TFLOP/s"``, ``"16M"`` or ``"15.6T"``
are converted once, at the edges, by :func:`parse_quantity`.

Conventions:
- Decimal prefixes (k, M, G, T, P, E) are powers of 1000; binary prefixes (Ki, Mi, Gi, Ti) powers of 1024.
- A lower-case ``b`` is a bit (8 bits per byte), so ``"400 Gb/s"`` is 50e9 bytes/s.
- Bandwidths are per direction unless a catalog note says otherwise.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum

from computeplan.errors import UnitError, shown

KILO, MEGA, GIGA, TERA, PETA, EXA, ZETTA = 1e3, 1e6, 1e9, 1e12, 1e15, 1e18, 1e21
KIB, MIB, GIB, TIB = 2.0**10, 2.0**20, 2.0**30, 2.0**40
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY
JOULES_PER_KWH = 3.6e6


class Dimension(StrEnum):
    """The physical kind of a quantity; each has one SI unit inside computeplan."""

    COUNT = "count"
    BYTES = "bytes"
    BYTES_PER_S = "bytes/s"
    FLOP = "FLOP"
    FLOP_PER_S = "FLOP/s"
    WATTS = "W"
    JOULES = "J"
    SECONDS = "s"
    USD = "USD"
    USD_PER_HOUR = "USD/h"
    USD_PER_KWH = "USD/kWh"
    USD_PER_W = "USD/W"
    RATIO = "ratio"
    YEAR = "year"


_DECIMAL = {"": 1.0, "k": KILO, "K": KILO, "M": MEGA, "G": GIGA, "T": TERA, "P": PETA, "E": EXA, "Z": ZETTA}
_BINARY = {"Ki": KIB, "Mi": MIB, "Gi": GIB, "Ti": TIB}
_COUNT_SUFFIX = {"": 1.0, "k": KILO, "K": KILO, "M": MEGA, "B": GIGA, "G": GIGA, "T": TERA, "P": PETA}
_TIME = {
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
    "min": 60.0,
    "h": SECONDS_PER_HOUR,
    "day": SECONDS_PER_DAY,
    "days": SECONDS_PER_DAY,
    "d": SECONDS_PER_DAY,
    "year": SECONDS_PER_YEAR,
    "years": SECONDS_PER_YEAR,
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>.*?)\s*$")


def _prefixed(unit: str, base: str) -> float | None:
    """Scale of ``unit`` if it is a (decimal or binary) prefix followed by ``base``; else None."""
    if not unit.endswith(base):
        return None
    prefix = unit[: len(unit) - len(base)]
    if prefix in _BINARY:
        return _BINARY[prefix]
    if prefix in _DECIMAL:
        return _DECIMAL[prefix]
    return None


def _scale(unit: str, dim: Dimension) -> float | None:
    """SI scale factor of ``unit`` for dimension ``dim``, or None when the unit does not belong to it."""
    u = unit.replace(" ", "")
    if dim is Dimension.COUNT:
        return _COUNT_SUFFIX.get(u)
    if dim is Dimension.RATIO:
        return {"": 1.0, "%": 0.01, "x": 1.0}.get(u)
    if dim is Dimension.YEAR:
        return 1.0 if u in ("", "year") else None
    if dim is Dimension.BYTES:
        byte_scale = _prefixed(u, "B")
        if byte_scale is not None:
            return byte_scale
        bit_scale = _prefixed(u, "b") if u not in ("", "B") else None
        return bit_scale / 8 if bit_scale is not None else (1.0 if u == "" else None)
    if dim is Dimension.BYTES_PER_S:
        if u == "":
            return 1.0
        for per in ("/s", "ps"):
            if u.endswith(per):
                inner = u[: -len(per)]
                return _scale(inner, Dimension.BYTES) if inner else None
        return None
    if dim is Dimension.FLOP:
        if u == "":
            return 1.0
        return _prefixed(u, "FLOP") or _prefixed(u, "FLOPs")
    if dim is Dimension.FLOP_PER_S:
        if u == "":
            return 1.0
        return _prefixed(u, "FLOP/s") or _prefixed(u, "FLOPS")
    if dim is Dimension.WATTS:
        return 1.0 if u == "" else _prefixed(u, "W")
    if dim is Dimension.JOULES:
        if u == "":
            return 1.0
        wh = _prefixed(u, "Wh")
        return wh * SECONDS_PER_HOUR if wh is not None else _prefixed(u, "J")
    if dim is Dimension.SECONDS:
        return 1.0 if u == "" else _TIME.get(u)
    if dim in _MONEY:
        return _money_scale(u, dim)
    return None  # pragma: no cover - every Dimension is handled above


_MONEY = {Dimension.USD: "", Dimension.USD_PER_HOUR: "/h", Dimension.USD_PER_KWH: "/kWh", Dimension.USD_PER_W: "/W"}


def _money_scale(unit: str, dim: Dimension) -> float | None:
    tail = _MONEY[dim]
    if tail and unit.endswith(tail):
        unit = unit[: -len(tail)]
    elif tail and unit != "":
        if dim is Dimension.USD_PER_KWH and unit.endswith("/MWh"):
            inner = _money_scale(unit[: -len("/MWh")] + "/kWh", dim)
            return inner / 1000 if inner is not None else None
        if dim is Dimension.USD_PER_W and unit.endswith("/MW"):  # "10.7 MUSD/MW" == 10.7 USD/W
            inner = _money_scale(unit[: -len("/MW")] + "/W", dim)
            return inner / 1e6 if inner is not None else None
        return None
    for cur in ("USD", "$"):
        if unit.startswith(cur):
            unit = unit[len(cur) :]
        elif unit.endswith(cur):
            unit = unit[: -len(cur)]
    return _COUNT_SUFFIX.get(unit)


def parse_quantity(text: str | float | int, dim: Dimension, *, field: str = "value") -> float:
    """Convert ``text`` to a float in the SI unit of ``dim``.

    A bare number is taken to be in SI already (bytes, FLOP/s, W, ...). Strings carry their unit:
    ``parse_quantity("3.35 TB/s", Dimension.BYTES_PER_S) == 3.35e12``.

    Raises :class:`UnitError` naming ``field`` when the string cannot be parsed, has a unit of another
    dimension, or is not finite.
    """
    if isinstance(text, bool):
        raise UnitError(f"{field}: expected a number or a quantity in {dim.value}, got {shown(text)}")
    if isinstance(text, int | float):
        try:
            value = float(text)
        except OverflowError:  # an integer beyond the float range (about 1.8e308)
            raise UnitError(f"{field}: the integer is beyond the float range (about 1.8e308)") from None
    else:
        raw = str(text).strip()
        if raw.startswith("$") and dim in _MONEY:
            raw = raw[1:]
        match = _QUANTITY_RE.match(raw)
        if not match:
            raise UnitError(f"{field}: cannot read {shown(text)} as a quantity in {dim.value} (e.g. {_EXAMPLE[dim]})")
        scale = _scale(match["unit"], dim)
        if scale is None:
            raise UnitError(
                f"{field}: unit {shown(match['unit'])} in {shown(text)} is not a unit of {dim.value} "
                f"(e.g. {_EXAMPLE[dim]})"
            )
        value = float(match["num"]) * scale
    if not math.isfinite(value):
        raise UnitError(f"{field}: {shown(text)} is not a finite number")
    return value


_EXAMPLE = {
    Dimension.COUNT: "'16M', '15.6T', 8",
    Dimension.BYTES: "'80 GiB', '141 GB'",
    Dimension.BYTES_PER_S: "'3.35 TB/s', '400 Gb/s'",
    Dimension.FLOP: "'3.8e25 FLOP', '1 EFLOP'",
    Dimension.FLOP_PER_S: "'989 TFLOP/s'",
    Dimension.WATTS: "'700 W', '1.2 kW'",
    Dimension.JOULES: "'1 kWh', '3.6 MJ'",
    Dimension.SECONDS: "'5 us', '54 days'",
    Dimension.USD: "'$30000', '2.5 MUSD'",
    Dimension.USD_PER_HOUR: "'3.9 USD/h'",
    Dimension.USD_PER_KWH: "'0.08 USD/kWh', '80 USD/MWh'",
    Dimension.USD_PER_W: "'10.7 USD/W', '10.7 MUSD/MW'",
    Dimension.RATIO: "1.2, '85%'",
    Dimension.YEAR: "2025",
}

_DISPLAY = {
    Dimension.BYTES: ("B", 1000.0),
    Dimension.BYTES_PER_S: ("B/s", 1000.0),
    Dimension.FLOP: ("FLOP", 1000.0),
    Dimension.FLOP_PER_S: ("FLOP/s", 1000.0),
    Dimension.WATTS: ("W", 1000.0),
    Dimension.JOULES: ("J", 1000.0),
}
_PREFIXES = ["", "k", "M", "G", "T", "P", "E", "Z"]


def _rounded(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def _with_suffix(value: float, steps: tuple[tuple[str, float], ...], digits: int) -> str | None:
    """``value`` with the largest suffix it reaches once rounded ('1P' for 999.95e12); scientific notation beyond
    the largest suffix ('2.5e+18'); None below the smallest."""
    rounded = abs(_rounded(value, digits))
    for suffix, scale in steps:
        if rounded >= scale:
            if rounded / scale >= 1000.0:  # past the largest suffix
                return f"{value:.{digits}g}"
            return f"{value / scale:.{digits}g}{suffix}"
    return None


def format_quantity(value: float, dim: Dimension, *, digits: int = 3) -> str:
    """One human string for an SI value: ``format_quantity(3.35e12, Dimension.BYTES_PER_S) == '3.35 TB/s'``."""
    if not math.isfinite(value):
        return str(value)
    if dim in _DISPLAY:
        unit, base = _DISPLAY[dim]
        exp = 0
        mag = abs(_rounded(value, digits))  # round first, so 999.95e9 shows as 1 T, not 1e+03 G
        while mag >= base and exp < len(_PREFIXES) - 1:
            mag /= base
            exp += 1
        scaled = value / base**exp
        return f"{scaled:.{digits}g} {_PREFIXES[exp]}{unit}"
    if dim is Dimension.SECONDS:
        for unit, scale in (
            ("years", SECONDS_PER_YEAR),
            ("days", SECONDS_PER_DAY),
            ("h", SECONDS_PER_HOUR),
            ("min", 60.0),
            ("s", 1.0),
            ("ms", 1e-3),
            ("us", 1e-6),
        ):
            if abs(value) >= scale or scale == 1e-6:
                return f"{value / scale:.{digits}g} {unit}"
    if dim is Dimension.USD:
        short = _with_suffix(value, (("T", TERA), ("B", GIGA), ("M", MEGA)), digits)
        if short is not None:
            return f"${short}"
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:.{digits}g}"
    if dim is Dimension.COUNT:
        short = _with_suffix(value, (("P", PETA), ("T", TERA), ("B", GIGA), ("M", MEGA), ("k", KILO)), digits)
        return short if short is not None else f"{value:.{digits}g}"
    if dim is Dimension.USD_PER_HOUR:
        return f"${value:.{digits}g}/h"
    if dim is Dimension.USD_PER_KWH:
        return f"${value:.{digits}g}/kWh"
    if dim is Dimension.USD_PER_W:
        return f"${value:.{digits}g}/W"
    if dim is Dimension.YEAR:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"
