"""Measured serving runs (SCHEMA.md inference columns): read, predict with the row's layout (blank fields searched
for the best the row allows), fit the per-family inference efficiency, report the error."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from computeplan.calibration.runs import RunFileError, _int, _spec
from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError
from computeplan.hardware.cluster import Cluster, cluster_from_catalog
from computeplan.perf.inference import (
    BYTES_PER_KV,
    BYTES_PER_WEIGHT,
    COMPUTE_PRECISION,
    InferenceEfficiency,
    replica_performance,
)
from computeplan.search.space import divisors
from computeplan.workload.transformer import TransformerSpec

INFERENCE_METRICS = ("output_tokens_per_s", "output_tokens_per_s_per_chip", "ttft_s", "tpot_s", "e2e_latency_s")
FITTED = ("memory_efficiency", "prefill_efficiency", "step_overhead_s")
BOUNDS = {"memory_efficiency": (0.3, 1.0), "prefill_efficiency": (0.1, 0.95), "step_overhead_s": (1e-4, 0.05)}
PRIOR = InferenceEfficiency()
PRIOR_WEIGHT = 0.3  # pull towards the prior, so that families with two or three runs stay physical
MLPERF_LENGTH_FACTS = ("mlperf-llama2-70b-input-tokens", "mlperf-llama2-70b-output-tokens")


@dataclass(frozen=True, kw_only=True)
class InferenceRun:
    id: str
    source: str
    spec: TransformerSpec
    chip: str
    num_chips: int
    tp: list[int] | None
    pp: list[int] | None
    weight_precisions: list[str]
    kv_precision: str | None
    batch: int | None
    input_len: float
    output_len: float
    scenario: str
    metric: str
    value: float
    filled: list[str] = field(default_factory=list)


def read_inference_runs(path: str | Path, catalog: Catalog) -> tuple[list[InferenceRun], list[tuple[str, str]]]:
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read: {exc.strerror}") from None
    runs, skipped = [], []
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line} (row {row.get('id') or '?'})"
        metric = (row.get("metric") or "").strip()
        if metric not in INFERENCE_METRICS:
            skipped.append((row.get("id") or f"line {line}", f"metric '{metric}' is not an inference metric"))
            continue
        spec, _ = _spec(row, catalog, where)
        filled = []
        in_len, out_len = _int(row, "input_len", where), _int(row, "output_len", where)
        if in_len is None or out_len is None:
            if "mlcommons" not in (row.get("source") or "") or not all(f in catalog.facts for f in MLPERF_LENGTH_FACTS):
                raise RunFileError(f"{where}: 'input_len' and 'output_len' are required outside MLPerf llama2-70b rows")
            in_len = in_len or catalog.fact(MLPERF_LENGTH_FACTS[0]).value  # type: ignore[assignment]
            out_len = out_len or catalog.fact(MLPERF_LENGTH_FACTS[1]).value  # type: ignore[assignment]
            filled.append("input/output lengths from the MLPerf benchmark description (catalog facts)")
        weight = (row.get("weight_precision") or "").strip()
        if weight and weight not in BYTES_PER_WEIGHT:
            raise RunFileError(
                f"{where}: weight_precision must be one of {', '.join(BYTES_PER_WEIGHT)}, got {weight!r}"
            )
        kv = (row.get("kv_precision") or "").strip() or None
        if kv and kv not in BYTES_PER_KV:
            raise RunFileError(f"{where}: kv_precision must be bf16 or fp8, got {kv!r}")
        tp, pp = _int(row, "tp", where), _int(row, "pp", where)
        if tp is None:
            filled.append("tp")
        if pp is None:
            filled.append("pp")
        if not weight:
            filled.append("weight_precision")
        runs.append(
            InferenceRun(
                id=row["id"],
                source=row.get("source", ""),
                spec=spec,
                chip=row["chip"].strip(),
                num_chips=_int(row, "num_chips", where) or 1,
                tp=[tp] if tp else None,
                pp=[pp] if pp else None,
                weight_precisions=[weight] if weight else ["bf16", "fp8", "fp4"],
                kv_precision=kv,
                batch=_int(row, "batch_size", where),
                input_len=float(in_len or 0),
                output_len=float(out_len or 0),
                scenario=(row.get("scenario") or "offline").strip(),
                metric=metric,
                value=float(row["value"]),
                filled=filled,
            )
        )
    return runs, skipped


@dataclass(frozen=True)
class PreparedInference:
    run: InferenceRun
    cluster: Cluster
    tp: np.ndarray
    pp: np.ndarray
    weight: list[str]


def prepare(run: InferenceRun, catalog: Catalog) -> PreparedInference:
    cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
    grid = []
    for tp in run.tp or divisors(run.num_chips):
        for pp in run.pp or [p for p in divisors(run.num_chips // tp if run.num_chips % tp == 0 else 1)]:
            if run.num_chips % (tp * pp) == 0:
                for w in run.weight_precisions:
                    if COMPUTE_PRECISION[w] in cluster.peak_flops_per_s:
                        grid.append((tp, pp, w))
    if not grid:
        raise InvalidRow(f"no tp x pp x precision divides {run.num_chips} chips of {run.chip}")
    tp_a = np.array([g[0] for g in grid], dtype=float)
    pp_a = np.array([g[1] for g in grid], dtype=float)
    return PreparedInference(run, cluster, tp_a, pp_a, [g[2] for g in grid])


class InvalidRow(ComputeplanError):
    pass


def predict(item: PreparedInference, eff: InferenceEfficiency) -> tuple[float, int] | None:
    run, cluster = item.run, item.cluster
    w_bytes = np.array([BYTES_PER_WEIGHT[w] for w in item.weight])
    kv = np.array(
        [
            BYTES_PER_KV[run.kv_precision]
            if run.kv_precision
            else (2.0 if BYTES_PER_WEIGHT[w] < 1 else min(2.0, BYTES_PER_WEIGHT[w]))
            for w in item.weight
        ]
    )
    peak = np.array([cluster.peak(COMPUTE_PRECISION[w]) for w in item.weight])
    n = len(item.weight)
    saturate = np.full(n, run.batch is None)
    r = replica_performance(
        run.spec,
        cluster,
        eff,
        tp=item.tp,
        pp=item.pp,
        batch=np.full(n, float(run.batch or 1)),
        weight_bytes=w_bytes,
        kv_bytes=kv,
        compute_peak=peak,
        input_len=np.full(n, run.input_len),
        output_len=np.full(n, run.output_len),
        saturate=saturate,
    )
    replicas = run.num_chips / (item.tp * item.pp)
    values = {
        "output_tokens_per_s": r.throughput_tokens_per_s * replicas,
        "output_tokens_per_s_per_chip": r.throughput_tokens_per_s * replicas / run.num_chips,
        "ttft_s": r.ttft_s,
        "tpot_s": r.tpot_s,
        "e2e_latency_s": r.ttft_s + run.output_len * r.tpot_s,
    }[run.metric]
    ok = np.flatnonzero(r.fits)
    if ok.size == 0:
        return None
    # the practitioner's choice: most throughput, or least latency for latency metrics
    best = (
        ok[np.argmin(values[ok])]
        if run.metric.endswith("_s") and run.metric != "output_tokens_per_s" and "tokens" not in run.metric
        else ok[np.argmax(values[ok])]
    )
    return float(values[best]), int(best)


@dataclass(frozen=True, kw_only=True)
class InferenceRowResult:
    id: str
    metric: str
    measured: float
    predicted: float | None
    error_pct: float | None
    chip: str
    family: str
    calibrated: bool
    layout: dict[str, Any]
    filled: list[str]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def efficiency_for(family: str, table: Mapping[str, Any] | None) -> InferenceEfficiency:
    """Serving efficiency of a chip family from the calibration table, else the cross-chip default."""
    from computeplan.estimate.efficiency import serving_efficiency_for

    return serving_efficiency_for(family, table)


def failed_row(run: InferenceRun, reason: str) -> InferenceRowResult:
    """The result row of a run that could not be prepared (unknown chip, no layout divides its chips)."""
    return InferenceRowResult(
        id=run.id,
        metric=run.metric,
        measured=run.value,
        predicted=None,
        error_pct=None,
        chip=run.chip,
        family="",
        calibrated=False,
        layout={},
        filled=run.filled,
        reason=reason,
    )


def _result(item: PreparedInference, eff: InferenceEfficiency, **extra: Any) -> InferenceRowResult:
    run = item.run
    return InferenceRowResult(
        id=run.id,
        metric=run.metric,
        measured=run.value,
        chip=run.chip,
        family=item.cluster.family,
        calibrated=eff.calibrated,
        filled=run.filled,
        **extra,
    )


def validate(prepared: Sequence[PreparedInference], table: Mapping[str, Any] | None) -> list[InferenceRowResult]:
    rows = []
    for item in prepared:
        eff = efficiency_for(item.cluster.family, table)
        outcome = predict(item, eff)
        if outcome is None:
            rows.append(
                _result(
                    item,
                    eff,
                    predicted=None,
                    error_pct=None,
                    layout={},
                    reason="the weights do not fit on any replica the row allows",
                )
            )
            continue
        value, i = outcome
        layout = {"tp": int(item.tp[i]), "pp": int(item.pp[i]), "weight_precision": item.weight[i]}
        error = 100 * (value - item.run.value) / item.run.value
        rows.append(_result(item, eff, predicted=value, error_pct=error, layout=layout))
    return rows


def _fit(rows: Sequence[PreparedInference]) -> dict[str, float]:
    from scipy.optimize import least_squares  # type: ignore[import-untyped]

    def to_x(values: Mapping[str, float]) -> np.ndarray:
        return np.array([math.log(values[k]) for k in FITTED])

    x0 = to_x({k: getattr(PRIOR, k) for k in FITTED})
    lower = [math.log(BOUNDS[k][0]) for k in FITTED]
    upper = [math.log(BOUNDS[k][1]) for k in FITTED]

    def residuals(x: np.ndarray) -> np.ndarray:
        values: dict[str, Any] = {k: float(math.exp(v)) for k, v in zip(FITTED, x, strict=True)}
        eff = replace(PRIOR, **values)
        out = []
        for item in rows:
            outcome = predict(item, eff)
            out.append(math.log(outcome[0] / item.run.value) if outcome else 1.0)
        return np.concatenate([np.array(out), PRIOR_WEIGHT * (x - x0)])

    result = least_squares(residuals, x0, bounds=(lower, upper), diff_step=1e-3, loss="soft_l1", f_scale=0.1)
    return {k: float(math.exp(v)) for k, v in zip(FITTED, result.x, strict=True)}


def fit_table(prepared: Sequence[PreparedInference]) -> dict[str, Any]:
    from computeplan.calibration.fit import split

    fit_rows, held = split(prepared)
    families: dict[str, list[PreparedInference]] = defaultdict(list)
    for item in fit_rows:
        families[item.cluster.family].append(item)
    table: dict[str, Any] = {"families": {}}
    for family, rows in sorted(families.items()):
        table["families"][family] = {**{k: round(v, 5) for k, v in _fit(rows).items()}, "rows": len(rows)}
    table["default"] = {**{k: round(v, 5) for k, v in _fit(fit_rows).items()}, "rows": len(fit_rows)}
    table["fitted_on"] = sorted(i.run.id for i in fit_rows)
    table["held_out"] = sorted(i.run.id for i in held)
    return table
