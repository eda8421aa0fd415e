"""Turn a scenario into the LP's numbers: per chip option and period, what a chip-hour delivers to each
workload (through the training, goodput and serving models), what it costs and draws. This adapter reads the
catalog; the LP itself (``fleet.lp``) is pure arithmetic on these arrays.
"""

from __future__ import annotations

import copyreg
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

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
from computeplan.hardware.cluster import cluster_from_catalog, serving_cluster
from computeplan.search.serving_search import replica_words
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from computeplan.workload.jobs import MAX_CHIPS as MAX_TRAINING_CHIPS
from computeplan.workload.jobs import ServingJob, TrainingJob, sequences_for_tokens
from computeplan.workload.transformer import TransformerSpec


def _read_only(mapping: dict[str, object]) -> MappingProxyType[str, object]:
    return MappingProxyType(mapping)


# A rate's read-only layout travels to sweep workers and back: pickle a mapping proxy as the dict it shows.
copyreg.pickle(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))


@dataclass(frozen=True, kw_only=True)
class RateRow:
    """What a chip-hour of one option delivers to one workload, from the performance models."""

    workload: str  # workload label, e.g. "train llama3-405b"
    option: str  # option label, e.g. "trn2 (rent)"
    chip: str
    flop_per_chip_hour: float | None = None  # training, before failures (goodput not applied)
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
    train_flop_per_chip_hour: np.ndarray  # [w_train, k] before failures (goodput not applied); 0 where not allowed
    tokens_per_chip_hour: np.ndarray  # [w_inf, k]; 0 where not allowed
    train_demand_flop: np.ndarray  # [w_train, t] the frontier run's size per period
    train_value_per_flop: np.ndarray  # [w_train] in the start year
    token_demand: np.ndarray  # [w_inf, t] output tokens per period
    token_value: np.ndarray  # [w_inf] USD per token in the start year
    power_available_w: np.ndarray  # [t]
    pue: float  # facility power / IT power: the scenario's power.pue, else the catalog's default
    notes: tuple[str, ...] = ()  # why an option cannot run a workload (each reason once)
    rates: tuple[RateRow, ...] = ()
    # Economics; each left out (None) means "none": no installed base, contracts, value decline or floors
    # (__post_init__ fills the arrays, so they are never None after construction).
    train_goodput: np.ndarray = None  # type: ignore[assignment]  # [w_train, k, t] share of a chip-hour that is useful training
    train_goodput_chips: np.ndarray = None  # type: ignore[assignment]  # [w_train, k, t] chips per job the goodput is for
    installed_chips: np.ndarray = None  # type: ignore[assignment]  # [k, t] chips in service that the plan did not add
    residual_value: np.ndarray = None  # type: ignore[assignment]  # [k] share of capex recovered at retirement (bought chips)
    contract_of: np.ndarray = None  # type: ignore[assignment]  # [k] index into contract_names, -1 for none
    contract_names: tuple[str, ...] = ()
    contract_commitment_usd: np.ndarray = None  # type: ignore[assignment]  # [c]
    contract_take_or_pay: np.ndarray = None  # type: ignore[assignment]  # [c] 1 where an unspent commitment is paid anyway
    contract_capacity_w: np.ndarray = None  # type: ignore[assignment]  # [c, t] facility power (PUE included); inf where none
    train_cap_flop: np.ndarray = None  # type: ignore[assignment]  # [w_train, t] training with value (runs_per_year x run); inf: all
    train_value_decline: np.ndarray = None  # type: ignore[assignment]  # [w_train] yearly fall of the value per FLOP
    token_value_decline: np.ndarray = None  # type: ignore[assignment]  # [w_inf]
    service_floor: np.ndarray = None  # type: ignore[assignment]  # [w_inf] share of token demand that must be served

    def __post_init__(self) -> None:
        k_n, t_n = np.shape(self.add_allowed)
        w_train, w_inf = len(self.train_value_per_flop), len(self.token_value)
        defaults = {
            "train_goodput": np.ones((w_train, k_n, t_n)),
            "train_goodput_chips": np.ones((w_train, k_n, t_n)),
            "installed_chips": np.zeros((k_n, t_n)),
            "residual_value": np.zeros(k_n),
            "contract_of": np.full(k_n, -1),
            "contract_commitment_usd": np.zeros(0),
            "contract_take_or_pay": np.zeros(0),
            "contract_capacity_w": np.zeros((0, t_n)),
            "train_cap_flop": np.full((w_train, t_n), np.inf),
            "train_value_decline": np.zeros(w_train),
            "token_value_decline": np.zeros(w_inf),
            "service_floor": np.zeros(w_inf),
        }
        for name, default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for name, value in list(vars(self).items()):
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            elif isinstance(value, np.ndarray):
                view = value.view()  # the caller's array stays as it was
                view.flags.writeable = False
                object.__setattr__(self, name, view)


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeated ones numbered (``a``, ``a`` -> ``a #1``, ``a #2``) so they can index a table; a number
    that would collide with another label is skipped (``a``, ``a``, ``a #1`` -> ``a #2``, ``a #3``, ``a #1``)."""
    counts = Counter(labels)
    taken = set(labels)
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        if counts[label] == 1:
            out.append(label)
            continue
        while True:
            seen[label] += 1
            candidate = f"{label} #{seen[label]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        out.append(candidate)
    return out


def workload_labels(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Unique labels of the training and the serving workloads (``train llama3-405b``, ``serve llama3-70b``)."""
    labels = unique_labels(
        [*(f"train {w.model}" for w in scenario.training), *(f"serve {w.model}" for w in scenario.inference)]
    )
    return labels[: len(scenario.training)], labels[len(scenario.training) :]


@dataclass(frozen=True)
class TrainingRate:
    """What one chip-hour of a chip delivers to a training workload: model FLOP before failures."""

    flop_per_chip_hour: float
    mfu: float
    calibration: str = "uncalibrated"


@dataclass(frozen=True)
class ServingRate:
    tokens_per_chip_hour: float
    layout: Mapping[str, object]
    calibration: str = "uncalibrated"


def training_rate(
    job: TrainingWorkload, chip: str, cluster_chips: int, catalog: Catalog, tables: EfficiencyTables
) -> TrainingRate:
    """Training FLOP per chip-hour of ``chip`` at the best layout on ``cluster_chips`` chips, before failures
    (goodput depends on the size of the training fleet: :func:`training_goodput`)."""
    spec = TransformerSpec.from_entry(catalog.model(job.model))
    cluster = cluster_from_catalog(catalog, chip, cluster_chips)
    global_batch = sequences_for_tokens(job.global_batch_tokens, job.seq_len)
    train_job = TrainingJob(seq_len=job.seq_len, global_batch=global_batch)
    efficiency = tables.for_training(cluster.family)
    best = estimate_training(spec, cluster, efficiency, train_job).best
    per_chip_s = best.model_flops_per_step / best.step_time_s / best.num_chips
    return TrainingRate(
        flop_per_chip_hour=per_chip_s * SECONDS_PER_HOUR, mfu=best.mfu, calibration=efficiency.calibration
    )


def training_goodput(job: TrainingWorkload, catalog: Catalog, chips: np.ndarray) -> np.ndarray:
    """Goodput of a run of ``job.run_days`` on each of ``chips`` chips (failures, checkpoints, restarts): the figure
    ``computeplan goodput --chips N --model M --days D`` prints. 1 where the catalog has no failure data."""
    reliability = reliability_from_catalog(catalog)
    out = np.ones(np.shape(chips))
    if reliability is None:
        return out
    params = float(TransformerSpec.from_entry(catalog.model(job.model)).param_count())
    run_s = job.run_days * SECONDS_PER_DAY
    sizes = np.clip(np.rint(np.asarray(chips, float)), 1, MAX_TRAINING_CHIPS).astype(int)
    found = {int(n): estimate_job_goodput(reliability, params, int(n), run_s=run_s).goodput for n in np.unique(sizes)}
    for n, good in found.items():
        out[sizes == n] = good
    return out


def serving_rate(serve: InferenceWorkload, chip: str, catalog: Catalog, tables: EfficiencyTables) -> ServingRate | str:
    """Output tokens per chip-hour of the best replica within the workload's latency target, or why none."""
    spec = TransformerSpec.from_entry(catalog.model(serve.model))
    cluster = serving_cluster(catalog, chip)
    job = ServingJob(
        input_len=serve.input_len,
        output_len=serve.output_len,
        tpot_s=serve.tpot_ms / 1000 if serve.tpot_ms is not None else None,
    )
    efficiency = tables.for_serving(cluster.family)
    found = estimate_serving_on(spec, cluster, efficiency, job)
    if found.estimate is None:
        return found.reason or "no layout"
    split = found.disaggregated
    co_located = found.estimate.throughput_tokens_per_s_per_chip
    if serve.disaggregated and split is not None and split.throughput_tokens_per_s_per_chip > co_located:
        layout = {
            "prefill": replica_words(split.prefill_layout),
            "decode": f"{replica_words(split.decode_layout)} batch {split.decode_layout['batch']}",
            "prefill chips per decode chip": f"{split.prefill_chips_per_decode_chip:.2f}",
            "weight_precision": split.decode_layout["weight_precision"],
            "kv_precision": split.decode_layout["kv_precision"],
        }
        return ServingRate(split.throughput_tokens_per_s_per_chip * SECONDS_PER_HOUR, layout, efficiency.calibration)
    tokens = found.estimate.throughput_tokens_per_s_per_chip * SECONDS_PER_HOUR
    return ServingRate(tokens, found.estimate.layout, calibration=efficiency.calibration)


TrainingKey = tuple[str, int, float, str, int]  # model, seq_len, global batch tokens, chip, cluster chips
ServingKey = tuple[str, int, int, float | None, str, bool]  # model, input, output, TPOT ms, chip, disaggregated


@dataclass
class Pricing:
    """What the performance models said, keyed by everything the answer depends on, so that plans of the same
    workloads (a sweep's draws, a comparison) price each (workload, chip) once. Picklable: a process pool's
    workers get a copy."""

    training: dict[TrainingKey, TrainingRate | str] = field(default_factory=dict)
    serving: dict[ServingKey, ServingRate | str] = field(default_factory=dict)
    goodput_curves: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)  # (model, run days)


def training_key(job: TrainingWorkload, chip: str, cluster: int) -> TrainingKey:
    return (job.model, job.seq_len, job.global_batch_tokens, chip, cluster)


def price_training(
    scenario: Scenario,
    catalog: Catalog,
    tables: EfficiencyTables,
    pricing: Pricing,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Price each (workload, chip, cluster size) not yet in ``pricing``: its rate, or why it cannot train. The
    layout searches run on a thread pool (their numpy kernels release the GIL: 1.4x on two cores for three chips)."""
    from concurrent.futures import ThreadPoolExecutor

    todo: dict[TrainingKey, TrainingWorkload] = {}
    for job in scenario.training:
        for option in scenario.chips:
            key = training_key(job, option.chip, option.training_cluster_chips)
            if (job.chips is None or option.chip in job.chips) and key not in pricing.training:
                todo[key] = job

    def price(key: TrainingKey) -> TrainingRate | str:
        job, chip, cluster = todo[key], key[3], key[4]
        try:
            return training_rate(job, chip, cluster, catalog, tables)
        except ComputeplanError as exc:
            return f"{chip} cannot train {job.model} on {cluster} chips: {exc}"

    for key in todo:
        if progress:
            progress(f"training {key[0]} on {key[3]}")
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1))) as pool:
            pricing.training.update(zip(todo, pool.map(price, todo), strict=True))


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
    pricing: Pricing | None = None,
) -> FleetInputs:
    """The LP's arrays for ``scenario``. Identical (workload, chip, cluster size) pairs are priced once; with
    ``pricing``, what it already holds is not priced again (and what is priced is added to it)."""
    pricing = Pricing() if pricing is None else pricing
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
        labels.append(option.label or f"{option.chip} ({option.mode})")
        chip_ids.append(option.chip)
        announced.append(chip.status.value == "announced")
        window = (years_of >= option.first_year) & (years_of <= option.last_year)
        add_allowed[k] = window
        start = option.first_year + (option.first_volume_quarter - 1) / 4
        ramp = ramp_share(start, option.ramp_years, years_of + (np.arange(n_t) % ppy) / ppy, 1.0 / ppy)
        supply[k] = np.where(window, option.supply_per_year / ppy * ramp, 0.0)
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
    price_training(scenario, catalog, tables, pricing, progress)
    rates: list[RateRow] = []
    for w, job in enumerate(scenario.training):
        for k, option in enumerate(scenario.chips):
            if job.chips is not None and option.chip not in job.chips:
                continue
            rate = pricing.training[training_key(job, option.chip, option.training_cluster_chips)]
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
                    calibration=rate.calibration,
                )
            )
    token_rate = np.zeros((len(scenario.inference), k_n))
    for w, serve in enumerate(scenario.inference):
        for k, option in enumerate(scenario.chips):
            if serve.chips is not None and option.chip not in serve.chips:
                continue
            skey = (serve.model, serve.input_len, serve.output_len, serve.tpot_ms, option.chip, serve.disaggregated)
            if skey not in pricing.serving:
                if progress:
                    progress(f"serving {serve.model} on {option.chip}")
                pricing.serving[skey] = serving_rate(serve, option.chip, catalog, tables)
            srate = pricing.serving[skey]
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
    inputs = FleetInputs(
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
        **scenario_terms(scenario, train_demand),
    )
    return with_goodput(inputs, scenario, catalog, pricing)


JOB_SIZES_PER_OCTAVE = 8  # resolution of the job-size grid the goodput curve is taken on


def training_jobs(
    job: TrainingWorkload,
    catalog: Catalog,
    flop_per_chip_hour: np.ndarray,
    run_flop: np.ndarray,
    pricing: Pricing | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chips per training job and its goodput, [k, t], for each option's rate (FLOP per chip-hour before failures)
    and each period's frontier run.

    A run of F FLOP on n chips takes F / (n r g(n)) with g the goodput of an n-chip job of ``job.run_days``
    (:func:`training_goodput`, failures, checkpoints and restarts). The job is the smallest n that finishes the
    frontier run in run_days, n g(n) >= F / (r T); where no n does (g falls faster than n grows), the n that gives
    the most useful chips, argmax n g(n): the largest run the period allows. Either way the job size follows from
    the run and the chip, not from the fleet, so the plan stays a linear program and the goodput it applies is the
    one ``computeplan goodput --chips n`` prints."""
    sizes = 2.0 ** np.arange(0.0, np.log2(MAX_TRAINING_CHIPS) + 1e-9, 1.0 / JOB_SIZES_PER_OCTAVE)
    curves = pricing.goodput_curves if pricing is not None else {}
    key = (job.model, job.run_days)
    if key not in curves:
        curves[key] = training_goodput(job, catalog, sizes)
    good = curves[key]
    useful = sizes * good
    best = int(np.argmax(useful))
    rate_s = np.asarray(flop_per_chip_hour, float)[:, None] / SECONDS_PER_HOUR
    run_s = job.run_days * SECONDS_PER_DAY
    needed = np.divide(
        np.asarray(run_flop, float)[None, :],
        rate_s * run_s,
        out=np.full((rate_s.shape[0], len(run_flop)), np.inf),
        where=rate_s > 0,
    )  # useful chips the frontier run needs
    rising = np.maximum.accumulate(useful[: best + 1])  # n g(n) up to its peak, made non-decreasing
    index = np.minimum(np.searchsorted(rising, needed), best)
    chips = sizes[index]
    goodput = good[index]
    return chips, goodput


def with_goodput(
    inputs: FleetInputs, scenario: Scenario, catalog: Catalog, pricing: Pricing | None = None
) -> FleetInputs:
    """``inputs`` with each training workload's job size and goodput per option and period (:func:`training_jobs`)."""
    shape = (len(scenario.training), *inputs.add_allowed.shape)
    good, chips = np.ones(shape), np.ones(shape)
    for w, job in enumerate(scenario.training):
        chips[w], good[w] = training_jobs(
            job, catalog, inputs.train_flop_per_chip_hour[w], inputs.train_demand_flop[w], pricing
        )
    return replace(inputs, train_goodput=good, train_goodput_chips=chips)


def scenario_terms(scenario: Scenario, train_demand_flop: np.ndarray) -> dict[str, Any]:
    """The economic terms of ``scenario`` as :class:`FleetInputs` fields: installed base, resale, contracts, the
    training with value (runs_per_year x the period's frontier run), value declines and service floors."""
    ppy = scenario.periods_per_year
    n_t = scenario.years * ppy
    years_of = np.array([scenario.start_year + t // ppy for t in range(n_t)])
    names = [c.name for c in scenario.contracts]
    installed = np.zeros((len(scenario.chips), n_t))
    for k, option in enumerate(scenario.chips):
        if option.installed is not None:
            installed[k] = np.where(years_of <= option.installed.until_year, option.installed.chips, 0.0)
    capacity = np.array(
        [
            [c.capacity_w[t // ppy] if c.capacity_w is not None else np.inf for t in range(n_t)]
            for c in scenario.contracts
        ]
    ).reshape(len(names), n_t)
    cap_flop = np.array(
        [
            [np.inf if job.runs_per_year is None else job.runs_per_year / ppy * v for v in train_demand_flop[w]]
            for w, job in enumerate(scenario.training)
        ]
    ).reshape(len(scenario.training), n_t)
    return {
        "installed_chips": installed,
        "residual_value": np.array([o.residual_value for o in scenario.chips]),
        "contract_of": np.array([names.index(o.contract) if o.contract is not None else -1 for o in scenario.chips]),
        "contract_names": tuple(names),
        "contract_commitment_usd": np.array([c.commitment_usd for c in scenario.contracts]),
        "contract_take_or_pay": np.array([float(c.take_or_pay) for c in scenario.contracts]),
        "contract_capacity_w": capacity,
        "train_cap_flop": cap_flop,
        "train_value_decline": np.array([j.value_decline_per_year for j in scenario.training]),
        "token_value_decline": np.array([s.value_decline_per_year for s in scenario.inference]),
        "service_floor": np.array([s.service_floor for s in scenario.inference]),
    }


def ramp_share(start_year: float, ramp_years: float, period_start: np.ndarray, period_years: float) -> np.ndarray:
    """Share of full supply available over each period [period_start, period_start + period_years): volume starts
    at ``start_year`` (fractional) and rises linearly to full over ``ramp_years`` (0: a step).

    The share is the mean of the ramp over the period: (G(b) - G(a)) / (b - a) with G the ramp's integral."""

    def integral(x: np.ndarray) -> np.ndarray:
        after = np.maximum(x - start_year, 0.0)
        if ramp_years <= 0:
            return after
        rising = np.minimum(after, ramp_years)
        return rising**2 / (2 * ramp_years) + np.maximum(after - ramp_years, 0.0)

    a = np.asarray(period_start, float)
    share: np.ndarray = (integral(a + period_years) - integral(a)) / period_years
    return share
