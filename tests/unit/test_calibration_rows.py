"""Files never break: a bad row is skipped with its id and the reason and the other rows are still predicted;
only a problem with the file as a whole is an error. Rows of one configuration share their preparation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from computeplan.calibration.runs import RunFileError
from computeplan.calibration.service import calibrate_file, calibrate_table, is_inference_file, validate_file
from computeplan.calibration.training import TRAINING
from computeplan.catalog.loader import load_catalog
from computeplan.estimate.efficiency import builtin_efficiency_tables

DATA = Path(__file__).parents[1] / "golden" / "data"
TRAINING_TEXT = (DATA / "calibration-training.csv").read_text(encoding="utf-8")
SERVING_TEXT = (DATA / "calibration-inference.csv").read_text(encoding="utf-8")
CATALOG = load_catalog()
TABLES = builtin_efficiency_tables()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(path: Path, text: str, good: list[str], bad: list[dict[str, str]]) -> Path:
    rows = {r["id"]: r for r in _rows(text)}
    fields = list(next(iter(rows.values())))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row_id in good:
        writer.writerow(rows[row_id])
    for row in bad:
        writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


GOOD_TRAINING = ["T001", "T002", "T003"]
GOOD_SERVING = ["I006", "I007", "I008"]


def _training_file(tmp_path: Path, **changes: str) -> Path:
    bad = {**_rows(TRAINING_TEXT)[3], "id": "BAD", **changes}
    return _write(tmp_path / "runs.csv", TRAINING_TEXT, GOOD_TRAINING, [bad])


def _serving_file(tmp_path: Path, **changes: str) -> Path:
    template = next(r for r in _rows(SERVING_TEXT) if r["id"] == "I009")
    bad = {**template, "id": "BAD", **changes}
    return _write(tmp_path / "runs.csv", SERVING_TEXT, GOOD_SERVING, [bad])


def _skipped_reason(path: Path) -> str:
    report = validate_file(path, CATALOG, TABLES)
    assert [r.id for r in report.rows] == GOOD_TRAINING if report.kind == "training" else GOOD_SERVING
    assert all(r.predicted is not None for r in report.rows), "the good rows are still predicted"
    assert [row_id for row_id, _ in report.skipped] == ["BAD"]
    return report.skipped[0][1]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"value": "fast"}, "column 'value' must be a number, got 'fast'"),
        ({"value": "nan"}, "column 'value' must be a finite positive number, got 'nan'"),
        ({"value": "NaN"}, "column 'value' must be a finite positive number, got 'NaN'"),
        ({"value": "inf"}, "column 'value' must be a finite positive number, got 'inf'"),
        ({"value": "1e400"}, "column 'value' must be a finite positive number, got '1e400'"),
        ({"value": "0"}, "column 'value' must be positive, got '0'"),
        ({"value": "-2.5"}, "column 'value' must be positive, got '-2.5'"),
        ({"value": ""}, "column 'value' is blank"),
        ({"heads": "0"}, "column 'heads' must be at least 1, got 0"),
        ({"head_dim": "0"}, "column 'head_dim' must be at least 1, got 0"),
        ({"heads": "100000", "kv_heads": ""}, "leaves no head dimension"),
        ({"vpp": "0"}, "column 'vpp' must be at least 1, got 0"),
        ({"micro_batch": "0"}, "column 'micro_batch' must be at least 1, got 0"),
        ({"layers": "9" * 400}, "column 'layers' must be at most 10,000 (beyond any real model), got a 400-digit"),
        ({"num_chips": "1" * 5000}, "column 'num_chips' must be at most 2,147,483,647, got a 5000-digit number"),
        ({"global_batch": "nan"}, "column 'global_batch' must be a whole number, got 'nan'"),
        ({"tp": "2.5"}, "column 'tp' must be a whole number, got '2.5'"),
        ({"num_chips": ""}, "column 'num_chips' is blank; it is required"),
        ({"model": "llama3-8", "layers": "", "hidden": ""}, "unknown model 'llama3-8': did you mean 'llama3-8b'"),
        ({"chip": ""}, "column 'chip' is blank"),
        (
            {"recompute": "ful"},
            "column 'recompute' must be one of none, selective, full, half, cheap, got 'ful' (did you mean",
        ),
        ({"sequence_parallel": "yes"}, "column 'sequence_parallel' must be one of true, false, got 'yes'"),
        ({"zero_stage": "4"}, "column 'zero_stage' must be at most 3, got 4"),
        ({"metric": "tokens_per_s"}, "not a training metric (did you mean 'tokens_per_s_per_chip'?)"),
        ({"metric": "mfu", "value": "45"}, "mfu is a fraction of peak in (0, 1], got 45 (a percentage?)"),
        ({"id": "T001"}, "duplicate id (first on line 2)"),
    ],
)
def test_a_bad_training_row_is_skipped_with_its_reason(tmp_path, changes, reason):
    if changes.get("id") == "T001":  # a duplicate id is reported under that id
        report = validate_file(_training_file(tmp_path, **changes), CATALOG, TABLES)
        assert [r.id for r in report.rows] == GOOD_TRAINING and all(r.predicted for r in report.rows)
        assert report.skipped == [("T001", "line 5: " + reason)]
        return
    message = _skipped_reason(_training_file(tmp_path, **changes))
    assert message.startswith("line 5: ") and reason in message


def test_a_row_without_an_id_is_skipped_by_its_line(tmp_path):
    report = validate_file(_training_file(tmp_path, id=""), CATALOG, TABLES)
    assert report.skipped == [("line 5", "line 5: column 'id' is blank")]


def test_an_unknown_chip_is_skipped_with_a_suggestion(tmp_path):
    message = _skipped_reason(_training_file(tmp_path, chip="h100-sx"))
    assert message.startswith("line 5: column 'chip': unknown chip 'h100-sx': did you mean 'h100-sxm'")


def test_a_row_that_no_layout_can_run_is_a_result_without_prediction(tmp_path):
    path = _serving_file(tmp_path, tp="3", num_chips="8")  # 3 does not divide 8
    report = validate_file(path, CATALOG, TABLES)
    bad = report.rows[-1]
    assert bad.id == "BAD" and bad.predicted is None and "no tp x pp x precision divides 8 chips" in (bad.reason or "")
    assert [r.predicted is not None for r in report.rows] == [True, True, True, False] and not report.skipped
    assert report.summary.count == 4 and report.summary.predicted == 3


def test_a_row_with_more_cells_than_the_header_is_skipped(tmp_path):
    path = _training_file(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], lines[-1] + ",extra"]) + "\n")
    assert "cells where the header has" in _skipped_reason(path)


def test_a_serving_row_without_lengths_is_skipped(tmp_path):
    path = _serving_file(tmp_path, input_len="", output_len="128")
    assert is_inference_file(path)
    message = _skipped_reason(path)
    assert message.startswith("line 5: input_len blank: the request lengths are required")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"value": "nan"}, "column 'value' must be a finite positive number"),
        ({"input_len": "0"}, "column 'input_len' must be at least 1, got 0"),
        ({"batch_size": "1" * 400}, "got a 400-digit number"),
        ({"weight_precision": "fp16"}, "column 'weight_precision' must be one of bf16, fp8, int8, fp4, int4"),
        ({"kv_precision": "int8"}, "column 'kv_precision' must be one of bf16, fp8"),
        ({"heads": "0"}, "column 'heads' must be at least 1"),
        ({"metric": "step_time_s"}, "not an inference metric"),
    ],
)
def test_a_bad_serving_row_is_skipped_with_its_reason(tmp_path, changes, reason):
    assert reason in _skipped_reason(_serving_file(tmp_path, **changes))


def test_calibrate_goes_on_past_bad_rows_and_lists_them(tmp_path):
    path = _training_file(tmp_path, value="nan")
    table = calibrate_file(path, CATALOG)
    assert table["skipped"] == [
        {"id": "BAD", "reason": "line 5: column 'value' must be a finite positive number, got 'nan'"}
    ]
    # the good rows come from one publication: too little evidence for a family fit, so only the default is fitted
    assert table["fitted_on"] == GOOD_TRAINING and table["families"] == {} and table["default"]["rows"] == 3


def test_calibrate_lists_rows_that_cannot_be_prepared(tmp_path):
    table = calibrate_table(_serving_file(tmp_path, tp="3", num_chips="8"), CATALOG)
    assert table.skipped == (("BAD", "line 5: no tp x pp x precision divides 8 chips of h100-sxm"),)
    assert table.fitted_on == tuple(GOOD_SERVING)


def test_calibrate_with_no_usable_row_says_so(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(TRAINING_TEXT.splitlines()[0] + "\n")
    with pytest.raises(Exception, match="nothing to fit: the file has no rows below its header"):
        calibrate_file(path, CATALOG)


# --- file-level problems -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "runs file is empty"),
        (b"\n\n", "runs file is empty"),
        (b"id,foo\n1,2\n", "missing column(s) chip, num_chips, global_batch, metric, value; see docs/runs-schema.md"),
        (b"id,chip,num_chips,global_batch,metric,value\n", "needs a 'model' column or the 'layers' and 'hidden'"),
        (b"id,id,chip\n", "column(s) id appear more than once"),
        (b"a: 1\nb: [2, 3]\n", "missing column(s)"),
        (b"\xff\xfeid,chip\n", "not UTF-8 text"),
    ],
)
def test_a_bad_file_is_one_error(tmp_path, content, problem):
    path = tmp_path / "runs.csv"
    path.write_bytes(content)
    with pytest.raises(RunFileError) as info:
        validate_file(path, CATALOG, TABLES)
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message
    assert "SCHEMA.md" not in message


def test_a_missing_file_is_one_error(tmp_path):
    with pytest.raises(RunFileError, match="runs file does not exist"):
        validate_file(tmp_path / "nope.csv", CATALOG, TABLES)


def test_a_quoted_cell_may_span_lines_and_crlf_is_read(tmp_path):
    path = _training_file(tmp_path, notes="first line\nsecond line")
    text = path.read_text().replace("\n", "\r\n")
    path.write_bytes(text.encode())
    report = validate_file(path, CATALOG, TABLES)
    assert [r.id for r in report.rows] == [*GOOD_TRAINING, "BAD"] and not report.skipped


# --- scale: shared preparation, progress ---------------------------------------------------------------------------


def test_rows_of_one_configuration_share_their_case(tmp_path):
    rows = _rows(TRAINING_TEXT)
    copies = [{**rows[0], "id": f"C{i}", "value": str(3.0 + i)} for i in range(5)]
    path = _write(tmp_path / "runs.csv", TRAINING_TEXT, [], copies)
    from computeplan.calibration.service import read_runs_file

    _, runs_file = read_runs_file(path, CATALOG)
    prepared, failed = TRAINING.prepare_all(runs_file.runs, CATALOG)
    assert not failed and len({id(p.case) for p in prepared}) == 1
    predictions = TRAINING.predict_all(prepared, TABLES.for_training("nvidia-ampere"))
    assert len({p.value for p in predictions if p}) == 1
    report = validate_file(path, CATALOG, TABLES)
    assert [round(r.error_pct or 0, 6) for r in report.rows] == [
        round(100 * (report.rows[0].predicted - (3.0 + i)) / (3.0 + i), 6)  # type: ignore[operator]
        for i in range(5)
    ]


def test_progress_reaches_the_total(tmp_path):
    path = _training_file(tmp_path, value="nan")
    calls: list[tuple[int, int]] = []
    validate_file(path, CATALOG, TABLES, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    calibrate_file(path, CATALOG, progress=lambda done, total: calls.append((done, total)))
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and calls[-1] == (9, 9) and {t for _, t in calls} == {9}
