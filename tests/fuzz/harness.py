"""Running the CLI in-process and the invariants every outcome must keep.

A bug is: a traceback (any exception but SystemExit escaping ``computeplan.cli.main``), an exit code other than
0 or 2, an error that is not exactly one ``error: ...`` line on stderr, a raw control character (a terminal escape,
a carriage return, a bidirectional override) in what is printed, an error echoing more than a few hundred
characters, NaN or infinity in JSON or in a table, or a number that breaks physics (MFU above 1, HFU below MFU,
goodput outside (0, 1], negative time or cost).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from computeplan.cli import main


@dataclass(frozen=True)
class Outcome:
    args: list[str]
    code: int
    out: str
    err: str


def invoke(args: list[str]) -> Outcome:
    """``computeplan ARGS`` in this process; an exception other than SystemExit propagates (a bug)."""
    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Outcome(list(args), code, out.getvalue(), err.getvalue())


def strict_json(text: str) -> Any:
    """Parse JSON refusing the NaN/Infinity extensions Python's json would write and read."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name} in output")

    return json.loads(text, parse_constant=refuse)


# Characters a terminal acts on; printed output may hold newlines only (user text shows them escaped, '\x1b').
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_ERROR_CHARS = 1000  # an error line echoing a hostile value whole would be longer

NONNEGATIVE_SUFFIXES = ("_s", "_j", "_usd", "_bytes", "_w", "_per_s", "_per_day", "_hours")
NON_FINITE_WORD = re.compile(r"(?<![\w.])[-+]?(nan|inf|infinity)(?![\w])", re.IGNORECASE)


def numbers(data: Any, path: str = "$") -> Iterator[tuple[str, float]]:
    """Every number in parsed JSON with its path (bools are not numbers)."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return
    if isinstance(data, int | float):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from numbers(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from numbers(value, f"{path}[{i}]")


MAX_JSON_INT = 2**63  # beyond int64, JSON readers lose the number (many beyond 2**53)


def finite(value: float) -> bool:
    """A float that is finite, or an int that fits 64 bits (math.isfinite(10**400) raises OverflowError)."""
    if isinstance(value, int):
        return abs(value) < MAX_JSON_INT
    return math.isfinite(value)


def shown(value: float) -> str:
    if isinstance(value, int) and abs(value) >= MAX_JSON_INT:
        return f"an int of {value.bit_length()} bits"
    return repr(value)


def check_physics(data: Any, *, nonnegative: bool) -> None:
    """Finite numbers everywhere; MFU in [0, 1] and HFU in [MFU, 1]; goodput in (0, 1]; and, with
    ``nonnegative``, no negative time, energy, money, bytes or rate (keys ending in a unit, and their children)."""
    for path, value in numbers(data):
        assert finite(value), f"{path} = {shown(value)}"
    _walk(data, "$", nonnegative=nonnegative, inherited=False)


def _walk(data: Any, path: str, *, nonnegative: bool, inherited: bool) -> None:
    if isinstance(data, list):
        for i, value in enumerate(data):
            _walk(value, f"{path}[{i}]", nonnegative=nonnegative, inherited=inherited)
        return
    if not isinstance(data, dict):
        return
    mfu, hfu = data.get("mfu"), data.get("hfu")
    if isinstance(mfu, int | float) and not isinstance(mfu, bool):
        assert 0 <= mfu <= 1, f"{path}.mfu = {mfu}"
        if isinstance(hfu, int | float) and not isinstance(hfu, bool):
            assert mfu - 1e-9 <= hfu <= 1 + 1e-9, f"{path}: hfu {hfu} vs mfu {mfu}"
    good = data.get("goodput")
    if isinstance(good, int | float) and not isinstance(good, bool):
        assert 0 <= good <= 1, f"{path}.goodput = {good}"  # 0: failures outpace checkpoints
    for key, value in data.items():
        unit_key = nonnegative and (inherited or str(key).endswith(NONNEGATIVE_SUFFIXES))
        if unit_key and isinstance(value, int | float) and not isinstance(value, bool):
            assert value >= 0, f"{path}.{key} = {value}"
        _walk(value, f"{path}.{key}", nonnegative=nonnegative, inherited=unit_key)


def check_outcome(outcome: Outcome, *, json_mode: bool | None = None, nonnegative: bool = True) -> Any:
    """The invariants of any run; returns the parsed JSON of a successful ``--json`` run (else None).
    ``json_mode`` None: whether the last argument is ``--json``."""
    where = f"computeplan {' '.join(map(repr, outcome.args))}"
    assert outcome.code in (0, 2), f"{where}: exit code {outcome.code}\nstderr: {outcome.err}"
    assert "Traceback" not in outcome.err, f"{where}: {outcome.err}"
    for name, text in (("stdout", outcome.out), ("stderr", outcome.err)):
        raw = RAW_CONTROL.search(text)
        assert raw is None, f"{where}: raw {raw.group(0) if raw else ''!r} on {name}: {text[:300]!r}"
    if outcome.code == 2:
        assert outcome.err.startswith("error: "), f"{where}: stderr {outcome.err!r}"
        assert outcome.err.endswith("\n") and outcome.err.count("\n") == 1, f"{where}: stderr {outcome.err!r}"
        assert len(outcome.err.splitlines()) == 1, f"{where}: stderr {outcome.err!r}"
        assert len(outcome.err) <= MAX_ERROR_CHARS, f"{where}: a {len(outcome.err)}-character error"
        assert outcome.out == "", f"{where}: printed before failing: {outcome.out[:200]!r}"
        return None
    if json_mode is None:
        json_mode = bool(outcome.args) and outcome.args[-1] == "--json"
    if json_mode:
        data = strict_json(outcome.out)
        check_physics(data, nonnegative=nonnegative)
        return data
    match = NON_FINITE_WORD.search(outcome.out)
    assert match is None, f"{where}: {match.group(0) if match else ''} in the output:\n{outcome.out}"
    return None
