"""Hypothesis settings and strategies of hostile inputs: edge numbers, wrong units, misspelt ids, broken files.

The fuzz suite is deterministic: every test uses :data:`FUZZ` (derandomized, no example database, no deadline),
so CI sees the same examples on every run. ``COMPUTEPLAN_FUZZ_SCALE=10`` multiplies the examples for a longer
local hunt (still deterministic for a given scale).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from computeplan.perf.layout import LAYOUT_FIELDS
from computeplan.workload.overrides import SPEC_FIELDS

SCALE = float(os.environ.get("COMPUTEPLAN_FUZZ_SCALE", "1"))

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    print_blob=False,
)


def examples(n: int) -> settings:
    """:data:`FUZZ` with ``n`` examples (times $COMPUTEPLAN_FUZZ_SCALE)."""
    return settings(FUZZ, max_examples=max(1, round(n * SCALE)))


# --- text and numbers as a shell would pass them -------------------------------------------------------------

HUGE = "1" + "0" * 400  # beyond the float range
GIANT = "9" * 5000  # beyond Python's 4300-digit limit on str -> int
# Text a command line can carry: any character but NUL (argv cannot hold it) and lone surrogates (not text).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
ODD_TEXT = ["", " ", "ü", "日本", "\n", "a\nb", "\t8", "٣", "８", "-", "--json", "'", '"', "$", "%", "../x", "\x1b[31m"]

INT_EDGES = [
    "0",
    "-0",
    "-1",
    "1",
    "+8",
    " 8 ",
    "8.0",
    "1.5",
    "1e3",
    "1_000",
    "0x10",
    HUGE,
    "-" + HUGE,
    GIANT,
    "1e400",
    "inf",
    "-inf",
    "nan",
    "16 GB",
    "abc",
]
FLOAT_EDGES = [
    "0",
    "-0",
    "-1",
    "1",
    "0.5",
    "1e-320",
    "5e-324",
    "1e308",
    "1e400",
    "-1e400",
    "inf",
    "-inf",
    "nan",
    "NaN",
    HUGE,
    "1,5",
    "1e3",
    "abc",
]
QUANTITY_EDGES = [
    "0",
    "-1",
    "-4M",
    "0.5",
    "1",
    "1k",
    "4M",
    "4 M",
    "4m",
    "15.6T",
    "1P",
    "1e18",
    "1e19",
    "1e400",
    HUGE,
    "inf",
    "nan",
    "16 GB",
    "5 tok",
    "٣M",
]


@dataclass(frozen=True)
class Values:
    """The values of one option: ``good`` ones (valid, and cheap to compute with) and ``bad`` ones (edges that may
    or may not be valid: zero, negative, huge, non-finite, empty, unicode, misspelt, wrong unit)."""

    good: st.SearchStrategy[str]
    bad: st.SearchStrategy[str]


def hostile(*pools: Iterable[str]) -> st.SearchStrategy[str]:
    """A value from the pools, an odd string, or arbitrary text."""
    values = [v for pool in pools for v in pool]
    return st.one_of(st.sampled_from(values), st.sampled_from(ODD_TEXT), TEXT)


def ints(good: Iterable[int]) -> Values:
    """Whole-number options: ``good`` values, else edges, any 70-bit integer and text."""
    return Values(st.sampled_from([str(g) for g in good]), hostile(INT_EDGES) | st.integers(-(2**70), 2**70).map(str))


def floats(good: Iterable[str]) -> Values:
    return Values(
        st.sampled_from(list(good)), hostile(FLOAT_EDGES) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    )


def quantities(good: Iterable[str]) -> Values:
    return Values(st.sampled_from(list(good)), hostile(QUANTITY_EDGES))


def ids(good: Iterable[str], misspelt: Iterable[str]) -> Values:
    return Values(st.sampled_from(list(good)), hostile(misspelt))


def choices(good: Iterable[str], bad: Iterable[str]) -> Values:
    return Values(st.sampled_from(list(good)), hostile(bad))


LAYOUT_VALUES = ["1", "2", "4", "8", "0", "-1", "3", "true", "false", "none", "selective", "full", HUGE, "1e3", "", "ü"]
LAYOUT_PART = st.tuples(st.sampled_from([*LAYOUT_FIELDS, "tpp", "x", ""]), st.sampled_from(LAYOUT_VALUES)).map(
    lambda kv: f"{kv[0]}={kv[1]}"
)
LAYOUTS = Values(
    st.sampled_from(
        ["tp=2", "tp=8", "tp=2,pp=2", "pp=2,vpp=2,mb=1", "tp=2,pp=2,mb=2,sp=1,recompute=selective", "fp8=1"]
    ),
    st.one_of(
        st.lists(LAYOUT_PART, max_size=5).map(",".join),
        st.sampled_from(["tp", "=", ",", "tp=8=8", "tp=8,,pp=2", "TP=2", "tp=2;pp=2"]),
        TEXT,
    ),
)
SET_VALUES = ["0", "1", "2", "-1", "64", "true", "yes", "x", "", HUGE, "1e400", "1.5", "nan"]
ARCH_SETS = Values(
    st.sampled_from(["layers=16", "layers=8", "vocab=32000", "seq_len=4096", "heads=16"]),
    st.one_of(
        st.tuples(st.sampled_from([*SPEC_FIELDS, "layer", "nope", ""]), st.sampled_from(SET_VALUES)).map(
            lambda kv: f"{kv[0]}={kv[1]}"
        ),
        st.sampled_from(["=", "layers", "layers==2", " = "]),
    ),
)

# --- command lines ---------------------------------------------------------------------------------------------

SWITCH = None  # an option without a value (--no-fp8)


@st.composite
def command_line(
    draw: Callable[..., Any],
    command: list[str],
    required: Mapping[str, Values],
    optional: Mapping[str, Values | None],
    *,
    max_optional: int = 4,
) -> tuple[list[str], bool]:
    """(``command`` with its required options and a few optional ones, whether ``--json`` was asked for).

    At most two options get a bad value (none, in about a third of the examples), so that most examples that get
    past parsing reach the computation: a suite of examples that all fail at the first flag tests little.
    A required option is left out now and then. A drawn value may itself look like an option ('--json'): the
    flag is told apart by the return value, not by scanning the arguments.
    """
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=max_optional))
    valued = [flag for flag in [*required, *chosen] if (required.get(flag) or optional.get(flag)) is not None]
    bad: set[str] = set()
    if valued and draw(st.integers(0, 2)):  # two examples in three have a bad value
        bad = set(draw(st.lists(st.sampled_from(valued), unique=True, min_size=1, max_size=2)))
    args = list(command)
    for flag in [*required, *chosen]:
        if flag in required and draw(st.integers(0, 29)) == 29:  # 1 in 30: leave a required option out
            continue
        values = required.get(flag) or optional.get(flag)
        if values is None:
            args.append(flag)
        else:
            args += [flag, draw(values.bad if flag in bad else values.good)]
    json_mode = draw(st.booleans())
    if json_mode:
        args.append("--json")
    return args, json_mode


# --- mutations of a parsed YAML or CSV value ---------------------------------------------------------------------

DELETE = object()  # marker: remove the leaf


def leaf_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and list indices) to a leaf or to a container, depth first."""
    paths: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            paths += leaf_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            paths += leaf_paths(value, (*prefix, i))
    return paths


def get_path(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


MUTATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("delete", lambda v: DELETE),
    ("negative", lambda v: -abs(v) - 1 if isinstance(v, int | float) and not isinstance(v, bool) else -1),
    ("zero", lambda v: 0),
    ("tiny", lambda v: 1e-300),
    ("huge int", lambda v: 10**400),
    ("huge float", lambda v: 1e300),
    ("inf", lambda v: float("inf")),
    ("nan", lambda v: float("nan")),
    ("null", lambda v: None),
    ("text", lambda v: "banana"),
    ("unit text", lambda v: "16 GB"),
    ("bool", lambda v: True),
    ("empty list", lambda v: []),
    ("list of it", lambda v: [v]),
    ("scalar of list", lambda v: v[0] if isinstance(v, list) and v else 7),
    ("mapping", lambda v: {"value": v}),
    ("unknown key", lambda v: {"bogus": 1, **v} if isinstance(v, dict) else v),
]


def mutated(data: Any, path: tuple[Any, ...], mutation: Callable[[Any], Any]) -> Any:
    """A deep copy of ``data`` with the leaf at ``path`` replaced by ``mutation(leaf)`` (or removed)."""
    import copy

    out = copy.deepcopy(data)
    parent = get_path(out, path[:-1])
    new = mutation(parent[path[-1]])
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def mutations_of(data: Any, paths: list[tuple[Any, ...]] | None = None) -> st.SearchStrategy[tuple[Any, str, Any]]:
    """(path, mutation name, mutated data) for one leaf of ``data`` changed in one way."""
    candidates = paths if paths is not None else leaf_paths(data)
    return st.tuples(st.sampled_from(candidates), st.sampled_from(MUTATIONS)).map(
        lambda pm: (pm[0], pm[1][0], mutated(data, pm[0], pm[1][1]))
    )


CSV_CELLS = ["", " ", "0", "-1", "nan", "inf", "-inf", "1e400", HUGE, "banana", "h10", "1.5", "true", "ü", "\n", ","]
