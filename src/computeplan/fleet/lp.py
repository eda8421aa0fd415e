"""The fleet linear program, assembled by small ``define_*`` functions (one per group of variables or
constraints, after PyPSA's optimisation module) and solved with HiGHS.

HiGHS is reached through ``scipy.optimize.linprog(method="highs")``: scipy already ships HiGHS in its wheels
(no extra native dependency, unlike linopy + highspy) and returns the duals we report as shadow prices.

Indices: k chip option, t period, w workload. Decision variables, all >= 0:
  add[k,t] chips brought into service; train_h[w,k,t], serve_h[w,k,t] chip-hours given to workloads;
  build[t] facility watts built; train[w,t] FLOP delivered; tokens[w,t] served; spend[t] USD;
  short_*[w,t] unmet demand and commit_gap (priced so high they are used only when nothing else works).
FLOP, tokens, dollars, chips and watts are scaled (``Units``) so the LP's coefficients stay near 1 (HiGHS
drops matrix entries below 1e-9, refuses those above 1e15, and its tolerances are absolute).
In service: fleet[k,t] = sum of add[k,tau] for t - life_k < tau <= t.

Each constraint group is added as one block of sparse entries (numpy arrays, no per-row Python), so a plan with
a thousand chip options assembles in a fraction of a second. Before solving, :func:`check_plannable` refuses
degenerate inputs with the reason; after, a solver status other than optimal is put in plain words (which
constraint group makes the plan infeasible, which variable nothing caps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from scipy.optimize import linprog  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

from computeplan.economics import energy_usd_per_watt
from computeplan.errors import Infeasible, ScenarioError
from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.scenario import Scenario

PENALTY = 1e6  # objective units per unit of unmet demand: large enough to be a last resort


class Constraint(StrEnum):
    """The LP's constraint groups (the labels of rows, duals and binding constraints)."""

    SUPPLY = "supply"
    CHIP_HOURS = "chip-hours"
    POWER = "power"
    TRAINING_DELIVERED = "training-delivered"
    TRAINING_DEMAND = "training-demand"
    TOKENS_DELIVERED = "tokens-delivered"
    INFERENCE_DEMAND = "inference-demand"
    SPEND = "spend"
    BUDGET_YEAR = "budget-year"
    BUDGET_TOTAL = "budget-total"
    COMMITMENT = "commitment"
    CONTRACT_CAPACITY = "contract-capacity"
    CONTRACT_COMMITMENT = "contract-commitment"
    TRAINING_CAP = "training-cap"
    SERVICE_FLOOR = "service-floor"


# Rows that define a quantity (spend, FLOP and tokens delivered) rather than limit one.
IDENTITIES = frozenset({Constraint.SPEND, Constraint.TRAINING_DELIVERED, Constraint.TOKENS_DELIVERED})

GROUP_WORDS = {
    Constraint.SUPPLY: "the chip supply caps (chips.*.supply_per_year)",
    Constraint.CHIP_HOURS: "the chip-hours of the fleet in service",
    Constraint.POWER: "the power caps (power.available_w)",
    Constraint.TRAINING_DELIVERED: "the training delivered by chip-hours",
    Constraint.TRAINING_DEMAND: "the training demand (training.*.run_flop)",
    Constraint.TOKENS_DELIVERED: "the tokens delivered by chip-hours",
    Constraint.INFERENCE_DEMAND: "the token demand (inference.*.tokens_per_day)",
    Constraint.SPEND: "the spend accounting",
    Constraint.BUDGET_YEAR: "the yearly budgets (money.budget_per_year_usd)",
    Constraint.BUDGET_TOTAL: "the total budget (money.budget_total_usd)",
    Constraint.COMMITMENT: "the commitment (money.commitment_usd)",
    Constraint.CONTRACT_CAPACITY: "the contracts' power (contracts.*.capacity_w)",
    Constraint.CONTRACT_COMMITMENT: "the contracts' commitments (contracts.*.commitment_usd)",
    Constraint.TRAINING_CAP: "the training with value (training.*.runs_per_year)",
    Constraint.SERVICE_FLOOR: "the service floors (inference.*.service_floor)",
}

VARIABLE_WORDS = {
    "add": "chips added",
    "train_h": "chip-hours given to training",
    "serve_h": "chip-hours given to serving",
    "build": "facility power built (power.buildable_w_per_year)",
    "train": "training FLOP delivered",
    "tokens": "tokens served",
    "short_train": "unmet training demand",
    "short_tokens": "unmet token demand",
    "spend": "spend",
    "commit_gap": "the unspent commitment",
    "contract_gap": "the unspent contract commitments",
}


@dataclass(frozen=True)
class Units:
    """Scales that keep the LP's numbers near 1 (HiGHS tolerances are absolute): FLOP, tokens and USD per unit."""

    flop: float
    tokens: float
    usd: float
    chips: float
    watts: float


def choose_units(inp: FleetInputs, scenario: Scenario) -> Units:
    """The largest demand (or, where a demand is 0, what the largest period's supply could deliver) is 1 unit."""
    chips = max(float(inp.supply_per_period.max(initial=0.0)) / 100.0, 1.0)
    chip_period = inp.hours_per_period * chips
    flop = float(inp.train_demand_flop.max(initial=0.0))
    if flop <= 0:
        flop = float(inp.train_flop_per_chip_hour.max(initial=0.0)) * chip_period
    tokens = float(inp.token_demand.max(initial=0.0))
    if tokens <= 0:
        tokens = float(inp.tokens_per_chip_hour.max(initial=0.0)) * chip_period
    per_chip = max(float(inp.rent_usd_per_chip_period.max(initial=0.0)), float(inp.capex_usd_per_chip.max(initial=0.0)))
    money = scenario.money
    usd = max(money.budget_total_usd or 0.0, money.commitment_usd, per_chip * float(inp.supply_per_period.max()), 1.0)
    watts = max(float(inp.power_available_w.max(initial=0.0)) / 100.0, 1.0)
    return Units(flop=max(flop, 1.0), tokens=max(tokens, 1.0), usd=usd / 100.0, chips=chips, watts=watts)


@dataclass(frozen=True)
class Block:
    """One group of constraint rows: row i is labelled ``labels[i]`` (indices such as (k, t)); the entries are
    (``rows``, ``cols``, ``vals``) in coordinate form, rows local to the block."""

    group: Constraint
    labels: np.ndarray  # [n_rows, label dims] int
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    rhs: np.ndarray  # [n_rows]


@dataclass
class LinearProgram:
    """Variables by name (index arrays), blocks of rows (for duals), bounds and a cost vector."""

    n: int = 0
    cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    upper: np.ndarray = field(default_factory=lambda: np.zeros(0))
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    ub_blocks: list[Block] = field(default_factory=list)
    eq_blocks: list[Block] = field(default_factory=list)

    def add_variables(self, name: str, shape: tuple[int, ...], upper: np.ndarray | None = None) -> np.ndarray:
        size = int(np.prod(shape)) if shape else 1
        index = np.arange(self.n, self.n + size).reshape(shape)
        ub = np.broadcast_to(upper, shape).ravel() if upper is not None else np.full(size, np.inf)
        self.upper = np.concatenate([self.upper, np.asarray(ub, dtype=float)])
        self.cost = np.concatenate([self.cost, np.zeros(size)])
        self.n += size
        self.variables[name] = index
        return index

    def add_cost(self, cols: np.ndarray, coef: np.ndarray | float) -> None:
        np.add.at(self.cost, np.ravel(cols), np.broadcast_to(coef, np.shape(cols)).ravel())

    def le(self, group: Constraint, labels: np.ndarray, entries: Entries, rhs: np.ndarray) -> None:
        """Rows ``sum(vals * x[cols]) <= rhs``."""
        self.ub_blocks.append(_block(group, labels, entries, rhs, sign=1.0))

    def ge(self, group: Constraint, labels: np.ndarray, entries: Entries, rhs: np.ndarray) -> None:
        """Rows ``sum(vals * x[cols]) >= rhs`` (stored negated, as <=)."""
        self.ub_blocks.append(_block(group, labels, entries, rhs, sign=-1.0))

    def eq(self, group: Constraint, labels: np.ndarray, entries: Entries, rhs: np.ndarray) -> None:
        self.eq_blocks.append(_block(group, labels, entries, rhs, sign=1.0))

    def column_name(self, col: int) -> tuple[str, tuple[int, ...]]:
        """The variable a column belongs to and its index: (``"add"``, (k, t))."""
        for name, index in self.variables.items():
            flat = index.ravel()
            if flat.size and flat[0] <= col <= flat[-1]:
                return name, tuple(int(i) for i in np.unravel_index(col - int(flat[0]), index.shape))
        raise KeyError(col)


@dataclass
class Entries:
    """Coordinate-form entries of a block, gathered term by term: each term broadcasts rows, cols and vals."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> Entries:
        r, c, v = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float))
        self.rows.append(r.ravel())
        self.cols.append(c.ravel())
        self.vals.append(v.ravel())
        return self


def _block(group: Constraint, labels: np.ndarray, entries: Entries, rhs: np.ndarray, *, sign: float) -> Block:
    rows = np.concatenate(entries.rows) if entries.rows else np.zeros(0, dtype=int)
    cols = np.concatenate(entries.cols) if entries.cols else np.zeros(0, dtype=int)
    vals = np.concatenate(entries.vals) if entries.vals else np.zeros(0)
    labels = np.asarray(labels, dtype=int)
    if labels.ndim == 1:
        labels = labels[:, None]
    return Block(group, labels, rows, cols, sign * vals, sign * np.asarray(rhs, float))


def _stack(blocks: list[Block], n: int) -> tuple[object | None, np.ndarray | None]:
    if not blocks:
        return None, None
    offsets = np.cumsum([0] + [len(b.rhs) for b in blocks])
    rows = np.concatenate([b.rows + off for b, off in zip(blocks, offsets, strict=False)])
    cols = np.concatenate([b.cols for b in blocks])
    vals = np.concatenate([b.vals for b in blocks])
    matrix = coo_matrix((vals, (rows, cols)), shape=(int(offsets[-1]), n)).tocsr()
    return matrix, np.concatenate([b.rhs for b in blocks])


def in_service(inp: FleetInputs, add: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, t, column of add[k, tau]) for every chip addition counted in fleet[k, t]: t - life_k < tau <= t."""
    k_n, t_n = add.shape
    life = np.floor(inp.lifetime_periods + 0.5).astype(int)
    depth = max(1, min(int(life.max(initial=1)), t_n))
    k, t, d = np.meshgrid(np.arange(k_n), np.arange(t_n), np.arange(depth), indexing="ij")
    keep = (d < life[k]) & (t - d >= 0)
    k, t, d = k[keep], t[keep], d[keep]
    return k, t, add[k, t - d]


def _grid(*sizes: int) -> np.ndarray:
    """Every index tuple of an array of ``sizes``, row-major, as [n, len(sizes)] labels."""
    return np.indices(sizes).reshape(len(sizes), -1).T


def define_chip_additions(lp: LinearProgram, inp: FleetInputs, units: Units) -> np.ndarray:
    """add[k,t] in units.chips, at most the supply of the period."""
    add = lp.add_variables("add", inp.add_allowed.shape, upper=np.where(inp.add_allowed > 0, np.inf, 0.0))
    limit_each(lp, Constraint.SUPPLY, add, inp.add_allowed > 0, inp.supply_per_period / units.chips)
    return add


def limit_each(
    lp: LinearProgram, group: Constraint, variable: np.ndarray, where: np.ndarray, limit: np.ndarray
) -> None:
    """One row ``variable[i, j] <= limit[i, j]`` for each (i, j) where ``where`` holds, labelled (i, j) (a row rather
    than a bound, so that the limit has a dual: its shadow price)."""
    i, j = np.nonzero(where)
    lp.le(group, np.column_stack([i, j]), Entries().add(np.arange(i.size), variable[i, j], 1.0), limit[i, j])


def define_usage(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, units: Units
) -> tuple[np.ndarray, np.ndarray]:
    """Chip-hours given to workloads within what the fleet in service offers: rows (k, t), in chip-periods."""
    k_n, t_n = inp.add_allowed.shape
    train_h = lp.add_variables(
        "train_h",
        (len(inp.train_value_per_flop), k_n, t_n),
        upper=np.where(inp.train_flop_per_chip_hour[:, :, None] > 0, np.inf, 0.0),
    )
    serve_h = lp.add_variables(
        "serve_h",
        (len(inp.token_value), k_n, t_n),
        upper=np.where(inp.tokens_per_chip_hour[:, :, None] > 0, np.inf, 0.0),
    )
    # train_h and serve_h are in chip-periods (units.chips chips for a whole period)
    row = np.arange(k_n * t_n).reshape(k_n, t_n)
    k, t, cols = in_service(inp, add)
    entries = Entries().add(row[None], train_h, 1.0).add(row[None], serve_h, 1.0)
    entries.add(row[k, t], cols, -scenario.availability * 1.0)
    base = scenario.availability * inp.installed_chips / units.chips
    lp.le(Constraint.CHIP_HOURS, _grid(k_n, t_n), entries, base.ravel())
    return train_h, serve_h


def define_power_limit(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, units: Units
) -> np.ndarray:
    """Power drawn (chips x all-in watts x PUE) within what is available plus what was built; rows in units.watts."""
    t_n = inp.add_allowed.shape[1]
    ppy = scenario.periods_per_year
    build = lp.add_variables(
        "build", (t_n,), upper=np.full(t_n, scenario.power.buildable_w_per_year / ppy / units.watts)
    )
    k, t, cols = in_service(inp, add)
    per_chip = 1.0 * inp.watts_per_chip * inp.pue * units.chips / units.watts
    t_row, tau = np.meshgrid(np.arange(t_n), np.arange(t_n), indexing="ij")
    ready = facility_in_service(scenario, t_n)  # [t, tau]: built in tau, powering period t
    entries = Entries().add(t, cols, per_chip[k]).add(t_row[ready], build[tau[ready]], -1.0)
    base_w = (inp.installed_chips * (inp.watts_per_chip * inp.pue)[:, None]).sum(axis=0)
    lp.le(Constraint.POWER, _grid(t_n), entries, (inp.power_available_w - base_w) / units.watts)
    define_contract_capacity(lp, inp, add, units)
    return build


def facility_in_service(scenario: Scenario, t_n: int) -> np.ndarray:
    """[t, tau] whether facility power built in period tau powers period t: from tau + the lead time, for the
    facility's life (power.build_lead_years, power.facility_life_years)."""
    ppy = scenario.periods_per_year
    lead = scenario.power.build_lead_years * ppy
    life = scenario.power.facility_life_years * ppy
    t_row, tau = np.meshgrid(np.arange(t_n), np.arange(t_n), indexing="ij")
    age = t_row - lead - tau
    serving: np.ndarray = (age >= 0) & (age < life)
    return serving


def define_contract_capacity(lp: LinearProgram, inp: FleetInputs, add: np.ndarray, units: Units) -> None:
    """Power drawn by a contract's options within the capacity the contract makes available: rows (c, t)."""
    capped = np.nonzero(np.isfinite(inp.contract_capacity_w).any(axis=1))[0]
    if not capped.size:
        return
    t_n = inp.add_allowed.shape[1]
    per_chip_w = inp.watts_per_chip * inp.pue
    row = {int(c): i for i, c in enumerate(capped)}
    k, t, cols = in_service(inp, add)
    owner = inp.contract_of[k]
    keep = np.isin(owner, capped)
    rows = np.array([row[int(c)] for c in owner[keep]], dtype=int) * t_n + t[keep]
    entries = Entries().add(rows, cols[keep], (per_chip_w * units.chips / units.watts)[k[keep]])
    rhs = np.zeros((capped.size, t_n))
    for i, c in enumerate(capped):
        mine = inp.contract_of == c
        base_w = (inp.installed_chips[mine] * per_chip_w[mine, None]).sum(axis=0)
        rhs[i] = np.minimum(inp.contract_capacity_w[c] - base_w, 1e15) / units.watts
    labels = np.column_stack([np.repeat(capped, t_n), np.tile(np.arange(t_n), capped.size)])
    lp.le(Constraint.CONTRACT_CAPACITY, labels, entries, rhs.ravel())


def define_delivery(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, train_h: np.ndarray, serve_h: np.ndarray, units: Units
) -> tuple[np.ndarray, np.ndarray]:
    """FLOP (goodput applied) and tokens delivered by the chip-hours. min_cost: demand met (or short). max_value:
    tokens at most the demand and at least its service floor (or short); training at most the runs with value."""
    w_train, _, t_n = train_h.shape
    w_serve = len(inp.token_value)
    train = lp.add_variables("train", (w_train, t_n))
    tokens = lp.add_variables("tokens", (w_serve, t_n))
    short_train = lp.add_variables("short_train", (w_train, t_n))
    short_tokens = lp.add_variables("short_tokens", (w_serve, t_n))
    train_coef = inp.train_flop_per_chip_hour[:, :, None] * inp.train_goodput  # [w, k, t]
    token_coef = np.broadcast_to(inp.tokens_per_chip_hour[:, :, None], serve_h.shape)
    for hours, delivered, short, rate, demand, unit, made, wanted in (
        (
            train_h,
            train,
            short_train,
            train_coef,
            inp.train_demand_flop,
            units.flop,
            Constraint.TRAINING_DELIVERED,
            Constraint.TRAINING_DEMAND,
        ),
        (
            serve_h,
            tokens,
            short_tokens,
            token_coef,
            inp.token_demand,
            units.tokens,
            Constraint.TOKENS_DELIVERED,
            Constraint.INFERENCE_DEMAND,
        ),
    ):
        w_n = delivered.shape[0]
        row = np.arange(w_n * t_n).reshape(w_n, t_n)
        coef = rate.astype(float) * inp.hours_per_period * units.chips / unit  # [w, k, t]
        entries = Entries().add(row[:, None, :], hours, coef).add(row, delivered, -1.0)
        lp.eq(made, _grid(w_n, t_n), entries, np.zeros(w_n * t_n))
        if scenario.objective == "min_cost":
            met = Entries().add(row, delivered, 1.0).add(row, short, 1.0)
            lp.ge(wanted, _grid(w_n, t_n), met, (demand / unit).ravel())
    if scenario.objective == "max_value":
        w_n = tokens.shape[0]
        row = np.arange(w_n * t_n).reshape(w_n, t_n)
        lp.le(
            Constraint.INFERENCE_DEMAND,
            _grid(w_n, t_n),
            Entries().add(row, tokens, 1.0),
            (inp.token_demand / units.tokens).ravel(),
        )
        floor = inp.service_floor[:, None] * inp.token_demand / units.tokens
        if (floor > 0).any():
            met = Entries().add(row, tokens, 1.0).add(row, short_tokens, 1.0)
            lp.ge(Constraint.SERVICE_FLOOR, _grid(w_n, t_n), met, floor.ravel())
        capped = np.isfinite(inp.train_cap_flop)
        if capped.any():
            limit_each(lp, Constraint.TRAINING_CAP, train, capped, inp.train_cap_flop / units.flop)
    lp.add_cost(short_train, PENALTY)
    lp.add_cost(short_tokens, PENALTY)
    return train, tokens


def running_usd_per_chip_period(inp: FleetInputs, scenario: Scenario) -> np.ndarray:
    """[k] what a chip in service costs each period: rent, or the energy of a bought chip."""
    energy = energy_usd_per_watt(inp.hours_per_period, scenario.power.electricity_usd_per_kwh, inp.pue)
    running: np.ndarray = inp.rent_usd_per_chip_period + inp.energy_paid * energy * inp.watts_per_chip
    return running


def define_spend(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, build: np.ndarray, units: Units
) -> tuple[np.ndarray, list[np.ndarray]]:
    """spend[t] (units.usd) = capex of chips added + rent and energy of the fleet (installed base included) +
    facility capex; then the commitments (floors, take-or-pay by default) and the budgets (ceilings) on it."""
    t_n = inp.add_allowed.shape[1]
    spend = lp.add_variables("spend", (t_n,))  # in units.usd
    running = running_usd_per_chip_period(inp, scenario)
    k, t, cols = in_service(inp, add)
    t_all = np.arange(t_n)
    entries = Entries().add(t_all[None, :], add, (inp.capex_usd_per_chip * units.chips / units.usd)[:, None])
    entries.add(t, cols, 1.0 * running[k] * units.chips / units.usd)
    entries.add(t_all, build, scenario.power.capex_usd_per_w * units.watts / units.usd)
    entries.add(t_all, spend, -1.0)
    base_usd = (inp.installed_chips * running[:, None]).sum(axis=0)
    lp.eq(Constraint.SPEND, _grid(t_n), entries, -base_usd / units.usd)
    paid = define_commitments(lp, inp, scenario, add, spend, units)  # unspent commitments paid in the last period
    money = scenario.money
    ppy = scenario.periods_per_year
    last = np.zeros(t_n)
    last[-1] = 1.0
    if money.budget_per_year_usd is not None:
        yearly = np.array([money.budget_per_year_usd[t // ppy] / ppy / units.usd for t in range(t_n)])
        entries = Entries().add(t_all, spend, 1.0)
        for gap in paid:
            entries.add(np.full(gap.size, t_n - 1), gap.ravel(), 1.0)
        lp.le(Constraint.BUDGET_YEAR, _grid(t_n), entries, yearly)
    if money.budget_total_usd is not None:
        entries = Entries().add(np.zeros(t_n, dtype=int), spend, 1.0)
        for gap in paid:
            entries.add(np.zeros(gap.size, dtype=int), gap.ravel(), 1.0)
        lp.le(
            Constraint.BUDGET_TOTAL,
            np.zeros((1, 0), dtype=int),
            entries,
            np.array([money.budget_total_usd / units.usd]),
        )
    return spend, paid


def define_commitments(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, spend: np.ndarray, units: Units
) -> list[np.ndarray]:
    """Commitments as floors on spend, each with a gap variable: a take-or-pay gap is paid (returned, so that
    budgets and the objective count it); any other gap is elastic at a prohibitive price (reported unmet).

    money.commitment_usd covers all spend; contracts.*.commitment_usd the spend on the contract's options."""
    t_n = spend.shape[0]
    paid: list[np.ndarray] = []
    one_row = np.zeros((1, 0), dtype=int)
    money = scenario.money
    committed = np.nonzero(inp.contract_commitment_usd > 0)[0]
    if committed.size:
        running = running_usd_per_chip_period(inp, scenario)
        gaps = lp.add_variables("contract_gap", (committed.size,))
        row = np.full(len(inp.contract_of), -1)
        for i, c in enumerate(committed):
            row[inp.contract_of == c] = i
        mine = row >= 0
        entries = Entries().add(
            row[mine][:, None], add[mine], (inp.capex_usd_per_chip * units.chips / units.usd)[mine, None]
        )
        k, _, cols = in_service(inp, add)
        keep = row[k] >= 0
        entries.add(row[k[keep]], cols[keep], running[k[keep]] * units.chips / units.usd)
        entries.add(np.arange(committed.size), gaps, 1.0)
        base_usd = np.array(
            [(inp.installed_chips[row == i] * running[row == i, None]).sum() for i in range(committed.size)]
        )
        lp.ge(
            Constraint.CONTRACT_COMMITMENT,
            committed[:, None],
            entries,
            (inp.contract_commitment_usd[committed] - base_usd) / units.usd,
        )
        take = inp.contract_take_or_pay[committed] > 0
        if take.any():
            paid.append(gaps[take])
        lp.add_cost(gaps[~take], PENALTY)
    if money.commitment_usd > 0:
        # all spend counts, the contracts' unspent commitments paid under take-or-pay included (they are spend)
        gap = lp.add_variables("commit_gap", ())
        entries = Entries().add(np.zeros(t_n, dtype=int), spend, 1.0).add(np.zeros(1, dtype=int), gap[None], 1.0)
        for contract_gap in paid:
            entries.add(np.zeros(contract_gap.size, dtype=int), contract_gap.ravel(), 1.0)
        lp.ge(Constraint.COMMITMENT, one_row, entries, np.array([money.commitment_usd / units.usd]))
        if money.take_or_pay:
            paid.append(gap[None])
        else:
            lp.add_cost(gap[None], PENALTY)
    return paid


def salvage_share(inp: FleetInputs, periods_per_year: int, discount_rate: float) -> np.ndarray:
    """[k, t] present value, as a share of capex, of what a chip bought in period t is worth back: its straight-line
    book value at the end of the plan (a residual_value floor included) if still in service then, else its resale
    (residual_value) when it retires."""
    t_n = inp.add_allowed.shape[1]
    life = np.floor(inp.lifetime_periods + 0.5)[:, None]
    t = np.arange(t_n)[None, :]
    retire = t + life  # period index at which it leaves service
    rho = inp.residual_value[:, None]
    book = rho + (1.0 - rho) * np.clip((retire - t_n) / life, 0.0, 1.0)
    when = np.minimum(retire, t_n) / periods_per_year
    share: np.ndarray = np.where(retire > t_n, book, rho) * (1.0 + discount_rate) ** (-when)
    return share


def facility_book_share(scenario: Scenario, t_n: int) -> np.ndarray:
    """[t] straight-line book value at the end of the plan, as a share of its capex, of facility power built in
    period t: the life left after it is ready (power.build_lead_years), over its life (power.facility_life_years)."""
    ppy = scenario.periods_per_year
    life = scenario.power.facility_life_years * ppy
    ready = np.arange(t_n) + scenario.power.build_lead_years * ppy
    share: np.ndarray = np.clip((ready + life - t_n) / life, 0.0, 1.0)
    return share


def define_objective(
    lp: LinearProgram,
    inp: FleetInputs,
    scenario: Scenario,
    train: np.ndarray,
    tokens: np.ndarray,
    spend: np.ndarray,
    units: Units,
    paid: list[np.ndarray] | None = None,
) -> None:
    """Objective in units.usd, minimised: discounted cost (spend, unspent take-or-pay commitments, less what owned
    chips and facilities are worth back at the end), minus discounted value under max_value: the negated net present
    value. The discount rate is the cost of capital."""
    rate = scenario.money.discount_rate
    discount = (1.0 + rate) ** (-inp.period_years)
    t_n = len(discount)
    ppy = scenario.periods_per_year
    lp.add_cost(spend, discount)
    for gap in paid or []:
        lp.add_cost(gap, float(discount[-1]))
    bought = inp.capex_usd_per_chip > 0
    if bought.any():
        credit = salvage_share(inp, ppy, rate) * (inp.capex_usd_per_chip * units.chips / units.usd)[:, None]
        lp.add_cost(lp.variables["add"], -credit)
    capex_w = scenario.power.capex_usd_per_w
    if capex_w > 0:
        book = facility_book_share(scenario, t_n)
        lp.add_cost(lp.variables["build"], -book * capex_w * units.watts / units.usd * (1.0 + rate) ** (-t_n / ppy))
    if scenario.objective == "max_value":
        for w in range(train.shape[0]):
            value = inp.train_value_per_flop[w] * (1.0 - inp.train_value_decline[w]) ** inp.period_years
            lp.add_cost(train[w], -value * units.flop / units.usd * discount)
        for w in range(tokens.shape[0]):
            value = inp.token_value[w] * (1.0 - inp.token_value_decline[w]) ** inp.period_years
            lp.add_cost(tokens[w], -value * units.tokens / units.usd * discount)


@dataclass(frozen=True)
class RowValues:
    """Per constraint group: each row's label, dual (d objective / d rhs) and slack (inequalities; 0 for equalities)."""

    labels: np.ndarray  # [n_rows, label dims]
    dual: np.ndarray
    slack: np.ndarray


@dataclass(frozen=True)
class Solution:
    units: Units
    status: int  # scipy's linprog status: 0 optimal, 1 iteration limit, 2 infeasible, 3 unbounded, 4 numerical
    message: str  # in plain words when status != 0
    x: np.ndarray
    variables: dict[str, np.ndarray]
    rows: dict[Constraint, RowValues]
    objective: float

    def value(self, name: str) -> np.ndarray:
        """The solved values of a variable, shaped like its index array (LP units)."""
        values: np.ndarray = self.x[self.variables[name]]
        return values


def check_plannable(scenario: Scenario, inp: FleetInputs) -> None:
    """Refuse degenerate inputs before solving, saying what is wrong (HiGHS would only say 'model error')."""
    if (inp.train_demand_flop <= 0).all() and (inp.token_demand <= 0).all():
        raise ScenarioError("nothing to plan: every workload's demand is 0 in every period")
    if scenario.objective == "max_value" and (inp.train_value_per_flop <= 0).all() and (inp.token_value <= 0).all():
        raise ScenarioError("nothing to maximise: every workload's value is 0 (give a value, or use min_cost)")
    if not ((inp.add_allowed > 0) & (inp.supply_per_period > 0)).any() and not (inp.installed_chips > 0).any():
        raise Infeasible(
            "no chip option can be added in any period and none is installed: each has no supply or no year in "
            "its window"
        )
    runs = np.concatenate([inp.train_flop_per_chip_hour, inp.tokens_per_chip_hour]) > 0  # [workload, k]
    if not runs.any():
        why = "; ".join(inp.notes) or "no option is allowed for any workload"
        raise Infeasible(f"no chip option can run any workload: {why}")
    if scenario.objective == "min_cost":
        demand = np.concatenate([inp.train_demand_flop, inp.token_demand]).max(axis=1, initial=0.0) > 0
        stuck = np.nonzero(demand & ~runs.any(axis=1))[0]
        if stuck.size:
            path = [p for p, _ in scenario.workloads()][int(stuck[0])]
            why = "; ".join(inp.notes) or "its chips list allows none"
            raise Infeasible(f"{path} has demand but no chip option can run it: {why}")


def build(scenario: Scenario, inp: FleetInputs) -> tuple[LinearProgram, Units]:
    """The LP of ``scenario`` on ``inp`` (not solved)."""
    units = choose_units(inp, scenario)
    lp = LinearProgram()
    add = define_chip_additions(lp, inp, units)
    train_h, serve_h = define_usage(lp, inp, scenario, add, units)
    build_w = define_power_limit(lp, inp, scenario, add, units)
    train, tokens = define_delivery(lp, inp, scenario, train_h, serve_h, units)
    spend, paid = define_spend(lp, inp, scenario, add, build_w, units)
    define_objective(lp, inp, scenario, train, tokens, spend, units, paid)
    return lp, units


def build_and_solve(scenario: Scenario, inp: FleetInputs) -> Solution:
    check_plannable(scenario, inp)
    lp, units = build(scenario, inp)
    return solve(lp, units)


def _linprog(lp: LinearProgram, *, cost: np.ndarray | None = None, upper: np.ndarray | None = None) -> Any:
    a_ub, b_ub = _stack(lp.ub_blocks, lp.n)
    a_eq, b_eq = _stack(lp.eq_blocks, lp.n)
    bounds = np.column_stack([np.zeros(lp.n), lp.upper if upper is None else upper])
    return linprog(
        lp.cost if cost is None else cost,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs",
    )


def solve(lp: LinearProgram, units: Units) -> Solution:
    res = _linprog(lp)
    status = int(res.status)
    rows: dict[Constraint, RowValues] = {}
    if status == 0:
        for blocks, marginals, residual in (
            (lp.ub_blocks, res.ineqlin.marginals, res.ineqlin.residual),
            (lp.eq_blocks, res.eqlin.marginals, None),
        ):
            start = 0
            for b in blocks:
                stop = start + len(b.rhs)
                slack = np.asarray(residual[start:stop], float) if residual is not None else np.zeros(stop - start)
                rows[b.group] = RowValues(b.labels, np.asarray(marginals[start:stop], float), slack)
                start = stop
    x = res.x if res.x is not None else np.zeros(lp.n)
    return Solution(
        units,
        status,
        "optimal" if status == 0 else explain_status(lp, status, str(res.message)),
        np.asarray(x, float),
        lp.variables,
        rows,
        float(res.fun) if res.fun is not None else float("nan"),
    )


def explain_status(lp: LinearProgram, status: int, message: str) -> str:
    """A solver status other than optimal in plain words, with the constraint group or variable to blame.

    scipy reports HiGHS's "model error" (a coefficient beyond what HiGHS accepts) as status 2 like infeasibility;
    the message tells them apart."""
    if "model error" in message.lower() or status == 4:
        return _out_of_range(lp, message)
    if status == 2:
        culprits = _infeasible_groups(lp)
        if not culprits:
            return "infeasible: no single group of constraints is to blame; several contradict each other"
        return (
            "infeasible: "
            + " and ".join(GROUP_WORDS[g] for g in culprits)
            + " cannot hold together with the rest (the plan solves without "
            + ("it" if len(culprits) == 1 else "any one of them")
            + ")"
        )
    if status == 3:
        names = _unbounded_variables(lp)
        what = ", ".join(f"{VARIABLE_WORDS.get(n, n)} ({n}{list(i)})" for n, i in names) or "some variable"
        return f"unbounded: nothing caps {what}; give it a limit (a demand, a supply, a budget or a power cap)"
    if status == 1:
        return "the solver stopped at its iteration limit before finding the best plan"
    return f"the solver failed (status {status}: {message.strip()})"


def _out_of_range(lp: LinearProgram, message: str) -> str:
    """Which numbers of the LP are beyond what the solver handles (HiGHS refuses entries of 1e15 and more)."""
    spans = [(float(np.abs(b.vals).max()), GROUP_WORDS[b.group]) for b in lp.ub_blocks + lp.eq_blocks if b.vals.size]
    spans += [(float(np.abs(b.rhs).max()), f"the limits of {GROUP_WORDS[b.group]}") for b in lp.ub_blocks if b.rhs.size]
    spans.append((float(np.abs(lp.cost).max(initial=0.0)), "the objective (the workloads' values)"))
    largest, where = max(spans)
    found = re.search(r"HiGHS Status (\d+): ([^)]*)", message)
    said = f"HiGHS status {found[1]}: {found[2].strip()}" if found else message.strip() or "no detail"
    return (
        f"the plan's numbers are beyond the solver's range ({said}): the largest, "
        f"{largest:.1e}, is in {where}; some scenario numbers are far apart in scale (check them for a typo)"
    )


def _infeasible_groups(lp: LinearProgram) -> list[Constraint]:
    """Constraint groups whose removal alone makes the LP feasible (feasibility only: zero objective)."""
    culprits = []
    for group in dict.fromkeys(b.group for b in lp.ub_blocks + lp.eq_blocks):
        if group in IDENTITIES:
            continue  # accounting, not a limit: dropping it frees a variable, never explains a contradiction
        trial = LinearProgram(
            n=lp.n,
            cost=np.zeros(lp.n),
            upper=lp.upper,
            variables=lp.variables,
            ub_blocks=[b for b in lp.ub_blocks if b.group != group],
            eq_blocks=[b for b in lp.eq_blocks if b.group != group],
        )
        if int(_linprog(trial).status) == 0:
            culprits.append(group)
    return culprits


def _unbounded_variables(lp: LinearProgram, big: float = 1e9) -> list[tuple[str, tuple[int, ...]]]:
    """Variables that run to a box of ``big`` when every uncapped variable is boxed: the unbounded direction."""
    res = _linprog(lp, upper=np.minimum(lp.upper, big))
    if res.x is None:
        return []
    at_box = np.nonzero((np.asarray(res.x) >= 0.5 * big) & np.isinf(lp.upper))[0]
    found: dict[str, tuple[int, ...]] = {}
    for col in at_box:
        name, index = lp.column_name(int(col))
        found.setdefault(name, index)
    return list(found.items())
