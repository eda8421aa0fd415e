"""A device profile: what the microbenchmarks measured, the efficiency curves fitted to them, and how the
performance models use it. Reading a profile and predicting from it need no PyTorch.

The fit (:func:`fit_profile`), in the performance models' own terms:

- peak: the best GEMM rate measured (a profiled device has no datasheet figure to trust; the GEMM curve below is
  relative to it);
- GEMM curve e(x) = e_max x / (x + x_half) over every product, x = min(m, n, k) (``matmul_plateau`` = e_max and
  ``matmul_half_dim`` = x_half of :class:`~computeplan.hardware.efficiency.EfficiencyParams`);
- causal attention, forward + backward, at e_max a s / (s + s_half) of the peak (``attention_relative`` = a,
  ``attention_half_seq`` = s_half);
- memory bandwidth: a device copy; single-pass element-wise kernels (as eager PyTorch runs them) reach
  ``memory_efficiency`` of it, a fused AdamW step ``optimizer_efficiency`` (at the model's 30 B per parameter), and
  a decode step's products (one token through distinct weight matrices larger than any cache together)
  ``decode_memory_efficiency``, with the time of m tokens over one token's as ``decode_gemm_curve`` (small-batch
  kernels may be slower than reading the weight), and decode attention's KV read ``kv_memory_efficiency``;
- dispatch: seconds per small kernel (a decode step's element-wise ops on one token), times the kernels of a decode
  step (:data:`DECODE_KERNELS_PER_LAYER`) is the serving model's fixed step overhead;
- collectives (where measured): bus bandwidth and latency, t = latency + bus bytes / bandwidth.

Each fit is least squares on the logarithm of the rate (:func:`_fit_curve`), bounded to physical values.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from computeplan.catalog.loader import Catalog, validate_table
from computeplan.catalog.schema import ChipEntry, SystemEntry
from computeplan.errors import CatalogError
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.files import load_yaml
from computeplan.hardware.cluster import Cluster, cluster_from_catalog
from computeplan.hardware.efficiency import PRIOR, EfficiencyParams
from computeplan.perf.inference import InferenceEfficiency

# Kernels an eager decoder layer launches per decode step (2 RMSNorms of 5 ops, 3 projections, cache update 2,
# attention with its reshapes 5, output projection, 2 residual adds, gated MLP 5): an estimate, counted by hand
# on computeplan.profiling.measure.TinyLlama; plus the embedding, final norm and output layer per step.
DECODE_KERNELS_PER_LAYER = 30.0
DECODE_KERNELS_PER_STEP = 8.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # a measured figure is finite


class Provenance(_Strict):
    device: str = Field(description="cpu, cuda or neuron")
    device_name: str
    dtype: str = Field(description="the data type every benchmark ran in (fp32 on CPU, bf16 on accelerators)")
    element_bytes: int = Field(gt=0)
    torch_version: str
    driver: str | None = None
    date: str
    command: str
    quick: bool


class Fitted(_Strict):
    """The fitted curves (SI units)."""

    peak_flops_per_s: float = Field(gt=0, description="best GEMM rate measured [FLOP/s]")
    matmul_plateau: float = Field(gt=0, le=1, description="e_max of e(x), of the peak")
    matmul_half_dim: float = Field(gt=0, description="x_half of e(x)")
    attention_relative: float = Field(gt=0, le=1.5, description="causal attention asymptote relative to e_max")
    attention_half_seq: float = Field(gt=0, description="tokens at which attention runs at half its asymptote")
    memory_bytes_per_s: float = Field(gt=0, description="device copy, bytes read + written per second")
    memory_efficiency: float = Field(gt=0, le=1, description="element-wise kernels, of the copy bandwidth")
    optimizer_efficiency: float = Field(gt=0, le=2, description="a fused AdamW step, of the copy bandwidth")
    decode_memory_efficiency: float = Field(
        gt=0, le=2, description="a one-token decode product, of the copy bandwidth (reads alone can outpace a copy)"
    )
    decode_gemm_curve: list[tuple[float, float]] = Field(
        min_length=1, description="(m, time of an m-token decode product over the one-token one)"
    )
    kv_memory_efficiency: float = Field(gt=0, le=2, description="decode attention's KV read, of the copy bandwidth")
    dispatch_s: float = Field(ge=0, description="seconds per tiny kernel")
    memory_capacity_bytes: float = Field(gt=0, description="device memory [bytes]")
    collective_bytes_per_s: float | None = Field(default=None, gt=0, description="bus bandwidth [bytes/s]")
    collective_latency_s: float | None = Field(default=None, ge=0, description="per-collective latency [s]")

    @field_validator("decode_gemm_curve")
    @classmethod
    def _curve_is_positive_and_rising_in_m(cls, curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
        ms = [m for m, _ in curve]
        if any(m <= 0 or r <= 0 for m, r in curve) or ms != sorted(set(ms)):
            raise ValueError("each (m, ratio) must be positive, with m rising")
        return curve


class DeviceProfile(_Strict):
    """What ``computeplan profile`` writes (YAML): provenance, the fitted curves, and the raw measurements."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="chip id the profile adds, e.g. profile-cpu")
    provenance: Provenance
    fitted: Fitted
    measurements: dict[str, list[dict[str, Any]]]

    @property
    def family(self) -> str:
        """The chip family a profile calibrates: its own (no published run shares it)."""
        return self.id

    @property
    def basis(self) -> str:
        p = self.provenance
        return f"profiled on {p.device_name} ({p.dtype}, torch {p.torch_version}) on {p.date} by `{p.command}`"

    def cluster(self, num_chips: int = 1) -> Cluster:
        """The profiled device as the performance models see it: its catalog chip and system
        (:meth:`catalog_entries`), ``num_chips`` of them joined by the measured collectives."""
        chip, system = self.catalog_entries()
        catalog = Catalog(chips={chip.id: chip}, systems={system.id: system}, models={})
        return cluster_from_catalog(catalog, self.id, num_chips)

    def training_efficiency(self) -> EfficiencyParams:
        """The training model's parameters, all from the microbenchmarks (nothing fitted on end-to-end runs)."""
        f = self.fitted
        return replace(
            PRIOR,
            realized_fraction=1.0,
            matmul_plateau=f.matmul_plateau,
            matmul_half_dim=f.matmul_half_dim,
            attention_relative=f.attention_relative,
            attention_half_seq=f.attention_half_seq,
            memory_efficiency=f.memory_efficiency,
            optimizer_efficiency=f.optimizer_efficiency,
            calibrated=True,
            basis=self.basis,
        )

    def serving_efficiency(self) -> InferenceEfficiency:
        """The serving model's parameters: the decode products' share of the bandwidth and their small-batch curve,
        the KV read's share, prefill at the GEMM plateau, and fixed costs of the dispatch cost times the kernels of
        a decode step (per layer and per step)."""
        f = self.fitted
        return InferenceEfficiency(
            memory_efficiency=f.decode_memory_efficiency,
            prefill_efficiency=f.matmul_plateau,
            step_overhead_s=f.dispatch_s * DECODE_KERNELS_PER_STEP,
            layer_overhead_s=f.dispatch_s * DECODE_KERNELS_PER_LAYER,
            decode_gemm_curve=tuple((m, r) for m, r in f.decode_gemm_curve),
            kv_memory_efficiency=f.kv_memory_efficiency,
            calibrated=True,
            basis=self.basis,
        )

    def catalog_entries(self) -> tuple[ChipEntry, SystemEntry]:
        """The profiled device as a chip and a one-chip system of the catalog (every figure sourced to the
        profile, confidence ``estimate``: measured, not a datasheet), so that ``train``, ``serve`` and ``validate``
        can name it."""
        f, p = self.fitted, self.provenance
        source = f"computeplan profile: {p.device_name}, {p.dtype}, torch {p.torch_version} (`{p.command}`)"

        def fact(value: float, note: str) -> dict[str, Any]:
            return {"value": value, "source": source, "date": p.date, "confidence": "estimate", "note": note}

        link = f.collective_bytes_per_s or f.memory_bytes_per_s
        chip = ChipEntry.model_validate(
            {
                "id": self.id,
                "name": f"{p.device_name} (profiled)",
                "vendor": "measured",
                "family": self.family,
                "status": "shipping",
                "system": self.id,
                "year_available": fact(float(p.date[:4]), "the profile's date"),
                "bf16_flops_per_s": fact(f.peak_flops_per_s, f"best {p.dtype} GEMM measured (stands for bf16)"),
                "hbm_bytes": fact(f.memory_capacity_bytes, "device memory"),
                "hbm_bytes_per_s": fact(f.memory_bytes_per_s, "device copy, bytes read + written per second"),
                "power_w": fact(1.0, "not measured (placeholder)"),
                "scaleup_bytes_per_s": fact(link, "all-reduce bus bandwidth between processes, else memory"),
                "scaleup_domain_chips": fact(1.0, "one device"),
                "scaleout_bytes_per_s": fact(link, "as scale-up"),
                "notes": self.basis,
            }
        )
        latency = f.collective_latency_s or 1e-6
        system = SystemEntry.model_validate(
            {
                "id": self.id,
                "name": f"{p.device_name} (profiled)",
                "chip": self.id,
                "scaleup_domain_chips": fact(1.0, "one device"),
                "scaleup_topology": "switch",
                "scaleup_latency_s": fact(latency, "smallest all-reduce measured"),
                "scaleout_topology": "switch",
                "scaleout_latency_s": fact(latency, "as scale-up"),
                "host_power_w_per_chip": fact(1.0, "not measured (placeholder)"),
            }
        )
        return chip, system

    def extend(
        self, catalog: Catalog | None = None, efficiency: EfficiencyTables | None = None
    ) -> tuple[Catalog, EfficiencyTables]:
        """``catalog`` with the profiled chip and system added, and ``efficiency`` with the profile's parameters for
        its family (defaults: the built-in catalog and tables): pass both to ``train``, ``serve`` or ``validate``."""
        from computeplan.catalog.loader import as_catalog
        from computeplan.estimate.efficiency import as_efficiency_tables

        chip, system = self.catalog_entries()
        origin = f"device profile {self.id}"
        extended = as_catalog(catalog).with_entry("systems", system, origin).with_entry("chips", chip, origin)
        tables = as_efficiency_tables(efficiency).with_profiled(
            self.family, self.training_efficiency(), self.serving_efficiency()
        )
        return extended, tables


def load_profile(path: str | Path) -> DeviceProfile:
    """A profile file, validated; errors name the file and the field."""
    raw = load_yaml(Path(path), what="device profile", error=CatalogError)
    return validate_table(DeviceProfile, raw, where=str(path))


# ---------------------------------------------------------------------------------------------- the fit


def _fit_curve(
    x: Sequence[float], y: Sequence[float], *, top: float, top_bounds: tuple[float, float]
) -> tuple[float, float]:
    """(a, h) of y = a x / (x + h), least squares on log y, a within ``top_bounds``, h within [1e-3, 1e7]."""
    from scipy.optimize import least_squares  # type: ignore[import-untyped]

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def residuals(v: np.ndarray) -> np.ndarray:
        a, log_h = v
        found: np.ndarray = np.log(a * xs / (xs + math.exp(log_h))) - np.log(ys)
        return found

    start = np.array([min(max(top, top_bounds[0]), top_bounds[1]), math.log(float(np.median(xs)))])
    low, high = np.array([top_bounds[0], math.log(1e-3)]), np.array([top_bounds[1], math.log(1e7)])
    result = least_squares(residuals, start, bounds=(low, high))
    return float(result.x[0]), float(math.exp(result.x[1]))


def fit_profile(
    measurements: Mapping[str, list[dict[str, Any]]],
    *,
    profile_id: str,
    provenance: Provenance,
    dispatch_s: float,
    memory_capacity_bytes: float,
) -> DeviceProfile:
    """The profile of a device from its microbenchmark rows (:mod:`.microbench`)."""
    gemms = measurements["gemm"]
    peak = max(row["flops_per_s"] for row in gemms)
    narrow = [float(min(row["m"], row["n"], row["k"])) for row in gemms]
    efficiency = [row["flops_per_s"] / peak for row in gemms]
    plateau, half_dim = _fit_curve(narrow, efficiency, top=1.0, top_bounds=(0.05, 1.0))
    causal = [row for row in measurements["attention"] if row["causal"]]
    relative, half_seq = _fit_curve(
        [float(row["seq_len"]) for row in causal],
        [row["flops_per_s"] / (peak * plateau) for row in causal],
        top=0.5,
        top_bounds=(0.01, 1.5),
    )
    copy = next(row["bytes_per_s"] for row in measurements["stream"] if row["kernel"] == "copy")
    elementwise = statistics.median(row["bytes_per_s"] for row in measurements["elementwise"])
    optimizer = measurements["optimizer"][0]["bytes_per_s"]
    decode = sorted(measurements["decode"], key=lambda row: row["m"])
    decode_bw = decode[0]["bytes_per_s"]
    curve = [(float(row["m"]), row["seconds"] / decode[0]["seconds"]) for row in decode]
    kv_bw = measurements["decode_attention"][0]["bytes_per_s"]
    collective = _fit_collectives(measurements.get("collectives", []))
    fitted = Fitted(
        peak_flops_per_s=peak,
        matmul_plateau=plateau,
        matmul_half_dim=half_dim,
        attention_relative=relative,
        attention_half_seq=half_seq,
        memory_bytes_per_s=copy,
        memory_efficiency=_share(elementwise, copy, high=1.0),
        optimizer_efficiency=_share(optimizer, copy, high=2.0),
        decode_memory_efficiency=_share(decode_bw, copy, high=2.0),
        decode_gemm_curve=curve,
        kv_memory_efficiency=_share(kv_bw, copy, high=2.0),
        dispatch_s=dispatch_s,
        memory_capacity_bytes=memory_capacity_bytes,
        collective_bytes_per_s=collective[0] if collective else None,
        collective_latency_s=collective[1] if collective else None,
    )
    return DeviceProfile(id=profile_id, provenance=provenance, fitted=fitted, measurements=dict(measurements))


def _share(rate: float, copy: float, *, high: float) -> float:
    """A kernel's bandwidth as a share of the copy's, within [0.01, high] (the bounds of its :class:`Fitted` field)."""
    return min(max(rate / copy, 0.01), high)


def _fit_collectives(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float] | None:
    """(bus bandwidth, latency) of the all-reduces: latency from the smallest message, bandwidth from the largest
    (t = latency + bus bytes / bandwidth)."""
    reduces = sorted((r for r in rows if r["op"] == "all_reduce"), key=lambda r: r["bytes"])
    if len(reduces) < 2:
        return None
    small, large = reduces[0], reduces[-1]
    latency = float(small["seconds"])
    world = float(large["world"])
    bus = 2.0 * (world - 1.0) / world * large["bytes"]
    return bus / max(large["seconds"] - latency, 1e-12), latency
