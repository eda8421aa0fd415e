"""Reading user files and writing outputs: every hostile or careless path is one line, never a hang or a traceback."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from computeplan import files
from computeplan.errors import CatalogError, ComputeplanError, ScenarioError
from computeplan.files import check_output_path, load_yaml, parse_yaml_text, read_text, write_atomic

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file types")


def _read_error(path: Path | str, error: type[ComputeplanError] = ScenarioError) -> str:
    with pytest.raises(error) as info:
        read_text(path, what="scenario file", error=error)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def _yaml_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_yaml(path, what="catalog file", error=CatalogError)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# --- read_text -------------------------------------------------------------------------------------------------


def test_reads_utf8_and_drops_a_byte_order_mark(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes("\ufeffname: café\n".encode())
    assert read_text(path, what="scenario file") == "name: café\n"


def test_missing_file(tmp_path):
    assert "scenario file does not exist" in _read_error(tmp_path / "nowhere.yaml")


def test_a_directory_given_as_a_file(tmp_path):
    assert "scenario file is a directory" in _read_error(tmp_path)


@needs_posix
def test_broken_symlink(tmp_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    assert "broken symbolic link" in _read_error(link)


@needs_posix
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came: it must not be opened
    assert "FIFO" in _read_error(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused():
    assert "character device" in _read_error("/dev/zero")


def test_not_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\nprice: 5 €\n".encode("cp1252"))
    message = _read_error(path)
    assert "not UTF-8" in message and "byte 0x80 at offset 18" in message
    path.write_bytes(b"\xef\xbb\xbfname: \xff")  # the offset counts the byte-order mark
    assert "byte 0xff at offset 9" in _read_error(path)


def test_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_INPUT_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("x" * 11)
    assert "above the limit of 10 bytes" in _read_error(path)


@needs_posix
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    try:
        assert "cannot read scenario file: Permission denied" in _read_error(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_a_permission_error_on_open_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "open", denied)  # as root, chmod 0 would not stop the read
    assert _read_error(path).endswith("cannot read scenario file: Permission denied")


def test_a_control_character_in_the_name_stays_on_one_line(tmp_path):
    with pytest.raises(ScenarioError) as info:
        read_text(tmp_path / "evil\nname.yaml", what="scenario file", error=ScenarioError)
    assert "\n" not in str(info.value) and "evil\\nname.yaml" in str(info.value)


# --- load_yaml / parse_yaml_text -------------------------------------------------------------------------------


def test_load_yaml_keeps_values_as_yaml_gives_them(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("a: .inf\nb: .nan\nc: 1e400\nd: [1, 2.5, x]\n")
    data = load_yaml(path, what="catalog file")
    assert data["a"] == math.inf and math.isnan(data["b"])
    assert data["c"] == "1e400"  # YAML 1.1 needs a dot in a float: this stays text for the caller to parse
    assert data["d"] == [1, 2.5, "x"]


def test_merge_keys_may_be_overridden(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {x: 1, y: 0}\nmine: {<<: *b, y: 2}\n")
    assert load_yaml(path, what="catalog file")["mine"] == {"x": 1, "y": 2}


def test_duplicate_key_names_the_key_and_both_lines(tmp_path):
    message = _yaml_error(tmp_path, "chips: []\nmodels: []\nchips: [x]\n")
    assert message.endswith(":3: invalid YAML: duplicate key 'chips' (first on line 1)")


def test_duplicate_key_in_a_nested_flow_mapping(tmp_path):
    assert "duplicate key 'value'" in _yaml_error(tmp_path, "power_w: {value: 700, value: 800}\n")


def test_billion_laughs_is_refused(tmp_path):
    assert "alias bomb" in _yaml_error(tmp_path, BILLION_LAUGHS)


def test_recursive_alias_is_refused(tmp_path):
    assert "recursive" in _yaml_error(tmp_path, "a: &a [1, *a]\n")


@pytest.mark.parametrize("levels", [500, 50_000])
def test_deep_nesting_is_refused(tmp_path, levels):
    assert "nesting" in _yaml_error(tmp_path, "a: " + "[" * levels + "]" * levels + "\n")


def test_syntax_error_gives_the_line(tmp_path):
    message = _yaml_error(tmp_path, "chips:\n  - id: a\n   bad: [\n")
    assert ":4: invalid YAML: " in message or ":3: invalid YAML: " in message


def test_unreadable_scalar_is_a_yaml_error(tmp_path):
    message = _yaml_error(tmp_path, "date: 2024-13-45\n")
    assert ":1: invalid YAML: cannot read '2024-13-45'" in message


@pytest.mark.parametrize("text", ["!!timestamp abc", "!!bool maybe", '!!int ""', "!!float x"])
def test_an_explicit_tag_on_a_bad_scalar_is_a_yaml_error(text):
    with pytest.raises(ComputeplanError, match=r"^where: invalid YAML: cannot read '.*' as !!"):
        parse_yaml_text(text, where="where")


def test_an_integer_past_the_conversion_limit_is_a_yaml_error(tmp_path):
    message = _yaml_error(tmp_path, "n: " + "9" * 5000 + "\n")
    assert "cannot read '9999" in message and "5000 characters" in message


def test_python_tags_are_not_constructed(tmp_path):
    assert "could not determine a constructor" in _yaml_error(tmp_path, "x: !!python/object/apply:os.system [ls]\n")


def test_parse_yaml_text_prefixes_where():
    assert parse_yaml_text("[1, 2]", where="--set x") == [1, 2]
    with pytest.raises(ScenarioError, match=r"^gpus: invalid YAML: ") as info:
        parse_yaml_text("[1, 2", where="gpus", error=ScenarioError)
    assert "\n" not in str(info.value)
    with pytest.raises(ComputeplanError, match="alias bomb"):
        parse_yaml_text(BILLION_LAUGHS, where="x")


# --- check_output_path / write_atomic --------------------------------------------------------------------------


def test_write_atomic_writes_and_replaces(tmp_path):
    out = tmp_path / "report.html"
    assert write_atomic(out, "first") == out
    assert write_atomic(out, b"second\x00") == out
    assert out.read_bytes() == b"second\x00"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left behind


def test_write_atomic_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("old")
    out.chmod(0o640)
    write_atomic(out, "new")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_refuses_to_overwrite_an_input(tmp_path):
    scenario = tmp_path / "plan.yaml"
    scenario.write_text("a: 1\n")
    with pytest.raises(ComputeplanError, match=r"is the input file .*plan\.yaml; choose another path") as info:
        write_atomic(scenario, "report", inputs=[scenario], what="report")
    assert str(info.value).startswith(str(scenario))
    assert scenario.read_text() == "a: 1\n"


def test_refuses_an_input_reached_by_another_name(tmp_path, monkeypatch):
    scenario = tmp_path / "plan.yaml"
    scenario.write_text("a: 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ComputeplanError, match="is the input file"):
        write_atomic("./sub/../plan.yaml", "x", inputs=[scenario])
    if os.name == "posix":
        (tmp_path / "alias.yaml").symlink_to(scenario)
        with pytest.raises(ComputeplanError, match="is the input file"):
            write_atomic("alias.yaml", "x", inputs=["plan.yaml"])
        os.link(scenario, tmp_path / "hard.yaml")
        with pytest.raises(ComputeplanError, match="is the input file"):
            check_output_path("hard.yaml", inputs=[scenario])
    assert scenario.read_text() == "a: 1\n"


def test_refuses_a_missing_directory(tmp_path):
    with pytest.raises(ComputeplanError, match=r"directory .*nowhere does not exist"):
        write_atomic(tmp_path / "nowhere" / "out.html", "x")


def test_refuses_a_directory(tmp_path):
    with pytest.raises(ComputeplanError, match="path is a directory"):
        write_atomic(tmp_path, "x")


@needs_posix
def test_refuses_a_device(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ComputeplanError, match="FIFO"):
        write_atomic(fifo, "x")


@needs_posix
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_refuses_an_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ComputeplanError, match="is not writable"):
            write_atomic(locked / "out.html", "x")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_refuses_a_directory_the_user_cannot_write(tmp_path, monkeypatch):
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)  # as root, chmod would not block writing
    with pytest.raises(ComputeplanError, match="is not writable"):
        check_output_path(tmp_path / "out.html")


def test_a_failed_write_leaves_neither_a_partial_file_nor_a_temporary_one(tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("previous")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(ComputeplanError) as info:
        write_atomic(out, "new content", what="report")
    assert str(info.value) == f"{out}: cannot write report: No space left on device"
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_failed_rename_cleans_up(tmp_path, monkeypatch):
    out = tmp_path / "report.html"

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(ComputeplanError, match="cannot write output: Permission denied"):
        write_atomic(out, "x")
    assert list(tmp_path.iterdir()) == []
