"""Validate and calibrate measured-run files: the entry points the API facade calls.

A file holds training runs or serving runs (told apart by its columns, docs/runs-schema.md); each row is predicted
with the row's own layout and compared with what was measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError
from computeplan.estimate.efficiency import EfficiencyTables
from computeplan.files import read_text


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """Predicted vs measured rows of a training or serving CSV; held-out rows summarised apart."""

    kind: str  # "training" or "inference"
    rows: list[Any]
    skipped: list[tuple[str, str]]
    held_out: set[str]
    summary: dict[str, Any]
    summary_fit: dict[str, Any]
    summary_held_out: dict[str, Any]

    def to_frame(self) -> Any:
        """One row per measured run (index: run id): predicted, measured, error %, layout, reason."""
        import pandas as pd

        records = [{**r.to_dict(), "held_out": r.id in self.held_out} for r in self.rows]
        return pd.DataFrame(records).set_index("id") if records else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": [r.to_dict() for r in self.rows],
            "skipped": [{"id": i, "reason": why} for i, why in self.skipped],
            "held_out": sorted(self.held_out),
            "median_abs_error_pct": self.summary["median_abs_error_pct"],
            "max_abs_error_pct": self.summary["max_abs_error_pct"],
            "fitted": self.summary_fit,
            "held_out_summary": self.summary_held_out,
        }


def is_inference_file(path: str | Path) -> bool:
    """Whether a measured-runs CSV holds serving runs (its header has the inference column 'scenario')."""
    from computeplan.calibration.runs import RunFileError

    header = read_text(path, what="runs file", error=RunFileError).splitlines()[:1]
    return bool(header) and "scenario" in [c.strip() for c in header[0].split(",")]


def _report(
    kind: str, rows: list[Any], run_ids: Sequence[str], held: set[str], skipped: list[tuple[str, str]]
) -> ValidationReport:
    from computeplan.calibration.validate import summarize

    order = {run_id: i for i, run_id in enumerate(run_ids)}
    rows.sort(key=lambda r: order.get(r.id, 0))
    return ValidationReport(
        kind=kind,
        rows=rows,
        skipped=skipped,
        held_out=held,
        summary=summarize(rows),
        summary_fit=summarize([r for r in rows if r.id not in held]),
        summary_held_out=summarize([r for r in rows if r.id in held]),
    )


def validate_file(path: str | Path, catalog: Catalog, tables: EfficiencyTables) -> ValidationReport:
    """Predict every row of a training or serving CSV and summarize the error (held-out rows reported apart)."""
    from computeplan.calibration.fit import split

    if is_inference_file(path):
        from computeplan.calibration import inference as ci

        runs, skipped = ci.read_inference_runs(path, catalog)
        prepared, failed = [], []
        for run in runs:
            try:
                prepared.append(ci.prepare(run, catalog))
            except ComputeplanError as exc:
                failed.append(ci.failed_row(run, str(exc)))
        rows = ci.validate(prepared, tables.serving) + failed
        held = {p.run.id for p in split(prepared)[1]}
        return _report("inference", rows, [run.id for run in runs], held, skipped)
    from computeplan.calibration.runs import read_training_runs
    from computeplan.calibration.validate import prepare_all, validate_runs

    runs_t, skipped = read_training_runs(path, catalog)
    prepared_t, failed_t = prepare_all(runs_t, catalog)
    rows_t = validate_runs(prepared_t, tables.training) + failed_t
    held = {p.run.id for p in split(prepared_t)[1]}
    return _report("training", rows_t, [run.id for run in runs_t], held, skipped)


def calibrate_file(path: str | Path, catalog: Catalog) -> dict[str, Any]:
    """Fit the efficiency parameters per chip family on a measured-runs CSV (held-out rows excluded)."""
    if is_inference_file(path):
        from computeplan.calibration import inference as ci

        serving, _ = ci.read_inference_runs(path, catalog)
        return ci.fit_table([ci.prepare(run, catalog) for run in serving])
    from computeplan.calibration.fit import fit_table
    from computeplan.calibration.runs import read_training_runs
    from computeplan.calibration.validate import prepare_all

    runs, _ = read_training_runs(path, catalog)
    prepared, _ = prepare_all(runs, catalog)
    return fit_table(prepared)


def table_for(tables: EfficiencyTables, kind: str) -> Mapping[str, Any] | None:
    return tables.serving if kind == "inference" else tables.training
