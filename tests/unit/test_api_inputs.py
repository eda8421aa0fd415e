"""The Python API and the library below it refuse wrong-typed and contradictory arguments with one-line
ComputeplanErrors naming the parameter (issue 14, the hostile-user review), and accept the sensible ones."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

import computeplan
from computeplan import checks
from computeplan.catalog.efficiency_schema import EfficiencyTable, FamilyFit
from computeplan.catalog.loader import load_catalog, resolve_entry
from computeplan.errors import CatalogError, ComputeplanError, InvalidInput, UnknownEntryError
from computeplan.estimate.facts import default_pue
from computeplan.perf.goodput import CheckpointSetup, FailureModel, estimate_goodput

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml"
CATALOG = load_catalog()


def _entry_yaml(kind: str, entry_id: str, new_id: str, **changes: object) -> str:
    """A catalog entry, as a user would save it in its own YAML file under a new id."""
    entry = CATALOG.entry(kind, entry_id).model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump({**entry, "id": new_id, **changes})


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "mymodel.yaml"
    path.write_text(_entry_yaml("models", "llama3-8b", "mymodel"))
    return path


@pytest.fixture
def chip_file(tmp_path: Path) -> Path:
    path = tmp_path / "mychip.yaml"
    path.write_text(_entry_yaml("chips", "h100-sxm", "my-h100"))
    return path


def _refused(call, field: str, *needles: str) -> str:
    with pytest.raises(InvalidInput) as err:
        call()
    message = str(err.value)
    assert err.value.field == field and "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


# --- 1. wrong-typed arguments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [{"name": "x"}, None, 5, ""])
def test_plan_refuses_what_is_not_a_scenario(scenario):
    _refused(lambda: computeplan.plan(scenario, catalog=CATALOG), "scenario", "Scenario")


@pytest.mark.parametrize("overrides", [["power.pue=1.1"], "power.pue=1.1", {1: "2"}, {"power.pue": object()}])
def test_plan_refuses_overrides_that_are_not_a_mapping_of_paths(overrides):
    _refused(lambda: computeplan.plan(SCENARIO, overrides=overrides, catalog=CATALOG), "overrides")


def test_plan_takes_plain_values_as_overrides():
    result = computeplan.plan(SCENARIO, overrides={"power.pue": 1.2, "money.discount_rate": 0.12}, catalog=CATALOG)
    assert dict(result.scenario.overrides) == {"power.pue": "1.2", "money.discount_rate": "0.12"}


def test_override_values_become_the_yaml_that_reads_back_to_them():
    values = {"a": 1.1, "b": True, "c": [1, 2.5], "d": None, "e": {"first": 5e26}, "f": "5 GW", "g": 10**30}
    texts = checks.yaml_texts("overrides", values)
    assert texts["f"] == "5 GW"
    assert {k: yaml.safe_load(v) for k, v in texts.items() if k != "f"} == {k: v for k, v in values.items() if k != "f"}
    for huge in (10**5000, [10**5000]):  # beyond Python's int-to-text limit: refused, not a ValueError
        with pytest.raises(InvalidInput, match="cannot write"):
            checks.yaml_texts("overrides", {"x": huge})


@pytest.mark.parametrize("catalog", ["dir", {}, [Path("dir")]])
def test_train_refuses_a_catalog_that_is_not_a_catalog(catalog):
    _refused(lambda: computeplan.train("llama3-8b", "h100-sxm", 64, catalog=catalog), "catalog", "load_catalog")


@pytest.mark.parametrize("efficiency", [{}, "eff.yaml", {"training": {}}])
def test_train_refuses_efficiency_that_is_not_tables(efficiency):
    """``{}`` used to mean the built-in tables, silently."""
    call = lambda: computeplan.train("llama3-8b", "h100-sxm", 64, catalog=CATALOG, efficiency=efficiency)  # noqa: E731
    _refused(call, "efficiency", "EfficiencyTables")


@pytest.mark.parametrize("bad", [None, ["x"], 5, b"h100-sxm"])
def test_catalog_lookups_refuse_ids_that_are_not_text(bad):
    _refused(lambda: computeplan.get_chip(bad), "chip", "expected a catalog chip id")
    _refused(lambda: CATALOG.model(bad), "model")
    _refused(lambda: CATALOG.entry("system", bad), "system")


def test_an_unknown_id_with_control_characters_stays_one_line():
    with pytest.raises(UnknownEntryError) as err:
        CATALOG.chip("h100\nsxm" + "x" * 500)
    assert "\n" not in str(err.value) and len(str(err.value)) < 1000


def test_load_catalog_takes_one_directory_as_text_or_path(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"chips": [{"id": "h100-sxm", "name": "Mine"}]}))
    for directory in (str(tmp_path), tmp_path):
        assert load_catalog(directory).chip("h100-sxm").name == "Mine"
    with pytest.raises(CatalogError, match="nowhere: catalog directory does not exist"):
        load_catalog(str(tmp_path / "nowhere"))  # the whole path, not its first character
    _refused(lambda: load_catalog(5), "user_dirs")
    _refused(lambda: load_catalog([None]), "user_dirs")


def test_train_and_serve_take_path_objects_for_model_and_chip_files(model_file, chip_file):
    run = computeplan.train(model_file, chip_file, 8, catalog=CATALOG)
    assert run.model.name == "mymodel" and run.cluster.chip_id == "my-h100"
    served = computeplan.serve(model_file, [chip_file], input_len=512, output_len=128, catalog=CATALOG)
    assert [c.chip for c in served.chips] == ["my-h100"]
    with pytest.raises(CatalogError, match=r"missing\.yaml: model file does not exist"):
        computeplan.train(model_file.parent / "missing.yaml", "h100-sxm", 8, catalog=CATALOG)


@pytest.mark.parametrize("progress", ["yes", 5])
def test_a_progress_callback_must_be_callable(progress):
    _refused(lambda: computeplan.plan(SCENARIO, catalog=CATALOG, progress=progress), "progress")


# --- 3. one PUE default -------------------------------------------------------------------------------------------


def _catalog_with_pue(tmp_path: Path, value: float):
    fact = CATALOG.fact("pue-hyperscale").model_dump(mode="json", exclude_none=True)
    (tmp_path / "facts.yaml").write_text(yaml.safe_dump({"facts": [{**fact, "value": value, "low": None}]}))
    return load_catalog([tmp_path])


def test_train_serve_and_the_default_agree_on_the_catalog_pue(tmp_path):
    assert default_pue(CATALOG) == CATALOG.fact("pue-hyperscale").value == pytest.approx(1.15)
    catalog = _catalog_with_pue(tmp_path, 1.25)
    assert default_pue(catalog) == pytest.approx(1.25)
    assert computeplan.train("llama3-8b", "h100-sxm", 8, catalog=catalog).job.pue == pytest.approx(1.25)
    served = computeplan.serve("llama3-8b", "h100-sxm", input_len=512, output_len=128, catalog=catalog)
    assert served.job.pue == pytest.approx(1.25)


def test_a_catalog_pue_out_of_range_blames_the_catalog(tmp_path):
    catalog = _catalog_with_pue(tmp_path, 0.5)
    with pytest.raises(CatalogError) as err:
        computeplan.train("llama3-8b", "h100-sxm", 8, catalog=catalog)
    message = str(err.value)
    assert "facts.yaml" in message and "facts[id=pue-hyperscale].value" in message and "between 1 and 3" in message
    assert not isinstance(err.value, InvalidInput)  # not "pue: must be >= 1", which the CLI would show as --pue
    assert computeplan.train("llama3-8b", "h100-sxm", 8, catalog=catalog, pue=1.1).job.pue == 1.1


# --- 4. entry files and catalog messages ----------------------------------------------------------------------------


def test_a_model_file_given_as_a_chip_says_so(model_file):
    message = _refused(lambda: computeplan.train("llama3-8b", model_file, 8, catalog=CATALOG), "chip")
    assert message.endswith("mymodel.yaml: expected a chip entry, found a model entry")
    _refused(lambda: resolve_entry(CATALOG, str(model_file), "chips", field="chips"), "chips", "found a model")


def test_a_chip_file_given_as_a_model_says_so(chip_file):
    message = _refused(lambda: computeplan.train(chip_file, "h100-sxm", 8, catalog=CATALOG), "model")
    assert message.endswith("mychip.yaml: expected a model entry, found a chip entry")


def test_a_chip_file_with_an_unknown_system_names_file_and_field(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_text(_entry_yaml("chips", "h100-sxm", "my-h100", system="no-such-system"))
    with pytest.raises(CatalogError) as err:
        computeplan.train("llama3-8b", path, 8, catalog=CATALOG)
    assert str(err.value).startswith(f"{path}: chips[id=my-h100].system: unknown system 'no-such-system'")


def test_an_unknown_top_level_key_is_named_once(tmp_path):
    (tmp_path / "bad.yaml").write_text("gpu: []\n")
    with pytest.raises(CatalogError) as err:
        load_catalog([tmp_path])
    message = str(err.value)
    assert message.count("'gpu'") == 1 and "unknown top-level key 'gpu'" in message


# --- 5. serving inputs ----------------------------------------------------------------------------------------------


def _serve(**kwargs):
    args = {"input_len": 512, "output_len": 128, "catalog": CATALOG, **kwargs}
    return computeplan.serve(args.pop("model", "llama3-8b"), args.pop("chips", "h100-sxm"), **args)


@pytest.mark.parametrize("traffic", [0, 0.0, "0tok/s", "0"])
def test_zero_traffic_is_refused_as_a_number_or_as_text(traffic):
    _refused(lambda: _serve(traffic=traffic), "traffic", "> 0")


def test_an_acceptance_rate_without_draft_tokens_is_refused():
    _refused(lambda: _serve(acceptance_rate=0.7), "acceptance_rate", "speculative_tokens")
    assert _serve(acceptance_rate=0.7, speculative_tokens=3).job.acceptance_rate == 0.7


def test_the_same_chip_twice_is_refused(chip_file):
    _refused(lambda: _serve(chips=["h100-sxm", "trn2", "h100-sxm"]), "chips", "'h100-sxm' is given twice")
    twin = chip_file.parent / "twin.yaml"
    twin.write_text(_entry_yaml("chips", "h100-sxm", "trn2"))
    _refused(lambda: _serve(chips=["trn2", twin]), "chips", "twin.yaml", "both chip 'trn2'")
    assert [c.chip for c in _serve(chips=twin).chips] == ["trn2"]  # one chip file, as a path object


def test_the_serving_estimate_itself_refuses_a_chip_twice():
    from computeplan.estimate.efficiency import builtin_efficiency_tables
    from computeplan.estimate.serving import estimate_serving
    from computeplan.hardware.cluster import cluster_from_catalog
    from computeplan.workload import TransformerSpec
    from computeplan.workload.jobs import ServingJob

    cluster = cluster_from_catalog(CATALOG, "h100-sxm", 8)
    pair = (cluster, builtin_efficiency_tables().for_serving(cluster.family))
    spec = TransformerSpec.from_entry(CATALOG.model("llama3-8b"))
    job = ServingJob(input_len=512, output_len=128)
    _refused(lambda: estimate_serving(spec, [pair, pair], job), "chips", "'h100-sxm' given more than once")


# --- 6 and 7. typed results ---------------------------------------------------------------------------------------


def test_goodput_has_to_dict_to_frame_and_says_where_its_rates_come_from():
    est = computeplan.goodput("llama3-8b", 1024, days=30, catalog=CATALOG)
    data = est.to_dict()
    assert data["goodput"] == est.goodput and data["num_chips"] == 1024
    assert "Llama 3" in est.basis and "H100" in est.basis and data["basis"] == est.basis
    frame = est.to_frame()
    assert list(frame.index) == [1024] and frame.loc[1024, "goodput"] == est.goodput


def test_goodput_to_dict_has_no_infinity():
    no_failures = FailureModel(rates_per_chip_s={})
    setup = CheckpointSetup(checkpoint_bytes=1e9, write_bytes_per_s=1e9, read_bytes_per_s=1e9, restart_s=60.0)
    est = estimate_goodput(no_failures, setup, 8)
    assert math.isinf(est.job_mtbf_s)
    data = est.to_dict()
    assert data["job_mtbf_s"] is None and data["checkpoint_interval_s"] is None and data["goodput"] == 1.0


def test_training_json_goodput_is_the_goodput_dict():
    run = computeplan.train("llama3-8b", "h100-sxm", 64, tokens=1e12, catalog=CATALOG)
    assert run.goodput is not None and run.to_dict()["goodput"] == run.goodput.to_dict()


def test_serving_layouts_are_typed_and_their_json_unchanged():
    served = _serve(chips=["h100-sxm"])
    chip = served.chips[0]
    assert chip.estimate is not None and chip.pareto
    keys = {"tp", "pp", "ep", "batch", "weight_precision", "kv_precision"}  # ep: 1 unless expert-parallel
    assert set(chip.estimate.layout) == keys and all(set(p.layout) == keys for p in chip.pareto)
    data = served.to_dict()
    assert set(data["results"][0]["layout"]) == keys
    assert set(data["pareto"]["h100-sxm"][0]) == {"layout", "tpot_s", "ttft_s", "throughput_tokens_per_s_per_chip"}


def test_an_efficiency_table_is_a_frame_of_families():
    table = EfficiencyTable(
        families={"hopper": FamilyFit(values={"a": 0.5}, rows=3)}, default=FamilyFit(values={"a": 0.4}, rows=9)
    )
    frame = table.to_frame()
    assert list(frame.index) == ["hopper", "default"] and list(frame["rows"]) == [3, 9]
    assert EfficiencyTable().to_frame().empty


def test_calibrate_returns_the_typed_table():
    try:
        table = computeplan.calibrate(ROOT / "examples" / "runs-training.csv", catalog=CATALOG)
    except ComputeplanError as exc:  # pragma: no cover - a data problem, not a type one
        pytest.fail(str(exc))
    # four rows, one publication per chip family: no family has the two publications a fit needs, so only the
    # cross-chip default is fitted (on all four)
    assert isinstance(table, EfficiencyTable) and table.families == {}
    assert table.default is not None and (table.default.rows, table.default.sources) == (4, 4)
    assert set(table.to_dict()) >= {"families", "fitted_on"} and not table.to_frame().empty


# --- 9. calendar constants ------------------------------------------------------------------------------------------

OWN = ["api.py", "checks.py", "economics.py", "workload", "estimate", "catalog", "perf", "search", "hardware"]


def test_no_bare_seconds_per_hour_or_day():
    src = ROOT / "src" / "computeplan"
    files = [p for name in OWN for p in ([src / name] if name.endswith(".py") else (src / name).rglob("*.py"))]
    found = [
        f"{p.name}:{i}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\b(3600|3_600|86400|86_400)\b", line)
    ]
    assert not found, f"use computeplan.units.SECONDS_PER_HOUR/SECONDS_PER_DAY: {found}"
