"""The fleet linear program, assembled by small ``define_*`` functions (one per group of variables or
constraints, after PyPSA's optimisation module) and solved with HiGHS.

HiGHS is reached through ``scipy.optimize.linprog(method="highs")``: scipy already ships HiGHS in its wheels
(no extra native dependency, unlike linopy + highspy) and returns the duals we report as shadow prices.

Indices: k chip option, t period, w workload. Decision variables, all >= 0:
  add[k,t] chips brought into service; train_h[w,k,t], serve_h[w,k,t] chip-hours given to workloads;
  build[t] facility watts built; train[w,t] FLOP delivered; tokens[w,t] served; spend[t] USD;
  short_*[w,t] unmet demand and commit_gap (priced so high they are used only when nothing else works).
FLOP, tokens, dollars, chips and watts are scaled (``Units``) so the LP's coefficients stay near 1 (HiGHS
drops matrix entries below 1e-9 and its tolerances are absolute).
In service: fleet[k,t] = sum of add[k,tau] for t - life_k < tau <= t.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.scenario import Scenario

PENALTY = 1e6  # objective units per unit of unmet demand: large enough to be a last resort


@dataclass(frozen=True)
class Units:
    """Scales that keep the LP's numbers near 1 (HiGHS tolerances are absolute): FLOP, tokens and USD per unit."""

    flop: float
    tokens: float
    usd: float
    chips: float
    watts: float


def choose_units(inp: FleetInputs, scenario: Scenario) -> Units:
    flop = float(max(inp.train_demand_flop.max(initial=0.0), 1.0))
    tokens = float(max(inp.token_demand.max(initial=0.0), 1.0))
    per_chip = max(float(inp.rent_usd_per_chip_period.max(initial=0.0)), float(inp.capex_usd_per_chip.max(initial=0.0)))
    money = scenario.money
    usd = max(money.budget_total_usd or 0.0, money.commitment_usd, per_chip * float(inp.supply_per_period.max()), 1.0)
    chips = max(float(inp.supply_per_period.max(initial=0.0)) / 100.0, 1.0)
    watts = max(float(inp.power_available_w.max(initial=0.0)) / 100.0, 1.0)
    return Units(flop=flop, tokens=tokens, usd=usd / 100.0, chips=chips, watts=watts)


@dataclass
class LinearProgram:
    """Variables by name (index arrays), rows with a group and a label (for duals), and a cost vector."""

    n: int = 0
    cost: list[float] = field(default_factory=list)
    bounds: list[tuple[float, float | None]] = field(default_factory=list)
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    ub_rows: list[tuple[list[int], list[float], float, str, tuple[int, ...]]] = field(default_factory=list)
    eq_rows: list[tuple[list[int], list[float], float, str, tuple[int, ...]]] = field(default_factory=list)

    def add_variables(self, name: str, shape: tuple[int, ...], upper: np.ndarray | None = None) -> np.ndarray:
        size = int(np.prod(shape)) if shape else 1
        index = np.arange(self.n, self.n + size).reshape(shape)
        ub = np.broadcast_to(upper, shape).ravel() if upper is not None else [None] * size
        self.bounds += [(0.0, None if u is None or np.isinf(u) else float(u)) for u in ub]
        self.cost += [0.0] * size
        self.n += size
        self.variables[name] = index
        return index

    def add_cost(self, cols: np.ndarray, coef: np.ndarray | float) -> None:
        for col, c in zip(np.ravel(cols), np.broadcast_to(coef, np.shape(cols)).ravel(), strict=True):
            self.cost[int(col)] += float(c)

    def le(self, cols: list[int], vals: list[float], rhs: float, group: str, label: tuple[int, ...]) -> None:
        self.ub_rows.append((cols, vals, rhs, group, label))

    def ge(self, cols: list[int], vals: list[float], rhs: float, group: str, label: tuple[int, ...]) -> None:
        self.ub_rows.append((cols, [-v for v in vals], -rhs, group, label))

    def eq(self, cols: list[int], vals: list[float], rhs: float, group: str, label: tuple[int, ...]) -> None:
        self.eq_rows.append((cols, vals, rhs, group, label))


def _matrix(
    rows: list[tuple[list[int], list[float], float, str, tuple[int, ...]]], n: int
) -> tuple[object, np.ndarray]:
    r, c, v = [], [], []
    for i, (cols, vals, _, _, _) in enumerate(rows):
        r += [i] * len(cols)
        c += cols
        v += vals
    matrix = coo_matrix((v, (r, c)), shape=(len(rows), n)).tocsr() if rows else None
    return matrix, np.array([row[2] for row in rows], dtype=float)


def fleet_terms(inp: FleetInputs, add: np.ndarray, k: int, t: int) -> tuple[list[int], list[float]]:
    """Columns and coefficients of fleet[k,t]: the chips added in the last lifetime periods."""
    life = round(inp.lifetime_periods[k])
    taus = range(max(0, t - life + 1), t + 1)
    return [int(add[k, tau]) for tau in taus], [1.0] * len(taus)


def define_chip_additions(lp: LinearProgram, inp: FleetInputs, units: Units) -> np.ndarray:
    """add[k,t] in units.chips, at most the supply of the period."""
    add = lp.add_variables("add", inp.add_allowed.shape, upper=np.where(inp.add_allowed > 0, np.inf, 0.0))
    for k, t in zip(*np.nonzero(inp.add_allowed), strict=True):
        lp.le([int(add[k, t])], [1.0], float(inp.supply_per_period[k, t]) / units.chips, "supply", (int(k), int(t)))
    return add


def define_usage(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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
    hours = scenario.availability
    for k in range(k_n):
        for t in range(t_n):
            cols, vals = fleet_terms(inp, add, k, t)
            used = [int(c) for c in train_h[:, k, t]] + [int(c) for c in serve_h[:, k, t]]
            lp.le(used + cols, [1.0] * len(used) + [-hours * v for v in vals], 0.0, "chip-hours", (k, t))
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
    for t in range(t_n):
        cols, vals = [], []
        for k in range(inp.add_allowed.shape[0]):
            c, v = fleet_terms(inp, add, k, t)
            cols += c
            vals += [x * inp.watts_per_chip[k] * scenario.power.pue * units.chips / units.watts for x in v]
        built = [int(build[tau]) for tau in range(0, t - lead + 1)]
        lp.le(cols + built, vals + [-1.0] * len(built), float(inp.power_available_w[t]) / units.watts, "power", (t,))
    return build


def define_delivery(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, train_h: np.ndarray, serve_h: np.ndarray, units: Units
) -> tuple[np.ndarray, np.ndarray]:
    w_train, k_n, t_n = train_h.shape
    train = lp.add_variables("train", (w_train, t_n))
    tokens = lp.add_variables("tokens", (len(inp.token_value), t_n))
    short_train = lp.add_variables("short_train", (w_train, t_n))
    short_tokens = lp.add_variables("short_tokens", (len(inp.token_value), t_n))
    for w in range(w_train):
        for t in range(t_n):
            cols = [int(train_h[w, k, t]) for k in range(k_n)]
            rates = [
                float(inp.train_flop_per_chip_hour[w, k]) * inp.hours_per_period * units.chips / units.flop
                for k in range(k_n)
            ]
            lp.eq([*cols, int(train[w, t])], [*rates, -1.0], 0.0, "training-delivered", (w, t))
            if scenario.objective == "min_cost":
                lp.ge(
                    [int(train[w, t]), int(short_train[w, t])],
                    [1.0, 1.0],
                    float(inp.train_demand_flop[w, t]) / units.flop,
                    "training-demand",
                    (w, t),
                )
    for w in range(len(inp.token_value)):
        for t in range(t_n):
            cols = [int(serve_h[w, k, t]) for k in range(k_n)]
            rates = [
                float(inp.tokens_per_chip_hour[w, k]) * inp.hours_per_period * units.chips / units.tokens
                for k in range(k_n)
            ]
            lp.eq([*cols, int(tokens[w, t])], [*rates, -1.0], 0.0, "tokens-delivered", (w, t))
            demand = float(inp.token_demand[w, t]) / units.tokens
            if scenario.objective == "min_cost":
                lp.ge([int(tokens[w, t]), int(short_tokens[w, t])], [1.0, 1.0], demand, "inference-demand", (w, t))
            else:
                lp.le([int(tokens[w, t])], [1.0], demand, "inference-demand", (w, t))
    return train, tokens


def define_spend(
    lp: LinearProgram, inp: FleetInputs, scenario: Scenario, add: np.ndarray, build: np.ndarray, units: Units
) -> np.ndarray:
    k_n, t_n = inp.add_allowed.shape
    spend = lp.add_variables("spend", (t_n,))  # in units.usd
    energy = scenario.power.electricity_usd_per_kwh * scenario.power.pue * inp.hours_per_period / 1000.0
    for t in range(t_n):
        cols: list[int] = [int(add[k, t]) for k in range(k_n)]
        vals: list[float] = [float(inp.capex_usd_per_chip[k]) * units.chips / units.usd for k in range(k_n)]
        for k in range(k_n):
            c, v = fleet_terms(inp, add, k, t)
            per_chip = inp.rent_usd_per_chip_period[k] + inp.energy_paid[k] * energy * inp.watts_per_chip[k]
            cols += c
            vals += [x * per_chip * units.chips / units.usd for x in v]
        cols.append(int(build[t]))
        vals.append(scenario.power.capex_usd_per_w * units.watts / units.usd)
        lp.eq([*cols, int(spend[t])], [*vals, -1.0], 0.0, "spend", (t,))
    money = scenario.money
    ppy = scenario.periods_per_year
    if money.budget_per_year_usd is not None:
        for t in range(t_n):
            lp.le([int(spend[t])], [1.0], money.budget_per_year_usd[t // ppy] / ppy / units.usd, "budget-year", (t,))
    if money.budget_total_usd is not None:
        lp.le([int(s) for s in spend], [1.0] * t_n, money.budget_total_usd / units.usd, "budget-total", ())
    if money.commitment_usd > 0:
        # Elastic: a gap is allowed at a prohibitive price, so an unreachable commitment is reported, not "infeasible".
        gap = lp.add_variables("commit_gap", ())
        lp.ge(
            [int(s) for s in spend] + [int(gap)],
            [1.0] * t_n + [1.0],
            money.commitment_usd / units.usd,
            "commitment",
            (),
        )
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
class Solution:
    units: Units
    status: int
    message: str
    x: np.ndarray
    variables: dict[str, np.ndarray]
    duals: dict[str, dict[tuple[int, ...], float]]  # group -> label -> d objective / d rhs
    slack: dict[str, dict[tuple[int, ...], float]]
    objective: float


def build_and_solve(scenario: Scenario, inp: FleetInputs) -> Solution:
    units = choose_units(inp, scenario)
    lp = LinearProgram()
    add = define_chip_additions(lp, inp, units)
    train_h, serve_h = define_usage(lp, inp, scenario, add)
    build = define_power_limit(lp, inp, scenario, add, units)
    train, tokens = define_delivery(lp, inp, scenario, train_h, serve_h, units)
    spend = define_spend(lp, inp, scenario, add, build, units)
    define_objective(lp, inp, scenario, train, tokens, spend, units)
    return solve(lp, units)


def solve(lp: LinearProgram, units: Units) -> Solution:
    a_ub, b_ub = _matrix(lp.ub_rows, lp.n)
    a_eq, b_eq = _matrix(lp.eq_rows, lp.n)
    res = linprog(
        np.array(lp.cost),
        A_ub=a_ub,
        b_ub=b_ub if lp.ub_rows else None,
        A_eq=a_eq,
        b_eq=b_eq if lp.eq_rows else None,
        bounds=lp.bounds,
        method="highs",
    )
    duals: dict[str, dict[tuple[int, ...], float]] = defaultdict(dict)
    slack: dict[str, dict[tuple[int, ...], float]] = defaultdict(dict)
    if res.status == 0:
        for i, (_, _, _, group, label) in enumerate(lp.ub_rows):
            duals[group][label] = float(res.ineqlin.marginals[i])
            slack[group][label] = float(res.ineqlin.residual[i])
        for i, (_, _, _, group, label) in enumerate(lp.eq_rows):
            duals[group][label] = float(res.eqlin.marginals[i])
    x = res.x if res.x is not None else np.zeros(lp.n)
    return Solution(
        units,
        int(res.status),
        str(res.message),
        x,
        lp.variables,
        dict(duals),
        dict(slack),
        float(res.fun) if res.fun is not None else float("nan"),
    )
