"""Nothing the user wrote is overwritten: an output path that is an input is refused before any work, exit 2,
and the input is byte-identical afterwards."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
