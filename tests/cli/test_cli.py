"""The command line: tables and JSON for every catalog command, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from computeplan.cli import main
from tests.catalog.test_builtin_catalog import SCHEMA_CHIP_IDS, SCHEMA_MODEL_IDS

COMMANDS = [
    "chips", "systems", "models", "facts", "show", "train", "goodput", "serve", "plan", "validate", "calibrate",
    "profile", "measure", "compare",
]  # fmt: skip


def registered_commands() -> list[str]:
    """Every command the app has, so that a new one cannot miss the tests below."""
    from typer.main import get_command

    from computeplan.cli.app import app

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_chips_json_lists_every_schema_id(capsys):
    code, out, _ = run(capsys, "chips", "--json")
    assert code == 0
    chips = json.loads(out)
    assert {c["id"] for c in chips} >= SCHEMA_CHIP_IDS
    assert all(c["kind"] == "chip" for c in chips)


def test_models_json_includes_computed_parameters(capsys):
    code, out, _ = run(capsys, "models", "--json")
    models = {m["id"]: m for m in json.loads(out)}
    assert code == 0 and set(models) >= SCHEMA_MODEL_IDS
    assert models["llama3-405b"]["computed_params"] == pytest.approx(405e9, rel=0.01)


def test_show_chip_json_prints_sourced_si_numbers(capsys):
    code, out, _ = run(capsys, "show", "chip", "trn2", "--json")
    assert code == 0
    trn2 = json.loads(out)
    bf16 = trn2["bf16_flops_per_s"]
    assert bf16["value"] == pytest.approx(667e12)
    assert bf16["source"].startswith("https://") and bf16["confidence"] == "spec" and bf16["date"]
    assert trn2["origin"].endswith("chips.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["chips"],
        ["systems"],
        ["models"],
        ["show", "chip", "h100-sxm"],
        ["show", "system", "trn2-ultraserver"],
        ["show", "model", "deepseek-v3"],
    ],
)
def test_tables_render(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 0 and err == ""
    assert len(out.splitlines()) > 5


def test_facts_json(capsys):
    code, out, _ = run(capsys, "facts", "--json")
    facts = {f["id"]: f for f in json.loads(out)}
    assert code == 0 and facts["anthropic-aws-capacity"]["value"] == pytest.approx(5e9)
    assert facts["anthropic-aws-capacity"]["dimension"] == "W"


def test_tables_mark_estimates_and_announcements(capsys):
    _, out, _ = run(capsys, "chips")
    trn4 = next(line for line in out.splitlines() if "trn4" in line)
    assert "†" in trn4 and "~" in trn4 and "announced" in trn4


def test_unknown_id_is_one_line_with_suggestion_and_exit_2(capsys):
    code, out, err = run(capsys, "show", "chip", "h10")
    assert code == 2 and out == ""
    assert err == "error: unknown chip 'h10': did you mean 'h100-sxm'?\n"


def test_corrupt_user_catalog_is_one_line_exit_2(capsys, tmp_path):
    bad = {
        "chips": [
            {
                "id": "h100-sxm",
                "hbm_bytes": {"value": "-80 GB", "source": "x", "date": "2026", "confidence": "spec"},
            }
        ]
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    code, _, err = run(capsys, "chips", "--catalog", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "bad.yaml" in err and "chips[id=h100-sxm].hbm_bytes.value" in err


def test_debug_shows_the_traceback(capsys, tmp_path):
    from computeplan.errors import UnknownEntryError

    with pytest.raises(UnknownEntryError):
        main(["show", "chip", "h10", "--debug"])


def test_the_command_list_is_complete():
    assert sorted(COMMANDS) == registered_commands()


@pytest.mark.parametrize("command", registered_commands())
def test_every_command_has_help(capsys, command):
    code, out, err = run(capsys, command, "--help")
    assert code == 0 and err == ""
    assert "--json" in out and "Usage" in out


def test_root_help_and_bare_command_exit_0(capsys):
    for args in (["--help"], []):
        code, out, err = run(capsys, *args)
        assert code == 0 and err == "" and "Usage" in out
        assert all(command in out for command in registered_commands())


@pytest.mark.parametrize(
    "args",
    [
        ["chips", "--no-such-option"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "abc"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm"],
        ["serve", "--model", "llama3-8b", "--input", "-1"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--top", "0"],
        ["nope"],
        ["--debug"],
        ["show", "chip"],
        ["chips", "--debug", "--no-such-option"],
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Usage:" not in err
    assert "--help" in err  # where to look


def test_a_value_with_newlines_stays_on_one_line(capsys):
    code, _, err = run(capsys, "show", "chip", "h100\nsxm\r\x0bx")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: unknown chip")


def test_version(capsys):
    from computeplan import __version__

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"computeplan {__version__}"


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys, "chips", "--no-such-option")
    assert code == 2 and "No such option" in err


def test_help_imports_no_heavy_modules():
    """`computeplan --help` must stay fast: the CLI module may not import pydantic, yaml or numpy."""
    probe = (
        "import sys, computeplan.cli.app; "
        "print(sorted(m for m in ('pydantic', 'yaml', 'numpy', 'rich.table') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_console_entry_point_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "computeplan", "show", "chip", "nope"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown chip 'nope'") and "Traceback" not in result.stderr
