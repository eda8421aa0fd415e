"""The fitted efficiency tables: the parameter space they are fitted in, and the schema that validates them.

A performance model that is calibrated (the training step, the serving step) has a few efficiency parameters, each
with a physical meaning, bounds and a first-principles prior. A :class:`ParameterSpace` lists them once; the same
object bounds the fit (``computeplan calibrate``), gives the prior the fit starts from (and, for serving, is pulled
towards), and validates a stored table when it is loaded. The training space is defined with the training
efficiency (:data:`computeplan.hardware.efficiency.TRAINING_SPACE`), the serving space with the serving efficiency
(:data:`computeplan.estimate.efficiency.SERVING_SPACE`).

A table file (``catalog/data/efficiency.yaml``, ``inference_efficiency.yaml``, or one written by
``computeplan calibrate --out``) holds::

    generated_by: computeplan calibrate FILE.csv      # optional
    families:                                         # fitted parameters per chip family
      nvidia-hopper: {realized_fraction: 0.5967, ..., rows: 24}
    default: {realized_fraction: 0.7118, ..., rows: 57}   # cross-chip default, for families without runs
    fitted_on: [T001, ...]                            # run ids the fit used
    held_out: [T004, ...]                             # run ids held out of the fit
    skipped: [{id: T200, reason: ...}]                # optional: rows of the runs file that could not be used

:func:`parse_efficiency_table` checks it against a space (every parameter present, finite and within its bounds, no
unknown field) and returns a typed :class:`EfficiencyTable`; errors name the file, the family and the field.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, create_model, model_validator

from computeplan.errors import CatalogError, shown

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EfficiencyTable",
    "ErrorBand",
    "FamilyFit",
    "HoldoutError",
    "Parameter",
    "ParameterSpace",
    "parse_efficiency_table",
]


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """One fitted efficiency parameter: its bounds, its first-principles prior, and how the fit sees it.

    ``log_scale`` parameters are fitted as ln(value) (a scale such as a half-saturation width or a time, whose
    plausible values span decades); the others as the value itself.
    """

    name: str
    low: float
    high: float
    prior: float
    log_scale: bool = False
    meaning: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"parameter {self.name}: bounds must be finite with low < high, got {self.low}, {self.high}"
            )
        if self.log_scale and self.low <= 0:
            raise ValueError(f"parameter {self.name}: a log-scale parameter needs low > 0, got {self.low}")
        if not self.low <= self.prior <= self.high:
            raise ValueError(f"parameter {self.name}: prior {self.prior} is outside [{self.low}, {self.high}]")

    def to_x(self, value: float) -> float:
        """The coordinate the fit moves: ln(value) on a log scale, else the value."""
        return math.log(value) if self.log_scale else float(value)

    def from_x(self, x: float) -> float:
        return float(math.exp(x)) if self.log_scale else float(x)


@dataclass(frozen=True)
class ParameterSpace:
    """The ordered fitted parameters of one performance model, with the conversion to and from the fit's vector."""

    parameters: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_vector(self, values: Mapping[str, float]) -> np.ndarray:
        """The fit's coordinates of ``values`` (one per parameter, in order; log-scale ones as logarithms)."""
        return np.array([p.to_x(values[p.name]) for p in self.parameters], dtype=float)

    def from_vector(self, x: Sequence[float] | np.ndarray) -> dict[str, float]:
        """Parameter values from the fit's coordinates."""
        if len(x) != len(self.parameters):
            raise ValueError(f"expected {len(self.parameters)} coordinates, got {len(x)}")
        return {p.name: p.from_x(float(v)) for p, v in zip(self.parameters, x, strict=True)}

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds in the fit's coordinates."""
        lower = np.array([p.to_x(p.low) for p in self.parameters], dtype=float)
        upper = np.array([p.to_x(p.high) for p in self.parameters], dtype=float)
        return lower, upper

    def priors(self) -> dict[str, float]:
        """The first-principles prior value of each parameter."""
        return {p.name: p.prior for p in self.parameters}

    def prior_vector(self) -> np.ndarray:
        """The priors in the fit's coordinates: where a fit starts, and what a prior pull pulls towards."""
        return self.to_vector(self.priors())


@dataclass(frozen=True, kw_only=True)
class FamilyFit:
    """Fitted parameter values of one chip family (or the cross-chip default), and how many runs fitted them."""

    values: Mapping[str, float]
    rows: int | None = None
    sources: int | None = None  # publications the rows come from

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.values)
        if self.rows is not None:
            out["rows"] = self.rows
        if self.sources is not None:
            out["sources"] = self.sources
        return out

    def at_bounds(self, space: ParameterSpace) -> list[str]:
        """Names of the parameters that sit on a bound of ``space`` (the data pushed them there: a sign that the
        model lacks a term, or that the bound is too tight)."""
        return [p.name for p in space if p.name in self.values and self.values[p.name] in (p.low, p.high)]


@dataclass(frozen=True, kw_only=True)
class HoldoutError:
    """How far off a chip family is when predicted by a fit that never saw it (leave one family out): the error to
    expect for a chip with no calibration runs of its own. Percent, over ``rows`` runs."""

    median_pct: float
    p90_pct: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"median_pct": self.median_pct, "p90_pct": self.p90_pct, "rows": self.rows}


@dataclass(frozen=True)
class ErrorBand:
    """How far off predictions made like this one were on runs never fitted (leave one source out): quantiles of
    the error of the predicted *time* (predicted / measured time - 1, percent; a rate's error is turned into its
    time's), over ``rows`` runs. Negative: predicted too fast."""

    p10_pct: float
    p50_pct: float
    p90_pct: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"p10_pct": self.p10_pct, "p50_pct": self.p50_pct, "p90_pct": self.p90_pct, "rows": self.rows}

    def measured_range(self, predicted: float) -> tuple[float, float, float]:
        """(P10, P50, P90) of the time to expect when the model predicts ``predicted``: measured = predicted /
        (1 + error), so the P10 time comes from the P90 error."""
        return (
            predicted / (1.0 + self.p90_pct / 100.0),
            predicted / (1.0 + self.p50_pct / 100.0),
            predicted / (1.0 + self.p10_pct / 100.0),
        )

    def measured_rate_range(self, predicted: float) -> tuple[float, float, float]:
        """(P10, P50, P90) of a rate (tokens/s) to expect when the model predicts ``predicted``: the rate of a time
        that is off by the error, predicted x (1 + error)."""
        p10, p50, p90 = (predicted * (1.0 + q / 100.0) for q in (self.p10_pct, self.p50_pct, self.p90_pct))
        return p10, p50, p90


@dataclass(frozen=True, kw_only=True)
class EfficiencyTable:
    """A validated efficiency table: parameters per chip family, a cross-chip default, and what they were fitted on.

    ``source`` names where the table came from (a file path), for messages.
    """

    families: Mapping[str, FamilyFit] = field(default_factory=dict)
    default: FamilyFit | None = None
    fitted_on: tuple[str, ...] = ()
    held_out: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    generated_by: str | None = None
    source: str = field(default="", compare=False)
    # leave-one-family-out error of the cross-chip default: overall ("all") and per family held out
    family_holdout: Mapping[str, HoldoutError] = field(default_factory=dict)
    # leave-one-source-out time error of the predictions: per calibrated family, and per calibration status
    # ("calibrated", "borrowed", "uncalibrated", "all") for the chips without a band of their own
    prediction_error: Mapping[str, ErrorBand] = field(default_factory=dict)

    def error_band(self, family: str, calibration: str) -> ErrorBand | None:
        """The band of predictions like one for ``family`` made ``calibration`` (its own family's when it is
        calibrated and has one, else its status's, else all predictions'), or None without bands."""
        bands = self.prediction_error
        if calibration == "calibrated" and family in bands:
            return bands[family]
        return bands.get(calibration) or bands.get("all")

    def lookup(self, family: str) -> tuple[FamilyFit, bool] | None:
        """The family's own fit (and True), else the cross-chip default (and False), else None."""
        if family in self.families:
            return self.families[family], True
        if self.default is not None:
            return self.default, False
        return None

    def to_dict(self) -> dict[str, Any]:
        """The table as written to YAML (the layout described in this module's docstring)."""
        out: dict[str, Any] = {} if self.generated_by is None else {"generated_by": self.generated_by}
        out["families"] = {name: fit.to_dict() for name, fit in self.families.items()}
        if self.default is not None:
            out["default"] = self.default.to_dict()
        out["fitted_on"] = list(self.fitted_on)
        out["held_out"] = list(self.held_out)
        if self.skipped:
            out["skipped"] = [{"id": row_id, "reason": reason} for row_id, reason in self.skipped]
        if self.family_holdout:
            out["family_holdout"] = {name: err.to_dict() for name, err in self.family_holdout.items()}
        if self.prediction_error:
            out["prediction_error"] = {name: band.to_dict() for name, band in self.prediction_error.items()}
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per chip family (and ``default`` for the cross-chip fit): the fitted values and ``rows``."""
        import pandas as pd

        fits = {**self.families, **({"default": self.default} if self.default is not None else {})}
        rows = [{"family": name, **fit.values, "rows": fit.rows} for name, fit in fits.items()]
        return pd.DataFrame(rows, columns=None if rows else ["family", "rows"]).set_index("family")


# --- the schema ---------------------------------------------------------------------------------------------------

StrictNumber = Annotated[float, Strict()]  # a YAML number; `true` or "0.5" are refused


class _Holdout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    median_pct: float = Field(ge=0.0, allow_inf_nan=False)
    p90_pct: float = Field(ge=0.0, allow_inf_nan=False)
    rows: int = Field(ge=1)


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p10_pct: float = Field(gt=-100.0, allow_inf_nan=False)
    p50_pct: float = Field(gt=-100.0, allow_inf_nan=False)
    p90_pct: float = Field(gt=-100.0, allow_inf_nan=False)
    rows: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> _Band:
        if not self.p10_pct <= self.p50_pct <= self.p90_pct:
            raise ValueError("p10_pct <= p50_pct <= p90_pct must hold")
        return self


class _Skipped(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    reason: str


@lru_cache(maxsize=8)
def _schema(space: ParameterSpace) -> type[BaseModel]:
    """The pydantic model of a table over ``space``: each parameter a finite number within its bounds."""
    family_fields: dict[str, Any] = {
        p.name: (StrictNumber, Field(ge=p.low, le=p.high, allow_inf_nan=False, description=p.meaning)) for p in space
    }
    family_fields["rows"] = (Annotated[int, Strict()] | None, Field(default=None, ge=0))
    family_fields["sources"] = (Annotated[int, Strict()] | None, Field(default=None, ge=0))
    family = create_model("FamilyParameters", __config__=ConfigDict(extra="forbid"), **family_fields)
    return create_model(
        "EfficiencyTableFile",
        __config__=ConfigDict(extra="forbid"),
        generated_by=(str | None, None),
        families=(dict[str, family], ...),
        default=(family | None, None),
        fitted_on=(list[str], []),
        held_out=(list[str], []),
        skipped=(list[_Skipped], []),
        family_holdout=(dict[str, _Holdout], {}),
        prediction_error=(dict[str, _Band], {}),
    )


def parse_efficiency_table(raw: Any, space: ParameterSpace, *, where: str) -> EfficiencyTable:
    """Validate a table (as read from YAML) against ``space``; :class:`CatalogError` names ``where``, family, field."""
    if isinstance(raw, EfficiencyTable):
        fits = [*raw.families.items(), *([("default", raw.default)] if raw.default else [])]
        for name, entry in fits:
            if tuple(entry.values) != space.names:
                raise CatalogError(
                    f"{raw.source or where}: {name}: has parameters {', '.join(entry.values)}; "
                    f"expected {', '.join(space.names)} (a table of another model?)"
                )
        return raw
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: expected a mapping with 'families' and 'default', got {type(raw).__name__}")
    schema = _schema(space)
    try:
        model = schema.model_validate(dict(raw))
    except ValidationError as exc:
        raise CatalogError(f"{where}: {_describe(exc, space)}") from None

    def fit(entry: BaseModel) -> FamilyFit:
        values = {name: float(getattr(entry, name)) for name in space.names}
        return FamilyFit(values=values, rows=entry.rows, sources=entry.sources)  # type: ignore[attr-defined]

    data: Any = model
    return EfficiencyTable(
        families={name: fit(entry) for name, entry in data.families.items()},
        default=fit(data.default) if data.default is not None else None,
        fitted_on=tuple(data.fitted_on),
        held_out=tuple(data.held_out),
        skipped=tuple((s.id, s.reason) for s in data.skipped),
        generated_by=data.generated_by,
        source=where,
        family_holdout={
            name: HoldoutError(median_pct=h.median_pct, p90_pct=h.p90_pct, rows=h.rows)
            for name, h in data.family_holdout.items()
        },
        prediction_error={
            name: ErrorBand(p10_pct=b.p10_pct, p50_pct=b.p50_pct, p90_pct=b.p90_pct, rows=b.rows)
            for name, b in data.prediction_error.items()
        },
    )


_TOP_LEVEL = (
    "generated_by", "families", "default", "fitted_on", "held_out", "skipped", "family_holdout", "prediction_error"
)  # fmt: skip


def _describe(exc: ValidationError, space: ParameterSpace) -> str:
    """One line for the first error: the field's path (families.<family>.<field>) and what is wrong."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    path = ".".join(loc) if loc else "(table)"
    kind = err["type"]
    got = shown(err.get("input"), 24)
    if kind == "extra_forbidden":
        if (len(loc) == 3 and loc[0] == "families") or (len(loc) == 2 and loc[0] == "default"):
            allowed = [*space.names, "rows", "sources"]
        elif loc[0] == "skipped":
            allowed = ["id", "reason"]
        else:
            allowed = list(_TOP_LEVEL)
        close = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{path}: unknown field{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: required field is missing"
    ctx = err.get("ctx") or {}
    if kind in ("less_than_equal", "greater_than_equal") and loc[-1] in space.names:
        p = space[loc[-1]]
        return f"{path}: must be within [{p.low:g}, {p.high:g}] (the bounds of the fit), got {got}"
    if kind == "greater_than_equal":
        return f"{path}: must be at least {ctx.get('ge')}, got {got}"
    if kind == "finite_number":
        return f"{path}: must be a finite number, got {got}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return f"{path}: must be a number, got {got}"
    return f"{path}: {err['msg']} (got {got})"
