"""Which training parameters to fit: leave-one-source-out error when fitting the realized share alone or with one more.

For each choice, every publication's runs are predicted by per-family fits (3 runs from 2 publications, else the
borrowed or cross-chip fit, as `computeplan validate` does) on the other publications' runs; parameters not fitted
keep their pinned values (a family's microbenchmark-pinned attention stays pinned). Results are quoted in
the docstring of `computeplan.hardware.efficiency`.
Usage: python benchmarks/loso_parameter_spaces.py [FILE.csv]   (about five minutes)
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from computeplan.calibration.fit import enough_evidence, family_weights, fit
from computeplan.calibration.publications import publication
from computeplan.calibration.service import read_runs_file
from computeplan.calibration.training import TRAINING
from computeplan.catalog import load_catalog
from computeplan.catalog.efficiency_schema import Parameter, ParameterSpace
from computeplan.hardware.efficiency import BORROWS_FROM, PRIOR, TRAINING_SPACE

RUNS = Path(__file__).parents[1] / "tests" / "golden" / "data" / "calibration-training.csv"
# the bounds the earlier five-parameter fit used; priors are the pinned values
EXTRA = {
    "matmul_half_dim": Parameter(name="matmul_half_dim", low=1.0, high=4096.0, prior=100.0, log_scale=True),
    "network_efficiency": Parameter(name="network_efficiency", low=0.2, high=1.0, prior=0.8),
    "dp_overlap": Parameter(name="dp_overlap", low=0.0, high=1.0, prior=0.8),
    "attention_relative": Parameter(name="attention_relative", low=0.2, high=1.0, prior=0.5),
}
CHOICES = [(), ("attention_relative",), ("dp_overlap",), ("matmul_half_dim",), ("network_efficiency",), tuple(EXTRA)]


def loso_errors(space: ParameterSpace, prepared: list) -> list[float]:  # type: ignore[type-arg]
    predict = TRAINING.predictor()
    errors = []
    for pub in sorted({publication(item.run.source) for item in prepared}):
        train = [i for i in prepared if publication(i.run.source) != pub]
        families = defaultdict(list)
        for item in train:
            families[TRAINING.family(item.case)].append(item)
        fits = {
            f: fit(space, rows, predict)
            for f, rows in families.items()
            if enough_evidence(rows, TRAINING.min_family_rows, TRAINING.min_family_sources)
        }
        established = {f for f, rows in families.items() if f in fits}
        weights = family_weights([TRAINING.family(item.case) for item in train], established)
        default = fit(space, train, predict, weights=weights)  # as calibration.fit.fit_default weighs families
        for item in (i for i in prepared if publication(i.run.source) == pub):
            family = TRAINING.family(item.case)
            lent = [fits[lender] for lender in BORROWS_FROM.get(family, ()) if lender in fits]
            values = fits.get(family) or (lent[0] if lent else default)
            predicted = TRAINING.predict(item, PRIOR.with_values(values))
            if predicted is not None:
                errors.append(100.0 * abs(predicted.value / item.run.value - 1.0))
    return errors


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    catalog = load_catalog()
    _, runs_file = read_runs_file(path, catalog)
    prepared, _ = TRAINING.prepare_all(runs_file.runs, catalog)
    print("| fitted per family | LOSO median % | 90th percentile % | worst % |")
    print("| --- | --- | --- | --- |")
    for extra in CHOICES:
        space = ParameterSpace((*TRAINING_SPACE, *(EXTRA[name] for name in extra)))
        errors = loso_errors(space, prepared)
        names = ", ".join(("realized_fraction", *extra)) if len(extra) < len(EXTRA) else "all five"
        print(f"| {names} | {np.median(errors):.1f} | {np.percentile(errors, 90):.1f} | {max(errors):.1f} |")


if __name__ == "__main__":
    main()
