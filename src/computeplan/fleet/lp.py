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
    k, t = np.nonzero(inp.add_allowed)
    rows = np.arange(k.size)
    lp.le(
        Constraint.SUPPLY,
        np.column_stack([k, t]),
        Entries().add(rows, add[k, t], 1.0),
        inp.supply_per_period[k, t] / units.chips,
    )
    return add


def define_usage(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray
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
    lp.le(Constraint.CHIP_HOURS, _grid(k_n, t_n), entries, np.zeros(k_n * t_n))
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
    lead = scenario.power.build_lead_years * ppy
    k, t, cols = in_service(inp, add)
    per_chip = 1.0 * inp.watts_per_chip * inp.pue * units.chips / units.watts
    t_row, tau = np.meshgrid(np.arange(t_n), np.arange(t_n), indexing="ij")
    ready = tau <= t_row - lead  # built in tau, in service by t
    entries = Entries().add(t, cols, per_chip[k]).add(t_row[ready], build[tau[ready]], -1.0)
    lp.le(Constraint.POWER, _grid(t_n), entries, inp.power_available_w / units.watts)
    return build


def define_delivery(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, train_h: np.ndarray, serve_h: np.ndarray, units: Units
) -> tuple[np.ndarray, np.ndarray]:
    """FLOP and tokens delivered by the chip-hours; demand met (min_cost) or capped (tokens, max_value)."""
    w_train, _, t_n = train_h.shape
    w_serve = len(inp.token_value)
    train = lp.add_variables("train", (w_train, t_n))
    tokens = lp.add_variables("tokens", (w_serve, t_n))
    short_train = lp.add_variables("short_train", (w_train, t_n))
    short_tokens = lp.add_variables("short_tokens", (w_serve, t_n))
    for name, hours, delivered, short, rate, demand, unit, made, wanted in (
        (
            "train",
            train_h,
            train,
            short_train,
            inp.train_flop_per_chip_hour,
            inp.train_demand_flop,
            units.flop,
            Constraint.TRAINING_DELIVERED,
            Constraint.TRAINING_DEMAND,
        ),
        (
            "tokens",
            serve_h,
            tokens,
            short_tokens,
            inp.tokens_per_chip_hour,
            inp.token_demand,
            units.tokens,
            Constraint.TOKENS_DELIVERED,
            Constraint.INFERENCE_DEMAND,
        ),
    ):
        w_n = delivered.shape[0]
        row = np.arange(w_n * t_n).reshape(w_n, t_n)
        coef = rate.astype(float) * inp.hours_per_period * units.chips / unit  # [w, k]
        entries = Entries().add(row[:, None, :], hours, coef[:, :, None]).add(row, delivered, -1.0)
        lp.eq(made, _grid(w_n, t_n), entries, np.zeros(w_n * t_n))
        if scenario.objective == "min_cost":
            met = Entries().add(row, delivered, 1.0).add(row, short, 1.0)
            lp.ge(wanted, _grid(w_n, t_n), met, (demand / unit).ravel())
        elif name == "tokens":
            lp.le(wanted, _grid(w_n, t_n), Entries().add(row, delivered, 1.0), (demand / unit).ravel())
    return train, tokens


def define_spend(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, build: np.ndarray, units: Units
) -> np.ndarray:
    """spend[t] (units.usd) = capex of chips added + rent and energy of the fleet + facility capex; budgets and the
    commitment on it."""
    t_n = inp.add_allowed.shape[1]
    spend = lp.add_variables("spend", (t_n,))  # in units.usd
    energy = energy_usd_per_watt(inp.hours_per_period, scenario.power.electricity_usd_per_kwh, inp.pue)
    per_chip = inp.rent_usd_per_chip_period + inp.energy_paid * energy * inp.watts_per_chip
    k, t, cols = in_service(inp, add)
    t_all = np.arange(t_n)
    entries = Entries().add(t_all[None, :], add, (inp.capex_usd_per_chip * units.chips / units.usd)[:, None])
    entries.add(t, cols, 1.0 * per_chip[k] * units.chips / units.usd)
    entries.add(t_all, build, scenario.power.capex_usd_per_w * units.watts / units.usd)
    entries.add(t_all, spend, -1.0)
    lp.eq(Constraint.SPEND, _grid(t_n), entries, np.zeros(t_n))
    money = scenario.money
    ppy = scenario.periods_per_year
    if money.budget_per_year_usd is not None:
        yearly = np.array([money.budget_per_year_usd[t // ppy] / ppy / units.usd for t in range(t_n)])
        lp.le(Constraint.BUDGET_YEAR, _grid(t_n), Entries().add(t_all, spend, 1.0), yearly)
    one_row = np.zeros((1, 0), dtype=int)
    if money.budget_total_usd is not None:
        total = np.array([money.budget_total_usd / units.usd])
        lp.le(Constraint.BUDGET_TOTAL, one_row, Entries().add(np.zeros(t_n, dtype=int), spend, 1.0), total)
    if money.commitment_usd > 0:
        # Elastic: a gap is allowed at a prohibitive price, so an unreachable commitment is reported, not "infeasible".
        gap = lp.add_variables("commit_gap", ())
        entries = Entries().add(np.zeros(t_n, dtype=int), spend, 1.0).add(np.zeros(1, dtype=int), gap[None], 1.0)
        lp.ge(Constraint.COMMITMENT, one_row, entries, np.array([money.commitment_usd / units.usd]))
        lp.add_cost(np.array([int(gap)]), PENALTY)
    return spend


def define_objective(
    lp: LinearProgram,
    inp: FleetInputs,
    scenario: Scenario,
    train: np.ndarray,
    tokens: np.ndarray,
    spend: np.ndarray,
    units: Units,
) -> None:
    """Objective in units.usd: value delivered (max_value, negated for the minimiser) or discounted cost."""
    discount = (1.0 + scenario.money.discount_rate) ** (-inp.period_years)
    if scenario.objective == "max_value":
        for w in range(train.shape[0]):
            lp.add_cost(train[w], -inp.train_value_per_flop[w] * units.flop / units.usd * discount)
        for w in range(tokens.shape[0]):
            lp.add_cost(tokens[w], -inp.token_value[w] * units.tokens / units.usd * discount)
        lp.add_cost(spend, 1e-6 * discount)  # tie-break: of equal value, spend less
    else:
        lp.add_cost(spend, discount)
        lp.add_cost(lp.variables["short_train"], PENALTY)
        lp.add_cost(lp.variables["short_tokens"], PENALTY)


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
    if not ((inp.add_allowed > 0) & (inp.supply_per_period > 0)).any():
        raise Infeasible("no chip option can be added in any period: each has no supply or no year in its window")
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
    train_h, serve_h = define_usage(lp, inp, scenario, add)
    build_w = define_power_limit(lp, inp, scenario, add, units)
    train, tokens = define_delivery(lp, inp, scenario, train_h, serve_h, units)
    spend = define_spend(lp, inp, scenario, add, build_w, units)
    define_objective(lp, inp, scenario, train, tokens, spend, units)
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
