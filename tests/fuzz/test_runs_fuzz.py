"""Fuzz measured-run CSVs for ``validate``: a few rows of tests/golden/data/calibration-{training,inference}.csv
with one cell changed (blank, 0, -1, nan, inf, 1e400, a 400-digit int, text, an unknown chip, a newline).

A bad cell is a bad row, not a bad file: ``computeplan.api.validate`` must not raise (a ComputeplanError is for
file-level problems only: unreadable, not CSV, missing columns), the changed row must be reported (predicted, or
in ``report.skipped`` with a reason), a row whose required cell is broken must be in ``report.skipped``, and the
report's JSON must be finite.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import computeplan
from computeplan.errors import ComputeplanError
from tests.fuzz.harness import check_physics
from tests.fuzz.strategies import CSV_CELLS, HUGE, examples

DATA = Path(__file__).resolve().parents[1] / "golden" / "data"
FILES = {kind: DATA / f"calibration-{kind}.csv" for kind in ("training", "inference")}


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return list(reader.fieldnames or []), list(reader)


TABLES = {kind: _read(path) for kind, path in FILES.items()}
# Cells without which a row cannot be predicted, and the values that break each (every one must skip the row).
BROKEN = {
    "num_chips": ["0", "-1", "nan", "inf", "1e400", HUGE, "banana", "1.5"],  # blank: one chip, for serving rows
    "chip": ["", "h10", "banana", "ü"],
    "metric": ["", "banana", "0"],
    "value": ["", "0", "-1", "nan", "inf", "-inf", "1e400", HUGE, "banana"],
}
BROKEN_TRAINING = {
    "global_batch": ["", "0", "-1", "nan", "inf", "1e400", HUGE, "banana", "1.5"],
    "num_chips": ["", *BROKEN["num_chips"]],
}
NOTES = ("source", "notes", "framework")  # free text: any value is fine


@st.composite
def changed_file(draw: Any) -> tuple[str, list[str], list[dict[str, str]], str, str]:
    """(kind, header, three rows of which the first has ``column`` set to ``cell``, column, cell)."""
    kind = draw(st.sampled_from(sorted(TABLES)))
    header, rows = TABLES[kind]
    start = draw(st.integers(0, len(rows) - 3))
    chosen = [dict(r) for r in rows[start : start + 3]]
    column = draw(st.sampled_from([c for c in header if c != "id"]))
    broken = {**BROKEN, **(BROKEN_TRAINING if kind == "training" else {})}
    cell = draw(
        st.sampled_from(broken[column]) if column in broken and draw(st.booleans()) else st.sampled_from(CSV_CELLS)
    )
    chosen[0][column] = cell
    return kind, header, chosen, column, cell


def _write(tmp: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path = tmp / "runs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _is_broken(kind: str, column: str, cell: str) -> bool:
    broken = {**BROKEN, **(BROKEN_TRAINING if kind == "training" else {})}
    return cell in broken.get(column, [])


@examples(60)
@given(changed_file())
def test_a_bad_cell_skips_its_row_not_the_file(tmp_path_factory, case):
    kind, header, rows, column, cell = case
    path = _write(tmp_path_factory.mktemp("runs"), header, rows)
    report = computeplan.validate(path)  # a cell is never a file-level problem: no exception at all
    data = report.to_dict()
    json.dumps(data, allow_nan=False, default=str)
    check_physics(data, nonnegative=False)
    changed = rows[0]["id"]
    predicted = {r.id for r in report.rows}
    skipped = {row_id for row_id, _ in report.skipped}
    event("skipped" if changed in skipped else "predicted" if changed in predicted else "lost")
    assert changed in predicted | skipped, f"{column}={cell!r}: row {changed} is neither predicted nor skipped"
    if _is_broken(kind, column, cell):
        assert changed in skipped, f"{column}={cell!r}: row {changed} should be in report.skipped"
        assert changed not in predicted
    for row in report.rows:
        if row.id == changed and row.predicted is not None:
            assert row.predicted > 0, f"{column}={cell!r}: predicted {row.predicted}"


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize(
    ("column", "cell"),
    [("num_chips", "0"), ("num_chips", HUGE), ("value", "nan"), ("value", "1e400"), ("chip", "h10")],
)
def test_each_broken_required_cell_is_skipped(tmp_path, kind, column, cell):
    header, rows = TABLES[kind]
    chosen = [dict(r) for r in rows[:3]]
    chosen[1][column] = cell
    report = computeplan.validate(_write(tmp_path, header, chosen))
    assert chosen[1]["id"] in {row_id for row_id, _ in report.skipped}
    assert {chosen[0]["id"], chosen[2]["id"]} <= {r.id for r in report.rows}


@pytest.mark.parametrize(
    "text",
    ["", "id\n", "\x00\x01", "a,b\n1,2\n", "id,chip\nx,y\n", '"unclosed\n'],
    ids=["empty", "header only", "binary", "other columns", "missing columns", "unclosed quote"],
)
def test_a_bad_file_is_one_error(tmp_path, text):
    path = tmp_path / "runs.csv"
    path.write_text(text)
    try:
        report = computeplan.validate(path)
    except ComputeplanError as exc:
        assert "\n" not in str(exc).strip()
        return
    assert not report.rows  # a file without runs predicts nothing
