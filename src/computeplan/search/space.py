"""The space of training layouts, built from small divisor generators into numpy columns.

Adding a parallelism axis means one generator here and one field in ``perf.layout``.

The space is bounded so that no input can hang the search or exhaust memory: chip counts up to ``MAX_CHIPS``
(2**40, a thousand times the largest cluster built), global batches up to ``MAX_GLOBAL_BATCH`` (2**24 sequences,
8000x Llama 3's 2,048), and at most ``MAX_LAYOUTS`` candidates (20 million: ~2 GB of columns, ~10 s to price);
beyond these :func:`enumerate_layouts` raises :class:`~computeplan.errors.InvalidLayout` saying what to change.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from computeplan.errors import InvalidLayout, shown_count
from computeplan.hardware.cluster import Cluster, Precision
from computeplan.perf.layout import LAYOUT_FIELDS, Layouts, Recompute
from computeplan.workload.transformer import TransformerSpec

MAX_MICRO_BATCH = 64
MAX_VPP = 8
MAX_CP = 64
MAX_CHIPS = 2**40  # largest n whose divisors are computed: trial division then takes at most 2**20 / 3 steps
MAX_GLOBAL_BATCH = 2**24  # sequences per step
MAX_LAYOUTS = 20_000_000  # candidates one enumeration may produce (12 int64 columns: 1.9 GB)


def prime_factors(n: int) -> dict[int, int]:
    """{prime: exponent} of ``n`` >= 1, by trial division by 2, 3 and 6k +- 1 up to the square root of what is
    left: at most sqrt(n) / 3 steps, 350,000 for a prime near 2**40."""
    factors: dict[int, int] = {}
    for p in (2, 3):
        while n % p == 0:
            factors[p] = factors.get(p, 0) + 1
            n //= p
    p = 5
    while p * p <= n:
        for q in (p, p + 2):  # 6k - 1 and 6k + 1
            while n % q == 0:
                factors[q] = factors.get(q, 0) + 1
                n //= q
        p += 6
    if n > 1:
        factors[n] = factors.get(n, 0) + 1
    return factors


def divisors(n: int, *, quantity: str = "n") -> list[int]:
    """All positive divisors of ``n`` in increasing order (none for n < 1), from its prime factorisation.

    Raises InvalidLayout, naming ``quantity``, for n > ``MAX_CHIPS`` (2**40): factorising larger numbers by trial
    division could take minutes.
    """
    if n < 1:
        return []
    if n > MAX_CHIPS:
        raise InvalidLayout(f"{quantity}: at most 2**40 = {MAX_CHIPS:,}, got {shown_count(n)}")
    found = [1]
    for prime, power in prime_factors(n).items():
        found = [d * prime**k for d in found for k in range(power + 1)]
    return sorted(found)


def _allowed(name: str, options: Iterable[int], fixed: Mapping[str, Sequence[int]]) -> list[int]:
    opts = list(options)
    if name in fixed:
        wanted = set(fixed[name])
        opts = [o for o in opts if o in wanted]
    return opts


def _check_bounds(num_chips: int, global_batch: int) -> None:
    if num_chips > MAX_CHIPS:
        raise InvalidLayout(f"chips: at most 2**40 = {MAX_CHIPS:,} chips, got {shown_count(num_chips)}")
    if global_batch < 1:
        raise InvalidLayout(f"global batch: must be at least 1 sequence, got {global_batch}")
    if global_batch > MAX_GLOBAL_BATCH:
        raise InvalidLayout(
            f"global batch: at most 2**24 = {MAX_GLOBAL_BATCH:,} sequences, got {shown_count(global_batch)}; "
            "published runs use a few thousand"
        )


def _too_many(what: str) -> InvalidLayout:
    return InvalidLayout(
        f"the layout space has more than {MAX_LAYOUTS:,} {what}: fix some fields (tp, pp, cp, mb, ep) to narrow "
        "it, or use fewer chips"
    )


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
    Raises InvalidLayout for more than ``MAX_CHIPS`` chips, a global batch outside 1..``MAX_GLOBAL_BATCH``, or a
    space of more than ``MAX_LAYOUTS`` candidates (counted before any is built).
    """
    fixed = dict(fixed or {})
    n = cluster.num_chips
    _check_bounds(n, global_batch)
    kv_split = spec.heads if spec.is_mla else spec.kv_heads
    tp_cap = max(cluster.scaleup_domain_chips, 8)
    # tp divides the heads, and divides or is a multiple of the key/value heads (replicated then); the search
    # stops at one scale-up domain, a field the caller fixes is taken whatever its size
    tp_options = (
        x
        for x in divisors(spec.heads)
        if n % x == 0 and (kv_split % x == 0 or x % kv_split == 0) and (x <= tp_cap or "tp" in fixed)
    )
    tps = _allowed("tp", tp_options, fixed)
    columns: dict[str, list[int]] = {name: [] for name in LAYOUT_FIELDS}
    recomputes = _allowed("recompute", [int(r) for r in Recompute], fixed)
    zeros = _allowed("zero", [0, 1, 2, 3], fixed)
    fp8s = _allowed("fp8", [0, 1] if allow_fp8 and Precision.FP8 in cluster.peak_flops_per_s else [0], fixed)
    hsdps = _allowed("hsdp", [0, 1], fixed)
    tail = np.asarray(
        [(r, z, h, f) for r, z, h, f in itertools.product(recomputes, zeros, hsdps, fp8s) if not (h and z != 3)],
        dtype=np.int64,
    ).reshape(-1, 4)
    per_base = max(len(tail), 1)  # layouts each (tp, pp, dp, cp, ep, vpp, mb, sp) row expands to
    base: list[tuple[int, ...]] = []
    visited = 0  # (tp, pp, cp) combinations looked at: bounds the time even when few of them divide the batch
    for tp in tps:
        for pp in _allowed("pp", (x for x in divisors(n // tp) if x <= spec.layers), fixed):
            rest = n // (tp * pp)
            cps = (x for x in divisors(rest) if (x <= MAX_CP or "cp" in fixed) and (x == 1 or seq_len % (2 * x) == 0))
            for cp in _allowed("cp", cps, fixed):
                visited += 1
                if visited > MAX_LAYOUTS:
                    raise _too_many("(tp, pp, cp) combinations")
                dp = rest // cp
                if "dp" in fixed and dp not in fixed["dp"]:
                    continue
                if global_batch % dp:
                    continue
                eps = _allowed("ep", divisors(math.gcd(spec.experts, dp * cp)) if spec.is_moe else [1], fixed)
                stage_layers = -(-spec.layers // pp)
                vpps = _allowed(
                    "vpp",
                    [x for x in divisors(stage_layers) if x <= MAX_VPP or "vpp" in fixed] if pp > 1 else [1],
                    fixed,
                )
                mbs = _allowed(
                    "mb", [x for x in divisors(global_batch // dp) if x <= MAX_MICRO_BATCH or "mb" in fixed], fixed
                )
                sps = _allowed("sp", [0, 1] if tp > 1 else [0], fixed)
                added = len(eps) * len(vpps) * len(mbs) * len(sps)
                if (len(base) + added) * per_base > MAX_LAYOUTS:
                    raise _too_many("candidates")
                for ep, vpp, mb, sp in itertools.product(eps, vpps, mbs, sps):
                    base.append((tp, pp, dp, cp, ep, vpp, mb, sp))
    if not base or tail.size == 0:
        return Layouts.from_columns({name: np.zeros(0, dtype=np.int64) for name in LAYOUT_FIELDS})
    head = np.asarray(base, dtype=np.int64)
    rows = np.repeat(head, len(tail), axis=0)
    extra = np.tile(tail, (len(head), 1))
    for i, name in enumerate(("tp", "pp", "dp", "cp", "ep", "vpp", "mb", "sp")):
        columns[name] = rows[:, i]  # type: ignore[assignment]
    for i, name in enumerate(("recompute", "zero", "hsdp", "fp8")):
        columns[name] = extra[:, i]  # type: ignore[assignment]
    return Layouts.from_columns(columns)
