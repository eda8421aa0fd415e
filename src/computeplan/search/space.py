"""The space of training layouts, built from small divisor generators into numpy columns.

Adding a parallelism axis means one generator here and one field in ``perf.layout``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from computeplan.hardware.cluster import Cluster, Precision
from computeplan.perf.layout import LAYOUT_FIELDS, Layouts, Recompute
from computeplan.workload.transformer import TransformerSpec

MAX_MICRO_BATCH = 64
MAX_VPP = 8
MAX_CP = 64


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n`` in increasing order."""
    small = [i for i in range(1, math.isqrt(n) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


def _allowed(name: str, options: Iterable[int], fixed: Mapping[str, Sequence[int]]) -> list[int]:
    opts = list(options)
    if name in fixed:
        wanted = set(fixed[name])
        opts = [o for o in opts if o in wanted]
    return opts


def enumerate_layouts(
    spec: TransformerSpec,
    cluster: Cluster,
    *,
    global_batch: int,
    seq_len: int,
    fixed: Mapping[str, Sequence[int]] | None = None,
    allow_fp8: bool = True,
) -> Layouts:
    """Every layout that divides evenly, as columns. ``fixed`` restricts fields to given values.

    Memory fit and the finer rules (``perf.training.validity``) are checked by the evaluation, not here.
    """
    fixed = dict(fixed or {})
    n = cluster.num_chips
    kv_split = spec.heads if spec.is_mla else spec.kv_heads
    tp_cap = max(cluster.scaleup_domain_chips, 8)
    tps = _allowed("tp", (x for x in divisors(math.gcd(spec.heads, kv_split)) if x <= tp_cap and n % x == 0), fixed)
    columns: dict[str, list[int]] = {name: [] for name in LAYOUT_FIELDS}
    recomputes = _allowed("recompute", [int(r) for r in Recompute], fixed)
    zeros = _allowed("zero", [0, 1, 2, 3], fixed)
    fp8s = _allowed("fp8", [0, 1] if allow_fp8 and Precision.FP8 in cluster.peak_flops_per_s else [0], fixed)
    base: list[tuple[int, ...]] = []
    for tp in tps:
        for pp in _allowed("pp", (x for x in divisors(n // tp) if x <= spec.layers), fixed):
            rest = n // (tp * pp)
            cps = (x for x in divisors(rest) if x <= MAX_CP and (x == 1 or seq_len % (2 * x) == 0))
            for cp in _allowed("cp", cps, fixed):
                dp = rest // cp
                if "dp" in fixed and dp not in fixed["dp"]:
                    continue
                if global_batch % dp:
                    continue
                eps = divisors(math.gcd(spec.experts, dp * cp)) if spec.is_moe else [1]
                stage_layers = -(-spec.layers // pp)
                vpps = [x for x in divisors(stage_layers) if x <= MAX_VPP] if pp > 1 else [1]
                mbs = [x for x in divisors(global_batch // dp) if x <= MAX_MICRO_BATCH]
                sps = [0, 1] if tp > 1 else [0]
                for ep, vpp, mb, sp in itertools.product(
                    _allowed("ep", eps, fixed),
                    _allowed("vpp", vpps, fixed),
                    _allowed("mb", mbs, fixed),
                    _allowed("sp", sps, fixed),
                ):
                    base.append((tp, pp, dp, cp, ep, vpp, mb, sp))
    if not base:
        return Layouts.from_columns({name: np.zeros(0, dtype=np.int64) for name in LAYOUT_FIELDS})
    head = np.asarray(base, dtype=np.int64)
    hsdps = _allowed("hsdp", [0, 1], fixed)
    tail = np.asarray(
        [(r, z, h, f) for r, z, h, f in itertools.product(recomputes, zeros, hsdps, fp8s) if not (h and z != 3)],
        dtype=np.int64,
    ).reshape(-1, 4)
    if tail.size == 0:
        return Layouts.from_columns({name: np.zeros(0, dtype=np.int64) for name in LAYOUT_FIELDS})
    rows = np.repeat(head, len(tail), axis=0)
    extra = np.tile(tail, (len(head), 1))
    for i, name in enumerate(("tp", "pp", "dp", "cp", "ep", "vpp", "mb", "sp")):
        columns[name] = rows[:, i]  # type: ignore[assignment]
    for i, name in enumerate(("recompute", "zero", "hsdp", "fp8")):
        columns[name] = extra[:, i]  # type: ignore[assignment]
    return Layouts.from_columns(columns)
