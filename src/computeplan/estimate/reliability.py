"""Failures and checkpoints of a training job, from the catalog's interruption statistics.

The per-chip interruption rates are the Llama 3 405B counts (Dubey et al. 2024, sec. 3.3.4, Table 5) divided by
chips x window; checkpoint size and bandwidths come from the model and the catalog's storage facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from computeplan import checks
from computeplan.catalog.loader import Catalog
from computeplan.perf.goodput import CheckpointSetup, FailureModel, GoodputEstimate, estimate_goodput
from computeplan.units import SECONDS_PER_DAY
from computeplan.workload.jobs import MAX_CHIPS

FAILURE_PREFIX = "failures-llama3-"
FAILURE_META = ("window", "chips", "planned", "effective-time")  # facts under the prefix that are not causes
REQUIRED_FACTS = ("failures-llama3-window", "failures-llama3-chips", "restart-time", "storage-write-bandwidth-per-chip")
# Per chip, HBM-to-host copy of an asynchronous checkpoint: PCIe Gen5 x16 (64 GB/s per direction), ~40% achieved.
PCIE_SNAPSHOT_BYTES_PER_S = 25e9
# Bytes per parameter in a training checkpoint: bf16 weights 2 + fp32 master copy 4 + Adam m and v 4 + 4.
CHECKPOINT_BYTES_PER_PARAM = 14.0
MAX_RUN_DAYS = 36525.0


@dataclass(frozen=True, kw_only=True)
class Reliability:
    """Interruption rates and the checkpoint/restart facts that set goodput."""

    failures: FailureModel
    restart_s: float  # with hot spares
    restart_without_spares_s: float  # waiting for a repair
    storage_bytes_per_s_per_chip: float

    def checkpoint(
        self,
        params: float,
        num_chips: int,
        *,
        asynchronous: bool = False,
        hot_spares: bool = True,
        storage_bytes_per_s_per_chip: float | None = None,
    ) -> CheckpointSetup:
        """Checkpoint cost for ``params`` parameters on ``num_chips`` chips."""
        per_chip = storage_bytes_per_s_per_chip or self.storage_bytes_per_s_per_chip
        return CheckpointSetup(
            checkpoint_bytes=params * CHECKPOINT_BYTES_PER_PARAM,
            write_bytes_per_s=per_chip * num_chips,
            read_bytes_per_s=per_chip * num_chips,
            restart_s=self.restart_s if hot_spares else self.restart_without_spares_s,
            asynchronous=asynchronous,
            snapshot_bytes_per_s=PCIE_SNAPSHOT_BYTES_PER_S * num_chips,
        )


def reliability_from_catalog(catalog: Catalog) -> Reliability | None:
    """The catalog's failure and checkpoint facts, or None when a catalog lacks them."""
    if not all(f in catalog.facts for f in REQUIRED_FACTS):
        return None
    window_s = catalog.fact("failures-llama3-window").value
    chips = catalog.fact("failures-llama3-chips").value
    rates = {
        fid.removeprefix(FAILURE_PREFIX): fact.value / (chips * window_s)
        for fid, fact in catalog.facts.items()
        if fid.startswith(FAILURE_PREFIX) and fid.removeprefix(FAILURE_PREFIX) not in FAILURE_META
    }
    restart = catalog.fact("restart-time")
    basis = (
        f"per-chip interruption rates of the Llama 3 405B pre-training run ({chips:,.0f} H100 GPUs over "
        f"{window_s / SECONDS_PER_DAY:.0f} days; Dubey et al. 2024, sec. 3.3.4), applied to every chip"
    )
    return Reliability(
        failures=FailureModel(rates_per_chip_s=rates, basis=basis),
        restart_s=restart.value,
        restart_without_spares_s=restart.high or restart.value,
        storage_bytes_per_s_per_chip=catalog.fact("storage-write-bandwidth-per-chip").value,
    )


def estimate_job_goodput(
    reliability: Reliability,
    params: float,
    num_chips: int,
    *,
    run_s: float | None = None,
    asynchronous: bool = False,
    hot_spares: bool = True,
    storage_bytes_per_s_per_chip: float | None = None,
) -> GoodputEstimate:
    """Interruptions, job MTBF, optimal checkpoint interval and goodput of a job of ``params`` on ``num_chips``."""
    checks.whole("num_chips", num_chips, low=1, high=MAX_CHIPS)
    if run_s is not None:
        checks.number("run_days", run_s / SECONDS_PER_DAY, low=0.0, high=MAX_RUN_DAYS, low_open=True)
    if storage_bytes_per_s_per_chip is not None:
        checks.number("storage_bytes_per_s_per_chip", storage_bytes_per_s_per_chip, low=1e3, high=1e13)
    setup = reliability.checkpoint(
        params,
        num_chips,
        asynchronous=asynchronous,
        hot_spares=hot_spares,
        storage_bytes_per_s_per_chip=storage_bytes_per_s_per_chip,
    )
    return estimate_goodput(reliability.failures, setup, num_chips, run_s=run_s)
