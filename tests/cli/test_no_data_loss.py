"""Nothing the user wrote is overwritten: an output path that is an input is refused before any work, exit 2,
and the input is byte-identical afterwards."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from computeplan.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "command"),
    [
        ("scenarios/cloud-commitment-100b-5gw.yaml", ["plan", "{input}", "--report", "{input}"]),
        ("examples/runs-training.csv", ["calibrate", "{input}", "--out", "{input}"]),
        ("examples/runs-training.csv", ["calibrate", "{input}", "--out", "./{name}"]),
    ],
)
def test_an_output_onto_the_input_is_refused(source, command, tmp_path, monkeypatch, capsys):
    target = tmp_path / Path(source).name
    shutil.copy(ROOT / source, target)
    before = target.read_bytes()
    monkeypatch.chdir(tmp_path)
    args = [a.format(input=str(target), name=target.name) for a in command]
    code, err = _run(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and "is the input file" in err
    assert target.read_bytes() == before


def test_an_output_into_a_missing_directory_is_refused_before_the_work(tmp_path, capsys):
    code, err = _run(
        capsys, "plan", str(ROOT / "scenarios/cloud-commitment-100b-5gw.yaml"), "--report", str(tmp_path / "no/x.html")
    )
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


SCENARIO = ROOT / "scenarios" / "cloud-commitment-100b-5gw.yaml"
RUNS = ROOT / "examples" / "runs-training.csv"


@pytest.fixture
def catalog_dir(tmp_path):
    """A user catalog directory holding one (valid, empty) catalog file, p.yaml."""
    directory = tmp_path / "mycat"
    directory.mkdir()
    (directory / "p.yaml").write_text("chips: []\n")
    return directory


def _refused_and_untouched(capsys, target: Path, *args: str) -> str:
    before = target.read_bytes()
    code, err = _run(capsys, *args)
    assert code == 2 and err.count("\n") == 1, err
    assert target.read_bytes() == before
    return err


@pytest.mark.parametrize(
    "command",
    [
        ["plan", str(SCENARIO), "--report", "{out}"],
        ["calibrate", str(RUNS), "--out", "{out}"],
    ],
    ids=["plan", "calibrate"],
)
@pytest.mark.parametrize("how", ["--catalog", "$COMPUTEPLAN_CATALOG"])
def test_an_output_onto_a_catalog_file_is_refused(command, how, catalog_dir, monkeypatch, capsys):
    target = catalog_dir / "p.yaml"
    args = [a.format(out=target) for a in command]
    if how == "--catalog":
        args += ["--catalog", str(catalog_dir)]
    else:
        monkeypatch.setenv("COMPUTEPLAN_CATALOG", str(catalog_dir))
    err = _refused_and_untouched(capsys, target, *args)
    assert "is the input file" in err


def test_a_yaml_output_into_a_catalog_directory_is_refused(catalog_dir, capsys):
    code, err = _run(
        capsys, "calibrate", str(RUNS), "--out", str(catalog_dir / "fit.yaml"), "--catalog", str(catalog_dir)
    )
    assert code == 2 and "catalog directory" in err
    assert not (catalog_dir / "fit.yaml").exists()


def test_a_plot_onto_the_model_file_is_refused(tmp_path, capsys):
    """--plot must end in .png/.svg/.pdf, so it can meet an input only through a link: refused all the same."""
    from computeplan.catalog import load_catalog

    entry = load_catalog().model("llama3-8b").model_dump(mode="json", exclude_none=True)
    model = tmp_path / "model.yaml"
    model.write_text(yaml.safe_dump({**entry, "id": "my-model"}))
    link = tmp_path / "g.png"
    link.symlink_to(model)
    err = _refused_and_untouched(capsys, model, "goodput", "--chips", "8", "--model", str(model), "--plot", str(link))
    assert "is the input file" in err


def test_a_plot_onto_a_catalog_file_is_refused(catalog_dir, tmp_path, capsys):
    link = tmp_path / "g.svg"
    link.symlink_to(catalog_dir / "p.yaml")
    args = ["goodput", "--chips", "8", "--plot", str(link), "--catalog", str(catalog_dir)]
    err = _refused_and_untouched(capsys, catalog_dir / "p.yaml", *args)
    assert "is the input file" in err


@pytest.mark.parametrize(
    ("command", "api_name"),
    [
        (["plan", str(SCENARIO), "--report", "{dir}/p.yaml"], "plan"),
        (["calibrate", str(RUNS), "--out", "{dir}/p.yaml"], "calibrate"),
    ],
)
def test_the_output_is_checked_before_the_work(command, api_name, catalog_dir, monkeypatch, capsys):
    from computeplan import api

    def must_not_run(*args, **kwargs):
        raise AssertionError(f"api.{api_name} ran before the output path was checked")

    monkeypatch.setattr(api, api_name, must_not_run)
    args = [a.format(dir=catalog_dir) for a in command]
    code, _ = _run(capsys, *args, "--catalog", str(catalog_dir))
    assert code == 2


def test_the_packages_own_catalog_files_are_inputs(tmp_path, monkeypatch, capsys):
    """A report onto the package's chips.yaml is refused (the catalog is patched to a copy, so a failure of this
    test cannot overwrite the real one); calibrate may still rewrite the efficiency table (`make calibrate`)."""
    from computeplan.catalog import loader

    chips = tmp_path / "chips.yaml"
    chips.write_bytes(Path(loader.builtin_files()[0]).read_bytes())
    efficiency = tmp_path / "efficiency.yaml"
    efficiency.write_text("# placeholder\n")
    real_files = loader.builtin_files
    monkeypatch.setattr(loader, "builtin_files", lambda: [chips])
    monkeypatch.setattr(loader, "efficiency_table_path", lambda kind="training": efficiency)
    err = _refused_and_untouched(capsys, chips, "plan", str(SCENARIO), "--report", str(chips))
    assert "is the input file" in err
    err = _refused_and_untouched(capsys, efficiency, "plan", str(SCENARIO), "--report", str(efficiency))
    assert "is the input file" in err
    monkeypatch.setattr(loader, "builtin_files", real_files)
    code, err = _run(capsys, "calibrate", str(RUNS), "--out", str(efficiency))
    assert code == 0, err
    assert "families:" in efficiency.read_text()
