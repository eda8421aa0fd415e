"""Leave-one-source-out: every row is predicted by a fit that never saw a row of its publication."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import computeplan.calibration.fit as fit_module
from computeplan.calibration.fit import fit_table
from computeplan.calibration.loso import leave_one_source_out, loso_units, publication
from computeplan.calibration.service import read_runs_file
from computeplan.calibration.serving import SERVING, ServingModel
from computeplan.catalog.loader import load_catalog

SERVING_RUNS = Path(__file__).parents[1] / "golden" / "data" / "calibration-inference.csv"
TRUE_A = {"memory_efficiency": 0.55, "prefill_efficiency": 0.35, "step_overhead_s": 0.004}
TRUE_B = {"memory_efficiency": 0.9, "prefill_efficiency": 0.7, "step_overhead_s": 0.001}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("https://arxiv.org/abs/2104.04473 ; https://github.com/x/y (Table 1)", "arXiv:2104.04473"),
        ("https://arxiv.org/pdf/2104.04473v2", "arXiv:2104.04473"),
        (
            "https://github.com/mlcommons/inference_results_v4.1/blob/a2f5d66d17e8f75c02fd/closed/AMD/x.txt (AMD)",
            "github:mlcommons/inference_results_v4.1",
        ),
        (
            "https://raw.githubusercontent.com/mlcommons/inference_results_v4.1/a2f5d66d17e8f75c02fd/closed/x.txt",
            "github:mlcommons/inference_results_v4.1",
        ),
        (  # two commits of one repository are one publication
            "https://github.com/pytorch/torchtitan/blob/b5bcd76c66d0/benchmarks/llama3.md",
            "github:pytorch/torchtitan",
        ),
        ("https://example.com/blog/post/?utm=1#table", "example.com/blog/post"),
        ("NVIDIA GTC 2024 keynote", "NVIDIA GTC 2024 keynote"),
    ],
)
def test_rows_of_one_publication_form_one_source(source, expected):
    assert publication(source) == expected


class _OneSourceServing(ServingModel):
    min_family_sources = 1


ONE_SOURCE = _OneSourceServing()


@pytest.fixture(scope="module")
def synthetic():
    """The TensorRT-LLM H100 rows, re-measured by the serving model itself: half as publication A with TRUE_A,
    half as publication B with TRUE_B."""
    catalog = load_catalog()
    _, runs_file = read_runs_file(SERVING_RUNS, catalog)
    runs = [r for r in runs_file.runs if "TensorRT-LLM" in r.source]
    prepared, failed = SERVING.prepare_all(runs, catalog)
    assert not failed and len(prepared) >= 8
    made = []
    for i, item in enumerate(prepared):
        source, values = ("https://a.example/paper", TRUE_A) if i % 2 else ("https://b.example/paper", TRUE_B)
        value = SERVING.predict_all([item], SERVING.params(values))[0].value
        made.append(replace(item.run, source=source, value=value))
    return catalog, made


def test_each_source_is_predicted_by_a_fit_on_the_other_only(synthetic, monkeypatch):
    """The fold machinery, with a family fit allowed on one publication (the shipped model asks for two)."""
    catalog, runs = synthetic
    source_of = {r.id: publication(r.source) for r in runs}
    seen: list[set[str]] = []
    real_fit = fit_module.fit

    def recording_fit(space, rows, predict_fn, prior_weight=0.0, weights=None):
        seen.append({source_of[row.run.id] for row in rows})
        return real_fit(space, rows, predict_fn, prior_weight, weights)

    monkeypatch.setattr(fit_module, "fit", recording_fit)
    calls: list[tuple[int, int]] = []
    result = leave_one_source_out(ONE_SOURCE, runs, catalog, progress=lambda done, total: calls.append((done, total)))
    # two folds, each fitting the family and the default on the other publication alone
    assert seen == [{"b.example/paper"}] * 2 + [{"a.example/paper"}] * 2
    assert calls[-1] == (loso_units(runs), loso_units(runs))
    assert all(total == calls[-1][1] for _, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    # A's rows are exactly what a fit on B's rows alone predicts for them
    monkeypatch.setattr(fit_module, "fit", real_fit)
    rows_a = [r for r in runs if source_of[r.id] == "a.example/paper"]
    rows_b = [r for r in runs if source_of[r.id] == "b.example/paper"]
    prepared_b, _ = ONE_SOURCE.prepare_all(rows_b, catalog)
    prepared_a, _ = ONE_SOURCE.prepare_all(rows_a, catalog)
    params_b = ONE_SOURCE.efficiency("nvidia-hopper", fit_table(ONE_SOURCE, prepared_b, hold_out=False))
    expected = {p.run.id: ONE_SOURCE.predict_all([p], params_b)[0].value for p in prepared_a}
    by_id = {r.id: r for r in result.rows}
    for row_id, value in expected.items():
        assert by_id[row_id].predicted == pytest.approx(value, rel=1e-12)
        assert by_id[row_id].calibrated
        assert any("leave-one-source-out: fitted on" in n for n in by_id[row_id].notes)
    # B's truth is not A's: predicting A from B is off, where an in-sample fit of A would not be
    assert result.by_source["a.example/paper"].median_abs_error_pct > 5.0
    assert set(result.by_source) == {"a.example/paper", "b.example/paper"}
    assert result.summary.count == result.summary.predicted == len(runs)


def test_one_other_publication_is_too_little_for_a_family_fit(synthetic):
    """As in training, no family parameter rests on one publication: each fold falls back to its default."""
    catalog, runs = synthetic
    result = leave_one_source_out(SERVING, runs, catalog)
    assert all(not row.calibrated for row in result.rows)
    assert all(any("too few runs of family nvidia-hopper" in n for n in row.notes) for row in result.rows)


def test_a_family_no_other_source_has_is_predicted_by_the_folds_default(synthetic):
    catalog, runs = synthetic
    moved = [replace(r, chip="mi300x") if "a.example" in r.source else r for r in runs]  # A: amd-cdna3 only
    result = leave_one_source_out(SERVING, moved, catalog)
    for row in result.rows:
        if row.chip == "mi300x":
            assert row.family == "amd-cdna3" and not row.calibrated and row.predicted is not None
            assert any("uncalibrated: too few runs of family amd-cdna3 in other publications" in n for n in row.notes)
    assert set(result.by_family) == {"amd-cdna3", "nvidia-hopper"}


def test_a_file_with_one_source_has_no_fold_to_fit(synthetic):
    catalog, runs = synthetic
    only_a = [r for r in runs if "a.example" in r.source]
    result = leave_one_source_out(SERVING, only_a, catalog)
    assert result.summary.predicted == 0
    assert all("no publication but a.example/paper to fit on" in (r.reason or "") for r in result.rows)
