"""Statistics of a solved plan: per-period tables, headline answers, binding constraints with shadow prices,
and the reason when a scenario cannot be met. Pure arithmetic on the solution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from computeplan.errors import Infeasible
from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.lp import PENALTY, Solution, fleet_terms
from computeplan.fleet.scenario import Scenario

TINY = 1e-7


@dataclass(frozen=True)
class PlanResult:
    scenario: Scenario
    inputs: FleetInputs
    periods: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    headline: list[str]
    totals: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "objective": self.scenario.objective,
            "periods": self.periods,
            "binding_constraints": self.binding,
            "headline": self.headline,
            "totals": self.totals,
            "rates": self.inputs.rates_table,
            "warnings": self.warnings + self.inputs.notes,
        }


def _value(sol: Solution, name: str) -> np.ndarray:
    values: np.ndarray = sol.x[sol.variables[name]]
    return values


def summarize(scenario: Scenario, inp: FleetInputs, sol: Solution) -> PlanResult:
    if sol.status != 0:
        raise Infeasible(f"the plan could not be solved: {sol.message}")
    k_n, t_n = inp.add_allowed.shape
    add = _value(sol, "add") * sol.units.chips
    fleet = np.zeros((k_n, t_n))
    for k in range(k_n):
        for t in range(t_n):
            cols, _ = fleet_terms(inp, sol.variables["add"], k, t)
            fleet[k, t] = sol.x[cols].sum() * sol.units.chips
    train = _value(sol, "train") * sol.units.flop
    tokens = _value(sol, "tokens") * sol.units.tokens
    spend = _value(sol, "spend") * sol.units.usd
    train_h = _value(sol, "train_h")
    serve_h = _value(sol, "serve_h")
    short_train = _value(sol, "short_train") * sol.units.flop
    short_tokens = _value(sol, "short_tokens") * sol.units.tokens
    gap = float(sol.x[sol.variables["commit_gap"]]) * sol.units.usd if "commit_gap" in sol.variables else 0.0
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
        years = sorted({inp.periods[t] for t in range(t_n) if short_train_t[t] or short_tokens_t[t]})
        limits = [
            group
            for group in ("power", "supply", "budget-year", "budget-total")
            if any(abs(d) > TINY for d in sol.duals.get(group, {}).values())
        ]
        raise Infeasible(
            f"demand cannot be met in {', '.join(years)}: binding {', '.join(limits) or 'constraints'} "
            "(add power, supply or budget, or lower the workloads)"
        )

    power_w = (fleet * inp.watts_per_chip[:, None]).sum(axis=0) * scenario.power.pue
    hours_used = train_h.sum(axis=0) + serve_h.sum(axis=0)  # [k, t]
    serve_share = np.divide(
        serve_h.sum(axis=(0, 1)), hours_used.sum(axis=0), out=np.zeros(t_n), where=hours_used.sum(axis=0) > 0
    )
    energy = scenario.power.electricity_usd_per_kwh * scenario.power.pue * inp.hours_per_period / 1000.0
    periods = []
    for t in range(t_n):
        rent = float((fleet[:, t] * inp.rent_usd_per_chip_period).sum())
        capex = float((add[:, t] * inp.capex_usd_per_chip).sum())
        energy_usd = float((fleet[:, t] * inp.energy_paid * inp.watts_per_chip).sum() * energy)
        facility = float(sol.x[sol.variables["build"][t]] * sol.units.watts * scenario.power.capex_usd_per_w)
        tok = float(tokens[:, t].sum())
        train_rate = train[:, t].sum() / (inp.hours_per_period * 3600.0)  # FLOP/s delivered on average
        runs = []
        for w, job in enumerate(scenario.training):
            size = inp.train_demand_flop[w, t]
            rate = train[w, t] / (inp.hours_per_period * 3600.0)
            runs.append(
                {
                    "model": job.model,
                    "frontier_run_flop": float(size),
                    "training_flop": float(train[w, t]),
                    "runs_equivalent": float(train[w, t] / size) if size else 0.0,
                    "frontier_run_days": float(size / rate / 86400.0) if rate > 0 else None,
                    "largest_run_flop_in_run_days": float(rate * job.run_days * 86400.0),
                }
            )
        periods.append(
            {
                "period": inp.periods[t],
                "chips": {inp.labels[k]: float(fleet[k, t]) for k in range(k_n)},
                "chips_added": {inp.labels[k]: float(add[k, t]) for k in range(k_n)},
                "power_w": float(power_w[t]),
                "power_cap_w": float(inp.power_available_w[t]),
                "spend_usd": float(spend[t]),
                "spend_breakdown_usd": {
                    "cloud_rent": rent,
                    "chips_capex": capex,
                    "energy": energy_usd,
                    "facilities": facility,
                },
                "training_flop": float(train[:, t].sum()),
                "training_flop_per_s": float(train_rate),
                "training_runs": runs,
                "tokens_served": tok,
                "tokens_demanded": float(inp.token_demand[:, t].sum()),
                "usd_per_million_tokens": float(spend[t] * serve_share[t] / tok * 1e6) if tok > 0 else None,
            }
        )
    binding = _binding(scenario, inp, sol)
    totals = {
        "spend_usd": float(spend.sum()),
        "training_flop": float(train.sum()),
        "tokens_served": float(tokens.sum()),
        "peak_power_w": float(power_w.max()),
        "chip_years": {inp.labels[k]: float(fleet[k].sum() / scenario.periods_per_year) for k in range(k_n)},
    }
    warnings = [
        f"{inp.labels[k]} is an announced chip: its figures are projections"
        for k in range(k_n)
        if inp.announced[k] and fleet[k].sum() > 0
    ]
    return PlanResult(
        scenario, inp, periods, binding, _headline(scenario, inp, periods, totals, binding), totals, warnings
    )


def _shadow_scale(group: str, units: Any) -> tuple[float, str]:
    """Factor from a dual (objective units.usd per rhs unit) to $B per the reported unit, and that unit."""
    usd_billion = units.usd / 1e9
    return {
        "power": (usd_billion * 1e9 / units.watts, "per GW"),  # rhs in units.watts
        "supply": (usd_billion * 1e4 / units.chips, "per 10k chips"),  # rhs in units.chips
        "budget-total": (1.0, "per $1B"),  # rhs in units.usd, like the objective
        "budget-year": (1.0, "per $1B"),
        "commitment": (1.0, "per $1B"),
        "inference-demand": (usd_billion * 1e12 / units.tokens, "per 1e12 tokens"),  # rhs in units.tokens
    }[group]


def _binding(scenario: Scenario, inp: FleetInputs, sol: Solution) -> list[dict[str, Any]]:
    """Constraints at their limit with a nonzero shadow price: what one more unit of the limit is worth.

    Duals are d(objective)/d(limit) with the objective in units.usd; the LP minimises (minus value, or cost), so
    the worth of relaxing a limit is minus the dual: value gained (max_value) or cost saved (min_cost), in $B.
    """
    what = "value" if scenario.objective == "max_value" else "cost saved"
    out: list[dict[str, Any]] = []
    for group in ("power", "supply", "budget-total", "budget-year", "commitment", "inference-demand"):
        factor, per = _shadow_scale(group, sol.units)
        for label, dual in sol.duals.get(group, {}).items():
            if abs(dual) <= TINY or abs(dual) >= PENALTY / 10:
                continue  # zero, or priced only by an elastic penalty (degenerate: e.g. budget == commitment)
            if group == "supply":
                where = f"{inp.labels[label[0]]} {inp.periods[label[1]]}"
            else:
                where = inp.periods[label[-1]] if label else "total"
            out.append(
                {
                    "constraint": group,
                    "where": where,
                    "shadow_price_usd_billion": -dual * factor,
                    "unit": f"$B of {what} {per}",
                }
            )
    listed = {(b["constraint"], b["where"]) for b in out}
    for group in ("power", "budget-year", "budget-total"):
        for label, slack in sol.slack.get(group, {}).items():
            where = inp.periods[label[-1]] if label else "total"
            if abs(slack) <= 1e-6 and (group, where) not in listed:
                out.append(
                    {
                        "constraint": group,
                        "where": where,
                        "shadow_price_usd_billion": None,
                        "unit": "at its limit; not priced separately (the commitment pins total spend)",
                    }
                )
    return sorted(out, key=lambda b: -abs(b["shadow_price_usd_billion"] or 0.0))


def _headline(
    scenario: Scenario,
    inp: FleetInputs,
    periods: list[dict[str, Any]],
    totals: dict[str, Any],
    binding: list[dict[str, Any]],
) -> list[str]:
    lines = [
        f"Total spend ${totals['spend_usd'] / 1e9:,.1f}B over {scenario.years} years "
        f"({scenario.start_year}-{scenario.start_year + scenario.years - 1}); peak draw "
        f"{totals['peak_power_w'] / 1e9:,.2f} GW."
    ]
    chip_years = ", ".join(f"{label}: {cy / 1e6:,.2f}M" for label, cy in totals["chip_years"].items() if cy > 0.5)
    lines.append(f"Chip-years bought: {chip_years}.")
    for p in periods:
        for run in p["training_runs"]:
            if run["training_flop"] > 0:
                days = run["frontier_run_days"]
                lines.append(
                    f"{p['period']}: training compute {run['training_flop']:.2e} FLOP = {run['runs_equivalent']:.1f} "
                    f"frontier runs of {run['frontier_run_flop']:.1e} FLOP"
                    + (f" ({days:,.0f} days each on the whole training fleet)" if days else "")
                    + f"; largest run in the allowed time: {run['largest_run_flop_in_run_days']:.1e} FLOP."
                )
                break
    served = totals["tokens_served"]
    lines.append(f"Tokens served: {served:.2e} output tokens in all.")
    groups: dict[str, list[dict[str, Any]]] = {}
    for b in binding:
        groups.setdefault(b["constraint"], []).append(b)
    for group, items in groups.items():
        where = ", ".join(sorted({b["where"] for b in items}))
        priced = [b for b in items if b["shadow_price_usd_billion"] is not None]
        price = (
            (
                f"; highest shadow price {priced[0]['shadow_price_usd_billion']:,.3g} {priced[0]['unit']} "
                f"({priced[0]['where']})"
            )
            if priced
            else ""
        )
        lines.append(f"Binding: {group} in {where}{price}.")
    return lines
