"""Every example in README.md runs: each `computeplan ...` line of the console blocks exits 0, and the Python
blocks execute. They run in a scratch directory holding copies of scenarios/ and examples/, so that the files
they write (plan.html, goodput.png, eff.yaml) land there."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from computeplan.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _commands() -> list[list[str]]:
    commands = []
    for block in _blocks("console"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "computeplan":
                commands.append(words[1:])
    return commands


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    for folder in ("scenarios", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "my-dir").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPUTEPLAN_CATALOG", raising=False)
    return tmp_path


def test_the_readme_has_examples():
    assert len(_commands()) >= 15 and _blocks("python")


def _needs_torch(args: list[str]) -> bool:
    """`profile` and `measure` run PyTorch (the optional ``profile`` extra): skipped where it is not installed."""
    import importlib.util

    return args[0] in ("profile", "measure") and importlib.util.find_spec("torch") is None


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a)[:60])
def test_cli_example_runs(args, scratch, capsys):
    if _needs_torch(args):
        pytest.skip("needs PyTorch: pip install 'computeplan[profile]'")
    with pytest.raises(SystemExit) as done:
        main(args)
        raise SystemExit(0)
    err = capsys.readouterr().err
    assert done.value.code in (0, None), err


def test_cli_examples_write_their_files(scratch, capsys):
    for args in _commands():
        if ("--report" in args or "--plot" in args or "--out" in args) and not _needs_torch(args):
            with pytest.raises(SystemExit) as done:
                main(args)
                raise SystemExit(0)
            assert done.value.code in (0, None)
    capsys.readouterr()
    assert (scratch / "plan.html").stat().st_size > 0
    assert (scratch / "goodput.png").stat().st_size > 0
    assert "families" in (scratch / "eff.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_example_runs(index, scratch):
    exec(compile(_blocks("python")[index], f"README.md python block {index}", "exec"), {})
