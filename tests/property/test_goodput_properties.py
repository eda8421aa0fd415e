"""Properties of goodput: bigger jobs fail more often; faster storage never hurts."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.perf.goodput import CheckpointSetup, FailureModel, estimate_goodput

rates = st.floats(1e-10, 1e-6)
setups = st.builds(
    CheckpointSetup,
    checkpoint_bytes=st.floats(1e9, 1e13),
    write_bytes_per_s=st.floats(1e9, 1e13),
    read_bytes_per_s=st.floats(1e9, 1e13),
    restart_s=st.floats(10, 3600),
)


@settings(max_examples=60, deadline=None)
@given(rate=rates, chips=st.integers(1, 200_000), more=st.integers(1, 100_000))
def test_more_chips_never_raise_the_job_mtbf(rate, chips, more):
    model = FailureModel(rates_per_chip_s={"all": rate})
    assert model.job_mtbf_s(chips + more) <= model.job_mtbf_s(chips)


@settings(max_examples=60, deadline=None)
@given(rate=rates, setup=setups, chips=st.integers(8, 100_000), factor=st.floats(1.0, 50.0))
def test_faster_storage_never_lowers_goodput(rate, setup, chips, factor):
    model = FailureModel(rates_per_chip_s={"all": rate})
    slow = estimate_goodput(model, setup, chips)
    fast_setup = replace(
        setup, write_bytes_per_s=setup.write_bytes_per_s * factor, read_bytes_per_s=setup.read_bytes_per_s * factor
    )
    fast = estimate_goodput(model, fast_setup, chips)
    assert fast.goodput >= slow.goodput - 1e-9
    assert 0.0 <= slow.goodput <= 1.0
