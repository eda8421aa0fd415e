"""Collectives over a two-tier network, costed with the alpha-beta model, vectorised over layouts.

Ranks are laid out with tensor parallel innermost, then context, then data, then pipeline parallel (the
Megatron order). A group of ``size`` ranks whose members are ``stride`` ranks apart lies inside one scale-up
domain when ``stride * size <= domain``; otherwise it is split hierarchically: ``g_in`` members per domain
(``domain / stride``, at least 1) and ``g_out = size / g_in`` domains.

Ring all-reduce of S bytes over g ranks (Thakur et al. 2005; NCCL):
    T = 2 (g - 1)/g · S / (eta · bw) + 2 (g - 1) · alpha
or, on a switched tier where it is faster (small messages), a tree: T = 2 S / (eta · bw) + 2 ceil(log2 g) · alpha
Hierarchical (reduce-scatter inside domains, all-reduce across, all-gather inside):
    T = 2 (g_in - 1)/g_in · S / (eta · bw_up) + 2 (g_out - 1)/g_out · (S / g_in) / (eta · bw_out) + latency terms
All-gather and reduce-scatter cost half an all-reduce; all-to-all of S bytes per rank costs (g - 1)/g · S / bw, or on
a torus at least what its bisection carries (about S k a / (4 bw) for a slice of side k in a axes).

``eta`` is the achieved fraction of link bandwidth. On a torus a collective on one axis uses 2 of the chip's
links; the usable share of ``scaleup_bytes_per_s`` grows with the number of axes the group spans, the axes being
those of the slice in use (the pod, or the whole cluster when it is smaller). Slices beyond one pod (TPU
multislice) are joined over the scale-out network (the data-centre network, DCN).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from computeplan.hardware.cluster import TORUS_AXES, Cluster

Array = NDArray[np.float64]


def _scaleup_share(cluster: Cluster, g_in: Array) -> Array:
    """Fraction of the chip's scale-up bandwidth that a group of ``g_in`` ranks in one domain can use."""
    axes = TORUS_AXES.get(cluster.scaleup_topology)
    if axes is not None:
        # the torus of the slice in use: a cluster smaller than a pod is a slice of its chips (v6e-8 is 2 x 4)
        slice_chips = min(cluster.scaleup_domain_chips, cluster.num_chips)
        side = max(slice_chips ** (1.0 / axes), 2.0)
        spanned = np.clip(np.ceil(np.log(np.maximum(g_in, 1.0)) / np.log(side) - 1e-9), 1, axes)
        share: Array = spanned / axes
        return share
    if cluster.scaleup_topology == "full-mesh":
        links = max(cluster.scaleup_domain_chips - 1, 1)
        return np.clip((g_in - 1.0) / links, 1.0 / links, 1.0)
    return np.ones_like(g_in)


def split_group(cluster: Cluster, size: Array, stride: Array) -> tuple[Array, Array]:
    """Members per scale-up domain (g_in) and number of domains (g_out) of a group."""
    domain = float(cluster.scaleup_domain_chips)
    g_in = np.clip(np.floor(domain / np.maximum(stride, 1.0)), 1.0, size)
    g_out = np.maximum(size / g_in, 1.0)
    return g_in, g_out


def _ring_or_tree(nbytes: Array, g: Array, bw: Array | float, alpha: float, *, tree: bool) -> Array:
    """One tier's all-reduce: a ring, 2 (g-1)/g S/bw + 2 (g-1) alpha, or where the tier is switched (``tree``) the
    faster of that and a (double binary) tree, 2 S/bw + 2 ceil(log2 g) alpha, as NCCL picks by message size
    (Jeaugey 2019, NCCL 2.4 trees): the ring moves the least data, the tree takes the fewest latency steps, so small
    messages (a decode step's activations) go by tree. A ring or torus of chip-to-chip links (NeuronLink, ICI) keeps
    the ring: a tree's non-neighbour hops would cross other chips."""
    ring = 2.0 * (g - 1.0) / g * nbytes / bw + 2.0 * (g - 1.0) * alpha
    if tree:
        ring = np.minimum(ring, 2.0 * nbytes / bw + 2.0 * np.ceil(np.log2(np.maximum(g, 1.0))) * alpha)
    return np.where(g > 1.0, ring, 0.0)


def all_reduce_time(cluster: Cluster, nbytes: Array, size: Array, stride: Array, eta: float) -> Array:
    """Seconds for a (hierarchical) all-reduce of ``nbytes`` per rank over ``size`` ranks, ring or tree per tier."""
    g_in, g_out = split_group(cluster, size, stride)
    bw_up = eta * cluster.scaleup_bytes_per_s * _scaleup_share(cluster, g_in)
    bw_out = eta * cluster.scaleout_bytes_per_s
    inner = _ring_or_tree(nbytes, g_in, bw_up, cluster.scaleup_latency_s, tree=cluster.scaleup_topology == "switch")
    outer = _ring_or_tree(nbytes / g_in, g_out, bw_out, cluster.scaleout_latency_s, tree=True)
    return np.where(size > 1, inner + outer, 0.0)


def all_gather_time(cluster: Cluster, nbytes: Array, size: Array, stride: Array, eta: float) -> Array:
    """Seconds for an all-gather (or a reduce-scatter) whose full result is ``nbytes`` per rank."""
    return 0.5 * all_reduce_time(cluster, nbytes, size, stride, eta)


def all_to_all_time(cluster: Cluster, nbytes: Array, size: Array, stride: Array, eta: float) -> Array:
    """Seconds for an all-to-all where each rank holds ``nbytes`` and keeps 1/size of it.

    Traffic leaving a domain crosses the scale-out network; the slower tier bounds the time.
    """
    g_in, g_out = split_group(cluster, size, stride)
    inside = nbytes * (g_in - 1.0) / size / (eta * cluster.scaleup_bytes_per_s * _scaleup_share(cluster, g_in))
    axes = TORUS_AXES.get(cluster.scaleup_topology)
    if axes is not None:
        # a torus is not a switch: half of an all-to-all's traffic crosses the bisection of the group's sub-torus,
        # 2 k^(a-1) links each way of a chip's 1/(2a) bandwidth, k the slice's side: about S k a / (4 bw)
        side = max(min(cluster.scaleup_domain_chips, cluster.num_chips) ** (1.0 / axes), 2.0)
        bisection = nbytes * np.minimum(side, g_in) * axes / (4.0 * eta * cluster.scaleup_bytes_per_s)
        inside = np.where(g_in > 1, np.maximum(inside, bisection), inside)
    outside = nbytes * (size - g_in) / size / (eta * cluster.scaleout_bytes_per_s)
    latency = np.where(g_out > 1, cluster.scaleout_latency_s, cluster.scaleup_latency_s)
    return np.where(size > 1, np.maximum(inside, outside) + latency, 0.0)


def p2p_time(cluster: Cluster, nbytes: Array, crosses_domain: NDArray[np.bool_], eta: float) -> Array:
    """Seconds to send ``nbytes`` to a neighbour, inside a domain or across the scale-out network."""
    up = nbytes / (eta * cluster.scaleup_bytes_per_s) + cluster.scaleup_latency_s
    out = nbytes / (eta * cluster.scaleout_bytes_per_s) + cluster.scaleout_latency_s
    return np.where(crosses_domain, out, up)
