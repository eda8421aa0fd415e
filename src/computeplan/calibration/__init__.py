"""Accuracy against published measured runs: read them, predict each with its exact layout, fit the few
efficiency parameters per chip family, and report the error."""
