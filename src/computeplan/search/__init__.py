"""Vectorised enumeration and ranking of parallel layouts (numpy arrays of candidates)."""

from computeplan.search.training_search import TrainingEstimate, evaluate_layout, search_layouts

__all__ = ["TrainingEstimate", "evaluate_layout", "search_layouts"]
