"""Profile and measure on this machine's CPU with tiny shapes (seconds): the profile's numbers are physical, and its
predictions beat the uncalibrated defaults on real steps. Needs PyTorch (the ``profile`` extra); skipped without."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from computeplan.profiling import microbench  # noqa: E402
from computeplan.profiling.measure import DecodeShape, TrainShape, measure_device  # noqa: E402
from computeplan.profiling.run import profile_device  # noqa: E402

TINY = microbench.Sizes(
    square=(128, 256),
    narrow=(1, 16, 64),
    wide=256,
    seq_lens=(64, 128, 256),
    heads=2,
    head_dim=32,
    stream_bytes=64 * 2**20,  # beyond the caches, or the bandwidths read as a cache's
    collective_bytes=(2**10, 2**16),
    budget_s=0.1,
)


@pytest.fixture(scope="module")
def profile():
    return _profile_now()


def test_the_profile_is_physical(profile):
    f = profile.fitted
    assert f.peak_flops_per_s > 1e8 and f.memory_bytes_per_s > 1e8  # any CPU of the last decade does more
    assert 0 < f.matmul_plateau <= 1 and f.matmul_half_dim > 0
    assert 0 < f.attention_relative <= 1.5 and f.attention_half_seq > 0
    assert 0 < f.memory_efficiency <= 1 and 0 < f.decode_memory_efficiency <= 2 and 0 < f.kv_memory_efficiency <= 2
    assert f.decode_gemm_curve[0] == (1.0, 1.0) and all(r > 0 for _, r in f.decode_gemm_curve)
    assert f.dispatch_s > 0
    p = profile.provenance
    assert p.device == "cpu" and p.dtype == "fp32" and p.element_bytes == 4 and p.torch_version == torch.__version__
    assert set(profile.measurements) >= {"gemm", "attention", "stream", "elementwise", "optimizer", "decode"}


def _profile_now():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(microbench.Sizes, "for_device", classmethod(lambda cls, device_type, quick: TINY))
        return profile_device("cpu", quick=True, collectives=False)


def test_predictions_from_the_profile_beat_the_uncalibrated_defaults(profile):
    trains = [TrainShape(2, 128, 2, 2, 384, 128, 4), TrainShape(1, 256, 4, 2, 704, 128, 4)]
    trains.append(TrainShape(2, 256, 4, 4, 768, 256, 2))
    decodes = [DecodeShape(4, 512, 8, 2, 1408, 256, 1), DecodeShape(2, 1024, 8, 2, 2816, 512, 2)]
    # Timings on a shared 2-core machine: a profile taken while another process held a core misreads it, so a
    # losing round is measured once more, with a fresh profile, before the test fails.
    for attempt in range(2):
        used = profile if attempt == 0 else _profile_now()
        report = measure_device(used, train_shapes=trains, decode_shapes=decodes, repeats=3)
        if report.median_abs_error_pct < report.median_abs_error_uncalibrated_pct:
            break
    assert [r.kind for r in report.rows] == ["training"] * 3 + ["decode"] * 2
    assert all(r.measured > 0 and r.predicted > 0 for r in report.rows)
    assert report.median_abs_error_pct < report.median_abs_error_uncalibrated_pct
    data = report.to_dict()
    assert set(data["rows"][0]) >= {"shape", "kind", "measured", "predicted", "error_pct"}


def test_collectives_between_two_processes():
    rows = microbench.collective_rows("cpu", TINY)
    assert {r["op"] for r in rows} >= {"all_reduce", "all_gather"}
    assert all(r["seconds"] > 0 and r["bus_bytes_per_s"] > 0 and r["world"] == 2 for r in rows)
