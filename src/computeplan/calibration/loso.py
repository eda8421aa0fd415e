"""Leave-one-source-out (LOSO) accuracy: every row predicted by a fit that never saw any row of its publication.

For each publication P (see :func:`publication`), the parameters per chip family and the cross-chip default are
fitted, with :func:`computeplan.calibration.fit.fit_table` (no row held out), on every row *not* from P; then P's
rows are predicted with that fit. A family with no row left after removing P is predicted with the cross-chip
default fitted without P, and the row says so ("uncalibrated"). The layout of a blank field is searched with the
fold's parameters, so neither the fit nor a layout chosen by fitted parameters has seen the row it predicts.

This is the headline accuracy of docs/ACCURACY.md: the error a user should expect on runs the project has never
seen. The every-fourth-row split (:func:`computeplan.calibration.fit.split`) is secondary, and the error of the
shipped tables on their own fit rows is in-sample.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from computeplan.calibration.fit import fit_table
from computeplan.calibration.model import CalibratedModel, Memo, Prepared
from computeplan.calibration.publications import publication
from computeplan.calibration.runs import Progress
from computeplan.calibration.validate import ErrorSummary, RowResult, row_result, summarize
from computeplan.catalog.loader import Catalog


@dataclass(frozen=True, kw_only=True)
class LosoResult:
    """Each row predicted without its publication (``rows`` in file order), and the error overall, per chip family
    and per publication (``source_of``: row id -> publication)."""

    rows: list[RowResult]
    source_of: dict[str, str]
    summary: ErrorSummary
    by_family: dict[str, ErrorSummary]
    by_source: dict[str, ErrorSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary.to_dict(),
            "by_family": {k: v.to_dict() for k, v in self.by_family.items()},
            "by_source": {k: v.to_dict() for k, v in self.by_source.items()},
            "rows": [{**r.to_dict(), "source": self.source_of.get(r.id, "")} for r in self.rows],
        }


def loso_units(runs: Sequence[Any]) -> int:
    """Progress units of :func:`leave_one_source_out` on ``runs``: one per row prepared, then per fold two per row
    fitted (its family's fit and the default's) and one per row predicted."""
    sizes = _group_sizes(runs)
    n = len(runs)
    return n + sum(2 * (n - size) + size for size in sizes.values())


def _group_sizes(runs: Sequence[Any]) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for run in runs:
        sizes[publication(run.source)] += 1
    return sizes


def leave_one_source_out(
    model: CalibratedModel[Any, Any, Any, Any],
    runs: Sequence[Any],
    catalog: Catalog,
    *,
    progress: Progress | None = None,
    done: int = 0,
    total: int | None = None,
) -> LosoResult:
    """Predict every run with parameters fitted on the runs of the other publications (see the module docstring).

    ``progress(done, total)`` advances by :func:`loso_units`; ``done`` and ``total`` carry a caller's earlier work.
    A run that cannot be prepared keeps its reason; a publication with no other to fit on is not predicted.
    """
    total = done + loso_units(runs) if total is None else total
    cases: dict[Hashable, Any] = {}
    outcomes: list[Prepared[Any, Any] | str] = []
    for run in runs:
        case = model.case_of(run, catalog, cases)
        outcomes.append(case if isinstance(case, str) else Prepared(run, case))
        done += 1
        if progress is not None:
            progress(done, total)
    source_of = {run.id: publication(run.source) for run in runs}
    predicted: dict[int, RowResult] = {}  # index in runs -> result
    n = len(runs)
    for source, size in sorted(_group_sizes(runs).items()):
        held = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Prepared) and source_of[o.run.id] == source]
        train = [o for o in outcomes if isinstance(o, Prepared) and source_of[o.run.id] != source]
        fold_end = done + 2 * (n - size) + size
        if held and train:
            table = fit_table(
                model, train, hold_out=False, progress=with_total(progress, total), done=done, total=fold_end - size
            )
            others = len({source_of[item.run.id] for item in train})
            memo: Memo = {}
            lists: dict[tuple[str, ...], list[str]] = {}
            params: dict[str, Any] = {}
            for i, item in held:
                family = model.family(item.case)
                if family not in params:
                    params[family] = model.efficiency(family, table)
                row = row_result(model, item, family, params[family], memo, lists)
                predicted[i] = _with_fold_note(row, family, len(train), others)
        else:
            for i, item in held:
                reason = f"leave-one-source-out: no publication but {source} to fit on"
                predicted[i] = RowResult(
                    id=item.run.id,
                    metric=item.run.metric,
                    measured=item.run.value,
                    chip=item.run.chip,
                    family=model.family(item.case),
                    reason=reason,
                )
        done = fold_end
        if progress is not None:
            progress(done, total)
    rows = [
        predicted.get(i)
        or RowResult(id=run.id, metric=run.metric, measured=run.value, chip=run.chip, reason=str(outcomes[i]))
        for i, run in enumerate(runs)
    ]
    return LosoResult(
        rows=rows,
        source_of=source_of,
        summary=summarize(rows),
        by_family=_by(rows, lambda r: r.family or "(not prepared)"),
        by_source=_by(rows, lambda r: source_of[r.id]),
    )


def with_total(progress: Progress | None, total: int) -> Progress | None:
    """``progress`` reporting the overall ``total`` whatever total a fold's fit reports."""
    if progress is None:
        return None
    report = progress
    return lambda done, _: report(done, total)


def _with_fold_note(row: RowResult, family: str, fit_rows: int, sources: int) -> RowResult:
    """The row with a note on what its fold was fitted on (and, for a family no other publication has, that the
    cross-chip default of the fold predicted it)."""
    plural = "s" if sources != 1 else ""
    if row.calibrated:
        note = f"leave-one-source-out: fitted on {fit_rows} rows of {sources} other publication{plural}"
    else:
        note = (
            f"leave-one-source-out: {row.calibration}: too few runs of family {family} in other publications; "
            f"predicted with a fit on {fit_rows} rows of {sources} other publication{plural}"
        )
    notes = [n for n in row.notes if not n.startswith(("uncalibrated: ", "borrowed: "))]
    return replace(row, notes=[*notes, note])


def _by(rows: Sequence[RowResult], key: Any) -> dict[str, ErrorSummary]:
    groups: dict[str, list[RowResult]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {name: summarize(group) for name, group in sorted(groups.items())}
