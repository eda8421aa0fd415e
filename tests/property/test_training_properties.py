"""Properties of the training model: finite outputs, monotone in bandwidth and model size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeplan.hardware.efficiency import PRIOR
from computeplan.perf.training import training_step
from computeplan.search.space import enumerate_layouts
from tests.unit.test_training_formulas import cluster, gpt

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

specs = st.builds(
    gpt,
    layers=st.sampled_from([2, 4, 12, 24]),
    hidden=st.sampled_from([512, 1024, 4096]),
    heads=st.sampled_from([8, 16]),
    seq=st.sampled_from([512, 2048, 8192]),
    gated=st.booleans(),
)
clusters = st.builds(
    cluster,
    num_chips=st.sampled_from([8, 16, 64]),
    domain=st.sampled_from([4, 8]),
    up=st.floats(10e9, 1e12),
    out=st.floats(1e9, 100e9),
    hbm_bw=st.floats(0.5e12, 8e12),
)


def _all_layouts(spec, c, batch):
    return enumerate_layouts(spec, c, global_batch=batch, seq_len=spec.seq_len)


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]))
def test_no_nan_or_inf_for_any_layout_that_can_run(spec, c, batch):
    lay = _all_layouts(spec, c, batch)
    r = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    ok = r.invalid == 0
    for name in ("step_time_s", "memory_bytes", "mfu", "hfu", "tokens_per_s", "dp_comm_s", "bubble_s"):
        values = getattr(r, name)[ok]
        assert np.all(np.isfinite(values)), name
        assert np.all(values >= 0), name
    assert np.all(r.step_time_s[ok] > 0)


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]), factor=st.floats(1.0, 10.0))
def test_more_bandwidth_never_slows_a_step(spec, c, batch, factor):
    lay = _all_layouts(spec, c, batch)
    base = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    faster = replace(
        c,
        scaleup_bytes_per_s=c.scaleup_bytes_per_s * factor,
        scaleout_bytes_per_s=c.scaleout_bytes_per_s * factor,
        hbm_bytes_per_s=c.hbm_bytes_per_s * factor,
    )
    quick = training_step(spec, faster, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    assert np.all(quick.step_time_s <= base.step_time_s * (1 + 1e-12))


@SETTINGS
@given(spec=specs, c=clusters, batch=st.sampled_from([64, 256]))
def test_a_bigger_model_never_trains_faster_on_the_same_layout(spec, c, batch):
    bigger = replace(spec, layers=spec.layers * 2, ffn_hidden=spec.ffn_hidden * 2)
    lay = _all_layouts(spec, c, batch)
    small = training_step(spec, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    big = training_step(bigger, c, PRIOR, lay, global_batch=batch, seq_len=spec.seq_len)
    ok = (small.invalid == 0) & (big.invalid == 0)
    assert np.all(big.step_time_s[ok] >= small.step_time_s[ok] * (1 - 1e-12))
    assert np.all(big.memory_bytes[ok] >= small.memory_bytes[ok])
