"""Monte Carlo of one training run's step time (``train --samples``): what the chosen layout's step takes when the
performance model is off by as much as it was on runs never fitted (the chip family's leave-one-source-out band)
and, for a chip whose catalog figures are ranges (an announced chip), when its peak FLOP/s, HBM bandwidth and
scale-up bandwidth fall anywhere in them. The layout stays the one the search chose at the catalog's values;
each draw prices it again on a cluster with the drawn figures (:func:`computeplan.search.evaluate_layout`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.estimate.training import TrainingResult
from computeplan.estimate.uncertainty import Input, draw
from computeplan.hardware.cluster import Cluster, Precision
from computeplan.search.training_search import evaluate_layout

MAX_SAMPLES = 100_000
FIGURES = ("step_time_s", "tokens_per_s_per_chip", "mfu", "time_to_train_s")


def chip_ranges(catalog: Catalog, cluster: Cluster) -> list[Input]:
    """A triangular factor (low/value, 1, high/value) for each of the chip's peak FLOP/s (per precision), HBM
    bandwidth and scale-up bandwidth that the catalog gives as a range."""
    chip = catalog.chip(cluster.chip_id)
    fields = {
        "peak bf16 FLOP/s": chip.bf16_flops_per_s,
        "peak fp8 FLOP/s": chip.fp8_flops_per_s,
        "peak fp4 FLOP/s": chip.fp4_flops_per_s,
        "HBM bandwidth": chip.hbm_bytes_per_s,
        "scale-up bandwidth": chip.scaleup_bytes_per_s,
    }
    out = []
    for name, quantity in fields.items():
        if quantity is None or quantity.low is None or quantity.high is None or quantity.value <= 0:
            continue
        params = (quantity.low / quantity.value, 1.0, quantity.high / quantity.value)
        out.append(Input(f"catalog range {cluster.chip_id} {name}", "factor", "triangular", params))
    return out


def _perturbed(cluster: Cluster, inputs: list[Input], values: np.ndarray) -> Cluster:
    peaks = dict(cluster.peak_flops_per_s)
    hbm, up = cluster.hbm_bytes_per_s, cluster.scaleup_bytes_per_s
    for item, value in zip(inputs, values, strict=True):
        for precision in Precision:
            if item.name.endswith(f"peak {precision.value} FLOP/s") and precision in peaks:
                peaks[precision] *= value
        if item.name.endswith("HBM bandwidth"):
            hbm *= value
        if item.name.endswith("scale-up bandwidth"):
            up *= value
    return replace(cluster, peak_flops_per_s=peaks, hbm_bytes_per_s=hbm, scaleup_bytes_per_s=up)


def sample_training(result: TrainingResult, catalog: Catalog, *, samples: int, seed: int = 0) -> pd.DataFrame:
    """One row per draw: each input's value, then the step time [s], tokens per second per chip, MFU and time to
    train [s] of the best layout. The model error divides the step time: measured = predicted / (1 + e), with 1 + e
    drawn from the family's P10/P50/P90 of time errors (:meth:`ErrorBand.measured_range` at the quantiles)."""
    best = result.best
    inputs = chip_ranges(catalog, result.cluster)
    band = result.efficiency.error_band
    if band is not None:
        factors = tuple(1.0 + q / 100.0 for q in (band.p10_pct, band.p50_pct, band.p90_pct))  # 1 + time error
        inputs.append(Input(f"model error {result.cluster.family} training", "factor", "piecewise", factors))
    values = draw(inputs, samples, seed)
    rows = []
    for row in values:
        chip_values = row[: len(inputs) - (band is not None)]
        cluster = _perturbed(result.cluster, inputs[: len(chip_values)], chip_values)
        estimate = evaluate_layout(
            result.model,
            cluster,
            result.efficiency,
            best.layout,
            global_batch=result.job.global_batch,
            seq_len=result.job.seq_len,
            tokens=result.job.tokens,
            pue=result.job.pue,
            software=result.software,
        )
        time_factor = 1.0 / row[-1] if band is not None else 1.0
        step = estimate.step_time_s * time_factor
        out = {item.name: float(v) for item, v in zip(inputs, row, strict=True)}
        out.update(
            step_time_s=step,
            tokens_per_s_per_chip=estimate.tokens_per_s_per_chip / time_factor,
            mfu=min(estimate.mfu / time_factor, 1.0),
            time_to_train_s=estimate.time_to_train_s * time_factor if estimate.time_to_train_s else float("nan"),
        )
        rows.append(out)
    return pd.DataFrame(rows)


def bands(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """P10 / P50 / P90 of each figure of :func:`sample_training` (None where it was not computed)."""
    out: dict[str, dict[str, float | None]] = {}
    for figure in FIGURES:
        column = frame[figure].to_numpy(float)
        finite = column[np.isfinite(column)]
        if not finite.size:
            out[figure] = {"p10": None, "p50": None, "p90": None}
            continue
        p10, p50, p90 = np.quantile(finite, [0.1, 0.5, 0.9])
        out[figure] = {"p10": float(p10), "p50": float(p50), "p90": float(p90)}
    return out
