"""Uncertain inputs (of a plan, a training run, a serving layout) and their Latin hypercube sample. Pure numbers.
No catalog, no solver.

An :class:`Input` is one column of the design: a scenario field (``chips.3.price_usd_per_hour``) drawn from its
:class:`~computeplan.fleet.scenario.Distribution`, or a factor on a chip's rates (its performance model's error,
from the leave-one-source-out residuals of its family; the catalog's range of an announced chip's peak). Each
input maps a uniform number u in (0, 1) to a value through its quantile function, so a Latin hypercube of u (one
stratum per draw and column, scipy's ``qmc.LatinHypercube``, seeded) gives every column its full range in any
number of draws, and the same seed gives the same draws wherever they are evaluated.

Quantile functions: uniform a + u(b - a); triangular (a, c, b) by its closed form; lognormal from its P10 and P90
(median sqrt(P10 P90), sigma = ln(P90/P10) / (2 x 1.2816)); choice by the cumulative weights; a factor from P10,
P50, P90 by straight lines through them, continued with the same slopes to u = 0 and u = 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z90 = 1.2815515655446004  # standard normal quantile at 0.9
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def parse_numbers(values: Sequence[object]) -> tuple[list[float], tuple[str, str]]:
    """The numbers in ``values`` (plain numbers, or text with one number and a unit around it: "2.2 USD/h",
    "$100B") and the text around them, the same for every entry: ([2.2, 3.6], ("", " USD/h"))."""
    numbers, frames = [], set()
    for value in values:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {str(value).lower()}")
        if isinstance(value, int | float):
            numbers.append(float(value))
            frames.add(("", ""))
            continue
        text = THOUSANDS.sub("", str(value).strip())  # "$150,000M" -> "$150000M"
        found = NUMBER.search(text)
        if found is None:
            raise ValueError(f"no number in {value!r}")
        numbers.append(float(found.group()))
        frames.add((text[: found.start()], text[found.end() :]))
    if len(frames) > 1:  # "500k" and "1M", "1 GW" and "800 MW": the same quantity in SI, if one dimension reads all
        return _in_si(values), ("", "")
    if not all(math.isfinite(n) for n in numbers):
        raise ValueError(f"values must be finite, got {list(values)}")
    return numbers, frames.pop()


def _in_si(values: Sequence[object]) -> list[float]:
    """``values`` in SI, read with the first dimension that reads every one of them (a scenario field takes SI
    numbers too)."""
    from computeplan.errors import UnitError
    from computeplan.units import Dimension, parse_quantity

    for dim in Dimension:
        try:
            return [float(parse_quantity(v if isinstance(v, int | float) else str(v), dim)) for v in values]
        except (UnitError, ValueError, TypeError):
            continue
    raise ValueError(f"give every value in the same unit, got {list(values)}")


@dataclass(frozen=True)
class Input:
    """One uncertain input: ``name`` (a column), ``kind`` ("field": a scenario path; "factor": a multiplier on a
    chip's rates, ``target`` = (chip, "training" | "serving")), the quantile function's ``form`` and ``params``,
    and for fields the ``frame`` (text around the number) or the ``values`` of a choice."""

    name: str
    kind: str
    form: str  # uniform, triangular, lognormal, choice, piecewise
    params: tuple[float, ...]
    frame: tuple[str, str] = ("", "")
    values: tuple[object, ...] = ()
    target: tuple[str, str] = ("", "")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Values at the uniform numbers ``u`` (for a choice: the index of the value)."""
        u = np.asarray(u, float)
        p = self.params
        if self.form == "uniform":
            return p[0] + u * (p[1] - p[0])
        if self.form == "triangular":
            a, c, b = p
            if b <= a:
                return np.full_like(u, a)
            cut = (c - a) / (b - a)
            low = a + np.sqrt(u * (b - a) * (c - a))
            high = b - np.sqrt((1 - u) * (b - a) * (b - c))
            return np.where(u < cut, low, high)
        if self.form == "lognormal":
            from scipy.special import ndtri  # type: ignore[import-untyped]

            median, sigma = math.sqrt(p[0] * p[1]), math.log(p[1] / p[0]) / (2 * Z90)
            return np.asarray(median * np.exp(sigma * ndtri(np.clip(u, 1e-12, 1 - 1e-12))), float)
        if self.form == "choice":
            cumulative = np.cumsum(p) / sum(p)
            return np.minimum(np.searchsorted(cumulative, u, side="right"), len(p) - 1).astype(float)
        if self.form == "piecewise":  # (p10, p50, p90) of a factor, continued linearly to u = 0 and 1
            p10, p50, p90 = p
            knots = [0.0, 0.1, 0.5, 0.9, 1.0]
            values = [p10 - (p50 - p10) / 4, p10, p50, p90, p90 + (p90 - p50) / 4]
            factor: np.ndarray = np.maximum(np.interp(u, knots, values), 0.05)
            return factor
        raise ValueError(f"unknown form {self.form}")

    def text(self, value: float) -> object:
        """The override for a field: the number in its unit ("2.47 USD/h"), or the chosen value of a choice."""
        if self.form == "choice":
            return self.values[int(value)]
        number = repr(float(value))
        return f"{self.frame[0]}{number}{self.frame[1]}" if self.frame != ("", "") else number


def latin_hypercube(samples: int, dimensions: int, seed: int) -> np.ndarray:
    """[samples, dimensions] uniform numbers, one per stratum of each column (scipy ``qmc.LatinHypercube``)."""
    if dimensions == 0:
        return np.zeros((samples, 0))
    from scipy.stats import qmc  # type: ignore[import-untyped]

    u: np.ndarray = qmc.LatinHypercube(d=dimensions, seed=np.random.default_rng(seed)).random(samples)
    return u


def draw(inputs: Sequence[Input], samples: int, seed: int) -> np.ndarray:
    """[samples, len(inputs)] values of each input (a choice as its value's index)."""
    u = latin_hypercube(samples, len(inputs), seed)
    out = np.empty_like(u)
    for j, item in enumerate(inputs):
        out[:, j] = item.quantile(u[:, j])
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Rank correlation of two columns (NaN where either is constant or fewer than 3 finite pairs)."""
    from scipy.stats import rankdata

    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    rx, ry = rankdata(x[keep]), rankdata(y[keep])
    return float(np.corrcoef(rx, ry)[0, 1])
