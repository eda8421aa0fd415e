"""Vectorised enumeration and ranking of parallel layouts (numpy arrays of candidates). Built by the training
and inference issues."""
