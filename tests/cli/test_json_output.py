"""JSON output is standard JSON: NaN and infinity are refused, and a figure that is undefined is null."""

from __future__ import annotations

import json
import math

import pytest

from computeplan.cli.options import print_json
from computeplan.perf.goodput import CheckpointSetup, FailureModel, estimate_goodput
from computeplan.report.goodput_text import goodput_json, print_goodput


def _never_failing():
    setup = CheckpointSetup(checkpoint_bytes=1e12, write_bytes_per_s=1e10, read_bytes_per_s=1e10, restart_s=600)
    return estimate_goodput(FailureModel(rates_per_chip_s={}), setup, 1024)


def test_print_json_refuses_nan_and_infinity(capsys):
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="JSON"):
            print_json({"x": bad})
    print_json({"x": 1.5, "y": None})
    assert json.loads(capsys.readouterr().out) == {"x": 1.5, "y": None}


def test_infinite_mtbf_is_null_in_json():
    est = _never_failing()
    assert math.isinf(est.job_mtbf_s)
    data = goodput_json(est)
    json.dumps(data, allow_nan=False)
    assert data["job_mtbf_s"] is None and data["checkpoint_interval_s"] is None
    assert data["young_daly_interval_s"] is None and data["goodput"] == 1.0


def test_infinite_mtbf_reads_as_no_interruptions(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    print_goodput(_never_failing(), model="m", chip="c")
    out = capsys.readouterr().out
    assert "no interruptions expected" in out and "inf" not in out.replace("interruptions", "")
