"""Fuzz the Python API (``computeplan.train/serve/goodput``) and the validated constructors (``TrainingJob``,
``ServingJob``, ``TransformerSpec``) with generated arguments: bools, None, strings and lists where numbers belong,
zero, negative, huge and non-finite numbers.

Every call must raise a :class:`~computeplan.errors.ComputeplanError` or return a result whose JSON is finite and
physical. An argument of the wrong kind (a bool or text for a number, a fraction for a count) must be refused:
accepting ``chips=True`` as one chip is a wrong answer, not a convenience.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import computeplan
from computeplan.catalog import load_catalog
from computeplan.errors import ComputeplanError, InvalidInput, InvalidSpec
from computeplan.workload.jobs import ServingJob, TrainingJob
from computeplan.workload.transformer import TransformerSpec
from tests.fuzz.harness import check_physics
from tests.fuzz.strategies import examples


@dataclass(frozen=True)
class Arg:
    """Values of one argument: ``good`` ones, ``edge`` ones (may be valid or not: the call decides) and ``wrong``
    ones (of a kind the parameter does not take: the call must refuse them)."""

    good: list[Any]
    edge: list[Any]
    wrong: list[Any]


NON_WHOLE = [1.5, 0.5, float("nan"), float("inf"), Fraction(3, 2)]
WRONG_FOR_NUMBER = [True, False, "8", "1T", "", b"8", [8], {"x": 1}, object()]
EDGE_INTS = [0, -1, 2**31, 2**63, 10**400, -(10**400), 8.0, np.int64(8), Decimal(8)]
EDGE_FLOATS = [0.0, -0.0, -1.0, 1e-300, 5e-324, 1e300, float("inf"), float("-inf"), float("nan"), 10**400]
EDGE_FLOATS += [np.float64(1.5), Fraction(3, 2), Decimal("1.5")]


def count(good: list[Any], *, none_ok: bool = False) -> Arg:
    """A whole number (chips, sequence length, batch)."""
    return Arg(good, EDGE_INTS, WRONG_FOR_NUMBER + NON_WHOLE + ([] if none_ok else [None]))


def real(good: list[Any], *, none_ok: bool = True) -> Arg:
    return Arg(good, EDGE_FLOATS, WRONG_FOR_NUMBER + ([] if none_ok else [None]))


@st.composite
def call(draw: Any, args: dict[str, Arg]) -> tuple[dict[str, Any], list[str]]:
    """Keyword arguments with at most two edge or wrong values, and the names of the wrong ones."""
    names = sorted(args)
    odd = draw(st.lists(st.sampled_from(names), unique=True, max_size=2)) if draw(st.integers(0, 2)) else []
    kwargs, wrong = {}, []
    for name in names:
        arg = args[name]
        if name not in odd:
            kwargs[name] = draw(st.sampled_from(arg.good))
        elif arg.edge and (not arg.wrong or draw(st.booleans())):
            kwargs[name] = draw(st.sampled_from(arg.edge))
        elif arg.wrong:
            kwargs[name] = draw(st.sampled_from(arg.wrong))
            wrong.append(name)
        else:
            kwargs[name] = draw(st.sampled_from(arg.good))
    return kwargs, wrong


def outcome(fn: Any, kwargs: dict[str, Any], wrong: list[str]) -> Any:
    """Call ``fn``: a ComputeplanError is a fine answer (and the only one when an argument is of the wrong kind)."""
    try:
        result = fn(**kwargs)
    except ComputeplanError:
        return None
    assert not wrong, f"accepted {', '.join(f'{w}={kwargs[w]!r}' for w in wrong)}: {fn.__name__}({kwargs!r})"
    return result


def check_dict(data: Any) -> None:
    """JSON-ready data: finite (json refuses NaN/inf) and physical."""
    json.dumps(data, allow_nan=False, default=str)
    check_physics(data, nonnegative=True)


CATALOG = load_catalog()  # a module global, not a fixture: hypothesis prints a failing example's arguments


TRAIN_ARGS = {
    "model": Arg(["llama3-8b", "llama2-7b"], ["", "llama3-8B", "x.yaml"], [None, 8, ["llama3-8b"]]),
    "chip": Arg(["h100-sxm", "trn2"], ["", "h10"], [None, 5, ["h100-sxm"]]),
    "chips": count([8, 64, 256]),
    "seq_len": count([None, 2048, 8192], none_ok=True),
    "global_batch": count([None, 64, 512], none_ok=True),
    "global_batch_tokens": real([None, 1e6, 4e6]),
    "tokens": real([None, 1e12]),
    "layout": Arg(
        [None, "tp=2", {"tp": 2, "pp": 2}, {"tp": 8, "sp": True}],
        ["", {}, "tp=0", {"tp": 0}, {"tp": 10**400}, {"dp": 3}, {"tp": 2**31}],
        [5, ["tp=2"], {"tp": "x"}, {"tp": 1.5}, {"tp": None}, {"tp": float("nan")}, {1: 2}, {"tp": True}],
    ),
    "top": Arg([1, 3], [1000, 1001, 0, -1, 10**400], [None, "1", 1.5, True, float("inf")]),
    "pue": real([None, 1.15, 1.5]),
}


@examples(100)
@given(call(TRAIN_ARGS))
def test_train(case):
    kwargs, wrong = case
    result = outcome(computeplan.train, {**kwargs, "catalog": CATALOG}, wrong)
    if result is not None:
        check_dict(result.to_dict())
        assert not result.to_frame().empty


SERVE_ARGS = {
    "model": Arg(["llama3-8b", "llama3-70b"], ["", "LLAMA"], [None, 3]),
    "chips": Arg(["h100-sxm", ["h100-sxm", "trn2"]], ["", "h10", ["h100-sxm", "h100-sxm"]], [None, 5, [5], []]),
    "input_len": real([2048, 128, 0], none_ok=False),
    "output_len": real([256, 1], none_ok=False),
    "tpot_s": real([None, 0.05]),
    "ttft_s": real([None, 2.0]),
    "traffic": Arg(
        [None, 1e9, "50req/s", "1e9tok/day"], [0, -1, 1e19, "", "0req/s", "1e400tok/day", float("nan")], [True, [1e9]]
    ),
    "weight_precisions": Arg([None, ["bf16"], ("fp8", "bf16")], ["fp8", ["fp3"]], [[5], [None], []]),
    "prefix_hit_rate": real([0.0, 0.5], none_ok=False),
    "speculative_tokens": count([0, 4]),
    "acceptance_rate": real([0.0, 0.7], none_ok=False),
    "utilization": real([1.0, 0.5], none_ok=False),
    "pue": real([None, 1.2]),
}


@examples(100)
@given(call(SERVE_ARGS))
def test_serve(case):
    kwargs, wrong = case
    result = outcome(computeplan.serve, {**kwargs, "catalog": CATALOG}, wrong)
    if result is not None:
        check_dict(result.to_dict())
        assert len(result.chips) >= 1


GOODPUT_ARGS = {
    "model": Arg(["llama3-405b", "llama3-8b"], ["", "x"], [None, 1]),
    "chips": count([8, 16384, 2**20]),
    "days": real([None, 1.0, 54.0]),
    "asynchronous": Arg([False, True], [], ["yes", None, 1]),
    "hot_spares": Arg([True, False], [], ["no", None, 0]),
    "storage_bytes_per_s_per_chip": real([None, 1e9]),
}


def _goodput_json(est: Any) -> dict[str, Any]:
    from computeplan.report.goodput_text import goodput_json

    return goodput_json(est)


@examples(100)
@given(call(GOODPUT_ARGS))
def test_goodput(case):
    kwargs, wrong = case
    result = outcome(computeplan.goodput, {**kwargs, "catalog": CATALOG}, wrong)
    if result is not None:
        check_dict(_goodput_json(result))


# --- constructors ------------------------------------------------------------------------------------------------

TRAINING_JOB_ARGS = {
    "seq_len": count([1, 8192, 2**24]),
    "global_batch": count([1, 512, 2**24]),
    "tokens": real([None, 1.0, 1e18]),
    "pue": real([1.0, 1.15, 3.0], none_ok=False),
}


@examples(60)
@given(call(TRAINING_JOB_ARGS))
def test_training_job(case):
    kwargs, wrong = case
    job = outcome(TrainingJob, kwargs, wrong)
    if job is not None:
        assert job.tokens_per_step >= 1
        check_dict(asdict(job))


SERVING_JOB_ARGS = {
    key: SERVE_ARGS[key]
    for key in (
        "input_len",
        "output_len",
        "tpot_s",
        "ttft_s",
        "prefix_hit_rate",
        "speculative_tokens",
        "acceptance_rate",
        "utilization",
    )
} | {
    "traffic_tokens_per_day": real([None, 0.0, 1e9]),
    "weight_precisions": Arg([None, ("bf16",), ("fp8", "int4")], [("fp3",)], [[], (), "fp8", (5,), ["bf16"]]),
    "pue": real([1.15], none_ok=False),
}


@examples(60)
@given(call(SERVING_JOB_ARGS))
def test_serving_job(case):
    kwargs, wrong = case
    job = outcome(ServingJob, kwargs, wrong)
    if job is not None:
        check_dict({k: v for k, v in asdict(job).items() if k != "weight_precisions"})


LLAMA = TransformerSpec.from_entry(load_catalog().model("llama3-8b"))
SPEC_SIZES = [f for f in TransformerSpec.__dataclass_fields__ if f not in ("name", "gated_mlp", "tied_embeddings")]
SPEC_ARGS = {name: count([getattr(LLAMA, name)]) for name in SPEC_SIZES} | {
    "name": Arg(["fuzz"], ["", "ü" * 300], [None, 5]),
    "gated_mlp": Arg([True, False], [], ["no", None, 0, 1.0]),
    "tied_embeddings": Arg([False, True], [], ["yes", None, 1]),
}


@examples(120)
@given(call(SPEC_ARGS))
def test_transformer_spec(case):
    kwargs, wrong = case
    spec = outcome(TransformerSpec, kwargs, wrong)
    if spec is None:
        return
    params = spec.param_count()
    assert isinstance(params, int) and params >= 1
    assert 1 <= spec.param_count(active_only=True) <= params
    small = spec.layers <= 128 and spec.hidden <= 32768 and spec.vocab <= 10**6 and spec.seq_len <= 2**17
    if small:  # a search stays fast: price it
        try:
            result = computeplan.train(spec, "h100-sxm", 64, catalog=CATALOG)
        except ComputeplanError:
            return
        check_dict(result.to_dict())


# --- known reproducers: one test per input that must be refused ------------------------------------------------


def _train(**kw: Any) -> Any:
    return computeplan.train(**{"model": "llama3-8b", "chip": "h100-sxm", "chips": 8, **kw})


def _serve(**kw: Any) -> Any:
    return computeplan.serve(**{"model": "llama3-8b", "chips": "h100-sxm", "input_len": 128, "output_len": 16, **kw})


def _goodput(**kw: Any) -> Any:
    return computeplan.goodput(**{"model": "llama3-8b", "chips": 8, **kw})


REFUSED = {
    "train chips='8'": lambda: _train(chips="8"),
    "train chips=None": lambda: _train(chips=None),
    "train chips=True": lambda: _train(chips=True),
    "train chips=8.5": lambda: _train(chips=8.5),
    "train global_batch_tokens=0": lambda: _train(global_batch_tokens=0),
    "train top='1'": lambda: _train(top="1"),
    "train top=1.5": lambda: _train(top=1.5),
    "train top=None": lambda: _train(top=None),
    "train layout=5": lambda: _train(layout=5),
    "train layout={'tp': 'x'}": lambda: _train(layout={"tp": "x"}),
    "train layout={'tp': 1.5}": lambda: _train(layout={"tp": 1.5}),
    "train layout={'tp': nan}": lambda: _train(layout={"tp": float("nan")}),
    "train layout={1: 2}": lambda: _train(layout={1: 2}),
    "train model=None": lambda: _train(model=None),
    "train model=5": lambda: _train(model=5),
    "train chip=None": lambda: _train(chip=None),
    "train overrides=[('layers', 2)]": lambda: _train(overrides=[("layers", 2)]),
    "serve chips=[]": lambda: _serve(chips=[]),
    "serve chips=None": lambda: _serve(chips=None),
    "serve chips=[5]": lambda: _serve(chips=[5]),
    "serve weight_precisions=[]": lambda: _serve(weight_precisions=[]),
    "serve output_len='16' with traffic in req/s": lambda: _serve(output_len="16", traffic="5req/s"),
    "serve utilization=1e-300 with traffic": lambda: _serve(utilization=1e-300, traffic=1e18),
    "goodput days='8'": lambda: _goodput(days="8"),
    "goodput days=True": lambda: _goodput(days=True),
    "goodput chips=8.0000001": lambda: _goodput(chips=8.0000001),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name):
    """Each is refused as an invalid argument (not by luck further on, as "no layout fits 1 chip" for chips=True)."""
    with pytest.raises(InvalidInput):
        REFUSED[name]()


def test_checks_accept_numpy_and_fractions_but_not_bools():
    from computeplan import checks

    assert checks.whole("n", np.int64(8), low=1, high=10) == 8
    assert checks.whole("n", Fraction(8, 1), low=1, high=10) == 8
    assert checks.number("x", np.float32(0.5), low=0, high=1) == 0.5
    for bad in (True, np.bool_(True), "8", None, Decimal(8), 10**5000):
        with pytest.raises(InvalidInput):
            checks.whole("n", bad, low=1, high=10)
    with pytest.raises(InvalidInput, match="beyond the float range"):
        checks.number("x", Fraction(10**400, 3), low=0, high=1)
    assert not math.isnan(checks.number("x", 1e-320, low=0, high=1))


def test_replace_revalidates_a_spec():
    with pytest.raises(InvalidSpec):
        replace(LLAMA, layers=0)
