"""A fleet plan's answers in plain words, first: what the money buys, what filling the power would cost, which chips,
how much training (in runs of a stated size) and serving, what is left unmet, which limits bind and what they are
worth, and how far each figure can be trusted. Words only: every number comes from the plan's tables."""

from __future__ import annotations

import math

import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.fleet.lp import Constraint
from computeplan.fleet.results import PlanResult

REFERENCE_RUN_FACT = "llama3-405b-training-flop"  # the unit training is counted in, when the catalog has it
REFERENCE_RUN_NAME = "Llama-3-405B"


def usd(value: float) -> str:
    """$1.2B, $35.0M, $1.23T, -$4.0B: dollars with the prefix a reader expects, the sign first."""
    sign = "-" if value < 0 else ""
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{sign}${abs(value) / scale:,.1f}{suffix}"
    return f"{sign}${abs(value):,.2f}"


def count(value: float) -> str:
    """1.2M, 350k, 940: a count with an SI-style suffix."""
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:,.3g}{suffix}"
    return f"{value:,.0f}"


def gw(watts: float) -> str:
    """Facility power in GW, or in MW below a tenth of a GW."""
    return f"{watts / 1e9:,.2f} GW" if abs(watts) >= 1e8 else f"{watts / 1e6:,.2f} MW"


def span(periods: list[str]) -> str:
    """``2030-2035`` for consecutive periods, else the list."""
    if not periods:
        return ""
    if len(periods) > 2 and all(p.isdigit() for p in periods):
        years = [int(p) for p in periods]
        if years == list(range(years[0], years[0] + len(years))):
            return f"{periods[0]}-{periods[-1]}"
    return ", ".join(periods)


def reference_run_flop(catalog: Catalog | None) -> float | None:
    if catalog is None or REFERENCE_RUN_FACT not in catalog.facts:
        return None
    return float(catalog.fact(REFERENCE_RUN_FACT).value)


def answers(result: PlanResult, catalog: Catalog | None = None) -> list[str]:
    """The headline answers, one sentence each, most important first."""
    return [
        *_money(result),
        *_power(result),
        *_chips(result),
        *_training(result, reference_run_flop(catalog)),
        *_serving(result),
        *_binding(result),
        *_rents(result),
        *_calibration(result),
    ]


def _money(result: PlanResult) -> list[str]:
    sc, totals = result.scenario, result.totals
    per_watt = (
        f", {usd(totals.usd_per_w_year)} per facility watt-year drawn" if math.isfinite(totals.usd_per_w_year) else ""
    )
    lines = [f"Spend: {usd(totals.spend_usd)} over {sc.years} years ({sc.start_year}-{sc.end_year}){per_watt}."]
    if sc.objective == "max_value":
        lines.append(
            f"Net present value {usd(totals.npv_usd)} at a {sc.money.discount_rate:.0%} cost of capital: value "
            f"{usd(totals.value_pv_usd)} less cost {usd(totals.cost_pv_usd)} (both discounted to {sc.start_year})."
        )
    else:
        lines.append(f"Cost in present value: {usd(totals.cost_pv_usd)} at {sc.money.discount_rate:.0%} a year.")
    for name, row in result.contracts.iterrows():
        if row["commitment_usd"] <= 0:
            continue
        state = (
            f"{usd(row['unspent_paid_usd'])} of it paid for nothing (take-or-pay)"
            if row["unspent_paid_usd"] > 0
            else "met"
        )
        lines.append(
            f"Contract {name}: {usd(row['commitment_usd'])} committed, {usd(row['spent_usd'])} spent on its "
            f"options; {state}."
        )
    if sc.money.commitment_usd > 0:
        state = (
            f"{usd(totals.unspent_commitment_usd)} unspent and paid anyway"
            if totals.unspent_commitment_usd > 0
            else "met"
        )
        lines.append(f"Commitment {usd(sc.money.commitment_usd)}: {state}.")
    commitment = sc.money.commitment_usd or float(
        result.contracts["commitment_usd"].sum() if len(result.contracts) else 0
    )
    if commitment > 0 and math.isfinite(totals.usd_per_w_year) and totals.usd_per_w_year > 0:
        watt_years = commitment / totals.usd_per_w_year
        lines.append(
            f"At this plan's cost per watt, {usd(commitment)} buys {watt_years / 1e9:,.1f} GW-years: "
            f"{gw(watt_years / sc.years)} on average over the {sc.years} years."
        )
    return lines


def _power(result: PlanResult) -> list[str]:
    p = result.periods
    ppy = result.scenario.periods_per_year
    average = float(p["power_w"].sum()) / len(p)
    peak_at = str(p["power_w"].idxmax())
    lines = [f"Power: {gw(average)} on average, {gw(float(p['power_w'].max()))} at the peak ({peak_at})."]
    cap = p["effective_cap_w"]
    full = float(cap.max())
    if full > 0:
        from_period = str(cap.index[int((cap >= full * (1 - 1e-9)).to_numpy().argmax())])
        later = p.loc[p.index >= from_period]
        fill = later["fill_cost_usd"]
        if fill.notna().all() and len(later):
            short = later["power_w"] < later["effective_cap_w"] * (1 - 1e-6)
            bought = later["spend_usd"] - later["unspent_commitment_usd"]  # the fill cost counts no paid-for-nothing
            extra = float((later["fill_cost_usd"] - bought).sum())
            how = (
                f"{usd(extra)} more than the plan spends then"
                if short.any()
                else "what the plan spends then: it already draws all of it"
            )
            lines.append(
                f"Filling the {gw(full)} available from {from_period} to the end would cost "
                f"{usd(float(fill.sum()))} ({usd(float(fill.sum()) / len(later) * ppy)} a year), {how} "
                "(the unused watts at the cheapest option's cost per watt, supply permitting)."
            )
    return lines


def _chips(result: PlanResult) -> list[str]:
    peak = result.peak_chips()
    chips = result.fleet["chips_in_service"].unstack("option")
    parts, never = [], []
    for k, label in enumerate(result.inputs.labels):
        if peak[label] < 0.5:
            never.append(label)
            continue
        when = str(chips[label].idxmax())
        at_peak = list(result.inputs.periods).index(when)
        base = " (installed base)" if result.inputs.installed_chips[k, at_peak] >= 0.5 * float(peak[label]) else ""
        announced = " (announced: projected figures)" if result.inputs.announced[k] else ""
        parts.append(f"{label} {count(float(peak[label]))} in {when}{base}{announced}")
    lines = [f"Peak chips in service: {'; '.join(parts) or 'none'}."]
    if never:
        lines.append(f"Never chosen: {', '.join(never)}.")
    return lines


def _training(result: PlanResult, reference: float | None) -> list[str]:
    t = result.training
    if not len(t):
        return []
    lines = []
    for workload, spec in zip(
        dict.fromkeys(t.index.get_level_values("workload")), result.scenario.training, strict=True
    ):
        rows = t.xs(workload, level="workload")
        total = float(rows["training_flop"].sum())
        unit = (
            f" = {total / reference:,.0f} {REFERENCE_RUN_NAME}-equivalents ({reference:.1e} FLOP each)"
            if reference
            else ""
        )
        lines.append(f"Training ({workload}): {total:.2e} FLOP in all{unit}.")
        job = next((r for _, r in rows.iterrows() if r["training_flop"] > 0), None)
        days = spec.run_days
        for period, r in rows.iterrows():
            if r["training_flop"] <= 0:
                continue
            fits = r["largest_run_flop_in_run_days"] >= r["frontier_run_flop"] * (1 - 1e-6)
            size = (
                f"the year's frontier run ({r['frontier_run_flop']:.1e} FLOP) fits in {days:g} days"
                if fits
                else f"the year's frontier run ({r['frontier_run_flop']:.1e} FLOP) does not fit in {days:g} days "
                f"(largest: {r['largest_run_flop_in_run_days']:.1e})"
            )
            lines.append(
                f"{period}: {r['training_flop']:.2e} FLOP on {count(r['training_chips'])} chips"
                + (f" ({r['training_flop'] / reference:,.0f} {REFERENCE_RUN_NAME}-eq.)" if reference else "")
                + f"; jobs of {count(r['goodput_fleet_chips'])} chips at goodput {r['goodput']:.2f}; {size}."
            )
        if job is not None:
            lines.append(
                "Goodput is that of one job of that size and run length (failures, checkpoints, restarts): "
                f"`computeplan goodput --model {spec.model} --chips {round(job['goodput_fleet_chips'])} "
                f"--days {days:g}` prints it."
            )
    return lines


def _serving(result: PlanResult) -> list[str]:
    s = result.serving
    if not len(s):
        return []
    served, demanded = float(s["tokens_served"].sum()), float(s["tokens_demanded"].sum())
    share = served / demanded if demanded > 0 else 1.0
    cost = result.periods["usd_per_million_tokens"].dropna()
    priced = f"; cost ${float(cost.min()):,.3f}-${float(cost.max()):,.3f} per million tokens" if len(cost) else ""
    lines = [f"Serving: {served:.2e} output tokens of {demanded:.2e} demanded ({share:.0%}){priced}."]
    unmet = s[s["tokens_demanded"] - s["tokens_served"] > 1e-6 * s["tokens_demanded"]]
    if len(unmet):
        periods = sorted({str(p) for p, _ in unmet.index})
        missing = float((unmet["tokens_demanded"] - unmet["tokens_served"]).sum())
        lines.append(f"Unmet demand: {missing:.2e} tokens in {span(periods)}.")
    floor = s[s["shortfall_tokens"] > 1e-6 * s["tokens_demanded"]]
    if len(floor):
        below = sorted({str(p) for p, _ in floor.index})
        lines.append(
            f"Below the service floor in {span(below)}: the plan's last-resort penalty prices that shortfall, so "
            "the limits of those periods get no shadow price."
        )
    return lines


def _binding(result: PlanResult) -> list[str]:
    b = result.binding
    lines = []
    for group in dict.fromkeys(b["constraint"]):
        items = b[b["constraint"] == group]
        periods = sorted({str(p) for p in items["period"]})
        about = sorted({str(a) for a in items["about"] if a})
        where = f"{', '.join(about)} " if about and group != Constraint.SUPPLY else ""
        priced = items[items["shadow_price"].notna()]
        price = ""
        if len(priced):
            top = priced.iloc[0]
            price = f"; worth up to {_price(float(top['shadow_price']), str(top['unit']))} ({top['period']})"
        lines.append(f"Binding: {group} {where}in {span(periods)}{price}.")
    return lines


def _price(value: float, unit: str) -> str:
    """A shadow price in its unit, dollars readable: ``$25.4B per GW-year of NPV``."""
    amount = usd(value) if abs(value) >= 1e3 else f"${value:,.3g}"
    return f"{amount} {unit.removeprefix('USD ')}"


def _rents(result: PlanResult) -> list[str]:
    c = result.cost_plus
    if not len(c):
        return []
    first = c.iloc[0]
    band = f"${first['band_low_usd_per_w_year']:.1f}-${first['band_high_usd_per_w_year']:.1f}"
    parts = [
        f"{option} ${row['rent_usd_per_w_year']:.1f} ({row['markup']:.2f}x, {row['verdict']})"
        for option, row in c.iterrows()
    ]
    return [
        f"Rents per IT watt-year against an owner's all-in cost of ${first['owner_usd_per_w_year']:.1f} "
        f"(plausible rent {band} at 14-40% cloud margins): {'; '.join(parts)}."
    ]


def _calibration(result: PlanResult) -> list[str]:
    r = result.rates
    if not len(r):
        return []
    kinds: dict[str, list[str]] = {}
    for workload, chip, calibration in zip(
        r.index.get_level_values("workload"), r["chip"], r["calibration"], strict=True
    ):
        kinds.setdefault(str(calibration), []).append(f"{chip} ({str(workload).split()[0]})")
    parts = [f"{kind}: {', '.join(dict.fromkeys(items))}" for kind, items in kinds.items()]
    return [f"Performance model per chip: {'; '.join(parts)}."]


def break_even_lines(frame: pd.DataFrame) -> list[str]:
    """Each option's break-even price in words: chosen below X (left out today) or chosen up to X (chosen today)."""
    lines = []
    for option, row in frame.iterrows():
        unit = "/chip-hour" if row["mode"] == "rent" else " a chip"

        def price(value: float, unit: str = unit) -> str:
            return (f"${value:,.2f}" if value < 1e3 else usd(value)) + unit

        now = price(float(row["price"]))
        if math.isnan(float(row["break_even"])):
            flip = "at any price from 1/64x to 64x today's"
            lines.append(f"{option} is {'chosen' if row['chosen'] else 'left out'} {flip} (now {now}).")
        elif row["chosen"]:
            lines.append(
                f"{option} stays chosen up to {price(float(row['break_even']))} ({row['factor']:.2f}x; now {now})."
            )
        else:
            lines.append(
                f"{option} would be chosen below {price(float(row['break_even']))} ({row['factor']:.2f}x; now {now})."
            )
    return lines
