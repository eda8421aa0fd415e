"""A fleet scenario: one YAML file, validated at load. Errors name the field (``file: field.path: problem``);
redundancies the plan can live with are warnings that the plan carries (:func:`scenario_warnings`).

Quantities may carry units ("5 GW", "$100B", "2.8 USD/h", "1e12"). A dotted override (``a.b=value``) replaces
any field; a single value for a per-year list (``power.available_w=5 GW``) means every year.

Rules, beyond the types and units:

- a yes/no (``true``, ``false``) is never read as a number; an override needs a value (empty text is an error;
  ``null`` removes an optional field explicitly);
- ``power.pue`` left out (or null) is the catalog's default (fact ``pue-hyperscale``), resolved when the plan is
  priced (:func:`computeplan.estimate.facts.default_pue`, as ``train`` and ``serve`` do);
- every number is finite; power, money, prices, supplies, demands and values are >= 0; prices, lengths,
  cluster sizes, run days and growth factors are > 0; ``tpot_ms`` is > 0 (null means no latency target);
  numbers have generous upper bounds (a petawatt, $1e16, 1e12 chips a year, ...) so that a typo is an error
  naming the field, not an overflow in the LP;
- per-year lists (``power.available_w``, ``money.budget_per_year_usd``, ``values`` of a demand) have at least
  ``years`` entries (error); entries beyond ``years`` are ignored (warning);
- a chip's ``lifetime_years`` is at least one period (1 / ``periods_per_year`` years), else the chip would
  vanish (error); a lifetime that is not a whole number of periods is rounded to the nearest (warning);
- a chip option's window ``first_year``-``last_year`` may start before or end after the scenario's years (it
  is clipped); one that lies entirely outside them is a warning, not an error: shortening ``years`` by an
  override legitimately leaves later chips out, and the plan is still sound;
- money: a commitment above the total budget or above the sum of the yearly budgets cannot be met (error);
  a total budget above the sum of the yearly budgets never binds (warning);
- something to plan: some workload demand is nonzero; with ``max_value`` some workload has a value; some
  power is available or buildable; some chip option can be added in some year (errors);
- a workload's ``chips`` list names at least one of the scenario's chip options (error); names that are not
  options are ignored (warning).

Chip and model ids are checked against the catalog when the plan is priced (``fleet.inputs.check_ids``).
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from computeplan.economics import DAYS_PER_YEAR, MAX_PUE, MIN_PUE
from computeplan.errors import ScenarioError
from computeplan.files import load_yaml, parse_yaml_text
from computeplan.units import Dimension, format_quantity, parse_quantity


def _q(dim: Dimension) -> Any:
    def parse(value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        return parse_quantity(value, dim)

    return BeforeValidator(parse)


# Upper bounds far beyond any real fleet, so that a typo (an extra exponent digit) is an error naming the field
# rather than an overflow in the LP: a petawatt, ten quadrillion dollars, a trillion chips a year.
MAX_WATTS = 1e15
MAX_USD = 1e16
MAX_CHIPS_PER_YEAR = 1e12
MAX_DEMAND = 1e45  # FLOP of a run, or tokens a day
MAX_GROWTH = 100.0  # a demand's factor per year
MAX_RUN_DAYS = 100 * DAYS_PER_YEAR  # a century

Watts = Annotated[float, _q(Dimension.WATTS), Field(ge=0, le=MAX_WATTS)]
Usd = Annotated[float, _q(Dimension.USD), Field(ge=0, le=MAX_USD)]
UsdPerHour = Annotated[float, _q(Dimension.USD_PER_HOUR), Field(gt=0, le=1e6)]
UsdPerWatt = Annotated[float, _q(Dimension.USD_PER_W), Field(ge=0, le=1e4)]
UsdPerKwh = Annotated[float, _q(Dimension.USD_PER_KWH), Field(ge=0, le=1e3)]
Count = Annotated[float, _q(Dimension.COUNT), Field(ge=0)]
Demand = Annotated[float, _q(Dimension.COUNT), Field(ge=0, le=MAX_DEMAND)]
Ratio = Annotated[float, Field(ge=0)]

# Per-year lists: a single value given by an override means "every year".
PER_YEAR_FIELDS = frozenset({"available_w", "budget_per_year_usd", "values", "capacity_w"})
REL_TOL = 1e-9  # money comparisons: sums of yearly budgets are not exact in floating point
# Bounds on integers, so that a typo (an extra digit, 10**400) is an error rather than an overflow downstream.
YEAR_MIN, YEAR_MAX = 1900, 2200
MAX_YEARS = 40
MAX_CHIPS = 10_000_000  # in one training cluster
MAX_TOKENS_PER_SEQUENCE = 100_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool(cls, value: Any, info: ValidationInfo) -> Any:
        """No scenario field is a yes/no: ``true`` where a number is expected is an error, not 1."""
        flags = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, bool)]
        field = cls.model_fields.get(info.field_name or "")
        if flags and field is not None and _numeric(field.annotation):
            raise ValueError(f"expected a number, got {str(flags[0]).lower()} (a yes/no)")
        return value  # elsewhere pydantic refuses a yes/no itself (text, a mapping)


def _numeric(annotation: Any) -> bool:
    """Whether a field's type holds numbers (int, float, or a Literal of them), where pydantic would read true as 1."""
    if annotation in (int, float):
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(a, int | float) and not isinstance(a, bool) for a in get_args(annotation))
    return any(_numeric(a) for a in get_args(annotation))


class Source(_Strict):
    """Where an assumption comes from (shown in the report)."""

    source: str = ""
    note: str = ""


class Installed(_Strict):
    """Chips of an option already in service when the plan starts (an installed base, an existing contract)."""

    chips: Count = Field(le=MAX_CHIPS_PER_YEAR * 10, description="chips in service at the start")
    until_year: int = Field(ge=YEAR_MIN, le=YEAR_MAX, description="last year they are in service")
    about: Source = Source()


class ChipOption(_Strict):
    """One way to get chips of one kind: rent (cloud) or buy, in a window, with a supply cap per year.

    Supply ramps: volume starts in quarter ``first_volume_quarter`` of ``first_year`` and rises linearly to
    ``supply_per_year`` over ``ramp_years`` (0: at once), so a first year gets only part of a year's volume."""

    chip: str = Field(min_length=1, description="catalog chip id")
    label: str | None = Field(default=None, min_length=1, description="name in tables; default 'chip (mode)'")
    mode: Literal["rent", "buy"] = "rent"
    first_year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    last_year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    supply_per_year: Count = Field(le=MAX_CHIPS_PER_YEAR, description="most chips that can be added in one year")
    lifetime_years: float = Field(
        default=5, gt=0, le=100, description="years a chip stays in service (or the rental term)"
    )
    price_usd_per_hour: UsdPerHour | None = Field(default=None, description="rent; default: the catalog price")
    committed_discount: Ratio = Field(default=0.0, le=0.95, description="discount on the rental price")
    capex_usd: Usd | None = Field(
        default=None, le=1e9, description="buy: price per chip incl. server and network share"
    )
    training_cluster_chips: int = Field(
        default=16384, gt=0, le=MAX_CHIPS, description="cluster size used to price training"
    )
    first_volume_quarter: int = Field(default=1, ge=1, le=4, description="quarter of first_year volume starts")
    ramp_years: float = Field(default=0.0, ge=0, le=10, description="years from first volume to full supply")
    residual_value: Ratio = Field(
        default=0.0, le=1.0, description="buy: share of capex recovered when a chip retires (resale)"
    )
    contract: str | None = Field(default=None, description="name of the contract (contracts) this option is under")
    installed: Installed | None = Field(default=None, description="chips already in service at the start")
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

    first: Demand | None = None
    growth: float = Field(default=1.0, gt=0, le=MAX_GROWTH)
    values: list[Demand] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Growth:
        if self.values is None and self.first is None:
            raise ValueError("give 'first' (with 'growth') or 'values'")
        if self.values is not None and self.first is not None:
            raise ValueError("give 'first' (with 'growth') or 'values', not both")
        return self

    def series(self, years: int) -> list[float]:
        """The first ``years`` values (the scenario checks that there are that many)."""
        if self.values is not None:
            if len(self.values) < years:
                raise ValueError(f"values has {len(self.values)} entries for {years} years")
            return [float(v) for v in self.values[:years]]
        first = self.first or 0.0
        try:
            return [first * self.growth**t for t in range(years)]
        except OverflowError:
            raise ValueError(f"grows beyond the float range (about 1.8e308) within {years} years") from None


class TrainingWorkload(_Strict):
    model: str = Field(min_length=1, description="catalog model whose architecture sets the achievable MFU")
    run_flop: Growth = Field(description="FLOP of the year's frontier run")
    value_usd_per_flop: float = Field(
        default=3e-18, ge=0, le=1.0, description="weight of training compute in the objective"
    )
    run_days: float = Field(default=100, gt=0, le=MAX_RUN_DAYS, description="wall-clock length a frontier run may take")
    chips: list[str] | None = Field(default=None, description="chip ids allowed; default all")
    seq_len: int = Field(default=8192, gt=0, le=MAX_TOKENS_PER_SEQUENCE)
    global_batch_tokens: Count = Field(default=16e6, gt=0, le=1e12)
    runs_per_year: float | None = Field(
        default=None, gt=0, le=1e6, description="frontier runs a year that have value; null: every FLOP has value"
    )
    value_decline_per_year: Ratio = Field(default=0.0, le=0.99, description="yearly fall of the value per FLOP")
    about: Source = Source()


class InferenceWorkload(_Strict):
    model: str = Field(min_length=1)
    tokens_per_day: Growth = Field(description="output tokens demanded per day")
    input_len: int = Field(default=2048, gt=0, le=MAX_TOKENS_PER_SEQUENCE)
    output_len: int = Field(default=256, gt=0, le=MAX_TOKENS_PER_SEQUENCE)
    tpot_ms: float | None = Field(default=50.0, le=1e6, description="time per output token target [ms]; null: none")
    value_usd_per_million_tokens: float = Field(default=3.0, ge=0, le=1e6)
    value_decline_per_year: Ratio = Field(default=0.0, le=0.99, description="yearly fall of the price per token")
    service_floor: Ratio = Field(
        default=0.0, le=1.0, description="share of the demand that must be served; what is not is reported unmet"
    )
    chips: list[str] | None = None
    disaggregated: bool = Field(
        default=False,
        description="serve with separate prefill and decode pools where that gives more tokens per chip "
        "(DistServe, Splitwise); false: prefill and decode on the same replicas",
    )
    about: Source = Source()

    @field_validator("tpot_ms")
    @classmethod
    def _positive_tpot(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"must be > 0 ms, got {value:g} (null means no latency target)")
        return value


class PowerSpec(_Strict):
    available_w: list[Watts] = Field(description="facility power available to the fleet each year [W]")
    buildable_w_per_year: Watts = 0.0
    build_lead_years: int = Field(default=2, ge=0, le=MAX_YEARS)
    capex_usd_per_w: UsdPerWatt = 0.0
    pue: float | None = Field(
        default=None, ge=MIN_PUE, le=MAX_PUE, description="power usage effectiveness; null: the catalog's default"
    )
    electricity_usd_per_kwh: UsdPerKwh = 0.08
    facility_life_years: float = Field(default=20.0, gt=0, le=100, description="life of built facilities")
    about: Source = Source()


class MoneySpec(_Strict):
    budget_total_usd: Usd | None = None
    budget_per_year_usd: list[Usd] | None = None
    commitment_usd: Usd = Field(default=0.0, description="spend that must be made in total")
    take_or_pay: bool = Field(
        default=True, description="an unspent commitment is paid anyway (false: it must be spent on chips)"
    )
    discount_rate: float = Field(default=0.08, ge=0, le=1, description="cost of capital; discounts value and cost")
    about: Source = Source()


class Contract(_Strict):
    """A deal that chip options belong to (``chips.*.contract``): a spend commitment over the plan (a floor,
    take-or-pay by default) and the facility power it makes available (PUE included)."""

    name: str = Field(min_length=1)
    commitment_usd: Usd = Field(default=0.0, description="spend on the contract's options over the plan")
    take_or_pay: bool = Field(default=True, description="what is committed and unspent is still paid")
    capacity_w: list[Watts] | None = Field(default=None, description="facility power of the contract, per year [W]")
    about: Source = Source()


Number = float | str  # a plain number, or one with its unit as the field takes it ("2.2 USD/h", "$100B", "5 GW")


class Distribution(_Strict):
    """An uncertain input (``uncertain:`` maps a dotted field path to one): exactly one of ``uniform: [low, high]``,
    ``triangular: [low, mode, high]``, ``lognormal: [p10, p90]`` (the 10th and 90th percentiles) or
    ``choice: [a, b, ...]`` with optional ``weights``. Values carry the field's unit, the same in every entry."""

    uniform: list[Number] | None = Field(default=None, min_length=2, max_length=2)
    triangular: list[Number] | None = Field(default=None, min_length=3, max_length=3)
    lognormal: list[Number] | None = Field(default=None, min_length=2, max_length=2)
    choice: list[Any] | None = Field(default=None, min_length=1)
    weights: list[float] | None = None
    about: Source = Source()

    @model_validator(mode="after")
    def _one_form(self) -> Distribution:
        forms = [name for name in ("uniform", "triangular", "lognormal", "choice") if getattr(self, name) is not None]
        if len(forms) != 1:
            raise ValueError("give exactly one of uniform, triangular, lognormal or choice")
        if self.weights is not None and (self.choice is None or len(self.weights) != len(self.choice)):
            raise ValueError("weights go with choice, one per value")
        if self.weights is not None and (min(self.weights) < 0 or sum(self.weights) <= 0):
            raise ValueError("weights are >= 0 and not all 0")
        from computeplan.estimate.uncertainty import parse_numbers

        values = self.uniform or self.triangular or self.lognormal
        if values is not None:
            numbers, _ = parse_numbers(values)
            if list(numbers) != sorted(numbers):
                raise ValueError(f"{forms[0]} values must not decrease, got {values}")
            if self.lognormal is not None and numbers[0] <= 0:
                raise ValueError("lognormal percentiles must be > 0")
        return self

    @property
    def form(self) -> str:
        return next(n for n in ("uniform", "triangular", "lognormal", "choice") if getattr(self, n) is not None)


def _problem(path: str, problem: str) -> PydanticCustomError:
    """A cross-field error at ``path`` (pydantic would place it at the scenario's root)."""
    return PydanticCustomError("scenario_field", "{path}: {problem}", {"path": path, "problem": problem})


def _usd(value: float) -> str:
    return format_quantity(value, Dimension.USD)


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    start_year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    years: int = Field(gt=0, le=MAX_YEARS)
    periods_per_year: Literal[1, 4] = 1
    objective: Literal["max_value", "min_cost"] = "max_value"
    chips: list[ChipOption] = Field(min_length=1)
    contracts: list[Contract] = []
    training: list[TrainingWorkload] = []
    inference: list[InferenceWorkload] = []
    power: PowerSpec
    money: MoneySpec = MoneySpec()
    availability: float = Field(default=0.95, gt=0, le=1, description="fraction of chip time that can be used")
    uncertain: dict[str, Distribution] = Field(
        default_factory=dict, description="dotted field path -> distribution, for plan --samples"
    )

    _overrides: tuple[tuple[str, str], ...] = PrivateAttr(default=())

    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        """The dotted-path overrides applied to the file, in order: ``(("money.discount_rate", "0.12"),)``."""
        return self._overrides

    @property
    def end_year(self) -> int:
        return self.start_year + self.years - 1

    def workloads(self) -> list[tuple[str, TrainingWorkload | InferenceWorkload]]:
        """Every workload with its field path (``training.0``, ``inference.1``)."""
        return [
            *((f"training.{i}", w) for i, w in enumerate(self.training)),
            *((f"inference.{i}", w) for i, w in enumerate(self.inference)),
        ]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.training and not self.inference:
            raise _problem("training", "give at least one training or inference workload")
        self._check_lengths()
        self._check_demand_series()
        self._check_lifetimes()
        self._check_money()
        self._check_workload_chips()
        self._check_contracts()
        self._check_something_to_plan()
        return self

    def _check_contracts(self) -> None:
        names = [c.name for c in self.contracts]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _problem(f"contracts.{i}.name", f"'{name}' is given twice; contract names are unique")
        for i, option in enumerate(self.chips):
            if option.contract is not None and option.contract not in names:
                close = difflib.get_close_matches(option.contract, names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                allowed = ", ".join(names) or "none (add a contracts section)"
                raise _problem(f"chips.{i}.contract", f"no contract '{option.contract}'{hint}; contracts: {allowed}")
            if option.installed is not None and option.installed.until_year < self.start_year:
                raise _problem(
                    f"chips.{i}.installed.until_year",
                    f"{option.installed.until_year} is before start_year {self.start_year}: those chips are gone",
                )

    def _check_lengths(self) -> None:
        lists: list[tuple[str, list[float] | None]] = [
            ("power.available_w", self.power.available_w),
            ("money.budget_per_year_usd", self.money.budget_per_year_usd),
            *((f"contracts.{i}.capacity_w", c.capacity_w) for i, c in enumerate(self.contracts)),
            *((f"training.{i}.run_flop.values", w.run_flop.values) for i, w in enumerate(self.training)),
            *((f"inference.{i}.tokens_per_day.values", w.tokens_per_day.values) for i, w in enumerate(self.inference)),
        ]
        for path, values in lists:
            if values is not None and len(values) < self.years:
                raise _problem(
                    path,
                    f"has {len(values)} entries for {self.years} years ({self.start_year}-{self.end_year}); "
                    "give one per year, or one value for every year",
                )

    def _check_demand_series(self) -> None:
        for path, growth in self._demands():
            try:
                values = growth.series(self.years)
            except ValueError as exc:
                raise _problem(path, str(exc)) from None
            if not all(math.isfinite(v) for v in values):
                raise _problem(path, f"grows beyond the float range (about 1.8e308) within {self.years} years")

    def _demands(self) -> list[tuple[str, Growth]]:
        return [
            *((f"training.{i}.run_flop", w.run_flop) for i, w in enumerate(self.training)),
            *((f"inference.{i}.tokens_per_day", w.tokens_per_day) for i, w in enumerate(self.inference)),
        ]

    def _check_lifetimes(self) -> None:
        period = 1.0 / self.periods_per_year
        for i, option in enumerate(self.chips):
            if option.lifetime_years < period * (1 - REL_TOL):
                raise _problem(
                    f"chips.{i}.lifetime_years",
                    f"{option.lifetime_years:g} years is shorter than one period; the minimum is "
                    f"{period:g} year{'' if period == 1 else 's'} with periods_per_year {self.periods_per_year} "
                    "(a shorter-lived chip would never be in service)",
                )

    def _check_money(self) -> None:
        """Commitments are paid (take-or-pay) or spent: more committed than the budgets allow can never hold."""
        money = self.money
        contracted = math.fsum(c.commitment_usd for c in self.contracts)
        commitment, path = max(
            (money.commitment_usd, "money.commitment_usd"),
            (contracted, "contracts.*.commitment_usd" if len(self.contracts) > 1 else "contracts.0.commitment_usd"),
        )
        if commitment <= 0:
            return
        what = "the commitment" if path == "money.commitment_usd" else "the contracts' commitments"
        if money.budget_total_usd is not None and commitment > money.budget_total_usd * (1 + REL_TOL):
            raise _problem(
                path,
                f"{_usd(commitment)} is above money.budget_total_usd ({_usd(money.budget_total_usd)}): "
                f"{what} can never be met (lower it or raise the budget)",
            )
        if money.budget_per_year_usd is not None:
            yearly = math.fsum(money.budget_per_year_usd[: self.years])
            if commitment > yearly * (1 + REL_TOL):
                raise _problem(
                    path,
                    f"{_usd(commitment)} is above the sum of money.budget_per_year_usd over {self.years} "
                    f"year{'' if self.years == 1 else 's'} "
                    f"({_usd(yearly)}): {what} can never be met (lower it or raise the yearly budgets)",
                )

    def _check_workload_chips(self) -> None:
        options = sorted({o.chip for o in self.chips})
        for path, wl in self.workloads():
            if wl.chips is None:
                continue
            if not wl.chips:
                raise _problem(f"{path}.chips", "an empty list allows no chip; leave it out (null) to allow every chip")
            if not set(wl.chips) & set(options):
                close = difflib.get_close_matches(wl.chips[0], options, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                named = f"{wl.chips[0]} is not" if len(wl.chips) == 1 else f"none of {', '.join(wl.chips)} is"
                raise _problem(
                    f"{path}.chips", f"{named} one of the scenario's chip options{hint}; options: {', '.join(options)}"
                )

    def _check_something_to_plan(self) -> None:
        demands = self._demands()
        if all(max(g.series(self.years)) <= 0 for _, g in demands):
            raise _problem(
                ", ".join(path for path, _ in demands),
                f"nothing to plan: every workload's demand is 0 in every year ({self.start_year}-{self.end_year})",
            )
        if self.objective == "max_value":
            values = [
                *((f"training.{i}.value_usd_per_flop", w.value_usd_per_flop) for i, w in enumerate(self.training)),
                *(
                    (f"inference.{i}.value_usd_per_million_tokens", w.value_usd_per_million_tokens)
                    for i, w in enumerate(self.inference)
                ),
            ]
            if all(v <= 0 for _, v in values):
                raise _problem(
                    ", ".join(path for path, _ in values),
                    "nothing to maximise: every workload's value is 0 (give a value, or use objective min_cost)",
                )
        power = self.power
        buildable = power.buildable_w_per_year > 0 and power.build_lead_years < self.years
        if max(power.available_w[: self.years]) <= 0 and not buildable:
            raise _problem(
                "power.available_w",
                "is 0 in every year and no power can be built in time (power.buildable_w_per_year, "
                "power.build_lead_years): no chip can run",
            )
        usable = [
            o
            for o in self.chips
            if (o.supply_per_year > 0 and o.first_year <= self.end_year and o.last_year >= self.start_year)
            or (o.installed is not None and o.installed.chips > 0)
        ]
        if not usable:
            raise _problem(
                "chips",
                f"no chip option can be added in any year of {self.start_year}-{self.end_year}: each has a "
                "supply_per_year of 0 or a first_year-last_year window outside those years",
            )


def lifetime_periods(lifetime_years: float, periods_per_year: int) -> int:
    """Whole periods a chip stays in service: the lifetime rounded to the nearest period (halves up)."""
    return max(1, math.floor(lifetime_years * periods_per_year + 0.5))


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Redundancies in a valid scenario: parts that can never matter, or that are rounded (``path: problem``)."""
    out: list[str] = []
    sc, years = scenario, scenario.years
    lists: list[tuple[str, list[float] | None]] = [
        ("power.available_w", sc.power.available_w),
        ("money.budget_per_year_usd", sc.money.budget_per_year_usd),
        *((f"training.{i}.run_flop.values", w.run_flop.values) for i, w in enumerate(sc.training)),
        *((f"inference.{i}.tokens_per_day.values", w.tokens_per_day.values) for i, w in enumerate(sc.inference)),
    ]
    for path, values in lists:
        if values is not None and len(values) > years:
            out.append(f"{path}: {len(values)} entries for {years} years; entries after {sc.end_year} are ignored")
    money = sc.money
    if money.budget_total_usd is not None and money.budget_per_year_usd is not None:
        yearly = math.fsum(money.budget_per_year_usd[:years])
        if money.budget_total_usd > yearly * (1 + REL_TOL):
            out.append(
                f"money.budget_total_usd: {_usd(money.budget_total_usd)} is above the sum of "
                f"money.budget_per_year_usd ({_usd(yearly)}); the total never binds"
            )
    for i, option in enumerate(sc.chips):
        if (option.first_year > sc.end_year or option.last_year < sc.start_year) and option.installed is None:
            out.append(
                f"chips.{i}: {option.chip} can be added only in {option.first_year}-{option.last_year}, outside "
                f"the scenario's years {sc.start_year}-{sc.end_year}; the plan never uses it"
            )
        periods = option.lifetime_years * sc.periods_per_year
        whole = lifetime_periods(option.lifetime_years, sc.periods_per_year)
        if abs(periods - whole) > 1e-9:
            unit = "year" if sc.periods_per_year == 1 else "quarter"
            out.append(
                f"chips.{i}.lifetime_years: {option.lifetime_years:g} years is not a whole number of periods; "
                f"the plan keeps each chip {whole} {unit}{'s' if whole > 1 else ''}"
            )
    options = {o.chip for o in sc.chips}
    for path, wl in sc.workloads():
        missing = [c for c in wl.chips or () if c not in options]
        if missing:
            out.append(f"{path}.chips: {', '.join(missing)} not among the scenario's chip options; ignored")
    power = sc.power
    if power.buildable_w_per_year > 0 and power.build_lead_years >= years:
        out.append(
            f"power.buildable_w_per_year: nothing built can be ready within {years} years "
            f"(power.build_lead_years is {power.build_lead_years})"
        )
    if sc.objective == "max_value":
        for path, wl in sc.workloads():
            value = wl.value_usd_per_flop if isinstance(wl, TrainingWorkload) else wl.value_usd_per_million_tokens
            if value <= 0:
                out.append(f"{path}: its value is 0, so a max_value plan never runs it")
    return out


def load_scenario(path: str | Path, overrides: dict[str, str] | None = None) -> Scenario:
    """Read and validate a scenario file; ``overrides`` maps dotted paths to YAML values."""
    data = load_yaml(path, what="scenario file", error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping of fields")
    return _validated(data, dict(overrides or {}), str(path), previous=())


def override_scenario(scenario: Scenario, overrides: dict[str, str]) -> Scenario:
    """``scenario`` with dotted-path overrides applied and validated again (earlier overrides are kept)."""
    if not overrides:
        return scenario
    return _validated(
        scenario.model_dump(), dict(overrides), f"scenario '{scenario.name}'", previous=scenario.overrides
    )


def _validated(
    data: dict[str, Any], overrides: dict[str, str], where: str, *, previous: tuple[tuple[str, str], ...]
) -> Scenario:
    _apply_overrides(data, overrides)
    _expand_per_year(data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{where}: {_describe(exc, overrides)}") from None
    merged = dict(previous)
    merged.update(overrides)
    scenario._overrides = tuple(merged.items())
    return scenario


def _describe(exc: ValidationError, overrides: dict[str, str]) -> str:
    """``field.path: problem`` for the first error, naming the override that set the field, if one did."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("value: ")
    if err["type"] == "scenario_field":
        ctx = err.get("ctx") or {}
        loc, msg = str(ctx["path"]), str(ctx["problem"])
    elif err["type"] == "extra_forbidden":
        allowed = _fields_at(err["loc"][:-1])
        close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        msg = f"unknown field{hint}; allowed: {', '.join(allowed)}"
    if err["type"] in ("less_than_equal", "less_than", "greater_than", "greater_than_equal"):
        msg = re.sub(r"\b\d{7,}\b", lambda m: f"{float(m.group()):g}", msg)  # 1000000000000 -> 1e+12
    paths = [p.strip() for p in loc.split(",")]
    setters = [
        f"{key}={value}"
        for key, value in overrides.items()
        if any(p == key or p.startswith(key + ".") or key.startswith(p + ".") for p in paths if p)
        or ("." in key and key in msg)
    ]
    source = f" (from override {', '.join(setters)})" if setters else ""
    return f"{loc or '(scenario)'}: {msg}{source}"


def _apply_overrides(data: dict[str, Any], overrides: dict[str, str]) -> None:
    """Set each dotted path of ``data`` (a scenario as plain YAML data) to its YAML value, in place.

    A single value for a per-year list means every year (of the scenario's final ``years``); a single chip id
    for a workload's ``chips`` means that one chip.
    """
    every_year: list[tuple[dict[str, Any], str, Any]] = []
    for path, raw in overrides.items():
        node, key = _locate(data, path)
        value: Any = _parse_value(path, raw)
        if isinstance(node, dict) and key in PER_YEAR_FIELDS and value is not None and not isinstance(value, list):
            if isinstance(value, dict):
                raise ScenarioError(f"override {path}: expected one value for every year or a list, got a mapping")
            every_year.append((node, str(key), value))
        elif isinstance(node, dict) and key == "chips" and "model" in node and isinstance(value, str):
            value = [value]
        if isinstance(node, dict) and key == "values" and node.get("first") is not None:
            node.pop("first")  # an override switches a demand from first-and-growth to explicit values
        elif isinstance(node, dict) and key == "first" and node.get("values") is not None:
            node.pop("values")
        node[key] = value
    years = data.get("years")
    for node, key, value in every_year:
        if isinstance(years, int) and not isinstance(years, bool) and 0 < years <= MAX_YEARS:
            count = years
        else:  # an invalid 'years' is reported by validation; keep the list's length meanwhile
            count = max(len(node.get(key) or []) if isinstance(node.get(key), list) else 0, 1)
        node[key] = [value] * count


def _expand_per_year(data: dict[str, Any]) -> None:
    """A single value where a per-year list is expected (``available_w: 6 GW``) means every year, in place."""
    years = data.get("years")
    if not (isinstance(years, int) and not isinstance(years, bool) and 0 < years <= MAX_YEARS):
        return  # validation reports the bad 'years'
    nodes = [data.get("power"), data.get("money")]
    nodes += list(data.get("contracts") or []) if isinstance(data.get("contracts"), list) else []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        for key in ("available_w", "budget_per_year_usd", "capacity_w"):
            value = node.get(key)
            if value is not None and not isinstance(value, list | dict | bool):
                node[key] = [value] * years


def _parse_value(path: str, raw: str) -> Any:
    if not raw.strip():
        raise ScenarioError(
            f"override {path}: no value given; give a value (null removes an optional field explicitly)"
        )
    try:
        return parse_yaml_text(raw, where=f"override {path}", error=ScenarioError)
    except ScenarioError as exc:
        raise ScenarioError(
            f"{exc}; expected a YAML value such as 0.12, 5 GW, [1 GW, 3 GW] or {{first: 5e26, growth: 3}}"
        ) from None


def _locate(data: dict[str, Any], path: str) -> tuple[Any, str | int]:
    """The container that holds ``path``'s last part, and that part (an index into a list, a key of a mapping).

    A section the file leaves to its defaults (``money`` absent) is created on the way."""
    parts = path.split(".")
    if not path.strip() or any(not p.strip() for p in parts):
        raise ScenarioError(
            f"override {path!r}: expected a dotted field path such as power.available_w or chips.0.supply_per_year"
        )
    node: Any = data
    loc: list[str | int] = []
    for i, part in enumerate(parts):
        parent = ".".join(parts[:i]) or "the scenario"
        key: str | int
        if isinstance(node, list):
            span = f"{len(node)} entries (0-{len(node) - 1})" if node else "no entries"
            if not part.isdigit():
                raise ScenarioError(f"override {path}: {parent} is a list; give an index, it has {span}")
            key = int(part)
            if key >= len(node):
                raise ScenarioError(f"override {path}: index {key} is out of range: {parent} has {span}")
        elif isinstance(node, dict):
            key = part
            if i < len(parts) - 1 and node.get(key) is None:
                allowed = _fields_at(tuple(loc))
                if key not in allowed:
                    close = difflib.get_close_matches(key, allowed, n=1)
                    hint = f" (did you mean '{'.'.join([*parts[:i], close[0]])}'?)" if close else ""
                    raise ScenarioError(f"override {path}: no field '{'.'.join(parts[: i + 1])}' in the scenario{hint}")
                node[key] = {}
        else:
            raise ScenarioError(f"override {path}: {parent} is a single value; it has no field '{part}'")
        if i == len(parts) - 1:
            return node, key
        loc.append(key)
        node = node[key]
    return data, parts[-1]  # not reached: the loop returns at the last part


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
