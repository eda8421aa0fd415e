"""train --samples and serve --samples: the chosen layout re-priced (training) or searched again (serving)
with the chip's catalog ranges and the model's error drawn."""

from __future__ import annotations

import json
from dataclasses import replace

import computeplan
from computeplan.catalog import load_catalog
from computeplan.estimate.sampling import bands, chip_ranges, sample_training
from tests.cli.test_cli import run

ARGS = dict(seq_len=8192, global_batch_tokens=16e6, tokens=15.6e12)


def test_an_announced_chip_draws_its_catalog_ranges_and_its_model_error():
    catalog = load_catalog()
    result = computeplan.train("llama3-405b", "trn4", 16384, catalog=catalog, **ARGS)
    names = [i.name for i in chip_ranges(catalog, result.cluster)]
    assert "catalog range trn4 peak bf16 FLOP/s" in names and "catalog range trn4 HBM bandwidth" in names
    draws = sample_training(result, catalog, samples=40, seed=2)
    assert len(draws) == 40 and "model error aws-neuron-v5 training" in draws.columns
    b = bands(draws)
    for figure in ("step_time_s", "mfu", "time_to_train_s"):
        assert b[figure]["p10"] <= b[figure]["p50"] <= b[figure]["p90"]
    assert b["step_time_s"]["p10"] < result.best.step_time_s * 1.5 < b["step_time_s"]["p90"] * 3  # around it
    assert (draws["mfu"] <= 1).all()
    again = sample_training(result, catalog, samples=40, seed=2)
    assert again.equals(draws)  # seeded


def test_nothing_uncertain_gives_the_point_estimate_every_draw():
    catalog = load_catalog()
    result = computeplan.train("llama3-8b", "h100-sxm", 64, catalog=catalog, **ARGS)
    assert chip_ranges(catalog, result.cluster) == []  # a shipping chip: its figures are specs, not ranges
    certain = replace(result, efficiency=replace(result.efficiency, error_band=None))
    draws = sample_training(certain, catalog, samples=5)
    assert (draws["step_time_s"] == result.best.step_time_s).all()


def test_train_samples_on_the_cli(capsys):
    code, out, err = run(
        capsys, "train", "--model", "llama3-405b", "--chip", "trn4", "--chips", "16384", "--seq", "8192",
        "--global-batch-tokens", "16M", "--tokens", "15.6T", "--samples", "30", "--json",
    )  # fmt: skip
    assert code == 0, err
    mc = json.loads(out)["monte_carlo"]
    assert mc["samples"] == 30 and mc["bands"]["step_time_s"]["p10"] <= mc["bands"]["step_time_s"]["p90"]
    code, out, err = run(
        capsys, "train", "--model", "llama3-405b", "--chip", "trn4", "--chips", "16384", "--samples", "20",
    )  # fmt: skip
    assert code == 0 and "Monte Carlo, 20 draws" in out and "step time P50" in out


def test_serve_samples_band_each_chip(capsys):
    code, out, err = run(
        capsys, "serve", "--model", "llama3-70b", "--compare", "trn4,h100-sxm", "--input", "2048", "--output", "256",
        "--tpot-ms", "50", "--samples", "20", "--seed", "3", "--json",
    )  # fmt: skip
    assert code == 0, err
    bands_ = json.loads(out)["monte_carlo"]["bands"]
    assert set(bands_) == {"trn4", "h100-sxm"}
    for chip, figures in bands_.items():
        rate = figures["throughput_tokens_per_s_per_chip"]
        assert rate["p10"] <= rate["p50"] <= rate["p90"], chip
    assert figures["usd_per_million_output_tokens"]["p50"] > 0  # h100-sxm has a catalog price
    assert bands_["trn4"]["usd_per_million_output_tokens"]["p50"] is None  # trn4 has none: said, not invented
    code, out, err = run(capsys, "serve", "--model", "llama3-70b", "--chip", "trn4", "--samples", "5")
    assert code == 0 and "trn4: $/Mtok: no catalog price;" in out
