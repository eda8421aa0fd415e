"""Estimate a training job on a cluster: the fastest layouts (or one given layout), time, energy and cost to
train, and goodput with failures. Typed in, typed out; no catalog ids, files or environment."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from computeplan import checks
from computeplan.catalog.frameworks import FrameworkDefaults
from computeplan.errors import InvalidInput, InvalidLayout
from computeplan.estimate.frameworks import software_of
from computeplan.estimate.reliability import MAX_RUN_DAYS, Reliability, estimate_job_goodput
from computeplan.hardware.cluster import Cluster
from computeplan.hardware.efficiency import FA3_CLASS_KERNELS, EfficiencyParams, with_family_kernels
from computeplan.perf.goodput import GoodputEstimate
from computeplan.perf.layout import LAYOUT_FIELDS, Recompute
from computeplan.perf.training import DEFAULT_SOFTWARE, Software
from computeplan.search.training_search import TrainingEstimate, best_estimates, evaluate_layout, search_layouts
from computeplan.units import SECONDS_PER_DAY
from computeplan.workload.jobs import MAX_CHIPS, MAX_GLOBAL_BATCH, TrainingJob
from computeplan.workload.transformer import TransformerSpec

if TYPE_CHECKING:
    import pandas as pd

# Plain defaults of a layout field the caller leaves out (dp 0: whatever the chips leave after tp*pp*cp).
LAYOUT_DEFAULTS = {
    "tp": 1,
    "pp": 1,
    "dp": 0,
    "cp": 1,
    "ep": 1,
    "vpp": 1,
    "mb": 1,
    "recompute": 0,
    "sp": 0,
    "zero": 1,
    "hsdp": 0,
    "fp8": 0,
}
# Allowed values of the switch fields; the parallel degrees are whole numbers from 1 to the chip count.
# Ranges of the other fields (parallel degrees: 1 to the chip count; dp 0 means "what the chips leave").
LAYOUT_RANGES = {"dp": (0, MAX_CHIPS), "vpp": (1, 1024), "mb": (1, MAX_GLOBAL_BATCH)}
LAYOUT_CHOICES = {
    "recompute": tuple(int(r) for r in Recompute),
    "sp": (0, 1),
    "zero": (0, 1, 2, 3),
    "hsdp": (0, 1),
    "fp8": (0, 1),
}
SWITCH_FIELDS = tuple(k for k, allowed in LAYOUT_CHOICES.items() if allowed == (0, 1))  # True/False allowed
MAX_TOP = 1000


def parse_layout(text: str) -> dict[str, int]:
    """A layout mapping from text: ``tp=8,pp=16,cp=2``, or the table's form ``tp=8 pp=16 sp recompute=selective``.

    Fields are separated by commas or spaces; values are ASCII whole numbers, recompute may be none/selective/full,
    and a switch (sp, fp8, hsdp) may be true/false or bare (``sp`` means ``sp=1``). Each field at most once.
    """
    if not isinstance(text, str):
        raise InvalidInput("layout", f"expected text such as 'tp=8,pp=4', got {type(text).__name__}")
    parts = re.split(r"[\s,]+", re.sub(r"\s*=\s*", "=", text.strip()))
    if not any(parts):
        raise InvalidInput("layout", "empty: give at least one field (e.g. 'tp=8 pp=4'), or no layout to search")
    layout: dict[str, int] = {}
    for part in filter(None, parts):
        key, sep, value = part.partition("=")
        if key not in LAYOUT_DEFAULTS:
            close = difflib.get_close_matches(key.lower(), LAYOUT_FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            shown = key if key.isascii() and key.isprintable() else ascii(key)[1:-1]
            raise InvalidInput("layout", f"unknown field '{shown}'{hint}; fields: {', '.join(LAYOUT_FIELDS)}")
        if key in layout:
            raise InvalidInput("layout", f"{key} is given twice; give each field once")
        layout[key] = _layout_text_value(key, value if sep else None)
    return layout


def _layout_text_value(key: str, value: str | None) -> int:
    """One field's text value (None when the field is bare) as a whole number."""
    if value is None and key in SWITCH_FIELDS:
        return 1
    if not value:
        raise InvalidInput("layout", f"'{key}': expected {key}=VALUE")
    word = value.lower()
    if key == "recompute" and word.upper() in Recompute.__members__:
        return int(Recompute[word.upper()])
    if key in SWITCH_FIELDS and word in ("true", "false"):
        return int(word == "true")
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    expected = "a whole number" + (", true or false" if key in SWITCH_FIELDS else "")
    if key == "recompute":
        expected = "none, selective, full, half, cheap or 0-4"
    shown = value[:20] + ("..." if len(value) > 20 else "")
    raise InvalidInput("layout", f"{key}: expected {expected}, got {shown!r}")


def _layout_value(key: str, value: object) -> int:
    """One field of a layout mapping as a whole number (a switch may be True/False), or InvalidInput naming it."""
    if key in SWITCH_FIELDS and isinstance(value, bool):
        return int(value)
    try:
        return checks.whole("layout", value, low=0, high=MAX_CHIPS)
    except InvalidInput as exc:
        raise InvalidInput("layout", f"{key}: {exc.problem}") from None


def complete_layout(layout: Mapping[str, int], num_chips: int) -> dict[str, int]:
    """A full layout: defaults for missing fields, dp from the chips, every field range-checked."""
    if not isinstance(layout, Mapping):
        raise InvalidInput(
            "layout",
            f"expected a mapping such as {{'tp': 8, 'pp': 4}} or text 'tp=8,pp=4', got {type(layout).__name__}",
        )
    unknown = [repr(k) if not isinstance(k, str) else k for k in layout if k not in LAYOUT_DEFAULTS]
    if unknown:
        raise InvalidInput("layout", f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(LAYOUT_FIELDS)}")
    full = {**LAYOUT_DEFAULTS, **{k: _layout_value(k, v) for k, v in layout.items()}}
    for key, value in full.items():
        allowed = LAYOUT_CHOICES.get(key)
        if allowed is not None and value not in allowed:
            raise InvalidInput("layout", f"{key}={value}: allowed values are {', '.join(map(str, allowed))}")
        if allowed is not None:
            continue
        low, high = LAYOUT_RANGES.get(key, (1, num_chips))
        if not low <= value <= high:
            raise InvalidInput("layout", f"{key}={value}: must be between {max(low, 1)} and {high}")
    if full["dp"] == 0:
        denom = full["tp"] * full["pp"] * full["cp"]
        if num_chips % denom:
            raise InvalidLayout(f"tp*pp*cp = {denom} does not divide {num_chips} chips")
        full["dp"] = num_chips // denom
    return full


@dataclass(frozen=True, kw_only=True)
class TrainingResult:
    """The answer to a training question: the fastest layouts (or the given one) and what was assumed. SI units."""

    model: TransformerSpec
    cluster: Cluster
    efficiency: EfficiencyParams
    job: TrainingJob
    estimates: tuple[TrainingEstimate, ...]
    searched: bool  # False when one given layout was priced
    layouts_evaluated: int
    layouts_valid: int
    layouts_fitting: int
    goodput: GoodputEstimate | None = None
    software: Software = DEFAULT_SOFTWARE  # what the training framework does beyond the layout
    framework: str | None = None  # the framework the software was taken from (None: a plain one)

    @property
    def best(self) -> TrainingEstimate:
        return self.estimates[0]

    def time_to_train_with_failures_s(self, estimate: TrainingEstimate | None = None) -> float | None:
        """Wall time to train, stretched by the goodput of interruptions and checkpoints (None without tokens)."""
        e = estimate or self.best
        if e.time_to_train_s is None or self.goodput is None or self.goodput.goodput <= 0.0:
            return None  # not asked, or failures come faster than checkpoints: the run never finishes
        return float(e.time_to_train_s / self.goodput.goodput)

    def to_frame(self) -> pd.DataFrame:
        """One row per layout (rank 1 = fastest), with step time, MFU, memory and time to train."""
        import pandas as pd

        rows = []
        for rank, e in enumerate(self.estimates, start=1):
            row: dict[str, Any] = {"rank": rank, "layout": e.layout_text, **e.layout}
            row.update(
                step_time_s=e.step_time_s,
                mfu=e.mfu,
                mfu_bf16_equivalent=e.mfu_bf16_equivalent,
                hfu=e.hfu,
                tokens_per_s_per_chip=e.tokens_per_s_per_chip,
                memory_bytes=e.memory_bytes,
                fits=e.fits,
                time_to_train_s=e.time_to_train_s,
                time_to_train_with_failures_s=self.time_to_train_with_failures_s(e),
                energy_j=e.energy_j,
                cost_usd=e.cost_usd,
            )
            row.update({f"{k}_s": v for k, v in e.breakdown_s.items()})
            rows.append(row)
        return pd.DataFrame(rows).set_index("rank")

    def step_time_band(self, estimate: TrainingEstimate) -> dict[str, Any] | None:
        """P10 / P50 / P90 of the step time to expect [s], from the leave-one-source-out errors of predictions made
        like this one (its chip family's, or its calibration status's); None without such errors."""
        band = self.efficiency.error_band
        if band is None:
            return None
        p10, p50, p90 = band.measured_range(estimate.step_time_s)
        return {"p10": p10, "p50": p50, "p90": p90, "rows": band.rows}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: SI units, None where a figure was not computed."""
        return {
            "model": self.model.name,
            "chip": self.cluster.chip_id,
            "system": self.cluster.system_id,
            "num_chips": self.cluster.num_chips,
            "seq_len": self.job.seq_len,
            "framework": self.framework,
            "software": asdict(self.software),
            "global_batch_sequences": self.job.global_batch,
            "global_batch_tokens": self.job.tokens_per_step,
            "tokens": self.job.tokens,
            "pue": self.job.pue,
            "layouts_evaluated": self.layouts_evaluated,
            "layouts_valid": self.layouts_valid if self.searched else None,
            "layouts_fitting": self.layouts_fitting if self.searched else None,
            "efficiency": {
                "calibrated": self.efficiency.calibrated,
                "calibration": self.efficiency.calibration,
                "borrowed_from": self.efficiency.borrowed_from,
                "basis": self.efficiency.basis,
                "sustained_matmul_fraction": self.efficiency.sustained_matmul_fraction,
                "matmul_plateau": self.efficiency.matmul_plateau,
                "realized_fraction": self.efficiency.realized_fraction,
                "matmul_half_dim": self.efficiency.matmul_half_dim,
                "network_efficiency": self.efficiency.network_efficiency,
                "dp_overlap": self.efficiency.dp_overlap,
                "attention_relative": self.efficiency.attention_relative,
            },
            "results": [
                {
                    **e.to_dict(),
                    "time_to_train_with_failures_s": self.time_to_train_with_failures_s(e),
                    "step_time_band_s": self.step_time_band(e),
                }
                for e in self.estimates
            ],
            "goodput": None if self.goodput is None else self.goodput.to_dict(),
        }


def estimate_training(
    spec: TransformerSpec,
    cluster: Cluster,
    efficiency: EfficiencyParams,
    job: TrainingJob,
    *,
    layout: Mapping[str, int] | None = None,
    fixed: Mapping[str, int] | None = None,
    top: int = 1,
    allow_fp8: bool = True,
    reliability: Reliability | None = None,
    framework: FrameworkDefaults | None = None,
) -> TrainingResult:
    """The ``top`` fastest layouts that run and fit (or the given ``layout``; or, with ``fixed``, the fastest with
    those fields set), priced with the software of ``framework`` (its attention kernel, communication overlap;
    a plain framework when None); with ``reliability``, the goodput of the run's failures and checkpoints over
    its wall time. Raises InvalidLayout when nothing runs."""
    if not 1 <= cluster.num_chips <= MAX_CHIPS:
        raise InvalidInput("num_chips", f"must be between 1 and {MAX_CHIPS:,}, got {cluster.num_chips}")
    top = checks.whole("top", top, low=1, high=MAX_TOP)
    kwargs: dict[str, Any] = {"global_batch": job.global_batch, "seq_len": job.seq_len}
    software = software_of(framework)
    if software.attention_kernel in FA3_CLASS_KERNELS:  # the family's cuDNN / FlashAttention-3 efficiency
        efficiency = with_family_kernels(efficiency, cluster.family, software.attention_kernel)
    if layout is not None:
        full = complete_layout(layout, cluster.num_chips)
        estimates = [
            evaluate_layout(
                spec, cluster, efficiency, full, **kwargs, tokens=job.tokens, pue=job.pue, software=software
            )
        ]
        counts = (1, 1, int(estimates[0].fits))
    else:
        given = None if fixed is None else {k: [int(v)] for k, v in fixed.items()}
        found = search_layouts(spec, cluster, efficiency, **kwargs, fixed=given, allow_fp8=allow_fp8, software=software)
        estimates = best_estimates(found, cluster, efficiency, top=top, tokens=job.tokens, pue=job.pue)
        counts = (found.evaluated, found.count_valid, found.count_fitting)
    good = None
    if reliability is not None and job.tokens is not None:
        params = float(spec.param_count())
        good = estimate_job_goodput(reliability, params, cluster.num_chips)
        wall = estimates[0].time_to_train_s
        if wall is not None and good.goodput > 0.0 and wall / good.goodput <= MAX_RUN_DAYS * SECONDS_PER_DAY:
            # interruptions expected over the run's wall time, failures included
            good = estimate_job_goodput(reliability, params, cluster.num_chips, run_s=wall / good.goodput)
    return TrainingResult(
        model=spec,
        cluster=cluster,
        efficiency=efficiency,
        job=job,
        estimates=tuple(estimates),
        searched=layout is None,
        layouts_evaluated=counts[0],
        layouts_valid=counts[1],
        layouts_fitting=counts[2],
        goodput=good,
        software=software,
        framework=framework.id if framework is not None else None,
    )
