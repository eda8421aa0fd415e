"""A device profile without PyTorch: the fit recovers the curves that made synthetic measurements, the profile
becomes a chip the estimates use, and the model terms it feeds behave as hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from computeplan import api
from computeplan.perf.inference import InferenceEfficiency
from computeplan.perf.training import BYTES_BF16, Software, elementwise_time, step_geometry
from computeplan.profiling.device_profile import DeviceProfile, Provenance, fit_profile, load_profile
from computeplan.workload.transformer import TransformerSpec

PEAK = 400e9  # FLOP/s
COPY = 20e9  # bytes/s


def synthetic_measurements() -> dict[str, list[dict[str, float]]]:
    """Rows as the microbenchmarks write them, made from known curves: e(x) = 0.9 x / (x + 20) of the peak,
    causal attention at 0.9 x 0.6 s / (s + 400), element-wise at 0.3 of the copy, AdamW at 1.5, decode at 1.1."""
    gemm = []
    for m, n, k in [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024)] + [(m, 1024, 1024) for m in (1, 8, 32, 128)]:
        rate = PEAK * 0.9 * min(m, n, k) / (min(m, n, k) + 20.0)
        gemm.append({"m": m, "n": n, "k": k, "seconds": 2.0 * m * n * k / rate, "flops_per_s": rate})
    peak_seen = max(r["flops_per_s"] for r in gemm)
    attention = [
        {"seq_len": s, "causal": True, "seconds": 1.0, "flops_per_s": peak_seen * 0.9 * 0.6 * s / (s + 400.0)}
        for s in (128, 256, 512, 1024)
    ] + [{"seq_len": 256, "causal": False, "seconds": 1.0, "flops_per_s": 1e9}]
    decode = [
        {"m": m, "width": 1024, "seconds": 1e-3 * r, "bytes_per_s": 1.1 * COPY / r} for m, r in ((1, 1.0), (8, 2.0))
    ]
    return {
        "gemm": gemm,
        "attention": attention,
        "stream": [{"kernel": "copy", "bytes": 1.0, "seconds": 1.0, "bytes_per_s": COPY}],
        "elementwise": [{"kernel": k, "bytes": 1.0, "seconds": 1.0, "bytes_per_s": 0.3 * COPY} for k in ("a", "b")],
        "optimizer": [{"kernel": "adamw-fused", "params": 1, "seconds": 1.0, "bytes_per_s": 1.5 * COPY}],
        "decode": decode,
        "decode_attention": [{"context": 2048, "batch": 4, "seconds": 1.0, "bytes_per_s": 0.8 * COPY}],
    }


def tiny_spec(*, layers: int, seq_len: int) -> TransformerSpec:
    return TransformerSpec(
        name="tiny", layers=layers, hidden=256, heads=4, kv_heads=4, head_dim=64, ffn_hidden=768, gated_mlp=True,
        vocab=4096, seq_len=seq_len,
    )  # fmt: skip


def synthetic_profile() -> DeviceProfile:
    provenance = Provenance(
        device="cpu",
        device_name="test cpu",
        dtype="fp32",
        element_bytes=4,
        torch_version="x",
        date="2026-11-26",
        command="test",
        quick=True,
    )
    return fit_profile(
        synthetic_measurements(),
        profile_id="profile-test",
        provenance=provenance,
        dispatch_s=2e-6,
        memory_capacity_bytes=16e9,
    )


def test_the_fit_recovers_the_curves_that_made_the_measurements():
    f = synthetic_profile().fitted
    peak_seen = PEAK * 0.9 * 1024 / 1044
    assert f.peak_flops_per_s == pytest.approx(peak_seen)
    # e_max relative to the best rate seen would be 1044 / 1024: bounded at 1 (nothing beats the best seen)
    assert f.matmul_plateau == pytest.approx(1.0)
    assert f.matmul_half_dim == pytest.approx(20.0, rel=0.05)
    assert f.attention_half_seq == pytest.approx(400.0, rel=1e-3)
    assert f.memory_efficiency == pytest.approx(0.3) and f.optimizer_efficiency == pytest.approx(1.5)
    assert f.decode_memory_efficiency == pytest.approx(1.1) and f.kv_memory_efficiency == pytest.approx(0.8)
    assert f.decode_gemm_curve == [(1.0, 1.0), (8.0, 2.0)]
    assert f.collective_bytes_per_s is None  # none measured


def test_the_profile_is_a_chip_that_train_and_serve_use(tmp_path):
    import yaml

    profile = synthetic_profile()
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile.model_dump(mode="json")), encoding="utf-8")
    assert load_profile(path) == profile
    catalog, tables = profile.extend()
    chip = catalog.chip("profile-test")
    assert chip.bf16_flops_per_s.value == profile.fitted.peak_flops_per_s and chip.family == "profile-test"
    train = tables.for_training("profile-test")
    assert train.calibration == "calibrated" and "profiled on test cpu" in train.basis
    assert train.sustained_matmul_fraction == pytest.approx(profile.fitted.matmul_plateau)
    assert tables.for_training("nvidia-hopper").realized_fraction < 1.0  # other families keep their fit
    spec = tiny_spec(layers=2, seq_len=256)
    result = api.train(spec, "profile-test", 1, global_batch=8, catalog=catalog, efficiency=tables)
    assert result.efficiency.calibration == "calibrated" and result.estimates[0].step_time_s > 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("peak_flops_per_s", float("inf"), "finite number"),
        ("memory_bytes_per_s", float("nan"), "finite number"),
        ("decode_gemm_curve", [[1.0, 1.0], [0.0, 2.0]], "positive, with m rising"),
        ("decode_gemm_curve", [[4.0, 1.0], [2.0, 2.0]], "positive, with m rising"),
        ("decode_gemm_curve", [], "at least 1"),
    ],
)
def test_a_profile_with_an_unphysical_figure_is_refused(tmp_path, field, value, message):
    import yaml

    from computeplan.errors import CatalogError

    raw = synthetic_profile().model_dump(mode="json")
    raw["fitted"][field] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"p\.yaml: fitted\.{field}: .*{message}"):
        load_profile(path)


def test_a_bad_profile_names_the_file_and_field(tmp_path):
    from computeplan.errors import CatalogError

    raw = synthetic_profile().model_dump(mode="json")
    raw["fitted"]["matmul_plateau"] = 1.7
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.yaml: fitted\.matmul_plateau: "):
        load_profile(path)


def test_the_decode_curve_interpolates_in_log_batch_and_holds_at_the_ends():
    eff = InferenceEfficiency(decode_gemm_curve=((1.0, 1.0), (4.0, 2.0), (16.0, 3.0)))
    # m = 2 is halfway from 1 to 4 in log m: 1.5; m = 8 halfway from 4 to 16: 2.5; beyond the ends: held
    got = eff.decode_gemm_factor(np.array([0.5, 1.0, 2.0, 8.0, 64.0]))
    assert got.tolist() == pytest.approx([1.0, 1.0, 1.5, 2.5, 3.0])
    assert InferenceEfficiency().decode_gemm_factor(np.array([7.0])).tolist() == [1.0]


def test_fp32_activations_double_the_element_wise_time():
    from computeplan.hardware.efficiency import PRIOR
    from computeplan.perf.layout import Layouts
    from computeplan.perf.training import training_step

    profile = synthetic_profile()
    spec = tiny_spec(layers=2, seq_len=256)
    lay = Layouts.from_columns(
        {"tp": 1, "pp": 1, "dp": 1, "cp": 1, "ep": 1, "vpp": 1, "mb": 4, "recompute": 0, "sp": 0, "zero": 0,
         "hsdp": 0, "fp8": 0}
    )  # fmt: skip
    cluster = profile.cluster(1)
    bf16 = training_step(spec, cluster, PRIOR, lay, global_batch=4, seq_len=256, software=Software())
    fp32 = training_step(
        spec, cluster, PRIOR, lay, global_batch=4, seq_len=256, software=Software(activation_bytes=4.0)
    )
    g = step_geometry(spec, lay, global_batch=4, seq_len=256)
    one_pass = elementwise_time(spec, cluster, PRIOR, g)[0]
    assert bf16.elementwise_s[0] == pytest.approx(one_pass)
    assert fp32.elementwise_s[0] == pytest.approx(one_pass * 4.0 / BYTES_BF16)


def test_layer_overhead_adds_a_fixed_cost_per_layer_to_a_decode_step():
    from computeplan.perf.inference import replica_performance

    profile = synthetic_profile()
    spec = tiny_spec(layers=6, seq_len=512)
    one = np.ones(1)

    def step(eff: InferenceEfficiency) -> float:
        r = replica_performance(
            spec, profile.cluster(1), eff, tp=one, pp=one, batch=one, weight_bytes=4 * one, kv_bytes=4 * one,
            compute_peak=np.array([PEAK]), input_len=np.array([256.0]), output_len=np.array([0.0]),
            saturate=np.array([False]),
        )  # fmt: skip
        return float(r.decode_step_s[0])

    base = InferenceEfficiency(step_overhead_s=1e-3)
    assert step(InferenceEfficiency(step_overhead_s=1e-3, layer_overhead_s=1e-4)) - step(base) == pytest.approx(6e-4)
