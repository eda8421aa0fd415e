"""Typed descriptions of clusters: a chip (SI numbers from the catalog), its network tiers, and a cluster of
them. Built by the training-model issue; the catalog entries in ``computeplan.catalog`` are its source."""
