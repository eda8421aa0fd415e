"""Monte Carlo over a plan's uncertain inputs: the design (the scenario's ``uncertain:`` fields, each chip's model
error from its family's leave-one-source-out residuals, the catalog's range of an announced chip's peak), the draws
(seeded Latin hypercube, drawn up front), their evaluation on a local process pool or a Ray cluster (the same code
and, for the same seed, the same numbers either way), Parquet output that an interrupted sweep resumes from, and the
summaries: P10/P50/P90 of every figure and yearly series, how often each option is chosen, which inputs move the
answer most (rank correlation).

Each draw re-plans without re-pricing: the performance models price each (workload, chip) once
(:class:`~computeplan.fleet.inputs.Pricing`); a draw changes scenario fields and multiplies the chips' rates.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError, ScenarioError
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.estimate.uncertainty import Input, draw, parse_numbers, spearman
from computeplan.files import ResumableParquet
from computeplan.fleet.compare import plan_figures
from computeplan.fleet.inputs import FleetInputs, Pricing, build_inputs, with_goodput
from computeplan.fleet.results import PlanResult
from computeplan.fleet.scenario import Distribution, Scenario, override_scenario

MAX_SAMPLES = 1_000_000
INLINE_PLANS = 4  # plan_many solves this many plans in one process by default (shared pricing beats a pool)
BLOCK = 25  # draws per task: large enough to amortise a task's overhead, small enough for progress and resume
SERIES = ("power_w", "spend_usd", "training_flop", "tokens_served")  # yearly series kept per draw (fan charts)


@dataclass(frozen=True)
class Design:
    """What varies: the inputs (columns) and the base scenario they vary."""

    scenario: Scenario
    inputs: tuple[Input, ...]

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]


def field_input(path: str, distribution: Distribution) -> Input:
    """The input of a scenario path drawn from a :class:`~computeplan.fleet.scenario.Distribution`."""
    form = distribution.form
    if form == "choice":
        values = tuple(distribution.choice or ())
        weights = tuple(distribution.weights or [1.0] * len(values))
        return Input(path, "field", "choice", tuple(float(w) for w in weights), values=values)
    raw = getattr(distribution, form)
    try:
        numbers, frame = parse_numbers(raw)
    except ValueError as exc:
        raise ScenarioError(f"uncertain.{path}: {exc}") from None
    return Input(path, "field", form, tuple(numbers), frame=frame)


def design(
    scenario: Scenario,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    model_error: bool = True,
    catalog_ranges: bool = True,
) -> Design:
    """The scenario's ``uncertain:`` fields, then per chip of its options: the model error of its family
    (training and serving; from the efficiency table's leave-one-source-out band, wider where the chip is
    borrowed or uncalibrated) and, for a chip whose peak FLOP/s or HBM bandwidth the catalog gives as a range
    (an announced chip), that range as a factor on its training or serving rate (triangular, mode at the value)."""
    items = [field_input(path, dist) for path, dist in scenario.uncertain.items()]
    for path in scenario.uncertain:
        _check_path(scenario, path)
    for item in items:
        _check_values(scenario, item)
    chips = list(dict.fromkeys(o.chip for o in scenario.chips))
    for chip in chips:
        entry = catalog.chip(chip)
        for what in ("training", "serving"):
            if (what == "training" and not scenario.training) or (what == "serving" and not scenario.inference):
                continue
            if model_error:
                eff = tables.for_training(entry.family) if what == "training" else tables.for_serving(entry.family)
                band = eff.error_band
                if band is not None:
                    params = tuple(1.0 + q / 100.0 for q in (band.p10_pct, band.p50_pct, band.p90_pct))
                    items.append(
                        Input(f"model error {chip} {what}", "factor", "piecewise", params, target=(chip, what))
                    )
            if catalog_ranges:
                quantity = entry.bf16_flops_per_s if what == "training" else entry.hbm_bytes_per_s
                if quantity.low is not None and quantity.high is not None and quantity.value > 0:
                    params = (quantity.low / quantity.value, 1.0, quantity.high / quantity.value)
                    label = "peak FLOP/s" if what == "training" else "HBM bandwidth"
                    items.append(
                        Input(f"catalog range {chip} {label}", "factor", "triangular", params, target=(chip, what))
                    )
    return Design(scenario, tuple(items))


def _check_path(scenario: Scenario, path: str) -> None:
    """An uncertain path must name a field the scenario has (its point value is a valid override)."""
    from computeplan.fleet.scenario import _locate

    data = scenario.model_dump()
    try:
        node, key = _locate(data, path)
        _ = node[key]  # the field must exist, not just its parent
    except (ScenarioError, KeyError, IndexError, TypeError):
        raise ScenarioError(f"uncertain.{path}: no such field in the scenario (a dotted path as for --set)") from None


def _check_values(scenario: Scenario, item: Input) -> None:
    """Every value a field's distribution can draw must be a valid value of the field: its ends (lowest and highest
    quantile) and each choice, tried as overrides before any draw, so that a bad range is a one-line error and not
    a share of draws that quietly fail."""
    if item.form == "choice":
        values = [float(i) for i in range(len(item.values))]
    else:
        values = [float(v) for v in item.quantile(np.array([1e-6, 0.5, 1.0 - 1e-6]))]
    for value in values:
        text = item.text(value)
        try:
            override_scenario(scenario, {item.name: _yaml(text)})
        except ScenarioError as exc:
            problem = str(exc).split(": ", 1)[-1]
            raise ScenarioError(f"uncertain.{item.name}: the value {text} it can draw is refused: {problem}") from None


# --------------------------------------------------------------------------------------------------- evaluation


@dataclass
class Evaluator:
    """Everything a worker needs to turn a draw into a row: picklable, sent once per worker."""

    design: Design
    catalog: Catalog
    tables: EfficiencyTables
    pricing: Pricing

    def evaluate(self, block: tuple[np.ndarray, np.ndarray]) -> list[dict[str, Any]]:
        indices, values = block
        return [self.row(int(i), v) for i, v in zip(indices, values, strict=True)]

    def row(self, index: int, values: np.ndarray) -> dict[str, Any]:
        from computeplan.fleet import solve_inputs

        overrides = {
            item.name: _yaml(item.text(v))
            for item, v in zip(self.design.inputs, values, strict=True)
            if item.kind == "field"
        }
        out: dict[str, Any] = {"draw": index}
        out.update(
            {
                item.name: float(v) if item.form != "choice" else str(item.text(v))
                for item, v in zip(self.design.inputs, values, strict=True)
            }
        )
        try:
            scenario = override_scenario(self.design.scenario, overrides) if overrides else self.design.scenario
            inputs = build_inputs(scenario, self.catalog, self.tables, pricing=self.pricing)
            inputs = self._scaled(inputs, scenario, values)
            result = solve_inputs(scenario, inputs, self.catalog)
        except ComputeplanError as exc:
            out["status"] = " ".join(str(exc).split())[:300]
            return out
        out["status"] = "ok"
        out.update(plan_figures(result))
        years = result.chip_years()
        for label, value in years.items():
            out[f"chip_years {label}"] = float(value)
        for name in SERIES:
            for period, value in result.periods[name].items():
                out[f"{name} {period}"] = float(value)
        return out

    def _scaled(self, inputs: FleetInputs, scenario: Scenario, values: np.ndarray) -> FleetInputs:
        train = np.array(inputs.train_flop_per_chip_hour, dtype=float)
        tokens = np.array(inputs.tokens_per_chip_hour, dtype=float)
        changed = False
        for item, value in zip(self.design.inputs, values, strict=True):
            if item.kind != "factor":
                continue
            chip, what = item.target
            columns = [k for k, c in enumerate(inputs.chip_ids) if c == chip]
            (train if what == "training" else tokens)[:, columns] *= value
            changed = True
        if not changed:
            return inputs
        scaled = replace(inputs, train_flop_per_chip_hour=train, tokens_per_chip_hour=tokens)
        return with_goodput(scaled, scenario, self.catalog, self.pricing)  # job sizes follow the rates


def _yaml(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class Planner:
    """Solves whole scenarios (``plan --vary``, ``compare``) on the same backends as the draws: block = indices."""

    scenarios: tuple[Scenario, ...]
    catalog: Catalog
    tables: EfficiencyTables
    pricing: Pricing

    def evaluate(self, block: np.ndarray) -> list[tuple[int, PlanResult]]:
        from computeplan.fleet import solve_inputs

        out = []
        for i in block:
            scenario = self.scenarios[int(i)]
            inputs = build_inputs(scenario, self.catalog, self.tables, pricing=self.pricing)
            out.append((int(i), solve_inputs(scenario, inputs, self.catalog)))
        return out


_WORKER: Any = None  # the state a worker evaluates blocks with: an Evaluator or a Planner


def _init_worker(state: Any) -> None:
    global _WORKER
    _WORKER = state


def _evaluate_block(block: Any) -> list[Any]:
    assert _WORKER is not None
    result: list[Any] = _WORKER.evaluate(block)
    return result


def plan_many(
    scenarios: Sequence[Scenario],
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
) -> list[PlanResult]:
    """Each scenario planned, on a local process pool or on Ray; the results in the scenarios' order. Scenarios
    that use the same (workload, chip) share its pricing within a worker, so a few plans run fastest in one
    process: ``workers`` defaults to 1 up to :data:`INLINE_PLANS` plans, else to the CPU count."""
    if workers is None and len(scenarios) <= INLINE_PLANS:
        workers = 1
    planner = Planner(tuple(scenarios), catalog, tables, Pricing())
    found: dict[int, PlanResult] = {}
    blocks = [np.array([i]) for i in range(len(scenarios))]
    for block_results in _evaluate(planner, blocks, backend, workers, address):
        found.update(block_results)
    return [found[i] for i in range(len(scenarios))]


# ------------------------------------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class SweepResult:
    """The draws (one row per draw: ``draw``, each input, ``status``, each figure of
    :func:`~computeplan.fleet.compare.plan_figures`, ``chip_years OPTION``, yearly ``SERIES PERIOD``), the design,
    and the seed. Summaries are methods; every one ignores draws whose plan failed (``status`` != "ok")."""

    draws: pd.DataFrame
    design: Design
    seed: int
    backend: str

    @property
    def ok(self) -> pd.DataFrame:
        return self.draws[self.draws["status"] == "ok"]

    def bands(self, columns: Sequence[str]) -> pd.DataFrame:
        """P10, P50, P90 (columns) of each of ``columns`` (index) over the draws that solved."""
        data = self.ok[list(columns)].astype(float)
        quantiles = data.quantile([0.1, 0.5, 0.9]).T
        quantiles.columns = ["p10", "p50", "p90"]
        return quantiles

    def series(self, name: str) -> pd.DataFrame:
        """P10/P50/P90 of a yearly series (``power_w``, ``spend_usd``, ...) per period: a fan chart's data."""
        columns = [c for c in self.draws.columns if c.startswith(f"{name} ")]
        frame = self.bands(columns)
        frame.index = [c.removeprefix(f"{name} ") for c in columns]
        return frame

    def choice_probability(self, share: float = 0.005) -> pd.Series:
        """Per option, the share of draws whose plan gives it more than ``share`` of all chip-years."""
        columns = [c for c in self.draws.columns if c.startswith("chip_years ")]
        years = self.ok[columns].astype(float)
        total = years.sum(axis=1).replace(0, np.nan)
        chosen = years.div(total, axis=0) > share
        out: pd.Series = chosen.mean()
        out.index = [c.removeprefix("chip_years ") for c in columns]
        return out

    def tornado(self, output: str = "npv_usd") -> pd.Series:
        """Rank correlation of each input with ``output``, largest magnitude first (NaN-free)."""
        ok = self.ok
        y = ok[output].to_numpy(float)
        found = {}
        for item in self.design.inputs:
            x = ok[item.name].to_numpy(float) if item.form != "choice" else _choice_order(item, ok[item.name])
            found[item.name] = spearman(x, y)
        series = pd.Series(found, dtype=float).dropna()
        return series.reindex(series.abs().sort_values(ascending=False).index)


def _choice_order(item: Input, drawn: pd.Series) -> np.ndarray:
    """A choice's draws as numbers for a rank correlation: the values themselves where they are numbers (years,
    prices), else their position in the choice list as written (never the order they happened to be drawn in)."""
    numeric = pd.to_numeric(drawn, errors="coerce").to_numpy(float)
    if np.isfinite(numeric).all():
        return numeric
    position = {str(v): float(i) for i, v in enumerate(item.values)}
    return np.array([position.get(str(v), np.nan) for v in drawn])


def sweep_key(design_: Design, samples: int, seed: int) -> str:
    """What a resumed sweep must share with the interrupted one: scenario, inputs, samples and seed."""
    text = json.dumps(
        {
            "scenario": design_.scenario.model_dump(mode="json"),
            "inputs": [(i.name, i.form, i.params) for i in design_.inputs],
            "samples": samples,
            "seed": seed,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_sweep(
    design_: Design,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    samples: int,
    seed: int = 0,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop_after: int | None = None,
) -> SweepResult:
    """Draw ``samples`` plans and evaluate them on ``backend`` ("local": a process pool of ``workers``, default
    the CPU count, inline when 1; "ray": tasks on the Ray cluster at ``address``, or a local one). With ``out``,
    each finished block is written under ``OUT.parts/`` and the whole sweep to ``out`` (Parquet) at the end; an
    interrupted sweep with the same scenario, inputs, samples and seed resumes from its parts. ``stop_after``
    stops after that many blocks (tests interrupt a sweep with it)."""
    values = draw(design_.inputs, samples, seed)
    evaluator = Evaluator(design_, catalog, tables, Pricing())
    build_inputs(design_.scenario, catalog, tables, pricing=evaluator.pricing)  # price once, before the workers
    parts = ResumableParquet(out, sweep_key(design_, samples, seed), error=ScenarioError) if out is not None else None
    done = parts.load() if parts is not None else []
    finished = {int(r["draw"]) for r in done}
    todo = [i for i in range(samples) if i not in finished]
    blocks = [np.array(todo[s : s + BLOCK]) for s in range(0, len(todo), BLOCK)]
    if stop_after is not None:
        blocks = blocks[:stop_after]
    rows = list(done)
    count = len(rows)
    for block_rows in _evaluate(evaluator, [(b, values[b]) for b in blocks], backend, workers, address):
        rows += block_rows
        count += len(block_rows)
        if parts is not None:
            parts.write(block_rows, first=min(int(r["draw"]) for r in block_rows))
        if progress:
            progress(count, samples)
    frame = pd.DataFrame(rows).sort_values("draw", kind="stable").reset_index(drop=True) if rows else pd.DataFrame()
    if parts is not None and len(frame) == samples:
        parts.finish(frame)
    return SweepResult(frame, design_, seed, backend)


def _evaluate(state: Any, blocks: Sequence[Any], backend: str, workers: int | None, address: str | None) -> Any:
    """Yield each block's results (``state.evaluate(block)``) as it finishes, in order of completion (the caller
    sorts)."""
    if backend == "ray":
        yield from _evaluate_ray(state, blocks, address)
        return
    if backend != "local":
        raise ScenarioError(f"--backend: '{backend}' is not a backend; allowed: local, ray")
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1 or len(blocks) <= 1:
        _init_worker(state)
        for block in blocks:
            yield _evaluate_block(block)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=_init_worker, initargs=(state,)) as pool:
        futures = [pool.submit(_evaluate_block, block) for block in blocks]
        for future in as_completed(futures):
            yield future.result()


def _evaluate_ray(state: Any, blocks: Sequence[Any], address: str | None) -> Any:
    try:
        import ray  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise ScenarioError(
            "--backend ray: Ray is not installed; pip install 'computeplan[sweep]' (or use --backend local)"
        ) from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    shared = ray.put(state)

    @ray.remote
    def task(worker_state: Any, block: Any) -> list[Any]:
        _init_worker(worker_state)
        return _evaluate_block(block)

    pending = [task.remote(shared, block) for block in blocks]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])


def monte_carlo(
    scenario: str | os.PathLike[str] | Scenario,
    *,
    samples: int,
    seed: int = 0,
    overrides: dict[str, str] | None = None,
    catalog: Catalog | None = None,
    efficiency: EfficiencyTables | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: str | os.PathLike[str] | None = None,
    model_error: bool = True,
    catalog_ranges: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Plan ``samples`` draws of a scenario's uncertain inputs (its ``uncertain:`` section, each chip's model error,
    announced chips' catalog ranges): P10/P50/P90 of every figure (``.bands``), yearly fan charts (``.series``),
    how often each option is chosen (``.choice_probability()``) and what moves the answer (``.tornado()``).
    The same ``seed`` gives the same draws on any backend; ``out`` writes them to Parquet (resumable)."""
    from computeplan import checks
    from computeplan.catalog.loader import as_catalog
    from computeplan.estimate.efficiency import as_efficiency_tables
    from computeplan.fleet.scenario import load_scenario

    samples = checks.whole("samples", samples, low=1, high=MAX_SAMPLES)
    seed = checks.whole("seed", seed, low=0, high=2**32 - 1)
    cat, tables = as_catalog(catalog), as_efficiency_tables(efficiency)
    if isinstance(scenario, Scenario):
        loaded = override_scenario(scenario, dict(overrides or {}))
    else:
        loaded = load_scenario(Path(scenario), dict(overrides or {}))
    from computeplan.fleet.inputs import check_ids

    check_ids(loaded, cat)
    plan_design = design(loaded, cat, tables, model_error=model_error, catalog_ranges=catalog_ranges)
    sweep = run_sweep(
        plan_design,
        cat,
        tables,
        samples=samples,
        seed=seed,
        backend=backend,
        workers=workers,
        address=address,
        out=Path(out) if out is not None else None,
        progress=progress,
    )
    if len(sweep.draws) and not len(sweep.ok):
        first = str(sweep.draws["status"].iloc[0])
        raise ScenarioError(f"none of the {samples:,} draws could be planned; the first failed with: {first}")
    return sweep
