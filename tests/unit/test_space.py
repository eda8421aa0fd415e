"""The layout space: divisors by prime factorisation, and the bounds that keep enumeration small."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan.errors import InvalidLayout
from computeplan.search import space
from computeplan.search.space import MAX_CHIPS, MAX_GLOBAL_BATCH, divisors, enumerate_layouts, prime_factors
from tests.unit.test_training_formulas import cluster, gpt

LARGE_PRIME = 2**40 - 87  # the largest prime below 2**40


def _brute_force(n: int) -> list[int]:
    return [i for i in range(1, n + 1) if n % i == 0]


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % i for i in range(2, math.isqrt(n) + 1))


@given(st.integers(1, 5000))
def test_divisors_match_brute_force(n):
    assert divisors(n) == _brute_force(n)


@given(st.integers(1, 10**9))
def test_prime_factors_multiply_back(n):
    product = 1
    for prime, power in prime_factors(n).items():
        assert _is_prime(prime)
        product *= prime**power
    assert product == n


def test_divisors_by_hand():
    assert divisors(1) == [1]
    assert divisors(12) == [1, 2, 3, 4, 6, 12]
    assert divisors(0) == [] and divisors(-4) == []


def test_divisors_of_large_numbers_are_fast():
    start = time.perf_counter()
    assert divisors(2**40) == [2**k for k in range(41)]
    assert divisors(LARGE_PRIME) == [1, LARGE_PRIME]
    highly_composite = 963761198400  # 2^6 3^4 5^2 7 11 13 17 19 23: 6,720 divisors
    found = divisors(highly_composite)
    assert len(found) == 6720 and all(highly_composite % d == 0 for d in found)
    assert time.perf_counter() - start < 2.0


def test_divisors_refuse_numbers_beyond_the_cap():
    with pytest.raises(InvalidLayout, match=r"chips: at most 2\*\*40"):
        divisors(MAX_CHIPS + 1, quantity="chips")


def _layouts(num_chips=8, global_batch=64, **kw):
    spec = gpt(layers=8)
    c = replace(cluster(), num_chips=num_chips)
    return enumerate_layouts(spec, c, global_batch=global_batch, seq_len=2048, **kw)


def test_absurd_chip_counts_are_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(
        InvalidLayout, match=r"chips: at most 2\*\*40 = 1,099,511,627,776 chips, got 1,000,000,000,000,000"
    ):
        _layouts(num_chips=10**15)
    assert time.perf_counter() - start < 1.0


def test_global_batch_outside_bounds_is_refused():
    with pytest.raises(InvalidLayout, match=r"global batch: at most 2\*\*24 = 16,777,216 sequences"):
        _layouts(global_batch=MAX_GLOBAL_BATCH + 1)
    with pytest.raises(InvalidLayout, match="a 401-digit number"):
        _layouts(global_batch=10**400)
    with pytest.raises(InvalidLayout, match="global batch: must be at least 1"):
        _layouts(global_batch=0)


def test_the_largest_batch_allowed_still_enumerates():
    assert len(_layouts(global_batch=MAX_GLOBAL_BATCH)) > 0


def test_too_many_candidates_are_refused_before_building_them(monkeypatch):
    full = len(_layouts())
    monkeypatch.setattr(space, "MAX_LAYOUTS", full - 1)
    with pytest.raises(InvalidLayout, match=r"more than .* candidates: fix some fields"):
        _layouts()
    monkeypatch.setattr(space, "MAX_LAYOUTS", full)
    assert len(_layouts()) == full
    assert len(_layouts(fixed={"tp": [1]})) < full
