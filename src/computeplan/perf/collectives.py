"""Collectives over a two-tier network, costed with the alpha-beta model, vectorised over layouts.

Ranks are laid out with tensor parallel innermost, then context, then data, then pipeline parallel (the
Megatron order). A group of ``size`` ranks whose members are ``stride`` ranks apart lies inside one scale-up
domain when ``stride * size <= domain``; otherwise it is split hierarchically: ``g_in`` members per domain
(``domain / stride``, at least 1) and ``g_out = size / g_in`` domains.

Ring all-reduce of S bytes over g ranks (Thakur et al. 2005; NCCL):
    T = 2 (g - 1)/g · S / (eta · bw) + 2 (g - 1) · alpha
Hierarchical (reduce-scatter inside domains, all-reduce across, all-gather inside):
    T = 2 (g_in - 1)/g_in · S / (eta · bw_up) + 2 (g_out - 1)/g_out · (S / g_in) / (eta · bw_out) + latency terms
All-gather and reduce-scatter cost half an all-reduce; all-to-all of S bytes per rank costs (g - 1)/g · S / bw.

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


def all_reduce_time(cluster: Cluster, nbytes: Array, size: Array, stride: Array, eta: float) -> Array:
    """Seconds for a (hierarchical) ring all-reduce of ``nbytes`` per rank over ``size`` ranks."""
    g_in, g_out = split_group(cluster, size, stride)
    bw_up = eta * cluster.scaleup_bytes_per_s * _scaleup_share(cluster, g_in)
    bw_out = eta * cluster.scaleout_bytes_per_s
    inner = 2.0 * (g_in - 1.0) / g_in * nbytes / bw_up + 2.0 * (g_in - 1.0) * cluster.scaleup_latency_s
    outer = 2.0 * (g_out - 1.0) / g_out * (nbytes / g_in) / bw_out + 2.0 * (g_out - 1.0) * cluster.scaleout_latency_s
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
    outside = nbytes * (size - g_in) / size / (eta * cluster.scaleout_bytes_per_s)
    latency = np.where(g_out > 1, cluster.scaleout_latency_s, cluster.scaleup_latency_s)
    return np.where(size > 1, np.maximum(inside, outside) + latency, 0.0)


def p2p_time(cluster: Cluster, nbytes: Array, crosses_domain: NDArray[np.bool_], eta: float) -> Array:
    """Seconds to send ``nbytes`` to a neighbour, inside a domain or across the scale-out network."""
    up = nbytes / (eta * cluster.scaleup_bytes_per_s) + cluster.scaleup_latency_s
    out = nbytes / (eta * cluster.scaleout_bytes_per_s) + cluster.scaleout_latency_s
    return np.where(crosses_domain, out, up)
