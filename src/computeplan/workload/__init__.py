"""Typed descriptions of workloads: the transformer architecture and, later, training and inference jobs."""

from computeplan.workload.transformer import TransformerSpec

__all__ = ["TransformerSpec"]
