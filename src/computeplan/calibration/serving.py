"""The serving model as calibration sees it: a row's replica columns (blank tp, pp or weight precision searched for
the highest throughput, or the lowest latency for latency metrics, that fits), request lengths (MLPerf llama2-70b
rows take theirs from catalog facts), and the metric of the whole system, a chip, or a request."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from computeplan.calibration.model import CalibratedModel, Prediction
from computeplan.calibration.runs import BadRow, Cells, MeasuredRun
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog
from computeplan.catalog.serving_frameworks import serving_framework
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
from computeplan.search.serving_search import BATCHES
from computeplan.search.space import divisors
from computeplan.units import GIB
from computeplan.workload.transformer import TransformerSpec

INFERENCE_METRICS = ("output_tokens_per_s", "output_tokens_per_s_per_chip", "ttft_s", "tpot_s", "e2e_latency_s")
LATENCY_METRICS = ("ttft_s", "tpot_s", "e2e_latency_s")  # the practitioner picks the least; else the most
REQUIRED_COLUMNS = ("id", "chip", "metric", "value")
MLPERF_LENGTH_FACTS = ("mlperf-llama2-70b-input-tokens", "mlperf-llama2-70b-output-tokens")
# a blank KV precision: the framework's default (serving_frameworks.yaml: vLLM and SGLang keep the model's 16-bit
# type, TensorRT-LLM's quantised checkpoints carry fp8); where it is not documented, fp8 beside fp8, fp4 or int8
# weights and the 16-bit cache beside bf16 and weight-only int4
KV_BYTES_BY_WEIGHTS = {"bf16": 2.0, "fp8": 1.0, "fp4": 1.0, "int8": 1.0, "int4": 2.0}
DISAGGREGATED = re.compile(r"disaggregat", re.IGNORECASE)  # framework text: prefill on other chips (PD split)
SPECULATIVE = re.compile(r"specul|eagle|medusa", re.IGNORECASE)  # framework text naming speculative decoding
SERVER_LIMIT_FACTS = "mlperf-{benchmark}-server-{latency}-p99-s"  # LoadGen's P99 TTFT and TPOT limits
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


@dataclass(frozen=True)
class ServingSettings:
    """How a row's framework and benchmark served it, beyond its layout columns (part of its case's key)."""

    closed_loop: bool = False  # batch is a closed-loop client's concurrency, batched continuously
    latency_limits: tuple[float, float] | None = None  # a Server run's P99 (TTFT, TPOT) limits [s]
    speculation: tuple[int, float] = (0, 0.0)  # draft tokens per step and their acceptance rate
    quantized_kv_cache: bool | None = None  # the framework's KV default beside fp8/fp4 weights (None: not known)
    decode_only: bool = False  # prefill disaggregated to other chips: a throughput is the decode pool's


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceRun(MeasuredRun):
    """One measured serving run; None/blank fields are searched."""

    tp: list[int] | None
    pp: list[int] | None
    ep: int  # 1: experts split by tp (the serving frameworks' default); > 1: expert parallelism over ep chips
    weight_precisions: list[str]
    kv_precision: str | None
    batch: int | None
    input_len: float
    output_len: float
    scenario: str
    settings: ServingSettings = field(default_factory=ServingSettings)
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
    settings: ServingSettings
    tp: np.ndarray
    pp: np.ndarray
    ep: np.ndarray
    batches: np.ndarray  # per candidate: the batch (or concurrency) priced
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
    min_family_rows = 3  # as training: no fitted parameter rests on fewer than three runs
    min_family_sources = 2  # nor on one publication's setup alone
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
        if ep is not None and ep > 1 and tp is not None and ep % tp:
            raise BadRow(
                f"column 'ep': {ep} is not a multiple of tp ({tp}): with expert parallelism each attention group of "
                "tp chips is one data-parallel rank of the ep chips"
            )
        if ep is not None and ep > common["num_chips"]:
            raise BadRow(f"column 'ep': {ep} experts-parallel chips is more than num_chips ({common['num_chips']})")
        scenario = cells.choice("scenario", SCENARIOS, lower=True) or "offline"
        framework = serving_framework(cells.text("framework"))
        if not framework.known:
            filled.append("framework not in the serving table: continuous batching assumed")
        batch = cells.whole("batch_size")
        speculation = _speculation(cells)
        decode_only = bool(DISAGGREGATED.search(cells.text("framework")))
        if decode_only:
            filled.append("prefill disaggregated (framework): throughput of the decode chips, prefills elsewhere")
        # A batch served by a continuous engine is a closed loop of that many requests, staggered; a latency of
        # the whole batch (vLLM's benchmark_latency) is one batch sent at once, as is any batch of a static engine.
        closed_loop = batch is not None and framework.continuous and common["metric"] != "e2e_latency_s"
        limits = _server_limits(common, catalog) if scenario == "server" and batch is None else None
        if limits is not None:
            closed_loop = True
            filled.append(
                f"operating point: the most throughput whose mean TTFT and TPOT stay within the benchmark's P99 "
                f"limits ({limits[0]:g} s, {limits[1] * 1000:g} ms; catalog facts)"
            )
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
            ep=ep or 1,
            weight_precisions=[weight] if weight else ["bf16", "fp8", "fp4"],
            kv_precision=kv,
            batch=batch,
            input_len=float(in_len),
            output_len=float(out_len),
            scenario=scenario,
            settings=ServingSettings(
                closed_loop=closed_loop,
                latency_limits=limits,
                speculation=speculation,
                quantized_kv_cache=framework.quantized_kv_cache,
                decode_only=decode_only,
            ),
            filled=filled,
        )

    def case_key(self, run: InferenceRun) -> Hashable:
        return (
            run.spec,
            run.chip,
            run.num_chips,
            tuple(run.tp or ()),
            tuple(run.pp or ()),
            run.ep,
            tuple(run.weight_precisions),
            run.kv_precision,
            run.batch,
            run.input_len,
            run.output_len,
            run.settings,
        )

    def make_case(self, run: InferenceRun, catalog: Catalog) -> ServingCase:
        cluster = cluster_from_catalog(catalog, run.chip, run.num_chips)
        grid = []
        # with expert parallelism a stage is ep chips: tp divides ep, the rest of ep is data-parallel attention
        for tp in run.tp or divisors(run.ep if run.ep > 1 else run.num_chips):
            stage = max(run.ep, tp)
            if stage % tp or run.num_chips % stage or (run.ep > 1 and run.ep < tp):
                continue
            for pp in run.pp or divisors(run.num_chips // stage):
                if run.num_chips % (stage * pp) == 0:
                    for w in run.weight_precisions:
                        if COMPUTE_PRECISION[w] in cluster.peak_flops_per_s:
                            for b in BATCHES if run.settings.latency_limits else [run.batch or 1]:
                                grid.append((tp, pp, w, b))
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
            settings=run.settings,
            batches=np.array([g[3] for g in grid], dtype=float),
            tp=np.array([g[0] for g in grid], dtype=float),
            pp=np.array([g[1] for g in grid], dtype=float),
            ep=np.full(len(grid), float(run.ep)),
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
                else (2.0 if case.settings.quantized_kv_cache is False else KV_BYTES_BY_WEIGHTS[w])
                for w in case.weight
            ]
        )
        peak = np.array([case.cluster.peak(COMPUTE_PRECISION[w]) for w in case.weight])
        n, settings = len(case.weight), case.settings
        return replica_performance(
            case.spec,
            case.cluster,
            params,
            tp=case.tp,
            pp=case.pp,
            batch=case.batches,
            weight_bytes=w_bytes,
            kv_bytes=kv,
            compute_peak=peak,
            input_len=np.full(n, case.input_len),
            output_len=np.full(n, case.output_len),
            saturate=np.full(n, case.batch is None and settings.latency_limits is None),
            closed_loop=np.full(n, settings.closed_loop),
            ep=case.ep,
            speculative_tokens=settings.speculation[0],
            acceptance_rate=settings.speculation[1],
        )

    def finish(self, run: InferenceRun, case: ServingCase, evaluation: ServingEvaluation) -> Prediction:
        r, ok = evaluation.replica, evaluation.fitting
        replicas = case.num_chips / r.chips
        # a decode pool's replica makes b tokens per decode step; a co-located one also prefills each request
        rate = r.batch / r.decode_step_s if case.settings.decode_only else r.throughput_tokens_per_s
        if run.metric == "output_tokens_per_s":
            values = rate * replicas
        elif run.metric == "output_tokens_per_s_per_chip":
            values = rate * replicas / case.num_chips
        elif run.metric == "ttft_s":
            values = r.ttft_s
        elif run.metric == "tpot_s":
            values = r.tpot_s
        else:  # e2e_latency_s
            values = r.ttft_s + case.output_len * r.tpot_s
        if case.settings.latency_limits is not None:  # a Server run: one operating point for every metric
            ttft_limit, tpot_limit = case.settings.latency_limits
            within = ok[(r.ttft_s[ok] <= ttft_limit) & (r.tpot_s[ok] <= tpot_limit)]
            per_chip = r.throughput_tokens_per_s / r.chips
            best = within[np.argmax(per_chip[within])] if within.size else ok[np.argmin(r.tpot_s[ok])]
        elif run.metric in LATENCY_METRICS:
            best = ok[np.argmin(values[ok])]
        else:
            best = ok[np.argmax(values[ok])]
        i = int(best)
        layout = {"tp": int(case.tp[i]), "pp": int(case.pp[i]), "weight_precision": case.weight[i]}
        if case.ep[i] > 1:
            layout["ep"] = int(case.ep[i])
        return Prediction(value=float(values[i]), layout=layout)

    def filled(self, run: InferenceRun, case: ServingCase) -> list[str]:
        return list(run.filled)


def _speculation(cells: Cells) -> tuple[int, float]:
    """(draft tokens per step, acceptance rate) from the optional columns; a framework that names speculative
    decoding without them is a :class:`BadRow` (its tokens per step cannot be priced)."""
    k = cells.whole("speculative_tokens", low=0, high=64)
    rate = cells.number("acceptance_rate", low=0.0)
    if rate is not None and rate >= 1.0:
        raise BadRow(f"column 'acceptance_rate' must be below 1, got {rate:g}")
    if (k is None) != (rate is None):
        raise BadRow("give both 'speculative_tokens' and 'acceptance_rate' (or neither): one alone cannot be priced")
    if k is None or rate is None:
        if SPECULATIVE.search(cells.text("framework")):
            raise BadRow(
                "the framework speculates (a draft proposes tokens that the model verifies) and the row gives no "
                "'speculative_tokens' and 'acceptance_rate': its tokens per step cannot be priced"
            )
        return 0, 0.0
    return k, rate


def _server_limits(common: dict[str, Any], catalog: Catalog) -> tuple[float, float] | None:
    """The P99 (TTFT, TPOT) limits of an MLPerf llama2-70b Server row (its interactive variant where the source
    says so), from the catalog facts; None for other rows."""
    if not _mlperf_llama2_70b(common, catalog):
        return None
    benchmark = "llama2-70b-interactive" if "interactive" in str(common["source"]).lower() else "llama2-70b"
    ids = [SERVER_LIMIT_FACTS.format(benchmark=benchmark, latency=x) for x in ("ttft", "tpot")]
    if not all(i in catalog.facts for i in ids):
        return None
    ttft, tpot = (float(catalog.fact(i).value) for i in ids)
    return ttft, tpot


def _mlperf_llama2_70b(common: dict[str, Any], catalog: Catalog) -> bool:
    """A row of MLPerf's llama2-70b benchmark (its source is an MLCommons result of that benchmark, or its model
    is llama2-70b in an MLCommons result), whose mean request lengths the catalog facts hold."""
    source = str(common["source"]).lower()
    spec_name = str(getattr(common.get("spec"), "name", "")).lower()
    is_benchmark = "mlcommons" in source and ("llama2-70b" in source or spec_name == "llama2-70b")
    return is_benchmark and all(f in catalog.facts for f in MLPERF_LENGTH_FACTS)


SERVING = ServingModel()
