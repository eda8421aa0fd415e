"""Exceptions raised by computeplan.

Every error a user can cause derives from :class:`ComputeplanError`; the CLI turns those into a one-line
message and exit code 2. Anything else is a bug and keeps its traceback.

    ComputeplanError
    ├── CatalogError          a catalog file or entry is malformed (names file, entry and field)
    │   └── UnknownEntryError an id is not in the catalog (suggests close matches)
    ├── UnitError             a quantity string has a unit of the wrong kind or cannot be parsed
    ├── InvalidInput          an argument is out of range (names the parameter; the CLI maps it to its flag)
    ├── InvalidSpec           a model architecture is inconsistent or out of range (names the field)
    ├── InvalidLayout         a parallel layout cannot run (does not divide, does not fit)
    ├── Infeasible            a plan's constraints cannot all be met
    └── ScenarioError         a scenario file is malformed
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

SHOWN_LIMIT = 40  # characters of a user's value quoted in a one-line message


def shown(value: object, limit: int = SHOWN_LIMIT) -> str:
    """A user's value as a message quotes it: its ``repr`` (control characters escaped), cut at ``limit`` characters
    with the length of what was given; a value too large to ``repr`` (an int over 4300 digits) by its type."""
    try:
        text = repr(value)
    except ValueError:  # an int over 4300 digits, or a container holding one
        return f"a value of type {type(value).__name__} too large to show"
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[:limit]}... ({length:,} characters)"


def shown_count(n: int) -> str:
    """A whole number as a message quotes it: with thousands separators, or by its digit count when it is too long
    for one line (``str`` of an int over 4300 digits raises, so the count is then estimated from its bits)."""
    if n.bit_length() <= 64:
        return f"{n:,}"
    sign = "negative " if n < 0 else ""
    if n.bit_length() < 14_000:  # under Python's 4300-digit limit on int to str
        return f"a {len(str(abs(n)))}-digit {sign}number"
    return f"a {sign}number of about {round(n.bit_length() * math.log10(2)):,} digits"


class ComputeplanError(Exception):
    """Base class of all errors a user can cause; the message is one line meant for that user."""


class CatalogError(ComputeplanError):
    """A catalog file or entry is malformed."""


MAX_LISTED_IDS = 20  # ids an unknown-id error lists when none is close; the rest are counted, not printed


class UnknownEntryError(CatalogError, KeyError):
    """An id is not in the catalog."""

    def __init__(self, kind: str, entry_id: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.entry_id = entry_id
        self.known = sorted(known)
        close = difflib.get_close_matches(entry_id, self.known, n=3, cutoff=0.5)
        if close:
            hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        elif len(self.known) > MAX_LISTED_IDS:
            hint = (
                f"known {kind}s include {', '.join(self.known[:MAX_LISTED_IDS])}, ... ({len(self.known)} in all; "
                f"`computeplan {kind}s` lists them)"
            )
        else:
            hint = f"known {kind}s: {', '.join(self.known)}"
        super().__init__(f"unknown {kind} '{entry_id}': {hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class UnitError(ComputeplanError, ValueError):
    """A quantity cannot be parsed, or its unit is of the wrong kind."""


class InvalidInput(ComputeplanError, ValueError):
    """An argument is out of range or of the wrong kind.

    ``field`` is the parameter's name in the Python API (``seq_len``, ``tpot_s``); the CLI shows its own flag
    instead, so library messages never name command-line options.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class InvalidSpec(ComputeplanError, ValueError):
    """A model architecture (``TransformerSpec``) is inconsistent or out of range; the message names the field."""


class InvalidLayout(ComputeplanError):
    """A parallel layout cannot run on the given cluster."""


class Infeasible(ComputeplanError):
    """A plan's constraints cannot all be met."""


class ScenarioError(ComputeplanError):
    """A scenario file is malformed."""
