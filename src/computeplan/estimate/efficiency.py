"""The fitted efficiency tables (training and serving), passed explicitly to whoever needs them.

A table maps chip families to fitted parameters plus a cross-chip default; it is written by ``computeplan
calibrate`` and validated against its parameter space (:data:`computeplan.hardware.efficiency.TRAINING_SPACE`,
:data:`SERVING_SPACE`) when it is loaded. Nothing here reads a file on its own: :func:`builtin_efficiency_tables`
(the tables shipped in the package) and :meth:`EfficiencyTables.from_files` (tables the caller names) are the
explicit reads, done by the API facade and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from computeplan.catalog.efficiency_schema import EfficiencyTable, Parameter, ParameterSpace, parse_efficiency_table
from computeplan.errors import InvalidInput
from computeplan.hardware.efficiency import TRAINING_SPACE, EfficiencyParams, efficiency_for
from computeplan.perf.inference import InferenceEfficiency

_DEFAULTS = InferenceEfficiency()  # the first-principles priors are the serving efficiency's own defaults

SERVING_SPACE = ParameterSpace(
    (
        Parameter(
            name="memory_efficiency",
            low=0.3,
            high=1.0,
            prior=_DEFAULTS.memory_efficiency,
            log_scale=True,
            meaning="achieved fraction of HBM bandwidth in decode",
        ),
        Parameter(
            name="prefill_efficiency",
            low=0.1,
            high=0.95,
            prior=_DEFAULTS.prefill_efficiency,
            log_scale=True,
            meaning="achieved fraction of peak in prefill matmuls",
        ),
        Parameter(
            name="step_overhead_s",
            low=1e-4,
            high=0.05,
            prior=_DEFAULTS.step_overhead_s,
            log_scale=True,
            meaning="fixed time per decode step in seconds (launches, sampling, scheduler)",
        ),
    )
)
SERVING_FITTED = SERVING_SPACE.names
SERVING_PRIOR = _DEFAULTS


@dataclass(frozen=True)
class EfficiencyTables:
    """Training and serving calibration tables (None: first-principles priors, marked uncalibrated).

    Each is an :class:`EfficiencyTable`; a mapping as read from YAML is accepted too and validated on construction
    (a :class:`~computeplan.errors.CatalogError` names the family and field).
    """

    training: EfficiencyTable | None = None
    serving: EfficiencyTable | None = None
    # families whose parameters a device profile measured (computeplan profile): used before any table
    profiled: Mapping[str, tuple[EfficiencyParams, InferenceEfficiency]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, space in (("training", TRAINING_SPACE), ("serving", SERVING_SPACE)):
            value: Any = getattr(self, name)
            if value is not None:  # a mapping is validated; a typed table checked to be of this model
                typed = parse_efficiency_table(value, space, where=f"{name} efficiency table") if value else None
                object.__setattr__(self, name, typed)

    @classmethod
    def from_files(cls, *, training: str | Path | None = None, serving: str | Path | None = None) -> EfficiencyTables:
        """Tables read from YAML files written by ``computeplan calibrate`` (a table not named stays None)."""
        return cls(
            training=_load_table(training, "training") if training else None,
            serving=_load_table(serving, "inference") if serving else None,
        )

    def for_training(self, family: str) -> EfficiencyParams:
        if family in self.profiled:
            return self.profiled[family][0]
        return efficiency_for(family, self.training)

    def for_serving(self, family: str) -> InferenceEfficiency:
        if family in self.profiled:
            return self.profiled[family][1]
        return serving_efficiency_for(family, self.serving)

    def with_profiled(self, family: str, training: EfficiencyParams, serving: InferenceEfficiency) -> EfficiencyTables:
        """A copy in which ``family`` takes a device profile's measured parameters."""
        return replace(self, profiled={**self.profiled, family: (training, serving)})

    def table(self, kind: str) -> EfficiencyTable | None:
        """The table of a model kind: ``training``, or ``inference``/``serving``."""
        return self.training if kind == "training" else self.serving


def serving_efficiency_for(family: str, table: EfficiencyTable | Mapping[str, Any] | None) -> InferenceEfficiency:
    """Serving efficiency of a chip family from a calibration table, else the cross-chip default, else the prior."""
    if not table:
        return SERVING_PRIOR
    typed = parse_efficiency_table(table, SERVING_SPACE, where="serving efficiency table")
    found = typed.lookup(family)
    if found is None:
        return SERVING_PRIOR
    fit, own = found
    values: dict[str, Any] = dict(fit.values)
    band = typed.error_band(family, "calibrated" if own else "uncalibrated")
    if own:
        basis = f"fitted on {fit.rows if fit.rows is not None else '?'} serving runs of family {family}"
        return replace(SERVING_PRIOR, **values, calibrated=True, basis=basis, error_band=band)
    basis = "cross-chip default (no serving runs for this family)"
    return replace(SERVING_PRIOR, **values, basis=basis, error_band=band)


def _load_table(path: str | Path | None, kind: str) -> EfficiencyTable | None:
    """A table file (the package's own when ``path`` is None), validated against the space of ``kind``."""
    from computeplan.catalog.loader import efficiency_table_path, load_efficiency_table

    raw = load_efficiency_table(path, kind=kind)
    if raw is None:
        return None
    space = TRAINING_SPACE if kind == "training" else SERVING_SPACE
    return parse_efficiency_table(raw, space, where=str(path or efficiency_table_path(kind)))


def builtin_efficiency_tables() -> EfficiencyTables:
    """The tables shipped in the package (``catalog/data/efficiency.yaml`` and ``inference_efficiency.yaml``)."""
    return EfficiencyTables(training=_load_table(None, "training"), serving=_load_table(None, "inference"))


def as_efficiency_tables(value: object) -> EfficiencyTables:
    """The tables an API call was given: ``value`` itself, or the package's own for None. Anything else (a mapping,
    a file name) is refused: build one with ``EfficiencyTables(...)`` or ``EfficiencyTables.from_files(...)``."""
    if value is None:
        return builtin_efficiency_tables()
    if not isinstance(value, EfficiencyTables):
        got = type(value).__name__
        raise InvalidInput("efficiency", f"expected EfficiencyTables (or None for the built-in tables), got {got}")
    return value
