"""The serving model as calibration sees it: a row's replica columns (blank tp, pp or weight precision searched for
the highest throughput, or the lowest latency for latency metrics, that fits), request lengths (MLPerf llama2-70b
rows take theirs from catalog facts), and the metric of the whole system, a chip, or a request."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prediction
from computeplan.calibration.runs import BadRow, Cells, MeasuredRun
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog
from computeplan.errors import InvalidLayout
from computeplan.estimate.efficiency import SERVING_PRIOR, SERVING_SPACE, serving_efficiency_for
from computeplan.hardware.cluster import Cluster, cluster_from_catalog
from computeplan.perf.inference import (
    ACTIVATION_RESERVE_BYTES,
    BYTES_PER_KV,
    BYTES_PER_WEIGHT,
    COMPUTE_PRECISION,
    InferenceEfficiency,
    ReplicaArrays,
    replica_performance,
)
from computeplan.search.space import divisors
from computeplan.units import GIB
from computeplan.workload.transformer import TransformerSpec

INFERENCE_METRICS = ("output_tokens_per_s", "output_tokens_per_s_per_chip", "ttft_s", "tpot_s", "e2e_latency_s")
LATENCY_METRICS = ("ttft_s", "tpot_s", "e2e_latency_s")  # the practitioner picks the least; else the most
REQUIRED_COLUMNS = ("id", "chip", "metric", "value")
MLPERF_LENGTH_FACTS = ("mlperf-llama2-70b-input-tokens", "mlperf-llama2-70b-output-tokens")
PRIOR_WEIGHT = 0.3  # pull towards the prior, so that families with two or three runs stay physical
SCENARIOS = ("offline", "server", "latency")  # MLPerf's serving scenarios (docs/runs-schema.md)
# plausible measured values (low, high, unit): a whole system may serve up to 1e9 tokens/s; latencies 1 us to a day
SERVING_VALUE_RANGES = {
    "output_tokens_per_s": (1e-3, 1e9, " tokens/s"),
    "output_tokens_per_s_per_chip": (1e-3, 1e7, " tokens/s"),
    "ttft_s": (1e-6, 1e5, " s"),
    "tpot_s": (1e-6, 1e5, " s"),
    "e2e_latency_s": (1e-6, 1e5, " s"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceRun(MeasuredRun):
    """One measured serving run; None/blank fields are searched."""

    tp: list[int] | None
    pp: list[int] | None
    weight_precisions: list[str]
    kv_precision: str | None
    batch: int | None
    input_len: float
    output_len: float
    scenario: str
    filled: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ServingCase:
    """A configuration's cluster and candidate replicas (tp x pp x weight precision), built once."""

    spec: TransformerSpec
    cluster: Cluster
    num_chips: int
    batch: int | None
    kv_precision: str | None
    input_len: float
    output_len: float
    tp: np.ndarray
    pp: np.ndarray
    weight: list[str]


@dataclass(frozen=True)
class ServingEvaluation:
    """Every candidate's replica performance, and which candidates fit."""

    replica: ReplicaArrays
    fitting: np.ndarray


class ServingModel(CalibratedModel[InferenceRun, ServingCase, ServingEvaluation, InferenceEfficiency]):
    kind = "inference"
    metrics = INFERENCE_METRICS
    required_columns = REQUIRED_COLUMNS
    default_num_chips = 1
    space = SERVING_SPACE
    prior_weight = PRIOR_WEIGHT
    decimals = 5
    no_prediction_reason = "the weights do not fit on any replica the row allows"
    value_ranges = SERVING_VALUE_RANGES

    def read_row(
        self, cells: Cells, catalog: Catalog, common: dict[str, Any], shared: dict[Hashable, Any]
    ) -> InferenceRun:
        filled = []
        given_in, given_out = cells.number("input_len", low=1.0), cells.number("output_len", low=1.0)  # means
        if given_in is None or given_out is None:
            if not _mlperf_llama2_70b(common, catalog):
                blank = " and ".join(c for c, v in (("input_len", given_in), ("output_len", given_out)) if v is None)
                raise BadRow(
                    f"{blank} blank: the request lengths are required (only MLPerf llama2-70b rows take theirs from "
                    "the benchmark description in the catalog facts; no other dataset's mean lengths are sourced)"
                )
            filled.append("input/output lengths from the MLPerf benchmark description (catalog facts)")
        in_len = given_in if given_in is not None else float(catalog.fact(MLPERF_LENGTH_FACTS[0]).value)
        out_len = given_out if given_out is not None else float(catalog.fact(MLPERF_LENGTH_FACTS[1]).value)
        weight = cells.choice("weight_precision", BYTES_PER_WEIGHT)
        kv = cells.choice("kv_precision", BYTES_PER_KV)
        tp, pp, ep = cells.whole("tp"), cells.whole("pp"), cells.whole("ep")
        if ep is not None and ep > 1 and not common["spec"].is_moe:
            raise BadRow(
                f"column 'ep': expert parallelism ({ep}) needs a mixture-of-experts model, and this row's model is "
                "dense (give 'moe_experts', or leave 'ep' blank or 1)"
            )
        if ep is not None and ep > common["num_chips"]:
            raise BadRow(f"column 'ep': {ep} experts-parallel chips is more than num_chips ({common['num_chips']})")
        scenario = cells.choice("scenario", SCENARIOS, lower=True) or "offline"
        if tp is None:
            filled.append("tp")
        if pp is None:
            filled.append("pp")
        if not weight:
            filled.append("weight_precision")
        return InferenceRun(
            **common,
            tp=[tp] if tp else None,
            pp=[pp] if pp else None,
            weight_precisions=[weight] if weight else ["bf16", "fp8", "fp4"],
            kv_precision=kv,
            batch=cells.whole("batch_size"),
            input_len=float(in_len),
            output_len=float(out_len),
            scenario=scenario,
            filled=filled,
        )

    def case_key(self, run: InferenceRun) -> Hashable:
        return (
            run.spec,
            run.chip,
            run.num_chips,
            tuple(run.tp or ()),
            tuple(run.pp or ()),
            tuple(run.weight_precisions),
            run.kv_precision,
            run.batch,
            run.input_len,
            run.output_len,
        )

    def make_case(self, run: InferenceRun, catalog: Catalog) -> ServingCase:
        cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
        grid = []
        for tp in run.tp or divisors(run.num_chips):
            for pp in run.pp or divisors(run.num_chips // tp if run.num_chips % tp == 0 else 1):
                if run.num_chips % (tp * pp) == 0:
                    for w in run.weight_precisions:
                        if COMPUTE_PRECISION[w] in cluster.peak_flops_per_s:
                            grid.append((tp, pp, w))
        if not grid:
            raise InvalidLayout(f"no tp x pp x precision divides {run.num_chips} chips of {run.chip}")
        return ServingCase(
            spec=run.spec,
            cluster=cluster,
            num_chips=run.num_chips,
            batch=run.batch,
            kv_precision=run.kv_precision,
            input_len=run.input_len,
            output_len=run.output_len,
            tp=np.array([g[0] for g in grid], dtype=float),
            pp=np.array([g[1] for g in grid], dtype=float),
            weight=[g[2] for g in grid],
        )

    def family(self, case: ServingCase) -> str:
        return case.cluster.family

    def params(self, values: Mapping[str, float]) -> InferenceEfficiency:
        return replace(SERVING_PRIOR, **dict(values))  # type: ignore[arg-type]

    def efficiency(self, family: str, table: EfficiencyTable | None) -> InferenceEfficiency:
        return serving_efficiency_for(family, table)

    def evaluate(self, case: ServingCase, params: InferenceEfficiency) -> ServingEvaluation | None:
        r = self._replicas(case, params)
        fitting = np.flatnonzero(r.fits)
        return ServingEvaluation(r, fitting) if fitting.size else None

    def why_not(self, case: ServingCase, params: InferenceEfficiency) -> str:
        """The weights alone fit no replica the row allows, or they fit but the KV cache of the row's batch and
        context does not."""
        r = self._replicas(case, params)
        room = case.cluster.hbm_bytes - ACTIVATION_RESERVE_BYTES
        if not np.any(r.weights_bytes_per_chip < room):
            need = float(np.min(r.weights_bytes_per_chip)) / GIB
            return (
                f"{self.no_prediction_reason}: at least {need:,.1f} GiB of weights per chip, and a chip has "
                f"{room / GIB:,.1f} GiB beside the runtime"
            )
        context = case.input_len + case.output_len
        held = float(np.max(r.max_sequences))
        wanted = f"a batch of {case.batch:,} sequences" if case.batch else "one sequence"
        return (
            f"the KV cache of {wanted} of {context:,.0f} tokens (input_len + output_len) does not fit beside the "
            f"weights on any replica the row allows (at most {held:,.0f} such sequences fit); lower the batch size "
            "or the lengths, or give the replica more chips"
        )

    def _replicas(self, case: ServingCase, params: InferenceEfficiency) -> ReplicaArrays:
        """Every candidate replica's performance under ``params``."""
        w_bytes = np.array([BYTES_PER_WEIGHT[w] for w in case.weight])
        kv = np.array(
            [
                BYTES_PER_KV[case.kv_precision]
                if case.kv_precision
                else (2.0 if BYTES_PER_WEIGHT[w] < 1 else min(2.0, BYTES_PER_WEIGHT[w]))
                for w in case.weight
            ]
        )
        peak = np.array([case.cluster.peak(COMPUTE_PRECISION[w]) for w in case.weight])
        n = len(case.weight)
        return replica_performance(
            case.spec,
            case.cluster,
            params,
            tp=case.tp,
            pp=case.pp,
            batch=np.full(n, float(case.batch or 1)),
            weight_bytes=w_bytes,
            kv_bytes=kv,
            compute_peak=peak,
            input_len=np.full(n, case.input_len),
            output_len=np.full(n, case.output_len),
            saturate=np.full(n, case.batch is None),
        )

    def finish(self, run: InferenceRun, case: ServingCase, evaluation: ServingEvaluation) -> Prediction:
        r, ok = evaluation.replica, evaluation.fitting
        replicas = case.num_chips / (case.tp * case.pp)
        if run.metric == "output_tokens_per_s":
            values = r.throughput_tokens_per_s * replicas
        elif run.metric == "output_tokens_per_s_per_chip":
            values = r.throughput_tokens_per_s * replicas / case.num_chips
        elif run.metric == "ttft_s":
            values = r.ttft_s
        elif run.metric == "tpot_s":
            values = r.tpot_s
        else:  # e2e_latency_s
            values = r.ttft_s + case.output_len * r.tpot_s
        best = ok[np.argmin(values[ok])] if run.metric in LATENCY_METRICS else ok[np.argmax(values[ok])]
        i = int(best)
        layout = {"tp": int(case.tp[i]), "pp": int(case.pp[i]), "weight_precision": case.weight[i]}
        return Prediction(value=float(values[i]), layout=layout)

    def filled(self, run: InferenceRun, case: ServingCase) -> list[str]:
        return list(run.filled)


def _mlperf_llama2_70b(common: dict[str, Any], catalog: Catalog) -> bool:
    """A row of MLPerf's llama2-70b benchmark (its source is an MLCommons result of that benchmark, or its model
    is llama2-70b in an MLCommons result), whose mean request lengths the catalog facts hold."""
    source = str(common["source"]).lower()
    spec_name = str(getattr(common.get("spec"), "name", "")).lower()
    is_benchmark = "mlcommons" in source and ("llama2-70b" in source or spec_name == "llama2-70b")
    return is_benchmark and all(f in catalog.facts for f in MLPERF_LENGTH_FACTS)


SERVING = ServingModel()
