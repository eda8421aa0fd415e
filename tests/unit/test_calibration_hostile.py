"""Regressions from the hostile-user review (issue 14) of measured-run files: values and architectures beyond
anything real are refused per row, a quote left open does not swallow the rows after it, and a row that cannot be
predicted says why (the chip count, the layout rule, the weights or the KV cache)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from computeplan.calibration.runs import ARCHITECTURE_LIMITS
from computeplan.calibration.service import calibrate_table, validate_file
from computeplan.calibration.serving import SERVING_VALUE_RANGES
from computeplan.calibration.training import TRAINING_VALUE_RANGES
from computeplan.catalog.loader import load_catalog
from computeplan.errors import ComputeplanError
from computeplan.estimate.efficiency import builtin_efficiency_tables

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "golden" / "data"
TRAINING_TEXT = (DATA / "calibration-training.csv").read_text(encoding="utf-8")
SERVING_TEXT = (DATA / "calibration-inference.csv").read_text(encoding="utf-8")
CATALOG = load_catalog()
TABLES = builtin_efficiency_tables()
GOOD_TRAINING = ["T001", "T002", "T003"]
GOOD_SERVING = ["I006", "I007", "I008"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _line(fields: list[str], row: dict[str, str]) -> str:
    out = io.StringIO()
    csv.DictWriter(out, fieldnames=fields, lineterminator="\n").writerow(row)
    return out.getvalue()


def _file(tmp_path: Path, text: str, template: str, good: list[str], *, bad_first: bool = False, **changes: str):
    rows = {r["id"]: r for r in _rows(text)}
    fields = list(next(iter(rows.values())))
    bad = _line(fields, {**rows[template], "id": "BAD", **changes})
    lines = [_line(fields, rows[i]) for i in good]
    body = [bad, *lines] if bad_first else [*lines, bad]
    path = tmp_path / "runs.csv"
    path.write_text(",".join(fields) + "\n" + "".join(body), encoding="utf-8")
    return path


def _training(tmp_path: Path, **changes: str) -> Path:
    return _file(tmp_path, TRAINING_TEXT, "T004", GOOD_TRAINING, **changes)


def _serving(tmp_path: Path, **changes: str) -> Path:
    return _file(tmp_path, SERVING_TEXT, "I009", GOOD_SERVING, **changes)


def _skipped(path: Path, good: list[str]) -> str:
    report = validate_file(path, CATALOG, TABLES)
    assert [r.id for r in report.rows] == good and all(r.predicted is not None for r in report.rows)
    assert [row_id for row_id, _ in report.skipped] == ["BAD"], report.skipped
    return report.skipped[0][1]


def _unpredicted(path: Path, good: list[str]) -> str:
    report = validate_file(path, CATALOG, TABLES)
    assert [r.id for r in report.rows] == [*good, "BAD"] and not report.skipped
    bad = report.rows[-1]
    assert bad.predicted is None and bad.error_pct is None and bad.reason
    return bad.reason


# --- 5. plausible measured values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "value", "shown"),
    [
        ("step_time_s", "1e-300", "step_time_s 1e-300 s is outside the plausible range 0.001-100000 s"),
        ("step_time_s", "1e6", "step_time_s 1e+06 s is outside"),
        ("tokens_per_s_per_chip", "1e8", "tokens_per_s_per_chip 1e+08 tokens/s is outside"),
        ("tflops_per_chip", "2e5", "tflops_per_chip 200000 TFLOP/s is outside"),
        ("tflops_per_chip", "1e-9", "tflops_per_chip 1e-09 TFLOP/s is outside"),
        ("mfu", "1e-5", "mfu 1e-05 is outside the plausible range 0.0001-1"),
    ],
)
def test_a_training_value_outside_its_metrics_range_is_skipped(tmp_path, metric, value, shown):
    reason = _skipped(_training(tmp_path, metric=metric, value=value), GOOD_TRAINING)
    assert reason.startswith("line 5: column 'value': ") and shown in reason and "(check the unit)" in reason


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("output_tokens_per_s", "1e10"),
        ("output_tokens_per_s", "1e-300"),
        ("output_tokens_per_s_per_chip", "1e8"),
        ("ttft_s", "1e-7"),
        ("tpot_s", "2e5"),
        ("e2e_latency_s", "1e-300"),
    ],
)
def test_a_serving_value_outside_its_metrics_range_is_skipped(tmp_path, metric, value):
    reason = _skipped(_serving(tmp_path, metric=metric, value=value), GOOD_SERVING)
    assert f"column 'value': {metric} " in reason and "is outside the plausible range" in reason


def test_values_at_the_ends_of_a_range_are_read(tmp_path):
    report = validate_file(_training(tmp_path, metric="mfu", value="1"), CATALOG, TABLES)
    assert not report.skipped and report.rows[-1].id == "BAD"


def test_calibrate_does_not_fit_to_an_implausible_value(tmp_path):
    table = calibrate_table(_training(tmp_path, value="1e-300"), CATALOG)
    assert [row_id for row_id, _ in table.skipped] == ["BAD"] and "plausible range" in table.skipped[0][1]
    assert table.fitted_on == tuple(GOOD_TRAINING)


# --- 6. architectures, scenarios, expert parallelism ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"layers": "1e9"}, "column 'layers' must be at most 10,000 (beyond any real model), got 1,000,000,000"),
        ({"hidden": "2000000"}, "column 'hidden' must be at most 1,000,000 (beyond any real model)"),
        ({"ffn_hidden": "1000001"}, "column 'ffn_hidden' must be at most 1,000,000"),
        ({"heads": "200000"}, "column 'heads' must be at most 100,000"),
        ({"vocab": "20000000"}, "column 'vocab' must be at most 10,000,000"),
        ({"seq_len": str(2**24 + 1)}, "column 'seq_len' must be at most 16,777,216"),
        ({"moe_experts": "1000000"}, "column 'moe_experts' must be at most 100,000"),
    ],
)
def test_an_architecture_beyond_any_real_model_is_skipped(tmp_path, changes, reason):
    assert reason in _skipped(_training(tmp_path, **changes), GOOD_TRAINING)


def test_architecture_limits_admit_every_golden_row():
    for text in (TRAINING_TEXT, SERVING_TEXT):
        for row in _rows(text):
            for column, limit in ARCHITECTURE_LIMITS.items():
                if row.get(column):
                    assert float(row[column]) <= limit, (row["id"], column)


def test_a_serving_scenario_outside_the_schema_is_skipped(tmp_path):
    reason = _skipped(_serving(tmp_path, scenario="online"), GOOD_SERVING)
    assert "column 'scenario' must be one of offline, server, latency, got 'online'" in reason


@pytest.mark.parametrize("maker", [_training, _serving])
def test_expert_parallelism_on_a_dense_model_is_skipped(tmp_path, maker):
    changes = {"num_chips": "1", "tp": "1", "pp": "1", "ep": "8"}
    if maker is _training:
        changes["dp"] = "1"
    good = GOOD_TRAINING if maker is _training else GOOD_SERVING
    reason = _skipped(maker(tmp_path, **changes), good)
    assert "column 'ep': expert parallelism (8) needs a mixture-of-experts model" in reason


def test_serving_expert_parallelism_beyond_the_chips_is_skipped(tmp_path):
    moe = {"moe_experts": "8", "moe_top_k": "2", "moe_ffn_hidden": "14336"}
    reason = _skipped(_serving(tmp_path, num_chips="1", ep="8", **moe), GOOD_SERVING)
    assert "column 'ep': 8 experts-parallel chips is more than num_chips (1)" in reason


# --- 7. quotes and cell counts ---------------------------------------------------------------------------------------


def _with_bad_line(tmp_path: Path, bad: str, *, at_end: bool = False) -> Path:
    lines = TRAINING_TEXT.splitlines(keepends=True)
    good = [line for line in lines[1:] if line.split(",", 1)[0] in GOOD_TRAINING]
    body = [*good, bad] if at_end else [bad, *good]
    path = tmp_path / "runs.csv"
    path.write_text(lines[0] + "".join(body), encoding="utf-8")
    return path


def _bad_cells(**changes: str) -> list[str]:
    template = next(r for r in _rows(TRAINING_TEXT) if r["id"] == "T004")
    row = {**template, "id": "BAD", "source": "src", **changes}
    return list(row.values())


def test_an_unterminated_quote_does_not_swallow_the_next_rows(tmp_path):
    cells = _bad_cells(notes="n")
    line = ",".join(cells).replace(",step_time_s,", ',"step_time_s,', 1) + "\n"
    reason = _skipped(_with_bad_line(tmp_path, line), GOOD_TRAINING)
    assert reason.startswith("line 2: unterminated quote: the quoted cell in column 'metric' is not closed")
    assert "metric ''" not in reason


def test_an_unterminated_quote_in_the_last_column_does_not_swallow_the_rest_of_the_file(tmp_path):
    line = ",".join(_bad_cells(notes='"an open note')) + "\n"
    reason = _skipped(_with_bad_line(tmp_path, line), GOOD_TRAINING)
    assert reason.startswith("line 2: unterminated quote: the quoted cell in column 'notes'")


def test_an_unterminated_quote_on_the_last_line_is_reported(tmp_path):
    line = ",".join(_bad_cells(notes='"an open note'))  # no line ending either
    reason = _skipped(_with_bad_line(tmp_path, line, at_end=True), GOOD_TRAINING)
    assert reason.startswith("line 5: unterminated quote") and "to the end of the file" in reason


def test_a_row_with_fewer_cells_than_the_header_is_skipped(tmp_path):
    reason = _skipped(_with_bad_line(tmp_path, "BAD,src,,24\n", at_end=True), GOOD_TRAINING)
    assert reason == "line 5: 4 cells where the header has 34 (a row cut short?)"


def test_a_stray_quote_that_closes_on_its_line_is_a_wrong_cell_count(tmp_path):
    line = ",".join(_bad_cells(notes='"a "quoted" note"')) + "\n"
    line = line.replace(",step_time_s,", ',"step_time_s,', 1)
    reason = _skipped(_with_bad_line(tmp_path, line), GOOD_TRAINING)
    assert "cells where the header has 34 (a quote left open or unmatched?)" in reason


def test_a_quote_left_open_over_more_than_the_readers_cell_limit_is_one_bad_row(tmp_path):
    rows = _rows(TRAINING_TEXT)

    def plain(row: dict[str, str]) -> str:  # no quotes anywhere, so the open one runs to the end of the file
        return ",".join(v.replace(",", ";").replace('"', "") for v in row.values())

    bad = plain({**rows[3], "id": "BAD"}).replace(",step_time_s,", ',"step_time_s,', 1)
    body = [plain({**rows[0], "id": f"X{i}"}) for i in range(600)]
    path = tmp_path / "runs.csv"
    path.write_text(",".join(rows[0]) + "\n" + bad + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    report = validate_file(path, CATALOG, TABLES)
    assert len(report.rows) == 600 and all(r.predicted is not None for r in report.rows)
    assert report.skipped == [
        (
            "BAD",
            "line 2: unterminated quote: a quoted cell is not closed on its line (field larger than field "
            "limit (131072))",
        )
    ]


def test_a_legitimate_multi_line_cell_is_still_one_row(tmp_path):
    path = _training(tmp_path, notes="first line\nsecond, with a comma\nthird")
    report = validate_file(path, CATALOG, TABLES)
    assert [r.id for r in report.rows] == [*GOOD_TRAINING, "BAD"] and not report.skipped


# --- 8. reasons that name the cause ---------------------------------------------------------------------------------


def test_calibrating_an_empty_file_names_no_command(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(TRAINING_TEXT.splitlines()[0] + "\n")
    with pytest.raises(ComputeplanError) as info:
        calibrate_table(path, CATALOG)
    message = str(info.value)
    assert message == f"{path}: nothing to fit: the file has no rows below its header"
    assert "computeplan" not in message.replace(str(path), "") and "--" not in message


def test_calibrating_a_file_of_bad_rows_gives_the_first_reason(tmp_path):
    path = _file(tmp_path, TRAINING_TEXT, "T004", [], value="nan")
    with pytest.raises(ComputeplanError) as info:
        calibrate_table(path, CATALOG)
    message = str(info.value)
    assert "nothing to fit: none of its 1 rows can be predicted; BAD: line 2: column 'value'" in message
    assert "computeplan validate" not in message


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"dp": "7"}, "tp*pp*dp = 8*1*7 = 56 does not divide num_chips (256); tp*pp*dp*cp must equal num_chips"),
        ({"cp": "2"}, "tp*pp*dp*cp = 8*1*32*2 = 512 does not equal num_chips (256)"),
        ({"tp": "3", "dp": "", "pp": ""}, "tp = 3 does not divide num_chips (256)"),
        ({"precision": "fp8"}, "fp8 is not supported by this chip"),
        ({"tp": "8", "heads": "12"}, "tp does not divide the attention heads"),
        ({"tp": "8", "heads": "24", "kv_heads": "3"}, "the key/value heads and tp do not divide one another"),
    ],
)
def test_a_training_row_no_layout_can_run_says_why(tmp_path, changes, reason):
    found = _unpredicted(_training(tmp_path, **changes), GOOD_TRAINING)
    assert found.startswith("no layout consistent with the row can run: ") and reason in found


def test_a_serving_row_whose_kv_cache_does_not_fit_says_so(tmp_path):
    long = _unpredicted(_serving(tmp_path, output_len="1e12"), GOOD_SERVING)
    assert long.startswith("the KV cache of one sequence of 1,000,000,000,128 tokens (input_len + output_len)")
    assert "weights do not fit" not in long
    # a static batch (Transformers NeuronX batches statically) must fit at once
    static = {"batch_size": "100000000", "framework": "Transformers NeuronX"}
    batch = _unpredicted(_serving(tmp_path, **static), GOOD_SERVING)
    assert batch.startswith("the KV cache of a batch of 100,000,000 sequences of 256 tokens")
    assert re.search(r"at most [\d,]+ such sequences fit", batch)


def test_a_closed_loop_beyond_the_kv_cache_is_served_as_far_as_it_holds(tmp_path):
    """A continuous-batching server holds what its KV cache takes; the rest of a closed loop waits for a slot."""
    report = validate_file(_serving(tmp_path, batch_size="100000000", framework="vLLM"), CATALOG, TABLES)
    bad = report.rows[-1]
    assert bad.id == "BAD" and bad.predicted is not None and bad.predicted > 0


def test_a_serving_row_whose_weights_do_not_fit_says_so(tmp_path):
    huge = {"layers": "2000", "hidden": "16384", "heads": "128", "kv_heads": "8", "ffn_hidden": "65536"}
    reason = _unpredicted(_serving(tmp_path, **huge), GOOD_SERVING)
    assert reason.startswith("the weights do not fit on any replica the row allows: at least ")
    assert "GiB of weights per chip" in reason


# --- the schema document states the ranges the code applies ----------------------------------------------------------


def test_runs_schema_states_the_value_ranges_and_the_architecture_limits():
    text = (ROOT / "docs" / "runs-schema.md").read_text(encoding="utf-8")

    def number(shown: str) -> float:
        return float(shown.replace(",", ""))

    for metric, (low, high, _) in {**TRAINING_VALUE_RANGES, **SERVING_VALUE_RANGES}.items():
        row = next(line for line in text.splitlines() if line.startswith("|") and f"`{metric}`" in line)
        found = re.search(r"\| ([\d.,]+) - ([\d.,]+)", row)
        assert found and (number(found[1]), number(found[2])) == (low, high), metric
    for column, limit in ARCHITECTURE_LIMITS.items():
        found = re.search(rf"`{column}`[^;]*? ([\d,]{{2,}})", text.split("Architecture cells", 1)[1])
        assert found and number(found[1]) == limit, column
