"""Turn a scenario into the LP's numbers: per chip option and period, what a chip-hour delivers to each
workload (through the training, goodput and serving models), what it costs and draws. This adapter reads the
catalog; the LP itself (``fleet.lp``) is pure arithmetic on these arrays.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from computeplan.catalog.loader import Catalog
from computeplan.economics import DAYS_PER_YEAR, HOURS_PER_YEAR
from computeplan.errors import ComputeplanError, ScenarioError
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.estimate.facts import default_pue
from computeplan.estimate.reliability import estimate_job_goodput, reliability_from_catalog
from computeplan.estimate.serving import estimate_serving_on
from computeplan.estimate.training import estimate_training
from computeplan.fleet.scenario import InferenceWorkload, Scenario, TrainingWorkload, lifetime_periods
from computeplan.hardware.cluster import cluster_from_catalog
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from computeplan.workload.jobs import ServingJob, TrainingJob, sequences_for_tokens
from computeplan.workload.transformer import TransformerSpec


@dataclass(frozen=True, kw_only=True)
class RateRow:
    """What a chip-hour of one option delivers to one workload, from the performance models."""

    workload: str  # workload label, e.g. "train llama3-405b"
    option: str  # option label, e.g. "trn2 (rent)"
    chip: str
    flop_per_chip_hour: float | None = None  # training (goodput applied)
    tokens_per_chip_hour: float | None = None  # serving
    mfu: float | None = None
    goodput: float | None = None
    layout: Mapping[str, object] | None = None  # serving replica layout
    calibration: str = "uncalibrated"  # how the chip's efficiency was obtained: calibrated, borrowed, uncalibrated


@dataclass(frozen=True, kw_only=True)
class FleetInputs:
    """Arrays indexed [option] or [option, period] or [period]; SI units and USD. Read-only: the arrays are
    made unwritable and the sequences tuples when the inputs are built."""

    labels: tuple[str, ...]  # option labels, unique, e.g. "trn2 (rent)" ("trn2 (rent) #2" for a second such option)
    chip_ids: tuple[str, ...]
    announced: tuple[bool, ...]
    periods: tuple[str, ...]
    period_years: np.ndarray  # fractional years since start, per period
    hours_per_period: float
    add_allowed: np.ndarray  # [k, t] 1 where chips may be added
    supply_per_period: np.ndarray  # [k, t]
    lifetime_periods: np.ndarray  # [k] whole periods in service
    watts_per_chip: np.ndarray  # [k] chip + host share, before PUE
    rent_usd_per_chip_period: np.ndarray  # [k] (0 for bought)
    capex_usd_per_chip: np.ndarray  # [k] (0 for rented)
    energy_paid: np.ndarray  # [k] 1 for bought chips (cloud rent includes energy)
    train_flop_per_chip_hour: np.ndarray  # [w_train, k] effective (goodput applied); 0 where not allowed
    tokens_per_chip_hour: np.ndarray  # [w_inf, k]; 0 where not allowed
    train_demand_flop: np.ndarray  # [w_train, t] the frontier run's size per period
    train_value_per_flop: np.ndarray  # [w_train]
    token_demand: np.ndarray  # [w_inf, t] output tokens per period
    token_value: np.ndarray  # [w_inf] USD per token
    power_available_w: np.ndarray  # [t]
    pue: float  # facility power / IT power: the scenario's power.pue, else the catalog's default
    notes: tuple[str, ...] = ()  # why an option cannot run a workload (each reason once)
    rates: tuple[RateRow, ...] = ()

    def __post_init__(self) -> None:
        for name, value in list(vars(self).items()):
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            elif isinstance(value, np.ndarray):
                view = value.view()  # the caller's array stays as it was
                view.flags.writeable = False
                object.__setattr__(self, name, view)


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeated ones numbered (``a``, ``a`` -> ``a #1``, ``a #2``) so they can index a table."""
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(f"{label} #{seen[label]}" if counts[label] > 1 else label)
    return out


def workload_labels(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Unique labels of the training and the serving workloads (``train llama3-405b``, ``serve llama3-70b``)."""
    labels = unique_labels(
        [*(f"train {w.model}" for w in scenario.training), *(f"serve {w.model}" for w in scenario.inference)]
    )
    return labels[: len(scenario.training)], labels[len(scenario.training) :]


@dataclass(frozen=True)
class TrainingRate:
    """What one chip-hour of a chip delivers to a training workload: model FLOP (goodput applied)."""

    flop_per_chip_hour: float
    mfu: float
    goodput: float
    calibration: str = "uncalibrated"


@dataclass(frozen=True)
class ServingRate:
    tokens_per_chip_hour: float
    layout: Mapping[str, object]
    calibration: str = "uncalibrated"


def training_rate(
    job: TrainingWorkload, chip: str, cluster_chips: int, catalog: Catalog, tables: EfficiencyTables
) -> TrainingRate:
    """Effective training FLOP per chip-hour of ``chip`` at the best layout, with failures and checkpoints."""
    spec = TransformerSpec.from_entry(catalog.model(job.model))
    cluster = cluster_from_catalog(catalog, chip, cluster_chips)
    global_batch = sequences_for_tokens(job.global_batch_tokens, job.seq_len)
    train_job = TrainingJob(seq_len=job.seq_len, global_batch=global_batch)
    efficiency = tables.for_training(cluster.family)
    best = estimate_training(spec, cluster, efficiency, train_job).best
    # failures and checkpoints of a frontier run of the workload's length on this cluster
    reliability = reliability_from_catalog(catalog)
    good = 1.0
    if reliability is not None:
        run_s = job.run_days * SECONDS_PER_DAY
        good = estimate_job_goodput(reliability, float(spec.param_count()), cluster_chips, run_s=run_s).goodput
    per_chip_s = best.model_flops_per_step / best.step_time_s / best.num_chips
    return TrainingRate(
        flop_per_chip_hour=per_chip_s * SECONDS_PER_HOUR * good,
        mfu=best.mfu,
        goodput=good,
        calibration=efficiency.calibration,
    )


def serving_rate(serve: InferenceWorkload, chip: str, catalog: Catalog, tables: EfficiencyTables) -> ServingRate | str:
    """Output tokens per chip-hour of the best replica within the workload's latency target, or why none."""
    spec = TransformerSpec.from_entry(catalog.model(serve.model))
    domain = int(catalog.system(catalog.chip(chip).system).scaleup_domain_chips.value)
    cluster = cluster_from_catalog(catalog, chip, domain)
    job = ServingJob(
        input_len=serve.input_len,
        output_len=serve.output_len,
        tpot_s=serve.tpot_ms / 1000 if serve.tpot_ms is not None else None,
    )
    efficiency = tables.for_serving(cluster.family)
    found = estimate_serving_on(spec, cluster, efficiency, job)
    if found.estimate is None:
        return found.reason or "no layout"
    tokens = found.estimate.throughput_tokens_per_s_per_chip * SECONDS_PER_HOUR
    return ServingRate(tokens, found.estimate.layout, calibration=efficiency.calibration)


def check_ids(scenario: Scenario, catalog: Catalog) -> None:
    """Every chip and model id the scenario names is in the catalog (else a ScenarioError with suggestions)."""
    from computeplan.errors import UnknownEntryError

    named: list[tuple[str, str, str]] = [(f"chips.{i}.chip", "chips", o.chip) for i, o in enumerate(scenario.chips)]
    for where, wl in scenario.workloads():
        named.append((f"{where}.model", "models", wl.model))
        named += [(f"{where}.chips.{j}", "chips", c) for j, c in enumerate(wl.chips or ())]
    for where, kind, entry_id in named:
        table = getattr(catalog, kind)
        if entry_id not in table:
            raise ScenarioError(f"scenario '{scenario.name}': {where}: {UnknownEntryError(kind[:-1], entry_id, table)}")


def build_inputs(
    scenario: Scenario,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    progress: Callable[[str], None] | None = None,
) -> FleetInputs:
    """The LP's arrays for ``scenario``. Identical (workload, chip, cluster size) pairs are priced once."""
    check_ids(scenario, catalog)
    ppy = scenario.periods_per_year
    n_t = scenario.years * ppy
    hours = HOURS_PER_YEAR / ppy
    periods = [f"{scenario.start_year + t // ppy}" + (f"Q{t % ppy + 1}" if ppy > 1 else "") for t in range(n_t)]
    years_of = np.array([scenario.start_year + t // ppy for t in range(n_t)])
    k_n = len(scenario.chips)
    labels, chip_ids, announced, notes = [], [], [], []
    add_allowed = np.zeros((k_n, n_t))
    supply = np.zeros((k_n, n_t))
    life = np.zeros(k_n)
    watts = np.zeros(k_n)
    rent = np.zeros(k_n)
    capex = np.zeros(k_n)
    energy_paid = np.zeros(k_n)
    for k, option in enumerate(scenario.chips):
        chip = catalog.chip(option.chip)
        system = catalog.system(chip.system)
        labels.append(f"{option.chip} ({option.mode})")
        chip_ids.append(option.chip)
        announced.append(chip.status.value == "announced")
        window = (years_of >= option.first_year) & (years_of <= option.last_year)
        add_allowed[k] = window
        supply[k] = np.where(window, option.supply_per_year / ppy, 0.0)
        life[k] = lifetime_periods(option.lifetime_years, ppy)
        watts[k] = chip.power_w.value + system.host_power_w_per_chip.value
        if option.mode == "rent":
            price = option.price_usd_per_hour or (chip.price_usd_per_hour.value if chip.price_usd_per_hour else None)
            if price is None:
                raise ScenarioError(
                    f"scenario '{scenario.name}': chips.{k}.price_usd_per_hour: '{option.chip}' has no catalog "
                    "price; give one"
                )
            rent[k] = price * (1.0 - option.committed_discount) * hours
        else:
            capex[k] = float(option.capex_usd or 0.0)
            energy_paid[k] = 1.0

    labels = unique_labels(labels)
    train_labels, serve_labels = workload_labels(scenario)
    train_rate = np.zeros((len(scenario.training), k_n))
    train_cache: dict[tuple[int, str, int], TrainingRate | str] = {}
    serve_cache: dict[tuple[int, str], ServingRate | str] = {}
    rates: list[RateRow] = []
    for w, job in enumerate(scenario.training):
        for k, option in enumerate(scenario.chips):
            if job.chips is not None and option.chip not in job.chips:
                continue
            key = (w, option.chip, option.training_cluster_chips)
            if key not in train_cache:
                if progress:
                    progress(f"training {job.model} on {option.chip}")
                try:
                    train_cache[key] = training_rate(job, option.chip, option.training_cluster_chips, catalog, tables)
                except ComputeplanError as exc:
                    train_cache[key] = (
                        f"{option.chip} cannot train {job.model} on {option.training_cluster_chips} chips: {exc}"
                    )
            rate = train_cache[key]
            if isinstance(rate, str):
                notes.append(rate)
                continue
            train_rate[w, k] = rate.flop_per_chip_hour
            rates.append(
                RateRow(
                    workload=train_labels[w],
                    option=labels[k],
                    chip=option.chip,
                    flop_per_chip_hour=rate.flop_per_chip_hour,
                    mfu=rate.mfu,
                    goodput=rate.goodput,
                    calibration=rate.calibration,
                )
            )
    token_rate = np.zeros((len(scenario.inference), k_n))
    for w, serve in enumerate(scenario.inference):
        for k, option in enumerate(scenario.chips):
            if serve.chips is not None and option.chip not in serve.chips:
                continue
            skey = (w, option.chip)
            if skey not in serve_cache:
                if progress:
                    progress(f"serving {serve.model} on {option.chip}")
                serve_cache[skey] = serving_rate(serve, option.chip, catalog, tables)
            srate = serve_cache[skey]
            if isinstance(srate, str):
                notes.append(f"{option.chip} cannot serve {serve.model}: {srate}")
                continue
            token_rate[w, k] = srate.tokens_per_chip_hour
            rates.append(
                RateRow(
                    workload=serve_labels[w],
                    option=labels[k],
                    chip=option.chip,
                    tokens_per_chip_hour=srate.tokens_per_chip_hour,
                    layout=MappingProxyType(dict(srate.layout)),  # read-only, as the rest of the inputs
                    calibration=srate.calibration,
                )
            )

    years = scenario.years
    train_demand = np.array(
        [[v for v in job.run_flop.series(years) for _ in range(ppy)] for job in scenario.training]
    ).reshape(len(scenario.training), n_t)
    token_demand = np.array(
        [
            [v * DAYS_PER_YEAR / ppy for v in s.tokens_per_day.series(years) for _ in range(ppy)]
            for s in scenario.inference
        ]
    ).reshape(len(scenario.inference), n_t)
    power = np.array([scenario.power.available_w[t // ppy] for t in range(n_t)])
    return FleetInputs(
        labels=tuple(labels),
        chip_ids=tuple(chip_ids),
        announced=tuple(announced),
        periods=tuple(periods),
        period_years=np.arange(n_t) / ppy,
        hours_per_period=hours,
        add_allowed=add_allowed,
        supply_per_period=supply,
        lifetime_periods=life,
        watts_per_chip=watts,
        rent_usd_per_chip_period=rent,
        capex_usd_per_chip=capex,
        energy_paid=energy_paid,
        train_flop_per_chip_hour=train_rate,
        tokens_per_chip_hour=token_rate,
        train_demand_flop=train_demand,
        train_value_per_flop=np.array([j.value_usd_per_flop for j in scenario.training]),
        token_demand=token_demand,
        token_value=np.array([s.value_usd_per_million_tokens / 1e6 for s in scenario.inference]),
        power_available_w=power,
        pue=scenario.power.pue if scenario.power.pue is not None else default_pue(catalog),
        notes=tuple(dict.fromkeys(notes)),
        rates=tuple(rates),
    )
