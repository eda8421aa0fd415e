"""Monte Carlo of a training run (``train --samples``) and of serving (``serve --samples``).

Training: what the chosen layout's step takes when the
performance model is off by as much as it was on runs never fitted (the chip family's leave-one-source-out band)
and, for a chip whose catalog figures are ranges (an announced chip), when its peak FLOP/s, HBM bandwidth and
scale-up bandwidth fall anywhere in them. The layout stays the one the search chose at the catalog's values;
each draw prices it again on a cluster with the drawn figures (:func:`computeplan.search.evaluate_layout`).
Serving: each draw searches the cheapest replica again on the drawn chip (:func:`sample_serving`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.estimate.serving import ServingResult, estimate_serving_on
from computeplan.estimate.training import TrainingResult
from computeplan.estimate.uncertainty import Input, draw
from computeplan.hardware.cluster import Cluster, Precision, serving_cluster
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
    return {figure: _quantiles(frame[figure]) for figure in FIGURES}


def _quantiles(column: pd.Series) -> dict[str, float | None]:
    """P10 / P50 / P90 of a column's finite values (None where it has none)."""
    values = column.to_numpy(float)
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {"p10": None, "p50": None, "p90": None}
    p10, p50, p90 = np.quantile(finite, [0.1, 0.5, 0.9])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


CHIP_SEED_STRIDE = 7919  # a chip's draws use seed + stride x its position: independent errors per chip
SERVING_FIGURES = ("throughput_tokens_per_s_per_chip", "usd_per_million_output_tokens", "tpot_s", "ttft_s")


def sample_serving(
    result: ServingResult, catalog: Catalog, tables: EfficiencyTables, *, samples: int, seed: int = 0
) -> pd.DataFrame:
    """One row per chip and draw: the chip's catalog ranges and its family's serving model error drawn, the
    cheapest replica searched again on the drawn chip (the layout may change with the figures), and its tokens per
    chip-second, $ per million output tokens, TPOT and TTFT. The model error multiplies the rate: measured =
    predicted x (1 + e), and divides the times. A chip without a replica at its catalog values is left out."""
    rows = []
    for position, served in enumerate(result.chips):
        if served.estimate is None or served.chip not in catalog.chips:
            continue
        cluster = serving_cluster(catalog, served.chip)
        efficiency = tables.for_serving(cluster.family)
        inputs = chip_ranges(catalog, cluster)
        band = efficiency.error_band
        if band is not None:
            factors = tuple(1.0 + q / 100.0 for q in (band.p10_pct, band.p50_pct, band.p90_pct))
            inputs.append(Input(f"model error {cluster.family} serving", "factor", "piecewise", factors))
        values = draw(inputs, samples, seed + CHIP_SEED_STRIDE * position)  # each chip its own draws
        n_chip = len(inputs) - (band is not None)
        for i, row in enumerate(values):
            drawn = _perturbed(cluster, inputs[:n_chip], row[:n_chip])
            found = estimate_serving_on(result.model, drawn, efficiency, result.job).estimate
            rate = float(row[-1]) if band is not None else 1.0
            out: dict[str, object] = {"chip": served.chip, "draw": i}
            out.update({item.name: float(v) for item, v in zip(inputs, row, strict=True)})
            if found is None:
                out.update(dict.fromkeys(SERVING_FIGURES, float("nan")))
            else:
                usd = found.usd_per_million_output_tokens
                out.update(
                    throughput_tokens_per_s_per_chip=found.throughput_tokens_per_s_per_chip * rate,
                    usd_per_million_output_tokens=usd / rate if usd is not None else float("nan"),
                    tpot_s=found.tpot_s / rate,
                    ttft_s=found.ttft_s / rate,
                )
            rows.append(out)
    return pd.DataFrame(rows)


def serving_bands(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per chip, P10 / P50 / P90 of each figure of :func:`sample_serving` (None where no draw had one)."""
    if not len(frame):
        return {}
    return {
        str(chip): {f: _quantiles(rows[f]) for f in SERVING_FIGURES} for chip, rows in frame.groupby("chip", sort=False)
    }
