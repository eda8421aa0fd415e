"""A training framework's software behaviour (``catalog/data/frameworks.yaml``) as the training step prices it."""

from __future__ import annotations

import difflib

from computeplan.catalog.frameworks import FrameworkDefaults, builtin_frameworks
from computeplan.errors import InvalidInput
from computeplan.perf.training import DEFAULT_SOFTWARE, Software


def software_of(framework: FrameworkDefaults | None) -> Software:
    """The :class:`Software` of a framework: its attention kernel and communication overlap (a plain framework,
    flash attention and no overlap, when None)."""
    if framework is None:
        return DEFAULT_SOFTWARE
    return Software(
        attention_kernel=framework.attention_kernel,
        tp_overlap=framework.tp_overlap,
        ep_overlap=framework.ep_overlap,
        compiled=framework.compiled,
        pipeline_schedule=framework.pipeline_schedule,
    )


def framework_named(name: str | None) -> FrameworkDefaults | None:
    """The framework ``name`` (case-insensitive; None for None); :class:`InvalidInput` on ``framework`` lists the
    known ones."""
    if name is None:
        return None
    known = builtin_frameworks()
    key = name.strip().lower() if isinstance(name, str) else name
    if key in known:
        return known[key]
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise InvalidInput("framework", f"unknown framework {name!r}{hint}; known: {', '.join(known)}")
