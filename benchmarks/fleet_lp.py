"""Speed of the fleet planner (fleet issue: a 10-year quarterly plan with 15 chip types and 5 workloads in under
1 s; a thousand chip options in reasonable time), and the flagship scenario end to end.

The LP benchmarks use synthetic per-chip rates, so they time the planner alone (assembly + HiGHS + statistics);
the flagship run includes pricing every chip through the training and serving models, and the thousand-option
run prices 1,000 identical options through them (once: identical options share one pricing).
Usage: python benchmarks/fleet_lp.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from computeplan import api
from computeplan.catalog import load_catalog
from computeplan.fleet.inputs import FleetInputs
from computeplan.fleet.lp import build_and_solve
from computeplan.fleet.results import summarize
from computeplan.fleet.scenario import Scenario, load_scenario

ROOT = Path(__file__).parents[1]


def synthetic(chips: int = 15, workloads: int = 5, years: int = 10, ppy: int = 4) -> tuple[Scenario, FleetInputs]:
    """``chips`` options with random per-chip rates; ``workloads`` >= 3 (2 training, the rest serving)."""
    rng = np.random.default_rng(0)
    n_train, n_serve = 2, workloads - 2
    scenario = Scenario.model_validate(
        {
            "name": "synthetic",
            "start_year": 2026,
            "years": years,
            "periods_per_year": ppy,
            "objective": "max_value",
            "chips": [
                {
                    "chip": "h100-sxm",
                    "first_year": 2026 + i % 5,
                    "last_year": 2030 + i % 6,
                    "supply_per_year": 5e5,
                    "lifetime_years": 4,
                    "price_usd_per_hour": 2.0,
                }
                for i in range(chips)
            ],
            "training": [{"model": "llama3-405b", "run_flop": {"first": 5e26, "growth": 3}}] * n_train,
            "inference": [{"model": "llama3-70b", "tokens_per_day": {"first": 1e12, "growth": 2}}] * n_serve,
            "power": {"available_w": [5e9] * years},
            "money": {"budget_total_usd": 1e11, "commitment_usd": 5e10},
        }
    )
    t_n = years * ppy
    years_of = 2026 + np.arange(t_n) // ppy
    allowed = np.array([(years_of >= c.first_year) & (years_of <= c.last_year) for c in scenario.chips], dtype=float)
    inputs = FleetInputs(
        labels=[f"chip{i}" for i in range(chips)],
        chip_ids=["h100-sxm"] * chips,
        announced=[False] * chips,
        periods=[f"{y}Q{t % ppy + 1}" for t, y in enumerate(years_of)],
        period_years=np.arange(t_n) / ppy,
        hours_per_period=8760 / ppy,
        add_allowed=allowed,
        supply_per_period=allowed * 5e5 / ppy,
        lifetime_periods=np.full(chips, 4 * ppy),
        watts_per_chip=rng.uniform(800, 2500, chips),
        rent_usd_per_chip_period=rng.uniform(1, 8, chips) * 8760 / ppy,
        capex_usd_per_chip=np.zeros(chips),
        energy_paid=np.zeros(chips),
        train_flop_per_chip_hour=rng.uniform(1e18, 2e19, (n_train, chips)),
        tokens_per_chip_hour=rng.uniform(1e6, 2e7, (n_serve, chips)),
        train_demand_flop=np.array([[5e26 * 3 ** (t / ppy) for t in range(t_n)]] * n_train),
        train_value_per_flop=np.full(n_train, 3e-18),
        token_demand=np.array([[1e12 * 2 ** (t / ppy) * 365.25 / ppy for t in range(t_n)]] * n_serve),
        token_value=np.full(n_serve, 3e-6),
        power_available_w=np.full(t_n, 5e9),
        pue=1.15,
    )
    return scenario, inputs


def _time_lp(scenario: Scenario, inputs: FleetInputs, repeats: int) -> tuple[float, int]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        solution = build_and_solve(scenario, inputs)
        summarize(scenario, inputs, solution)
        times.append(time.perf_counter() - start)
    return statistics.median(times), solution.x.size


def thousand_identical(years: int = 10) -> Scenario:
    """The flagship's workloads on 1,000 identical rented trn3 options (no contract, no installed base)."""
    flagship = load_scenario(ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml")
    trn3 = next(o for o in flagship.chips if o.chip == "trn3")
    option = trn3.model_dump() | {"supply_per_year": 1500.0, "contract": None}
    return Scenario.model_validate(
        flagship.model_dump()
        | {
            "chips": [option] * 1000,
            "contracts": [],
            "years": years,
            "money": {"discount_rate": 0.08},
            "name": "1,000 options",
        }
    )


def whole_process(*args: str, repeats: int) -> float:
    """Median wall time of ``computeplan ARGS`` as a new process (start-up, catalog, pricing, LP, printing)."""
    import subprocess
    import sys

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "computeplan", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}; "
        f"median of {repeats} runs\n"
    )
    print("| case | periods | chip types | workloads | variables | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    scenario, inputs = synthetic()
    seconds, variables = _time_lp(scenario, inputs, repeats)
    print(
        f"| LP: 10 years quarterly (assemble + HiGHS + statistics) | {len(inputs.periods)} | 15 | 5 | "
        f"{variables:,} | {seconds:.3f} |"
    )
    scenario, inputs = synthetic(chips=1000, workloads=3, years=10, ppy=1)
    seconds, variables = _time_lp(scenario, inputs, repeats)
    print(
        f"| LP: 10 years yearly, 1,000 chip options (assemble + HiGHS + statistics) | 10 | 1,000 | 3 | "
        f"{variables:,} | {seconds:.3f} |"
    )
    catalog = load_catalog()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        api.plan(ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml", catalog=catalog)
        times.append(time.perf_counter() - start)
    print(
        f"| flagship scenario end to end (pricing 4 options x 2 workloads + LP) | 10 | 4 | 2 | - | "
        f"{statistics.median(times):.3f} |"
    )
    flagship = str(ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml")
    print(
        f"| `computeplan plan` of the flagship, whole process | 10 | 4 | 2 | - | "
        f"{whole_process('plan', flagship, repeats=repeats):.3f} |"
    )
    others = [str(ROOT / "scenarios" / f"{name}.yaml") for name in ("portfolio-diversified", "own-build")]
    print(
        f"| `computeplan compare` of the flagship set (3 plans), whole process | 10 | 4-7 | 2 | - | "
        f"{whole_process('compare', flagship, *others, repeats=repeats):.3f} |"
    )
    many = thousand_identical()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        api.plan(many, catalog=catalog)
        times.append(time.perf_counter() - start)
    print(
        f"| 1,000 identical trn3 options end to end (priced once + LP) | 10 | 1,000 | 2 | - | "
        f"{statistics.median(times):.3f} |"
    )


if __name__ == "__main__":
    main()
