"""Plans side by side: the main figures of each solved plan (SI units and USD) in one table, with each plan's
difference from the first. Also the grid of overrides behind ``plan --vary key=v1,v2``. Pure arithmetic on solved
plans: loading and solving is the caller's (``computeplan.plan``), the words are ``report``'s."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from computeplan.errors import ScenarioError
from computeplan.fleet.results import PlanResult

# figure -> unit; the order is the table's
FIGURES = {
    "spend_usd": "USD",
    "npv_usd": "USD",
    "value_pv_usd": "USD",
    "cost_pv_usd": "USD",
    "unspent_commitment_usd": "USD",
    "usd_per_w_year": "USD per facility W-year",
    "average_power_w": "W",
    "peak_power_w": "W",
    "fill_cost_usd": "USD",
    "peak_chips": "chips",
    "owned_share": "ratio",
    "training_flop": "FLOP",
    "tokens_served": "tokens",
    "token_share_served": "ratio",
    "unmet_tokens": "tokens",
}


def plan_figures(result: PlanResult) -> dict[str, float]:
    """The main figures of one plan (see :data:`FIGURES`): totals, average and peak facility power, what
    drawing all the power available from the year it peaks would cost (``fill_cost_usd``), chips in service at the
    busiest period, tokens served and their share of demand."""
    p, totals = result.periods, result.totals
    cap = p["effective_cap_w"]
    later = p.loc[p.index >= cap.index[int((cap >= cap.max() * (1 - 1e-9)).to_numpy().argmax())]]
    demanded = float(p["tokens_demanded"].sum())
    chips = result.fleet["chips_in_service"].groupby(level="period", sort=False).sum()
    return {
        "spend_usd": totals.spend_usd,
        "npv_usd": totals.npv_usd,
        "value_pv_usd": totals.value_pv_usd,
        "cost_pv_usd": totals.cost_pv_usd,
        "unspent_commitment_usd": totals.unspent_commitment_usd,
        "usd_per_w_year": totals.usd_per_w_year,
        "average_power_w": float(p["power_w"].mean()),
        "peak_power_w": totals.peak_power_w,
        "fill_cost_usd": float(later["fill_cost_usd"].sum()),
        "peak_chips": float(chips.max()),
        "owned_share": totals.owned_share,
        "training_flop": totals.training_flop,
        "tokens_served": totals.tokens_served,
        "token_share_served": totals.tokens_served / demanded if demanded > 0 else float("nan"),
        "unmet_tokens": float((p["tokens_demanded"] - p["tokens_served"]).clip(lower=0).sum()),
    }


@dataclass(frozen=True)
class Comparison:
    """Solved plans side by side: ``figures`` (index figure, one column per plan, SI units, see :data:`FIGURES`)
    and ``differences`` (each plan minus the first)."""

    names: tuple[str, ...]
    results: tuple[PlanResult, ...]
    figures: pd.DataFrame
    differences: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: per plan its figures and its difference from the first (NaN as null)."""

        def clean(value: float) -> float | None:
            return None if not np.isfinite(value) else float(value) + 0.0

        return {
            "units": dict(FIGURES),
            "plans": [
                {
                    "name": name,
                    "scenario": result.scenario.name,
                    "overrides": dict(result.overrides),
                    "figures": {k: clean(v) for k, v in self.figures[name].items()},
                    "difference_from_first": {k: clean(v) for k, v in self.differences[name].items()},
                    "binding": sorted(set(result.binding["constraint"])),
                    "warnings": list(result.warnings),
                }
                for name, result in zip(self.names, self.results, strict=True)
            ],
        }


def compare_plans(results: Sequence[PlanResult], names: Sequence[str] | None = None) -> Comparison:
    """``results`` side by side, named ``names`` (default: each scenario's name, numbered where repeated)."""
    if not results:
        raise ScenarioError("nothing to compare: give at least one plan")
    labels = list(names) if names is not None else [r.scenario.name for r in results]
    if len(labels) != len(results):
        raise ScenarioError(f"{len(labels)} names for {len(results)} plans")
    from computeplan.fleet.inputs import unique_labels

    labels = unique_labels(labels)
    figures = pd.DataFrame({name: plan_figures(r) for name, r in zip(labels, results, strict=True)})
    figures = figures.loc[list(FIGURES)]
    differences = figures.sub(figures.iloc[:, 0], axis=0)
    return Comparison(tuple(labels), tuple(results), figures, differences)


def vary_grid(specs: Sequence[str]) -> list[dict[str, str]]:
    """Every combination of ``key=v1,v2,...`` specs as override mappings, the first spec varying slowest.

    A value is YAML text; commas inside brackets or braces do not split (``power.available_w=[1 GW,2 GW],5 GW``)."""
    axes: list[list[tuple[str, str]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--vary {spec!r}: expected key=v1,v2,... such as money.discount_rate=0.05,0.12")
        parts = _split_top_level(values)
        if not parts or any(not v.strip() for v in parts):
            raise ScenarioError(f"--vary {spec!r}: give at least one value and no empty ones")
        axes.append([(key.strip(), v.strip()) for v in parts])
    return [dict(combo) for combo in itertools.product(*axes)]


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
