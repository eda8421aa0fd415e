"""How a serving row's cells become a prediction: speculative decoding columns, the serving frameworks' batching."""

from __future__ import annotations

import csv
from pathlib import Path

from computeplan import api

DATA = Path(__file__).parents[1] / "golden" / "data" / "calibration-inference.csv"


def _rows(ids: set[str], **extra: str) -> tuple[list[str], list[dict[str, str]]]:
    with DATA.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or []) + list(extra)
        rows = [{**r, **extra} for r in reader if r["id"] in ids]
    return fields, rows


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_speculative_row_without_its_acceptance_rate_is_skipped_with_the_reason(tmp_path):
    fields, rows = _rows({"M139", "M137"})
    report = api.validate(_write(tmp_path / "runs.csv", fields, rows), loso=False)
    assert [r.id for r in report.rows] == ["M137"]
    (where, why), *_ = report.skipped
    assert "M139" in where and "speculative_tokens" in why and "acceptance_rate" in why


def test_a_speculative_row_with_its_columns_is_priced_faster_per_token(tmp_path):
    fields, rows = _rows({"M139"}, speculative_tokens="7", acceptance_rate="0.8")
    plain_fields, plain_rows = _rows({"M137"})  # the same model, chips and lengths without speculation
    fast = api.validate(_write(tmp_path / "spec.csv", fields, rows), loso=False).rows[0]
    slow = api.validate(_write(tmp_path / "plain.csv", plain_fields, plain_rows), loso=False).rows[0]
    assert fast.predicted is not None and slow.predicted is not None
    yielded = (1 - 0.8**8) / (1 - 0.8)  # tokens per verification step (Leviathan et al. 2023)
    assert fast.predicted < slow.predicted / (0.5 * yielded)


def test_one_speculation_column_alone_is_refused(tmp_path):
    fields, rows = _rows({"M137"}, speculative_tokens="4")
    report = api.validate(_write(tmp_path / "runs.csv", fields, rows), loso=False)
    assert not report.rows and "give both 'speculative_tokens' and 'acceptance_rate'" in report.skipped[0][1]


def test_expert_parallelism_must_be_a_multiple_of_tp(tmp_path):
    fields, rows = _rows({"M053"})
    rows[0]["tp"] = "3"
    report = api.validate(_write(tmp_path / "runs.csv", fields, rows), loso=False)
    assert not report.rows and "is not a multiple of tp (3)" in report.skipped[0][1]


def test_a_disaggregated_run_is_the_throughput_of_its_decode_chips(tmp_path):
    """vLLM WideEP on GB200 with prefill on other instances: 10.1k output tokens per decode GPU-second."""
    fields, rows = _rows({"M053"})
    row = api.validate(_write(tmp_path / "runs.csv", fields, rows), loso=False).rows[0]
    assert any("prefill disaggregated" in f for f in row.filled)
    assert row.layout is not None and row.layout["ep"] == 8 and abs(row.error_pct) < 20.0
