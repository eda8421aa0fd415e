"""Statistics of a solved plan as labelled tables (after PyPSA's ``n.statistics``): quantities per period and chip
option, per period, per period and workload, and the binding constraints with their shadow prices; the reason
when a scenario cannot be met. Pure arithmetic on the solution: the words a reader sees are built in ``report``.

Tables of :class:`PlanResult` (SI units and USD; a missing value is NaN):

``fleet``     index (period, option): chips_added, chips_in_service, training_chip_hours, serving_chip_hours,
              rent_usd, capex_usd, energy_usd, spend_usd (the three before), power_w (PUE included)
``periods``   index period: year, power_w, power_cap_w, spend_usd (the LP's, facilities included), rent_usd,
              capex_usd, energy_usd, facilities_usd, training_flop, training_flop_per_s, training_shortfall_flop,
              tokens_served, tokens_demanded, token_shortfall, usd_per_million_tokens, limited_by (the
              :class:`~computeplan.fleet.lp.Constraint` value binding hardest in the period, or "none")
``training``  index (period, workload): frontier_run_flop, training_flop, shortfall_flop, chip_hours,
              runs_equivalent, frontier_run_days, largest_run_flop_in_run_days
``serving``   index (period, workload): tokens_demanded, tokens_served, shortfall_tokens, chip_hours
``binding``   one row per binding constraint, highest shadow price first: constraint, period ("total" for the
              whole horizon), about (the option or workload, or ""), shadow_price_usd_billion (NaN where the
              limit is reached but not priced separately), unit
``rates``     index (workload, option): chip, flop_per_chip_hour, tokens_per_chip_hour, mfu, goodput, calibration

The tables are read-only: a result is a record of one solve, and its tables are shared, not copied, on access.
Take a copy to change one (:meth:`PlanResult.to_frame` returns a copy of ``fleet``). Zeros are +0.0 (never -0.0);
NaN marks a value that does not exist (a shadow price not priced separately, a cost per token in a period that
serves none, the days a run would take in a period without training); :meth:`PlanResult.to_dict` writes NaN as null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from computeplan.economics import energy_usd_per_watt
from computeplan.errors import Infeasible
from computeplan.fleet.inputs import FleetInputs, workload_labels
from computeplan.fleet.lp import PENALTY, Constraint, Solution, Units
from computeplan.fleet.scenario import Scenario, scenario_warnings
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

TINY = 1e-7
NO_LIMIT = "none"
PRICED_GROUPS = (
    Constraint.POWER,
    Constraint.SUPPLY,
    Constraint.BUDGET_TOTAL,
    Constraint.BUDGET_YEAR,
    Constraint.COMMITMENT,
    Constraint.INFERENCE_DEMAND,
)
AT_LIMIT_GROUPS = (Constraint.POWER, Constraint.BUDGET_YEAR, Constraint.BUDGET_TOTAL)


@dataclass(frozen=True, kw_only=True)
class PlanTotals:
    """Sums over the whole horizon."""

    spend_usd: float
    training_flop: float
    tokens_served: float
    peak_power_w: float


@dataclass(frozen=True, kw_only=True)
class PlanResult:
    """A solved fleet plan: the scenario as planned (``power.pue`` filled in with the catalog's default when the
    file gives none), the LP's inputs, and labelled, read-only tables (see the module docstring)."""

    scenario: Scenario
    inputs: FleetInputs
    fleet: pd.DataFrame
    periods: pd.DataFrame
    training: pd.DataFrame
    serving: pd.DataFrame
    binding: pd.DataFrame
    rates: pd.DataFrame
    totals: PlanTotals
    warnings: tuple[str, ...] = ()

    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        """The dotted-path overrides applied to the scenario file."""
        return self.scenario.overrides

    @property
    def pue(self) -> float:
        """The PUE the plan used: the scenario's ``power.pue``, else the catalog's default."""
        return self.inputs.pue

    def to_frame(self) -> pd.DataFrame:
        """Quantities per (period, option): a copy of the ``fleet`` table, free to change."""
        return self.fleet.copy()

    def chip_years(self) -> pd.Series:
        """Chip-years in service per option over the horizon."""
        years: pd.Series = (
            self.fleet["chips_in_service"].groupby(level="option", sort=False).sum() / self.scenario.periods_per_year
        )
        return years

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN as null), derived from the tables."""
        p = self.periods
        options = list(self.inputs.labels)
        in_service = self.fleet["chips_in_service"].unstack("option").loc[p.index, options].to_numpy()
        added = self.fleet["chips_added"].unstack("option").loc[p.index, options].to_numpy()
        periods: list[dict[str, object]] = []
        for t, period in enumerate(p.index):
            row = p.loc[period]
            runs = self.training.xs(period, level="period") if len(self.training) else self.training
            periods.append(
                {
                    "period": str(period),
                    "chips": dict(zip(options, in_service[t].tolist(), strict=True)),
                    "chips_added": dict(zip(options, added[t].tolist(), strict=True)),
                    "power_w": float(row["power_w"]),
                    "power_cap_w": float(row["power_cap_w"]),
                    "spend_usd": float(row["spend_usd"]),
                    "spend_breakdown_usd": {
                        "cloud_rent": float(row["rent_usd"]),
                        "chips_capex": float(row["capex_usd"]),
                        "energy": float(row["energy_usd"]),
                        "facilities": float(row["facilities_usd"]),
                    },
                    "training_flop": float(row["training_flop"]),
                    "training_flop_per_s": float(row["training_flop_per_s"]),
                    "training_shortfall_flop": float(row["training_shortfall_flop"]),
                    "training_runs": [
                        {
                            "workload": str(w),
                            "model": job.model,
                            "frontier_run_flop": float(r["frontier_run_flop"]),
                            "training_flop": float(r["training_flop"]),
                            "runs_equivalent": float(r["runs_equivalent"]),
                            "frontier_run_days": _json_float(r["frontier_run_days"]),
                            "largest_run_flop_in_run_days": float(r["largest_run_flop_in_run_days"]),
                        }
                        for (w, r), job in zip(runs.iterrows(), self.scenario.training, strict=True)
                    ],
                    "tokens_served": float(row["tokens_served"]),
                    "tokens_demanded": float(row["tokens_demanded"]),
                    "token_shortfall": float(row["token_shortfall"]),
                    "usd_per_million_tokens": _json_float(row["usd_per_million_tokens"]),
                    "limited_by": str(row["limited_by"]),
                }
            )
        binding = [
            {
                "constraint": str(b["constraint"]),
                "period": str(b["period"]),
                "about": str(b["about"]),
                "where": " ".join(str(x) for x in (b["about"], b["period"]) if x),
                "shadow_price_usd_billion": _json_float(b["shadow_price_usd_billion"]),
                "unit": str(b["unit"]),
            }
            for _, b in self.binding.iterrows()
        ]
        rates = [
            {
                "workload": r.workload,
                "option": r.option,
                "chip": r.chip,
                "calibration": r.calibration,
                **({"flop_per_chip_hour": r.flop_per_chip_hour} if r.flop_per_chip_hour is not None else {}),
                **({"tokens_per_chip_hour": r.tokens_per_chip_hour} if r.tokens_per_chip_hour is not None else {}),
                **({"mfu": r.mfu, "goodput": r.goodput} if r.mfu is not None else {}),
                **({"layout": dict(r.layout)} if r.layout is not None else {}),
            }
            for r in self.inputs.rates
        ]
        totals = self.totals
        out = {
            "scenario": self.scenario.name,
            "objective": self.scenario.objective,
            "overrides": dict(self.overrides),
            "pue": self.pue,
            "periods": periods,
            "binding_constraints": binding,
            "totals": {
                "spend_usd": totals.spend_usd,
                "training_flop": totals.training_flop,
                "tokens_served": totals.tokens_served,
                "peak_power_w": totals.peak_power_w,
                "chip_years": {str(k): float(v) for k, v in self.chip_years().items()},
            },
            "rates": rates,
            "warnings": list(self.warnings),
        }
        cleaned: dict[str, object] = _json_ready(out)
        return cleaned


def _json_float(value: float) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def _json_ready(value: Any) -> Any:
    """``value`` with every float finite or None (NaN, inf) and no negative zero, through dicts and lists."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float | np.floating):
        number = float(value)
        return None if not math.isfinite(number) else number + 0.0  # -0.0 + 0.0 == +0.0
    return value


def _no_negative_zero(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with -0.0 (left by products and sums of zeros with negative numbers) made +0.0, in place."""
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column] + 0.0
    return frame


def _as_planned(scenario: Scenario, pue: float) -> Scenario:
    """``scenario`` with the PUE the plan used filled in where the file left it to the catalog."""
    if scenario.power.pue is not None:
        return scenario
    return scenario.model_copy(update={"power": scenario.power.model_copy(update={"pue": pue})})


def in_service_chips(inp: FleetInputs, add: np.ndarray) -> np.ndarray:
    """fleet[k, t] = sum of add[k, tau] for t - life_k < tau <= t (summed oldest first)."""
    k_n, t_n = add.shape
    life = np.floor(inp.lifetime_periods + 0.5).astype(int)
    fleet = np.zeros((k_n, t_n))
    for d in range(min(int(life.max(initial=1)), t_n) - 1, -1, -1):
        shifted = np.zeros((k_n, t_n))
        shifted[:, d:] = add[:, : t_n - d]
        fleet += np.where((d < life)[:, None], shifted, 0.0)
    return fleet


def summarize(scenario: Scenario, inp: FleetInputs, sol: Solution) -> PlanResult:
    """The solved plan as tables; an unmet commitment or (min_cost) unmet demand is :class:`Infeasible`."""
    if sol.status != 0:
        raise Infeasible(f"the plan could not be solved: {sol.message}")
    u = sol.units
    k_n, t_n = inp.add_allowed.shape
    add = sol.value("add") * u.chips
    fleet = in_service_chips(inp, sol.value("add")) * u.chips
    train = sol.value("train") * u.flop
    tokens = sol.value("tokens") * u.tokens
    spend = sol.value("spend") * u.usd
    chip_hours = u.chips * inp.hours_per_period
    train_h = sol.value("train_h") * chip_hours  # [w, k, t] chip-hours
    serve_h = sol.value("serve_h") * chip_hours
    short_train = sol.value("short_train") * u.flop
    short_tokens = sol.value("short_tokens") * u.tokens
    gap = float(sol.value("commit_gap")) * u.usd if "commit_gap" in sol.variables else 0.0
    _check_met(scenario, inp, sol, spend, gap, short_train, short_tokens)

    pue = inp.pue
    energy_price = energy_usd_per_watt(inp.hours_per_period, scenario.power.electricity_usd_per_kwh, pue)
    rent = fleet * inp.rent_usd_per_chip_period[:, None]
    capex = add * inp.capex_usd_per_chip[:, None]
    energy = fleet * (inp.energy_paid * inp.watts_per_chip)[:, None] * energy_price
    power = fleet * inp.watts_per_chip[:, None] * pue
    built_w = sol.value("build") * u.watts
    facilities = built_w * scenario.power.capex_usd_per_w

    periods = pd.Index(inp.periods, name="period")
    options = list(inp.labels)
    fleet_frame = pd.DataFrame(
        {
            "chips_added": add.T.ravel(),
            "chips_in_service": fleet.T.ravel(),
            "training_chip_hours": train_h.sum(axis=0).T.ravel(),
            "serving_chip_hours": serve_h.sum(axis=0).T.ravel(),
            "rent_usd": rent.T.ravel(),
            "capex_usd": capex.T.ravel(),
            "energy_usd": energy.T.ravel(),
            "spend_usd": (rent + capex + energy).T.ravel(),
            "power_w": power.T.ravel(),
        },
        index=pd.MultiIndex.from_product([inp.periods, options], names=["period", "option"]),
    )

    seconds = inp.hours_per_period * SECONDS_PER_HOUR
    train_labels, serve_labels = workload_labels(scenario)
    training = _training_frame(scenario, inp, train, short_train, train_h, train_labels, seconds)
    serving = pd.DataFrame(
        {
            "tokens_demanded": inp.token_demand.T.ravel(),
            "tokens_served": tokens.T.ravel(),
            "shortfall_tokens": short_tokens.T.ravel(),
            "chip_hours": serve_h.sum(axis=1).T.ravel(),
        },
        index=pd.MultiIndex.from_product([inp.periods, serve_labels], names=["period", "workload"]),
    )
    binding = _binding(scenario, inp, sol, serve_labels)

    hours_used = (sol.value("train_h").sum(axis=0) + sol.value("serve_h").sum(axis=0)).sum(axis=0)
    served = tokens.sum(axis=0)
    serve_share = np.divide(sol.value("serve_h").sum(axis=(0, 1)), hours_used, out=np.zeros(t_n), where=hours_used > 0)
    usd_per_mtok = np.divide(spend * serve_share, served, out=np.full(t_n, np.nan), where=served > 0) * 1e6
    period_frame = pd.DataFrame(
        {
            "year": [scenario.start_year + t // scenario.periods_per_year for t in range(t_n)],
            "power_w": (fleet * inp.watts_per_chip[:, None]).sum(axis=0) * pue,
            "power_cap_w": inp.power_available_w.astype(float),
            "spend_usd": spend,
            "rent_usd": rent.sum(axis=0),
            "capex_usd": capex.sum(axis=0),
            "energy_usd": energy.sum(axis=0),
            "facilities_usd": facilities,
            "facility_built_w": built_w,
            "training_flop": train.sum(axis=0),
            "training_flop_per_s": train.sum(axis=0) / seconds,
            "training_shortfall_flop": short_train.sum(axis=0),
            "tokens_served": served,
            "tokens_demanded": inp.token_demand.sum(axis=0),
            "token_shortfall": short_tokens.sum(axis=0),
            "usd_per_million_tokens": usd_per_mtok,
            "limited_by": _limited_by(binding, inp.periods),
        },
        index=periods,
    )
    totals = PlanTotals(
        spend_usd=float(spend.sum()),
        training_flop=float(train.sum()),
        tokens_served=float(tokens.sum()),
        peak_power_w=float(period_frame["power_w"].max()),
    )
    announced = [
        f"{inp.labels[k]} is an announced chip: its figures are projections"
        for k in range(k_n)
        if inp.announced[k] and fleet[k].sum() > 0
    ]
    return PlanResult(
        scenario=_as_planned(scenario, pue),
        inputs=inp,
        fleet=_no_negative_zero(fleet_frame),
        periods=_no_negative_zero(period_frame),
        training=_no_negative_zero(training),
        serving=_no_negative_zero(serving),
        binding=_no_negative_zero(binding),
        rates=_no_negative_zero(_rates_frame(inp)),
        totals=totals,
        warnings=tuple(dict.fromkeys([*scenario_warnings(scenario), *announced, *inp.notes])),
    )


def _check_met(
    scenario: Scenario,
    inp: FleetInputs,
    sol: Solution,
    spend: np.ndarray,
    gap: float,
    short_train: np.ndarray,
    short_tokens: np.ndarray,
) -> None:
    """An unmet commitment, or unmet demand when minimising cost, is infeasible: say which limit binds."""
    if gap > 1e-6 * max(scenario.money.commitment_usd, 1.0):
        possible = float(spend.sum())
        raise Infeasible(
            f"commitment: ${scenario.money.commitment_usd / 1e9:,.1f}B cannot be spent; "
            f"at most ${possible / 1e9:,.1f}B fits under the power caps and chip supply "
            "(raise power.available_w or supply_per_year, or lower money.commitment_usd)"
        )
    # shortfalls below the solver's tolerance (relative to demand) are numerical noise
    short_train_t = short_train.sum(axis=0) > 1e-6 * np.maximum(inp.train_demand_flop.sum(axis=0), 1.0)
    short_tokens_t = short_tokens.sum(axis=0) > 1e-6 * np.maximum(inp.token_demand.sum(axis=0), 1.0)
    if scenario.objective == "min_cost" and (short_train_t.any() or short_tokens_t.any()):
        years = sorted({inp.periods[t] for t in range(len(inp.periods)) if short_train_t[t] or short_tokens_t[t]})
        limits = [
            str(group)
            for group in (Constraint.POWER, Constraint.SUPPLY, Constraint.BUDGET_YEAR, Constraint.BUDGET_TOTAL)
            if group in sol.rows and (np.abs(sol.rows[group].dual) > TINY).any()
        ]
        raise Infeasible(
            f"demand cannot be met in {', '.join(years)}: binding {', '.join(limits) or 'constraints'} "
            "(add power, supply or budget, or lower the workloads)"
        )


def _training_frame(
    scenario: Scenario,
    inp: FleetInputs,
    train: np.ndarray,
    short: np.ndarray,
    train_h: np.ndarray,
    labels: list[str],
    seconds: float,
) -> pd.DataFrame:
    size = inp.train_demand_flop  # [w, t]
    rate = train / seconds  # FLOP/s delivered on average
    run_days = np.array([job.run_days for job in scenario.training]).reshape(-1, 1)
    return pd.DataFrame(
        {
            "frontier_run_flop": size.T.ravel(),
            "training_flop": train.T.ravel(),
            "shortfall_flop": short.T.ravel(),
            "chip_hours": train_h.sum(axis=1).T.ravel(),
            "runs_equivalent": np.divide(train, size, out=np.zeros_like(train), where=size > 0).T.ravel(),
            "frontier_run_days": (
                np.divide(size, rate, out=np.full_like(train, np.nan), where=rate > 0) / SECONDS_PER_DAY
            ).T.ravel(),
            "largest_run_flop_in_run_days": (rate * run_days * SECONDS_PER_DAY).T.ravel(),
        },
        index=pd.MultiIndex.from_product([inp.periods, labels], names=["period", "workload"]),
    )


def _rates_frame(inp: FleetInputs) -> pd.DataFrame:
    nan = float("nan")
    return pd.DataFrame(
        {
            "chip": [r.chip for r in inp.rates],
            "flop_per_chip_hour": [nan if r.flop_per_chip_hour is None else r.flop_per_chip_hour for r in inp.rates],
            "tokens_per_chip_hour": [
                nan if r.tokens_per_chip_hour is None else r.tokens_per_chip_hour for r in inp.rates
            ],
            "mfu": [nan if r.mfu is None else r.mfu for r in inp.rates],
            "goodput": [nan if r.goodput is None else r.goodput for r in inp.rates],
            "calibration": [r.calibration for r in inp.rates],
        },
        index=pd.MultiIndex.from_arrays(
            [[r.workload for r in inp.rates], [r.option for r in inp.rates]], names=["workload", "option"]
        ),
    )


def _shadow_scale(group: Constraint, units: Units) -> tuple[float, str]:
    """Factor from a dual (objective units.usd per rhs unit) to $B per the reported unit, and that unit."""
    usd_billion = units.usd / 1e9
    return {
        Constraint.POWER: (usd_billion * 1e9 / units.watts, "per GW"),  # rhs in units.watts
        Constraint.SUPPLY: (usd_billion * 1e4 / units.chips, "per 10k chips"),  # rhs in units.chips
        Constraint.BUDGET_TOTAL: (1.0, "per $1B"),  # rhs in units.usd, like the objective
        Constraint.BUDGET_YEAR: (1.0, "per $1B"),
        Constraint.COMMITMENT: (1.0, "per $1B"),
        Constraint.INFERENCE_DEMAND: (usd_billion * 1e12 / units.tokens, "per 1e12 tokens"),  # rhs in units.tokens
    }[group]


def _binding(scenario: Scenario, inp: FleetInputs, sol: Solution, serve_labels: list[str]) -> pd.DataFrame:
    """Constraints at their limit with a nonzero shadow price: what one more unit of the limit is worth; then
    limits reached whose price the solver puts elsewhere (NaN).

    Duals are d(objective)/d(limit) with the objective in units.usd; the LP minimises (minus value, or cost), so
    the worth of relaxing a limit is minus the dual: value gained (max_value) or cost saved (min_cost), in $B.
    """
    what = "value" if scenario.objective == "max_value" else "cost saved"
    rows: list[tuple[str, str, str, float, str]] = []

    def where(group: Constraint, label: np.ndarray) -> tuple[str, str]:
        if group is Constraint.SUPPLY:
            return inp.periods[int(label[1])], inp.labels[int(label[0])]
        if group is Constraint.INFERENCE_DEMAND:
            return inp.periods[int(label[1])], serve_labels[int(label[0])]
        return (inp.periods[int(label[-1])] if label.size else "total"), ""

    for group in PRICED_GROUPS:
        if group not in sol.rows:
            continue
        factor, per = _shadow_scale(group, sol.units)
        values = sol.rows[group]
        # zero, or priced only by an elastic penalty (degenerate: e.g. budget == commitment)
        priced = (np.abs(values.dual) > TINY) & (np.abs(values.dual) < PENALTY / 10)
        for i in np.nonzero(priced)[0]:
            period, about = where(group, values.labels[i])
            rows.append((group.value, period, about, float(-values.dual[i] * factor), f"$B of {what} {per}"))
    listed = {(r[0], r[1], r[2]) for r in rows}
    for group in AT_LIMIT_GROUPS:
        if group not in sol.rows:
            continue
        _, per = _shadow_scale(group, sol.units)
        values = sol.rows[group]
        for i in np.nonzero(np.abs(values.slack) <= 1e-6)[0]:
            period, about = where(group, values.labels[i])
            if (group.value, period, about) not in listed:
                rows.append((group.value, period, about, float("nan"), f"$B of {what} {per}"))
    frame = pd.DataFrame(rows, columns=["constraint", "period", "about", "shadow_price_usd_billion", "unit"])
    order = np.argsort(-np.nan_to_num(frame["shadow_price_usd_billion"].abs().to_numpy(), nan=0.0), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _limited_by(binding: pd.DataFrame, periods: Sequence[str]) -> list[str]:
    """Per period, the binding constraint with the highest shadow price (else the first at its limit)."""
    first = binding.drop_duplicates("period")  # binding is sorted: highest price first, unpriced after
    found = dict(zip(first["period"], first["constraint"], strict=True))
    return [str(found.get(p, NO_LIMIT)) for p in periods]
