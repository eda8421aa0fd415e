"""Validate and calibrate measured-run files: the entry points the API facade calls.

A file holds training runs or serving runs (told apart by its columns, docs/runs-schema.md); each row is predicted
with the row's own layout and compared with what was measured. A row that cannot be used is skipped with its id
and the reason; only a problem with the file as a whole (unreadable, not CSV, a required column missing) raises
:class:`~computeplan.calibration.runs.RunFileError`.

``progress(done, total)``, where given, is called as rows are processed (validate: each row prepared and
predicted; calibrate: each row prepared, then each family's fit rows and the default's), done == total at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from computeplan.calibration.bands import error_bands
from computeplan.calibration.fit import fit_table, split
from computeplan.calibration.loso import LosoResult, leave_one_source_out, loso_units, with_total
from computeplan.calibration.model import CalibratedModel
from computeplan.calibration.runs import Progress, RunsCsv, RunsFile, read_runs
from computeplan.calibration.serving import SERVING
from computeplan.calibration.training import TRAINING
from computeplan.calibration.validate import ErrorSummary, RowResult, summarize, validate_runs
from computeplan.catalog.efficiency_schema import EfficiencyTable
from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError
from computeplan.estimate.efficiency import EfficiencyTables

if TYPE_CHECKING:
    import pandas as pd

MODELS: dict[str, CalibratedModel[Any, Any, Any, Any]] = {"training": TRAINING, "inference": SERVING}


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """Predicted vs measured rows of a training or serving CSV; held-out rows summarised apart.

    ``rows`` are predicted with the shipped tables (in-sample for their fit rows); ``loso``, when asked for, holds
    the leave-one-source-out predictions, the headline accuracy.
    """

    kind: str  # "training" or "inference"
    rows: list[RowResult]
    skipped: list[tuple[str, str]]
    held_out: set[str]
    summary: ErrorSummary
    summary_fit: ErrorSummary
    summary_held_out: ErrorSummary
    loso: LosoResult | None = None

    def to_frame(self) -> pd.DataFrame:
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
            "median_abs_error_pct": self.summary.median_abs_error_pct,
            "max_abs_error_pct": self.summary.max_abs_error_pct,
            "fitted": self.summary_fit.to_dict(),
            "held_out_summary": self.summary_held_out.to_dict(),
            **({"loso": self.loso.to_dict()} if self.loso is not None else {}),
        }


def is_inference_file(path: str | Path) -> bool:
    """Whether a measured-runs CSV holds serving runs (its header has the inference column 'scenario')."""
    return RunsCsv.read(path).kind == "inference"


def read_runs_file(path: str | Path, catalog: Catalog) -> tuple[CalibratedModel[Any, Any, Any, Any], RunsFile]:
    """The model a runs file is for, and its runs (bad rows in ``skipped``)."""
    source = RunsCsv.read(path)
    model = MODELS[source.kind]
    return model, read_runs(source, model, catalog)


def validate_file(
    path: str | Path,
    catalog: Catalog,
    tables: EfficiencyTables,
    *,
    progress: Progress | None = None,
    loso: bool = False,
) -> ValidationReport:
    """Predict every row of a training or serving CSV and summarize the error (held-out rows reported apart);
    with ``loso``, predict every row again by leave-one-source-out (:mod:`computeplan.calibration.loso`)."""
    model, runs_file = read_runs_file(path, catalog)
    runs = runs_file.runs
    total = len(runs) + (loso_units(runs) if loso else 0)
    rows, prepared = validate_runs(model, runs, catalog, tables.table(model.kind), progress=with_total(progress, total))
    held = {item.run.id for item in split(prepared)[1]}
    result = (
        leave_one_source_out(model, runs, catalog, progress=progress, done=len(runs), total=total) if loso else None
    )
    return _report(model.kind, rows, held, runs_file.skipped, result)


def _report(
    kind: str, rows: list[RowResult], held: set[str], skipped: list[tuple[str, str]], loso: LosoResult | None
) -> ValidationReport:
    return ValidationReport(
        kind=kind,
        rows=rows,
        skipped=skipped,
        held_out=held,
        summary=summarize(rows),
        summary_fit=summarize([r for r in rows if r.id not in held]),
        summary_held_out=summarize([r for r in rows if r.id in held]),
        loso=loso,
    )


def calibrate_table(path: str | Path, catalog: Catalog, *, progress: Progress | None = None) -> EfficiencyTable:
    """Fit the efficiency parameters per chip family on a measured-runs CSV (held-out rows excluded).

    Rows that cannot be read or prepared are listed in the table's ``skipped``; a file with no usable row raises.
    """
    model, runs_file = read_runs_file(path, catalog)
    runs = runs_file.runs
    total = len(runs)
    # progress units: one per row prepared, then two per row fitted (its family's fit and the default's)
    prepared, failed = model.prepare_all(
        runs, catalog, progress=None if progress is None else lambda done, _: progress(done, 3 * total)
    )
    skipped: Sequence[tuple[str, str]] = [
        *runs_file.skipped,
        *((f.run.id, f"line {f.run.line}: {f.reason}") for f in failed),
    ]
    if not prepared:
        rows = len(runs) + len(runs_file.skipped)
        if not rows:
            raise ComputeplanError(f"{runs_file.path}: nothing to fit: the file has no rows below its header")
        first_id, first_reason = skipped[0]
        more = f" (and {rows - 1} more; validating the file lists each)" if rows > 1 else ""
        raise ComputeplanError(
            f"{runs_file.path}: nothing to fit: none of its {rows} rows can be predicted; {first_id}: "
            f"{first_reason}{more}"
        )
    table = fit_table(
        model, prepared, skipped=skipped, progress=progress, done=total, total=3 * total, family_errors=True
    )
    loso = leave_one_source_out(model, runs, catalog)
    return replace(table, prediction_error=error_bands(loso.rows))


def calibrate_file(path: str | Path, catalog: Catalog, *, progress: Progress | None = None) -> dict[str, Any]:
    """:func:`calibrate_table` as the mapping written to YAML (``families``, ``default``, ``fitted_on``, ...)."""
    return calibrate_table(path, catalog, progress=progress).to_dict()
