"""Statistics of a solved plan as labelled tables (after PyPSA's ``n.statistics``): quantities per period and chip
option, per period, per period and workload, and the binding constraints with their shadow prices; the reason
when a scenario cannot be met. Pure arithmetic on the solution: the words a reader sees are built in ``report``.

Tables of :class:`PlanResult` (SI units and USD; a missing value is NaN):

``fleet``      index (period, option): chips_added, chips_in_service (installed base included),
               training_chip_hours, serving_chip_hours, rent_usd, capex_usd, energy_usd, spend_usd (the three
               before), power_w (PUE included)
``periods``    index period: year, power_w, power_cap_w, spend_usd (the LP's, facilities and unspent take-or-pay
               commitments included), rent_usd, capex_usd, energy_usd, facilities_usd, unspent_commitment_usd,
               facility_built_w, training_flop, training_flop_per_s, training_shortfall_flop, tokens_served,
               tokens_demanded, token_shortfall, usd_per_million_tokens, value_usd (undiscounted),
               discount_factor, limited_by (the first binding :class:`~computeplan.fleet.lp.Constraint` of the
               period, resources before demands, or "none")
``training``   index (period, workload): frontier_run_flop, training_flop (goodput applied), shortfall_flop,
               chip_hours, runs_equivalent, frontier_run_days, largest_run_flop_in_run_days, training_chips (on
               average), goodput (the one applied), goodput_fleet_chips (the fleet size it is the goodput of)
``serving``    index (period, workload): tokens_demanded, tokens_served, shortfall_tokens, chip_hours
``binding``    one row per binding constraint, grouped by kind (resources first), highest price first within a
               kind: constraint, period ("total" for the whole horizon), about (the option, workload or contract,
               or ""), shadow_price (present value, in ``unit``: USD per GW-year, per chip, per USD, per million
               tokens, per EFLOP; NaN where the limit is reached but not priced separately), unit
``rates``      index (workload, option): chip, flop_per_chip_hour (before failures), tokens_per_chip_hour, mfu,
               goodput (NaN: it depends on the fleet, see ``training``), calibration
``contracts``  index contract: commitment_usd, spent_usd, unspent_paid_usd, unmet_usd, peak_power_w, capacity_w
``cost_plus``  index option (rented): rent_usd_per_w_year, owner_usd_per_w_year, markup, band_low_usd_per_w_year,
               band_high_usd_per_w_year, verdict (:mod:`computeplan.fleet.cost_plus`)

The tables are read-only: a result is a record of one solve, and its tables are shared, not copied, on access.
Take a copy to change one (:meth:`PlanResult.to_frame` returns a copy of ``fleet``). Zeros are +0.0 (never -0.0);
NaN marks a value that does not exist (a shadow price not priced separately, a cost per token in a period that
serves none, the days a run would take in a period without training); :meth:`PlanResult.to_dict` writes NaN as null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    Constraint.CONTRACT_CAPACITY,
    Constraint.BUDGET_TOTAL,
    Constraint.BUDGET_YEAR,
    Constraint.COMMITMENT,
    Constraint.CONTRACT_COMMITMENT,
    Constraint.SUPPLY,
    Constraint.INFERENCE_DEMAND,
    Constraint.SERVICE_FLOOR,
    Constraint.TRAINING_CAP,
)
AT_LIMIT_GROUPS = (Constraint.POWER, Constraint.CONTRACT_CAPACITY, Constraint.BUDGET_YEAR, Constraint.BUDGET_TOTAL)


@dataclass(frozen=True, kw_only=True)
class PlanTotals:
    """Sums over the whole horizon."""

    spend_usd: float  # undiscounted, unspent take-or-pay commitments included
    training_flop: float
    tokens_served: float
    peak_power_w: float
    value_pv_usd: float = 0.0  # discounted value delivered (0 for min_cost)
    cost_pv_usd: float = 0.0  # discounted spend less the discounted salvage of owned chips and facilities
    npv_usd: float = 0.0  # value_pv_usd - cost_pv_usd
    salvage_pv_usd: float = 0.0
    unspent_commitment_usd: float = 0.0  # paid under take-or-pay for nothing
    owned_share: float = 0.0  # share of chip-years in service that are owned (bought), not rented
    usd_per_w_year: float = float("nan")  # spend per facility watt-year drawn, over the plan


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
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    cost_plus: pd.DataFrame = field(default_factory=pd.DataFrame)  # rented options against owner's cost
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

    def peak_chips(self) -> pd.Series:
        """Most chips in service at once per option."""
        peak: pd.Series = self.fleet["chips_in_service"].groupby(level="option", sort=False).max()
        return peak

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
                    "effective_cap_w": float(row["effective_cap_w"]),
                    "fill_cost_usd": _json_float(row["fill_cost_usd"]),
                    "spend_usd": float(row["spend_usd"]),
                    "spend_breakdown_usd": {
                        "cloud_rent": float(row["rent_usd"]),
                        "chips_capex": float(row["capex_usd"]),
                        "energy": float(row["energy_usd"]),
                        "facilities": float(row["facilities_usd"]),
                        "unspent_commitment": float(row["unspent_commitment_usd"]),
                    },
                    "value_usd": float(row["value_usd"]),
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
                            "training_chips": float(r["training_chips"]),
                            "goodput": float(r["goodput"]),
                            "goodput_fleet_chips": float(r["goodput_fleet_chips"]),
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
                "shadow_price": _json_float(b["shadow_price"]),
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
                "value_pv_usd": totals.value_pv_usd,
                "cost_pv_usd": totals.cost_pv_usd,
                "npv_usd": totals.npv_usd,
                "salvage_pv_usd": totals.salvage_pv_usd,
                "unspent_commitment_usd": totals.unspent_commitment_usd,
                "owned_share": totals.owned_share,
                "usd_per_w_year": totals.usd_per_w_year,
                "chip_years": {str(k): float(v) for k, v in self.chip_years().items()},
                "peak_chips": {str(k): float(v) for k, v in self.peak_chips().items()},
            },
            "cost_plus": [
                {"option": str(name), **{str(k): _json_value(v) for k, v in row.items()}}
                for name, row in self.cost_plus.iterrows()
            ],
            "contracts": [
                {"contract": str(name), **{str(k): _json_float(v) for k, v in row.items()}}
                for name, row in self.contracts.iterrows()
            ],
            "rates": rates,
            "warnings": list(self.warnings),
        }
        cleaned: dict[str, object] = _json_ready(out)
        return cleaned


def _json_value(value: object) -> object:
    return value if isinstance(value, str) else _json_float(float(value))  # type: ignore[arg-type]


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
    contracts = _contracts_frame(scenario, inp, sol)
    unmet = _check_met(scenario, inp, sol, spend, gap, contracts, short_train, short_tokens)
    unspent = (gap if scenario.money.take_or_pay else 0.0) + float(
        contracts["unspent_paid_usd"].sum() if len(contracts) else 0.0
    )
    paid_gaps = np.zeros(t_n)
    paid_gaps[-1] = unspent
    fleet = fleet + inp.installed_chips
    spend = spend + paid_gaps

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

    discount = (1.0 + scenario.money.discount_rate) ** (-inp.period_years)
    train_value = inp.train_value_per_flop[:, None] * (1.0 - inp.train_value_decline[:, None]) ** inp.period_years
    token_value = inp.token_value[:, None] * (1.0 - inp.token_value_decline[:, None]) ** inp.period_years
    value = (train * train_value).sum(axis=0) + (tokens * token_value).sum(axis=0)
    if scenario.objective == "min_cost":
        value = np.zeros(t_n)  # a min_cost plan prices no value
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
            "unspent_commitment_usd": paid_gaps,
            "facility_built_w": built_w,
            "training_flop": train.sum(axis=0),
            "training_flop_per_s": train.sum(axis=0) / seconds,
            "training_shortfall_flop": short_train.sum(axis=0),
            "tokens_served": served,
            "tokens_demanded": inp.token_demand.sum(axis=0),
            "token_shortfall": short_tokens.sum(axis=0),
            "usd_per_million_tokens": usd_per_mtok,
            "value_usd": value,
            "discount_factor": discount,
            "limited_by": _limited_by(binding, inp.periods),
        },
        index=periods,
    )
    cap_w, fill_usd = _fill_cost(scenario, inp, fleet, spend - paid_gaps, built_w)
    period_frame["effective_cap_w"] = cap_w
    period_frame["fill_cost_usd"] = fill_usd
    salvage = _salvage_usd(scenario, inp, sol)
    value_pv = float((value * discount).sum())
    cost_pv = float((spend * discount).sum()) - salvage
    totals = PlanTotals(
        spend_usd=float(spend.sum()),
        training_flop=float(train.sum()),
        tokens_served=float(tokens.sum()),
        peak_power_w=float(period_frame["power_w"].max()),
        value_pv_usd=value_pv,
        cost_pv_usd=cost_pv,
        npv_usd=value_pv - cost_pv,
        salvage_pv_usd=salvage,
        unspent_commitment_usd=unspent,
        owned_share=_owned_share(inp, fleet),
        usd_per_w_year=_usd_per_w_year(period_frame, scenario.periods_per_year),
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
        contracts=_no_negative_zero(contracts),
        warnings=tuple(dict.fromkeys([*scenario_warnings(scenario), *unmet, *announced, *inp.notes])),
    )


def _check_met(
    scenario: Scenario,
    inp: FleetInputs,
    sol: Solution,
    spend: np.ndarray,
    gap: float,
    contracts: pd.DataFrame,
    short_train: np.ndarray,
    short_tokens: np.ndarray,
) -> list[str]:
    """A commitment that must be spent on chips (take_or_pay false) and cannot be is :class:`Infeasible`. Unmet
    demand (min_cost) or an unmet service floor (max_value) is returned as warnings naming the binding limits."""
    money = scenario.money
    if not money.take_or_pay and gap > 1e-6 * max(money.commitment_usd, 1.0):
        possible = float(spend.sum())
        raise Infeasible(
            f"commitment: ${money.commitment_usd / 1e9:,.1f}B cannot be spent; "
            f"at most ${possible / 1e9:,.1f}B fits under the power caps and chip supply "
            "(raise power.available_w or supply_per_year, or lower money.commitment_usd)"
        )
    for name, row in contracts.iterrows():
        if row["unmet_usd"] > 1e-6 * max(row["commitment_usd"], 1.0):
            raise Infeasible(
                f"contract {name}: ${row['commitment_usd'] / 1e9:,.1f}B cannot be spent on its options; at most "
                f"${row['spent_usd'] / 1e9:,.1f}B fits under the power caps and chip supply (raise its options' "
                "supply_per_year or capacity_w, lower its commitment_usd, or make it take_or_pay)"
            )
    # shortfalls below the solver's tolerance (relative to demand) are numerical noise
    short_train_t = short_train.sum(axis=0) > 1e-6 * np.maximum(inp.train_demand_flop.sum(axis=0), 1.0)
    short_tokens_t = short_tokens.sum(axis=0) > 1e-6 * np.maximum(inp.token_demand.sum(axis=0), 1.0)
    if not (short_train_t.any() or short_tokens_t.any()):
        return []
    limits = [
        str(group)
        for group in (
            Constraint.POWER,
            Constraint.CONTRACT_CAPACITY,
            Constraint.SUPPLY,
            Constraint.BUDGET_YEAR,
            Constraint.BUDGET_TOTAL,
        )
        if group in sol.rows and (np.abs(sol.rows[group].dual) > TINY).any()
    ]
    what = "demand" if scenario.objective == "min_cost" else "the service floor"
    out = []
    for t, period in enumerate(inp.periods):
        parts = []
        if short_train_t[t]:
            parts.append(f"{short_train[:, t].sum():.2e} FLOP of training")
        if short_tokens_t[t]:
            parts.append(f"{short_tokens[:, t].sum():.2e} tokens")
        if parts:
            out.append(
                f"unmet {what} in {period}: {' and '.join(parts)} (binding: {', '.join(limits) or 'no single limit'}; "
                "add power, supply or budget, or lower the workloads)"
            )
    return out


def _contracts_frame(scenario: Scenario, inp: FleetInputs, sol: Solution) -> pd.DataFrame:
    """Per contract: commitment, spend on its options (installed base included), unspent commitment paid (take-or-
    pay) or unmet, and the peak power of its options against its capacity."""
    from computeplan.fleet.lp import running_usd_per_chip_period

    u = sol.units
    fleet = in_service_chips(inp, sol.value("add")) * u.chips + inp.installed_chips
    cost = fleet * running_usd_per_chip_period(inp, scenario)[:, None] + (
        sol.value("add") * u.chips * inp.capex_usd_per_chip[:, None]
    )
    power = fleet * (inp.watts_per_chip * inp.pue)[:, None]
    gaps = np.zeros(len(inp.contract_names))
    if "contract_gap" in sol.variables:
        committed = np.nonzero(inp.contract_commitment_usd > 0)[0]
        gaps[committed] = sol.value("contract_gap") * u.usd
    rows = []
    for c, name in enumerate(inp.contract_names):
        mine = inp.contract_of == c
        take = inp.contract_take_or_pay[c] > 0
        capacity = inp.contract_capacity_w[c]
        rows.append(
            {
                "contract": name,
                "commitment_usd": float(inp.contract_commitment_usd[c]),
                "spent_usd": float(cost[mine].sum()),
                "unspent_paid_usd": float(gaps[c]) if take else 0.0,
                "unmet_usd": 0.0 if take else float(gaps[c]),
                "peak_power_w": float(power[mine].sum(axis=0).max(initial=0.0)),
                "capacity_w": float(capacity.max()) if np.isfinite(capacity).any() else float("nan"),
            }
        )
    columns = ["commitment_usd", "spent_usd", "unspent_paid_usd", "unmet_usd", "peak_power_w", "capacity_w"]
    frame = pd.DataFrame(rows, columns=["contract", *columns])
    return frame.set_index("contract")


def _fill_cost(
    scenario: Scenario, inp: FleetInputs, fleet: np.ndarray, spend: np.ndarray, built_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per period: the facility power the plan could draw (the power cap plus the facilities built and ready by
    then, or where every option that can grow is under a contract with a capacity, the lesser of that and those
    capacities plus the rest's draw) and what drawing all of it would cost: the plan's spend plus the unused watts
    at the lowest running cost per facility watt of an option available that period (rent, or energy plus capex
    spread over the chip's life). NaN where no option is."""
    from computeplan.fleet.lp import running_usd_per_chip_period

    k_n = inp.add_allowed.shape[0]
    per_w = inp.watts_per_chip * inp.pue
    drawn = fleet * per_w[:, None]
    from computeplan.fleet.lp import facility_in_service

    cap = inp.power_available_w.astype(float) + facility_in_service(scenario, len(built_w)) @ built_w
    growable = (inp.add_allowed > 0).any(axis=1)
    capped = np.isfinite(inp.contract_capacity_w).any(axis=1) if len(inp.contract_names) else np.zeros(0, bool)
    covered = np.array([inp.contract_of[k] >= 0 and capped[inp.contract_of[k]] for k in range(k_n)], dtype=bool)
    if growable.any() and covered[growable].all():
        contract_w = np.where(np.isfinite(inp.contract_capacity_w), inp.contract_capacity_w, 0.0).sum(axis=0)
        cap = np.minimum(cap, contract_w + drawn[~covered].sum(axis=0))
    life = np.maximum(np.floor(inp.lifetime_periods + 0.5), 1.0)
    per_period = running_usd_per_chip_period(inp, scenario) + inp.capex_usd_per_chip / life
    usd_per_w = per_period / per_w  # [k] per facility watt per period
    growable_now = (inp.add_allowed > 0) & (inp.supply_per_period > 0)  # options that can add chips that period
    cheapest = np.where(growable_now, usd_per_w[:, None], np.inf).min(axis=0)
    unused = np.maximum(cap - drawn.sum(axis=0), 0.0)
    fill = np.where(np.isfinite(cheapest), spend + unused * np.where(np.isfinite(cheapest), cheapest, 0.0), np.nan)
    return cap, fill


def _salvage_usd(scenario: Scenario, inp: FleetInputs, sol: Solution) -> float:
    """Present value of what owned chips and facilities are worth back (resale, book value at the end)."""
    from computeplan.fleet.lp import facility_book_share, salvage_share

    u = sol.units
    rate = scenario.money.discount_rate
    ppy = scenario.periods_per_year
    chips = float((sol.value("add") * u.chips * inp.capex_usd_per_chip[:, None] * salvage_share(inp, ppy, rate)).sum())
    t_n = inp.add_allowed.shape[1]
    book = facility_book_share(scenario, t_n)
    built = sol.value("build") * u.watts * scenario.power.capex_usd_per_w
    return chips + float((built * book).sum()) * float((1.0 + rate) ** (-t_n / ppy))


def _usd_per_w_year(periods: pd.DataFrame, periods_per_year: int) -> float:
    """Spend per facility watt-year drawn over the whole plan: what a dollar buys in power, on average."""
    watt_years = float(periods["power_w"].sum()) / periods_per_year
    return float(periods["spend_usd"].sum()) / watt_years if watt_years > 0 else float("nan")


def _owned_share(inp: FleetInputs, fleet: np.ndarray) -> float:
    """Share of the chip-periods in service that are owned (bought) rather than rented."""
    total = float(fleet.sum())
    return float(fleet[inp.capex_usd_per_chip > 0].sum()) / total if total > 0 else 0.0


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
    main_job = _main_job(inp, train_h)
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
            "training_chips": (train_h.sum(axis=1) / (seconds / SECONDS_PER_HOUR)).T.ravel(),
            "goodput": main_job[0].T.ravel(),
            "goodput_fleet_chips": main_job[1].T.ravel(),
        },
        index=pd.MultiIndex.from_product([inp.periods, labels], names=["period", "workload"]),
    )


def _main_job(inp: FleetInputs, train_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[w, t] goodput and job size of the option that trains the most chip-hours (the first option where nothing
    trains): a pair ``computeplan goodput`` reproduces."""
    w_n, _, t_n = train_h.shape
    busiest = train_h.argmax(axis=1)  # [w, t]
    w, t = np.indices((w_n, t_n))
    return inp.train_goodput[w, busiest, t], inp.train_goodput_chips[w, busiest, t]


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


SHADOW_UNITS = {
    Constraint.POWER: "USD per GW-year",
    Constraint.CONTRACT_CAPACITY: "USD per GW-year",
    Constraint.SUPPLY: "USD per chip",
    Constraint.BUDGET_TOTAL: "USD per USD",
    Constraint.BUDGET_YEAR: "USD per USD",
    Constraint.COMMITMENT: "USD per USD",
    Constraint.CONTRACT_COMMITMENT: "USD per USD",
    Constraint.INFERENCE_DEMAND: "USD per million tokens",
    Constraint.SERVICE_FLOOR: "USD per million tokens",
    Constraint.TRAINING_CAP: "USD per EFLOP",
}


def shadow_scale(group: Constraint, units: Units, periods_per_year: int) -> float:
    """Factor from a dual (objective units.usd per rhs unit) to dollars per the unit of :data:`SHADOW_UNITS`.

    Duals are present values (the objective is discounted to the start year). A power row holds one period, so a
    GW-year is ``periods_per_year`` of them; the budget and commitment rows are in units.usd like the objective."""
    return {
        Constraint.POWER: units.usd / units.watts * 1e9 * periods_per_year,
        Constraint.CONTRACT_CAPACITY: units.usd / units.watts * 1e9 * periods_per_year,
        Constraint.SUPPLY: units.usd / units.chips,
        Constraint.BUDGET_TOTAL: 1.0,
        Constraint.BUDGET_YEAR: 1.0,
        Constraint.COMMITMENT: 1.0,
        Constraint.CONTRACT_COMMITMENT: 1.0,
        Constraint.INFERENCE_DEMAND: units.usd / units.tokens * 1e6,
        Constraint.SERVICE_FLOOR: units.usd / units.tokens * 1e6,
        Constraint.TRAINING_CAP: units.usd / units.flop * 1e18,
    }[group]


def _binding(scenario: Scenario, inp: FleetInputs, sol: Solution, serve_labels: list[str]) -> pd.DataFrame:
    """Constraints at their limit with a nonzero shadow price: what one more unit of the limit is worth, in present
    value; then limits reached whose price the solver puts elsewhere (NaN).

    Duals are d(objective)/d(limit) with the objective in units.usd; the LP minimises (minus the net present value,
    or the cost), so the worth of relaxing a limit is minus the dual: NPV gained (max_value) or cost saved (min_cost).
    """
    what = "NPV" if scenario.objective == "max_value" else "cost saved"
    train_labels, _ = workload_labels(scenario)
    rows: list[tuple[str, str, str, float, str]] = []

    def where(group: Constraint, label: np.ndarray) -> tuple[str, str]:
        if group is Constraint.SUPPLY:
            return inp.periods[int(label[1])], inp.labels[int(label[0])]
        if group in (Constraint.INFERENCE_DEMAND, Constraint.SERVICE_FLOOR):
            return inp.periods[int(label[1])], serve_labels[int(label[0])]
        if group is Constraint.TRAINING_CAP:
            return inp.periods[int(label[1])], train_labels[int(label[0])]
        if group is Constraint.CONTRACT_CAPACITY:
            return inp.periods[int(label[1])], inp.contract_names[int(label[0])]
        if group is Constraint.CONTRACT_COMMITMENT:
            return "total", inp.contract_names[int(label[0])]
        return (inp.periods[int(label[-1])] if label.size else "total"), ""

    ppy = scenario.periods_per_year
    penalized = _penalized_periods(inp, sol)
    for group in PRICED_GROUPS:
        if group not in sol.rows:
            continue
        factor = shadow_scale(group, sol.units, ppy)
        values = sol.rows[group]
        # zero, or priced only by an elastic penalty (degenerate: e.g. budget == commitment)
        priced = (np.abs(values.dual) > TINY) & (np.abs(values.dual) < PENALTY / 10)
        for i in np.nonzero(priced)[0]:
            period, about = where(group, values.labels[i])
            # in a period that leaves demand below its floor, a limit is worth the shortfall's penalty, not money
            price = float("nan") if period in penalized else float(-values.dual[i] * factor)
            rows.append((group.value, period, about, price, f"{SHADOW_UNITS[group]} of {what}"))
    listed = {(r[0], r[1], r[2]) for r in rows}
    for group in AT_LIMIT_GROUPS:
        if group not in sol.rows:
            continue
        values = sol.rows[group]
        for i in np.nonzero(np.abs(values.slack) <= 1e-6)[0]:
            period, about = where(group, values.labels[i])
            if (group.value, period, about) not in listed:
                rows.append((group.value, period, about, float("nan"), f"{SHADOW_UNITS[group]} of {what}"))
    frame = pd.DataFrame(rows, columns=["constraint", "period", "about", "shadow_price", "unit"])
    # highest first within each unit; units in the order of PRICED_GROUPS (prices in different units do not compare)
    rank = {g.value: i for i, g in enumerate(PRICED_GROUPS)}
    key = frame["constraint"].map(rank).to_numpy() * 1.0
    price = -np.nan_to_num(frame["shadow_price"].abs().to_numpy(), nan=-np.inf)
    order = np.lexsort((price, key))
    return frame.iloc[order].reset_index(drop=True)


def _penalized_periods(inp: FleetInputs, sol: Solution) -> set[str]:
    """Periods where a demand (a training run, or tokens up to a service floor) goes unmet at the LP's penalty: there
    the duals of the limits carry that penalty (:data:`PENALTY` per unit short) and price nothing real."""
    found: set[str] = set()
    for name in ("short_train", "short_tokens"):
        if name in sol.variables:
            short = np.atleast_2d(sol.value(name))
            found |= {inp.periods[t] for t in np.nonzero(short.sum(axis=0) > 1e-9)[0]}
    return found


def _limited_by(binding: pd.DataFrame, periods: Sequence[str]) -> list[str]:
    """Per period, the first binding constraint in the order of :data:`PRICED_GROUPS` (resources before demands;
    prices in different units do not compare)."""
    first = binding.drop_duplicates("period")  # binding is sorted by group, then by price
    found = dict(zip(first["period"], first["constraint"], strict=True))
    return [str(found.get(p, NO_LIMIT)) for p in periods]
