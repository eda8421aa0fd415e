"""Typed descriptions of clusters: a chip and its network tiers, in SI units, built from catalog entries."""

from computeplan.hardware.cluster import Cluster, Precision, cluster_from_catalog

__all__ = ["Cluster", "Precision", "cluster_from_catalog"]
