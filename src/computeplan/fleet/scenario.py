"""A fleet scenario: one YAML file, validated (unknown keys and wrong units are errors with the field path).

Quantities may carry units ("5 GW", "$100B", "2.8 USD/h", "1e12"); a dotted override (``a.b=value``) replaces any field.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from computeplan.errors import ScenarioError
from computeplan.files import load_yaml, parse_yaml_text
from computeplan.units import Dimension, parse_quantity


def _q(dim: Dimension) -> Any:
    def parse(value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        return parse_quantity(value, dim)

    return BeforeValidator(parse)


Watts = Annotated[float, _q(Dimension.WATTS), Field(ge=0)]
Usd = Annotated[float, _q(Dimension.USD), Field(ge=0)]
UsdPerHour = Annotated[float, _q(Dimension.USD_PER_HOUR), Field(gt=0)]
UsdPerWatt = Annotated[float, _q(Dimension.USD_PER_W), Field(ge=0)]
UsdPerKwh = Annotated[float, _q(Dimension.USD_PER_KWH), Field(ge=0)]
Count = Annotated[float, _q(Dimension.COUNT), Field(ge=0)]
Ratio = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """Where an assumption comes from (shown in the report)."""

    source: str = ""
    note: str = ""


class ChipOption(_Strict):
    """One way to get chips of one kind: rent (cloud) or buy, in a window, with a supply cap per year."""

    chip: str = Field(description="catalog chip id")
    mode: Literal["rent", "buy"] = "rent"
    first_year: int
    last_year: int
    supply_per_year: Count = Field(description="most chips that can be added in one year")
    lifetime_years: float = Field(default=5, gt=0, description="years a chip stays in service (or the rental term)")
    price_usd_per_hour: UsdPerHour | None = Field(default=None, description="rent; default: the catalog price")
    committed_discount: Ratio = Field(default=0.0, le=0.95, description="discount on the rental price")
    capex_usd: Usd | None = Field(default=None, description="buy: price per chip incl. server and network share")
    training_cluster_chips: int = Field(default=16384, gt=0, description="cluster size used to price training")
    about: Source = Source()

    @model_validator(mode="after")
    def _window(self) -> ChipOption:
        if self.last_year < self.first_year:
            raise ValueError(f"last_year ({self.last_year}) is before first_year ({self.first_year})")
        if self.mode == "buy" and self.capex_usd is None:
            raise ValueError("mode 'buy' needs capex_usd")
        return self


class Growth(_Strict):
    """A quantity per year: ``first`` in the start year, multiplied by ``growth`` each year, or explicit ``values``."""

    first: Count | None = None
    growth: float = Field(default=1.0, gt=0)
    values: list[float] | None = None

    def series(self, years: int) -> list[float]:
        if self.values is not None:
            if len(self.values) < years:
                raise ValueError(f"values has {len(self.values)} entries for {years} years")
            return [float(v) for v in self.values[:years]]
        if self.first is None:
            raise ValueError("give 'first' (with 'growth') or 'values'")
        return [self.first * self.growth**t for t in range(years)]


class TrainingWorkload(_Strict):
    model: str = Field(description="catalog model whose architecture sets the achievable MFU on each chip")
    run_flop: Growth = Field(description="FLOP of the year's frontier run")
    value_usd_per_flop: float = Field(default=3e-18, ge=0, description="weight of training compute in the objective")
    run_days: float = Field(default=100, gt=0, description="wall-clock length a frontier run may take")
    chips: list[str] | None = Field(default=None, description="chip ids allowed; default all")
    seq_len: int = 8192
    global_batch_tokens: Count = 16e6
    about: Source = Source()


class InferenceWorkload(_Strict):
    model: str
    tokens_per_day: Growth = Field(description="output tokens demanded per day")
    input_len: int = 2048
    output_len: int = 256
    tpot_ms: float | None = 50.0
    value_usd_per_million_tokens: float = Field(default=3.0, ge=0)
    chips: list[str] | None = None
    about: Source = Source()


class PowerSpec(_Strict):
    available_w: list[Watts] = Field(description="facility power available to the fleet each year [W]")
    buildable_w_per_year: Watts = 0.0
    build_lead_years: int = Field(default=2, ge=0)
    capex_usd_per_w: UsdPerWatt = 0.0
    pue: float = Field(default=1.15, ge=1.0, le=3.0)
    electricity_usd_per_kwh: UsdPerKwh = 0.08
    about: Source = Source()


class MoneySpec(_Strict):
    budget_total_usd: Usd | None = None
    budget_per_year_usd: list[Usd] | None = None
    commitment_usd: Usd = Field(default=0.0, description="spend that must be made in total")
    discount_rate: float = Field(default=0.08, ge=0, le=1)
    about: Source = Source()


class Scenario(_Strict):
    name: str
    description: str = ""
    start_year: int
    years: int = Field(gt=0, le=40)
    periods_per_year: Literal[1, 4] = 1
    objective: Literal["max_value", "min_cost"] = "max_value"
    chips: list[ChipOption] = Field(min_length=1)
    training: list[TrainingWorkload] = []
    inference: list[InferenceWorkload] = []
    power: PowerSpec
    money: MoneySpec = MoneySpec()
    availability: float = Field(default=0.95, gt=0, le=1, description="fraction of chip time that can be used")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if len(self.power.available_w) < self.years:
            raise ValueError(f"power.available_w has {len(self.power.available_w)} entries for {self.years} years")
        if self.money.budget_per_year_usd is not None and len(self.money.budget_per_year_usd) < self.years:
            raise ValueError("money.budget_per_year_usd needs one entry per year")
        if not self.training and not self.inference:
            raise ValueError("give at least one training or inference workload")
        return self


def _set_path(data: dict[str, Any], path: str, raw: str) -> None:
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        key: Any = int(part) if part.isdigit() else part
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise ScenarioError(f"override {path}: no field '{'.'.join(parts[: i + 1])}' in the scenario") from None
    value: Any = parse_yaml_text(raw, where=f"override {path}", error=ScenarioError)
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if isinstance(node, list) and isinstance(last, int) and last >= len(node):
        raise ScenarioError(f"override {path}: index {last} is out of range")
    node[last] = value


def load_scenario(path: str | Path, overrides: dict[str, str] | None = None) -> Scenario:
    """Read and validate a scenario file; ``overrides`` maps dotted paths to YAML values."""
    data = load_yaml(path, what="scenario file", error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping of fields")
    return _validated(data, overrides, str(path))


def override_scenario(scenario: Scenario, overrides: dict[str, str]) -> Scenario:
    """``scenario`` with dotted-path overrides applied and validated again."""
    if not overrides:
        return scenario
    return _validated(scenario.model_dump(), overrides, f"scenario '{scenario.name}'")


def _validated(data: dict[str, Any], overrides: dict[str, str] | None, where: str) -> Scenario:
    for key, value in (overrides or {}).items():
        _set_path(data, key, value)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(err["loc"][:-1])
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            msg = f"unknown field{hint}; allowed: {', '.join(allowed)}"
        raise ScenarioError(f"{where}: {loc or '(scenario)'}: {msg}") from None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            break
        annotation = info.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for c in candidates:
            inner = getattr(c, "__args__", None)
            for cand in [c, *(inner or ())]:
                if isinstance(cand, type) and issubclass(cand, BaseModel):
                    model = cand
                    break
    return list(model.model_fields)
