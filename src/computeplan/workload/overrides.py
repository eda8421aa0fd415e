"""Architecture overrides (``layers=64``) applied to a TransformerSpec, with suggestions for misspelt fields."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from computeplan.errors import InvalidInput, shown
from computeplan.workload.transformer import TransformerSpec

SPEC_FIELDS = tuple(f.name for f in fields(TransformerSpec) if f.name != "name")


def override_spec(spec: TransformerSpec, overrides: Mapping[str, str | int | bool]) -> TransformerSpec:
    """``spec`` with fields replaced; values may be text (``"64"``, ``"true"``; ASCII digits only) or whole numbers
    and booleans. The result is re-validated."""
    if not isinstance(overrides, Mapping):
        raise InvalidInput("overrides", f"expected a mapping of field to value, got {type(overrides).__name__}")
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in SPEC_FIELDS:
            close = difflib.get_close_matches(key, SPEC_FIELDS, n=1) if isinstance(key, str) else []
            key = key if isinstance(key, str) and key.isprintable() else ascii(key)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InvalidInput(
                "overrides", f"unknown architecture field '{key}'{hint}; allowed: {', '.join(SPEC_FIELDS)}"
            )
        text = _as_text(key, raw)
        if isinstance(getattr(spec, key), bool):
            if text not in ("1", "0", "true", "false", "yes", "no"):
                raise InvalidInput("overrides", f"{key}: expected true or false, got {shown(raw)}")
            changes[key] = text in ("1", "true", "yes")
        elif text.isascii() and text.isdigit() and len(text) <= 12:
            changes[key] = int(text)
        else:
            raise InvalidInput("overrides", f"{key}: expected a whole number >= 0, got {shown(raw)}")
    return replace(spec, **changes)


def _as_text(key: str, raw: object) -> str:
    """An override's value as lower-case text: text as given, a bool or a whole number (of sane size) as written."""
    if isinstance(raw, str):
        return raw.strip().lower()
    if isinstance(raw, bool):
        return str(raw).lower()
    if isinstance(raw, numbers.Integral) and int(raw).bit_length() <= 64:
        return str(int(raw))
    if isinstance(raw, numbers.Integral):
        raise InvalidInput("overrides", f"{key}: must be below 2**31, got a whole number over 64 bits")
    raise InvalidInput("overrides", f"{key}: expected a whole number, true or false, got {type(raw).__name__}")
