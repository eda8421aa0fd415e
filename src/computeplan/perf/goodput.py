"""Goodput of a long training job: failures, checkpoints and restarts. Pure functions, SI units.

Model (exponential failures, Daly 2006, "A higher order estimate of the optimum checkpoint interval"):
- the job fails at rate lambda = N_chips sum_i lambda_i, each lambda_i a per-chip interruption rate of one root
  cause (from published interruption statistics); job MTBF M = 1 / lambda;
- work proceeds in segments of tau seconds, each closed by a checkpoint that blocks training for delta seconds
  (synchronous: size / write bandwidth; asynchronous: only the copy out of HBM);
- a failure costs a restart R (detection, re-scheduling, re-initialisation, reading the checkpoint) and the work
  since the last checkpoint;
- the expected wall time of one segment, failures during restarts included, is
  E[T] = M e^(R/M) (e^((tau + delta)/M) - 1), and goodput = tau / E[T];
- the Young-Daly interval tau* = sqrt(2 delta M) - delta (for delta < 2M) is close to the optimum; the exact
  optimum of the goodput above is found numerically and reported.
A seeded discrete-event simulation of the same process checks the closed form (tests hold them within 2%).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from computeplan.units import SECONDS_PER_DAY

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, kw_only=True)
class FailureModel:
    """Per-chip interruption rates by root cause [1/s per chip], and where they come from (``basis``)."""

    rates_per_chip_s: dict[str, float]
    basis: str = "interruption rates given by the caller"

    def job_rate_per_s(self, num_chips: int) -> float:
        """Interruptions per second of a job on ``num_chips`` chips (every component count scales with chips)."""
        return num_chips * sum(self.rates_per_chip_s.values())

    def job_mtbf_s(self, num_chips: int) -> float:
        rate = self.job_rate_per_s(num_chips)
        return math.inf if rate == 0 else 1.0 / rate


@dataclass(frozen=True, kw_only=True)
class CheckpointSetup:
    """What a checkpoint costs. Sizes in bytes, bandwidths in bytes/s, times in s."""

    checkpoint_bytes: float
    write_bytes_per_s: float
    read_bytes_per_s: float
    restart_s: float  # detection, re-scheduling and initialisation; excludes reading the checkpoint
    asynchronous: bool = True
    snapshot_bytes_per_s: float = 0.0  # per-job rate of copying state out of HBM (async); 0 = write bandwidth

    @property
    def blocking_s(self) -> float:
        """delta: training time lost per checkpoint."""
        if self.asynchronous and self.snapshot_bytes_per_s > 0:
            return self.checkpoint_bytes / self.snapshot_bytes_per_s
        return self.checkpoint_bytes / self.write_bytes_per_s

    @property
    def recovery_s(self) -> float:
        """R: restart plus reading the last checkpoint back."""
        return self.restart_s + self.checkpoint_bytes / self.read_bytes_per_s


def expected_segment_time_s(tau_s: float, delta_s: float, restart_s: float, mtbf_s: float) -> float:
    """E[T] for tau seconds of work plus a delta-second checkpoint under exponential failures (Daly 2006)."""
    if math.isinf(mtbf_s):
        return tau_s + delta_s
    exponent = restart_s / mtbf_s + (tau_s + delta_s) / mtbf_s
    if exponent > MAX_EXPONENT:  # failures far more often than a segment lasts: the segment never completes
        return math.inf
    return mtbf_s * math.exp(restart_s / mtbf_s) * math.expm1((tau_s + delta_s) / mtbf_s)


MAX_EXPONENT = 700.0  # e^700 ~ 1e304: beyond it E[T] is not a float, and goodput is 0 to any precision


def goodput(tau_s: float, delta_s: float, restart_s: float, mtbf_s: float) -> float:
    """Fraction of wall-clock time that advances training (0 when a segment can never complete)."""
    return tau_s / expected_segment_time_s(tau_s, delta_s, restart_s, mtbf_s)


def young_daly_interval_s(delta_s: float, mtbf_s: float) -> float:
    """tau* = sqrt(2 delta M) - delta (Daly 2006, first order), at least delta."""
    if math.isinf(mtbf_s):
        return math.inf
    return max(math.sqrt(2.0 * delta_s * mtbf_s) - delta_s, delta_s) if delta_s < 2 * mtbf_s else mtbf_s


def optimal_interval_s(delta_s: float, restart_s: float, mtbf_s: float) -> float:
    """The checkpoint interval that maximises goodput (golden-section search around Young-Daly)."""
    if math.isinf(mtbf_s):
        return math.inf
    lo, hi = max(delta_s * 1e-3, 1e-3), max(10.0 * mtbf_s, 10.0 * young_daly_interval_s(delta_s, mtbf_s))
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = math.log(lo), math.log(hi)
    for _ in range(200):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if goodput(math.exp(c), delta_s, restart_s, mtbf_s) > goodput(math.exp(d), delta_s, restart_s, mtbf_s):
            b = d
        else:
            a = c
    return math.exp((a + b) / 2.0)


def simulate_goodput(
    tau_s: float, delta_s: float, restart_s: float, mtbf_s: float, *, work_s: float, seed: int = 0
) -> tuple[float, int]:
    """Discrete-event simulation of a run doing ``work_s`` seconds of training: (goodput, interruptions).

    Failures arrive as a Poisson process (rate 1/M) at any time, during work, checkpoints or restarts alike;
    a failure discards the work since the last completed checkpoint and starts a restart of R seconds.
    """
    rng = np.random.default_rng(seed)
    clock, done, failures = 0.0, 0.0, 0
    next_failure = rng.exponential(mtbf_s)
    while done < work_s:
        segment = min(tau_s, work_s - done) + delta_s
        if clock + segment <= next_failure:
            clock += segment
            done += segment - delta_s
            continue
        clock = next_failure
        failures += 1
        next_failure = clock + rng.exponential(mtbf_s)
        while True:  # restart, itself interruptible
            if clock + restart_s <= next_failure:
                clock += restart_s
                break
            clock = next_failure
            failures += 1
            next_failure = clock + rng.exponential(mtbf_s)
    return work_s / clock, failures


@dataclass(frozen=True, kw_only=True)
class GoodputEstimate:
    """Interruptions, checkpoint cost and goodput of a job on ``num_chips`` chips. SI units; ``basis`` says where
    the failure rates come from (published statistics of one chip and one run, applied to the chips asked about).
    """

    num_chips: int
    interruptions_per_day: float
    job_mtbf_s: float
    checkpoint_bytes: float
    checkpoint_blocking_s: float
    recovery_s: float
    checkpoint_interval_s: float
    young_daly_interval_s: float
    goodput: float
    interruptions: float | None = None  # expected over the run, when its length is known
    run_days: float | None = None
    basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: SI units; an infinite figure (no failures: MTBF and interval) is None."""
        return {k: None if isinstance(v, float) and math.isinf(v) else v for k, v in asdict(self).items()}

    def to_frame(self) -> pd.DataFrame:
        """One row indexed by ``num_chips`` (so that estimates for several cluster sizes concatenate)."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()]).set_index("num_chips")


def estimate_goodput(
    failures: FailureModel, checkpoint: CheckpointSetup, num_chips: int, *, run_s: float | None = None
) -> GoodputEstimate:
    """Goodput at the optimal checkpoint interval, and the expected interruptions over ``run_s`` wall seconds."""
    mtbf = failures.job_mtbf_s(num_chips)
    delta, recovery = checkpoint.blocking_s, checkpoint.recovery_s
    tau = optimal_interval_s(delta, recovery, mtbf)
    g = goodput(tau, delta, recovery, mtbf) if not math.isinf(tau) else 1.0
    return GoodputEstimate(
        num_chips=num_chips,
        interruptions_per_day=SECONDS_PER_DAY / mtbf if not math.isinf(mtbf) else 0.0,
        job_mtbf_s=mtbf,
        checkpoint_bytes=checkpoint.checkpoint_bytes,
        checkpoint_blocking_s=delta,
        recovery_s=recovery,
        checkpoint_interval_s=tau,
        young_daly_interval_s=young_daly_interval_s(delta, mtbf),
        goodput=g,
        interruptions=(run_s / mtbf) if run_s is not None and not math.isinf(mtbf) else None,
        run_days=run_s / SECONDS_PER_DAY if run_s is not None else None,
        basis=failures.basis,
    )
