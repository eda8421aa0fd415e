"""A cluster: N chips of one kind, in scale-up domains joined by a scale-out network. SI units throughout.

Built once from catalog entries (:func:`cluster_from_catalog`); the performance models read only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from computeplan.errors import InvalidLayout

if TYPE_CHECKING:
    from computeplan.catalog.loader import Catalog


class Precision(StrEnum):
    BF16 = "bf16"
    FP8 = "fp8"
    FP4 = "fp4"


# Links a collective can use, by topology: a ring on one axis of a k-D torus uses 2 of its 2k links.
TORUS_AXES = {"torus-2d": 2, "torus-3d": 3, "hypercube": 4}


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """Chips of one kind and the network between them.

    Bandwidths are per chip and per direction. ``scaleup_bytes_per_s`` is the chip's total over all its
    scale-up links; what one collective can use of it depends on the topology (see ``perf.collectives``).
    """

    chip_id: str
    family: str
    system_id: str
    num_chips: int
    peak_flops_per_s: dict[Precision, float] = field(hash=False)
    hbm_bytes: float
    hbm_bytes_per_s: float
    power_w: float
    host_power_w_per_chip: float
    scaleup_domain_chips: int
    scaleup_bytes_per_s: float
    scaleup_latency_s: float
    scaleup_topology: str
    scaleout_bytes_per_s: float
    scaleout_latency_s: float
    price_usd_per_hour: float | None
    announced: bool

    def peak(self, precision: Precision) -> float:
        try:
            return self.peak_flops_per_s[precision]
        except KeyError:
            raise InvalidLayout(
                f"chip '{self.chip_id}' has no {precision.value} peak in the catalog; "
                f"supported: {', '.join(p.value for p in self.peak_flops_per_s)}"
            ) from None


def cluster_from_catalog(catalog: Catalog, chip_id: str, num_chips: int, *, system_id: str | None = None) -> Cluster:
    """Cluster of ``num_chips`` chips of ``chip_id`` in the chip's default system (or ``system_id``)."""
    if num_chips < 1:
        raise InvalidLayout(f"chips: must be at least 1, got {num_chips}")
    chip = catalog.chip(chip_id)
    # A system may host a chip other than its own (e.g. a user's chip in an HGX-like server): its scale-up and
    # scale-out figures then apply where it states them, the chip's own where it does not.
    system = catalog.system(system_id or chip.system)
    peaks = {Precision.BF16: chip.bf16_flops_per_s.value}
    if chip.fp8_flops_per_s:
        peaks[Precision.FP8] = chip.fp8_flops_per_s.value
    if chip.fp4_flops_per_s:
        peaks[Precision.FP4] = chip.fp4_flops_per_s.value
    up = system.scaleup_bytes_per_s or chip.scaleup_bytes_per_s
    out = system.scaleout_bytes_per_s or chip.scaleout_bytes_per_s
    return Cluster(
        chip_id=chip.id,
        family=chip.family,
        system_id=system.id,
        num_chips=num_chips,
        peak_flops_per_s=peaks,
        hbm_bytes=chip.hbm_bytes.value,
        hbm_bytes_per_s=chip.hbm_bytes_per_s.value,
        power_w=chip.power_w.value,
        host_power_w_per_chip=system.host_power_w_per_chip.value,
        scaleup_domain_chips=int(system.scaleup_domain_chips.value),
        scaleup_bytes_per_s=up.value,
        scaleup_latency_s=system.scaleup_latency_s.value,
        scaleup_topology=system.scaleup_topology.value,
        scaleout_bytes_per_s=out.value,
        scaleout_latency_s=system.scaleout_latency_s.value,
        price_usd_per_hour=chip.price_usd_per_hour.value if chip.price_usd_per_hour else None,
        announced=chip.status.value == "announced",
    )


def serving_cluster(catalog: Catalog, chip_id: str) -> Cluster:
    """One scale-up domain of ``chip_id`` (its system's): the cluster a serving replica is searched on."""
    domain = int(catalog.system(catalog.chip(chip_id).system).scaleup_domain_chips.value)
    return cluster_from_catalog(catalog, chip_id, domain)
