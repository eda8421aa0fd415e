"""Reading the files a user names and writing the files computeplan produces, safely.

Every input goes through :func:`read_text` (and :func:`load_yaml` for YAML): whatever the path is (missing, a
directory, a broken link, a FIFO, a device, unreadable, huge, not UTF-8) the result is the text or a one-line
error that starts with the path; nothing blocks and nothing raises a traceback. YAML is parsed safely: duplicate
keys, recursive aliases, alias expansion bombs ("billion laughs") and absurd nesting are refused before the data
reaches the caller. Numbers are left as YAML gives them (``.inf`` and ``.nan`` included): callers validate them.

Every output goes through :func:`write_atomic`: it refuses to write onto an input and replaces the target in one
step, so an interrupted or failed write never leaves a partial file.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from computeplan.errors import ComputeplanError

__all__ = [
    "MAX_INPUT_BYTES",
    "check_output_path",
    "load_yaml",
    "parse_yaml_text",
    "read_text",
    "write_atomic",
]

MAX_INPUT_BYTES = 64 * 2**20
"""Largest input file read (64 MiB); anything bigger is refused rather than read into memory."""

MAX_ALIAS_EXPANSION = 100_000
"""Most YAML nodes that aliases may add beyond the nodes written in the file (refuses 'billion laughs')."""

MAX_NESTING = 100
"""Deepest YAML nesting accepted; real inputs are a few levels deep."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SIZE_CAP = 2**62  # far above the node count of any file within MAX_INPUT_BYTES


def _show(path: str | Path) -> str:
    """The path as text for a one-line message; control characters in a hostile name are escaped."""
    text = os.fspath(path)
    return text if text.isprintable() else ascii(text)[1:-1]


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: str | Path, *, what: str, error: type[ComputeplanError] = ComputeplanError) -> str:
    """Read a UTF-8 text file the user gave (a leading byte-order mark is dropped).

    Raises ``error`` with one line starting with the path when the file is missing, a directory, a broken
    symbolic link, not a regular file (checked before opening, so a FIFO never blocks), unreadable, larger than
    :data:`MAX_INPUT_BYTES`, or not UTF-8 (with the offset of the first bad byte). ``what`` names the file's
    role in the message, e.g. ``'scenario file'``.
    """
    shown = _show(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise error(f"{shown}: {what} is a broken symbolic link (its target does not exist)") from None
        raise error(f"{shown}: {what} does not exist") from None
    except NotADirectoryError:
        raise error(f"{shown}: {what} does not exist (a parent in the path is not a directory)") from None
    except OSError as exc:
        raise error(f"{shown}: cannot read {what}: {exc.strerror or type(exc).__name__}") from None
    _check_regular(shown, info, what, error)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the check above, opening still does not block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise error(f"{shown}: cannot read {what}: {exc.strerror or type(exc).__name__}") from None
    try:
        _check_regular(shown, os.fstat(fd), what, error)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise error(f"{shown}: cannot read {what}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_INPUT_BYTES:
        raise error(f"{shown}: {what} is larger than the limit of {MAX_INPUT_BYTES:,} bytes")
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise error(
            f"{shown}: {what} is not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset}); save it as UTF-8"
        ) from None


def _check_regular(shown: str, info: os.stat_result, what: str, error: type[ComputeplanError]) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{shown}: {what} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{shown}: {what} is {_kind_of(info.st_mode)}, not a regular file")
    if info.st_size > MAX_INPUT_BYTES:
        raise error(f"{shown}: {what} is {info.st_size:,} bytes, above the limit of {MAX_INPUT_BYTES:,} bytes")


def load_yaml(path: str | Path, *, what: str, error: type[ComputeplanError] = ComputeplanError) -> Any:
    """:func:`read_text`, then the safe YAML parse of :func:`parse_yaml_text`; errors read 'path:line: ...'."""
    return _parse(read_text(path, what=what, error=error), _show(path), error, always_line=True)


def parse_yaml_text(text: str, *, where: str, error: type[ComputeplanError] = ComputeplanError) -> Any:
    """Parse YAML text safely; ``where`` starts the one-line ``error`` (line numbers only for multi-line text).

    Refuses duplicate mapping keys (naming the key and both lines), recursive aliases, alias expansion bombs
    and nesting deeper than :data:`MAX_NESTING`. Values stay as YAML reads them, ``.inf`` and ``.nan`` included.
    """
    return _parse(text, where, error, always_line="\n" in text.strip())


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C parser where available); a scalar it cannot read is a marked YAML error."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, ArithmeticError, LookupError, AttributeError, TypeError) as exc:
            # a scalar the constructor for its (resolved or explicit) tag cannot read: a date 2024-13-45, an
            # integer of 5000 digits, '!!timestamp abc', '!!bool maybe'
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            problem = f"cannot read {_short(str(node.value))!r} as {tag}"
            if isinstance(exc, ValueError | ArithmeticError):
                problem += f": {str(exc).split(': ')[0]}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _parse(text: str, where: str, error: type[ComputeplanError], *, always_line: bool) -> Any:
    def fail(problem: str, line: int | None) -> ComputeplanError:
        at = f":{line}" if line is not None and always_line else ""
        return error(f"{where}{at}: invalid YAML: {problem}")

    loader: _SafeLoader | None = None
    try:
        loader = _SafeLoader(text)  # the pure-Python reader already checks the characters here
        try:
            node = loader.get_single_node()
        except RecursionError:  # the pure-Python composer recurses per level
            raise fail(f"nesting deeper than {MAX_NESTING} levels", None) from None
        if node is None:
            return None
        _check_graph(node, loader, fail)
        return loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise fail(str(exc).splitlines()[0], line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context:
            problem += f" ({exc.context})"
        raise fail(problem, mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        raise fail(str(exc).splitlines()[0] if str(exc) else "cannot parse", None) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_graph(root: Node, loader: _SafeLoader, fail: Any) -> None:
    """Refuse duplicate keys, recursive aliases, too deep nesting and alias expansion beyond the limit.

    Walks the composed node graph once (shared nodes are visited once), computing for each node the size of
    its subtree with aliases expanded, so a billion-laughs document is measured, not expanded.
    """
    size: dict[int, int] = {}  # expanded subtree size (capped); present once a node is finished
    depth: dict[int, int] = {}
    in_progress: set[int] = set()
    unique = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            in_progress.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), _SIZE_CAP)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if depth[key] > MAX_NESTING:
                raise fail(f"nesting deeper than {MAX_NESTING} levels", node.start_mark.line + 1)
            continue
        if key in size:
            continue
        if key in in_progress:
            raise fail("an alias refers to a node that contains it (recursive data)", node.start_mark.line + 1)
        in_progress.add(key)
        unique += 1
        if isinstance(node, MappingNode):
            _check_keys(node, loader, fail)
        if len(in_progress) > MAX_NESTING:
            raise fail(f"nesting deeper than {MAX_NESTING} levels", node.start_mark.line + 1)
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    if size[id(root)] - unique > MAX_ALIAS_EXPANSION:
        raise fail(
            f"aliases expand the document beyond {MAX_ALIAS_EXPANSION:,} extra nodes (an alias bomb?); "
            "write the repeated parts out",
            None,
        )


def _check_keys(node: MappingNode, loader: _SafeLoader, fail: Any) -> None:
    """Refuse a key written twice in one mapping (checked before merge keys ('<<') are folded in)."""
    first_line: dict[tuple[type, Any], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if (type(key), key) in first_line:
            first = first_line[(type(key), key)]
            raise fail(f"duplicate key {_short(str(key))!r} (first on line {first})", line)
        first_line[(type(key), key)] = line


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_output_path(path: str | Path, *, inputs: Iterable[str | Path] = (), what: str = "output") -> Path:
    """Check that ``path`` can be written as ``what``, and return it as a Path.

    Raises :class:`ComputeplanError` (one line, starting with the path) when ``path`` is one of ``inputs``
    (compared resolved, and by file identity when both exist), an existing directory or other non-regular
    file, or when its directory does not exist or is not writable.
    """
    target = Path(path)
    shown = _show(target)
    real = Path(os.path.realpath(target))
    for source in inputs:
        if _same_file(real, Path(source)):
            raise ComputeplanError(
                f"{shown}: {what} is the input file {_show(source)}; choose another path for the {what}"
            )
    try:
        info: os.stat_result | None = os.stat(real)
    except OSError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ComputeplanError(f"{shown}: {what} path is a directory; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ComputeplanError(f"{shown}: {what} path is {_kind_of(info.st_mode)}; give a regular file name")
    parent = real.parent
    if not parent.is_dir():
        raise ComputeplanError(f"{shown}: cannot write {what}: directory {_show(target.parent)} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ComputeplanError(f"{shown}: cannot write {what}: directory {_show(target.parent)} is not writable")
    return target


def _same_file(real: Path, source: Path) -> bool:
    if real == Path(os.path.realpath(source)):
        return True
    try:
        return os.path.samefile(real, source)
    except OSError:
        return False


def write_atomic(
    path: str | Path, data: str | bytes, *, inputs: Iterable[str | Path] = (), what: str = "output"
) -> Path:
    """Write ``data`` (text is written as UTF-8) to ``path`` all at once, and return the path.

    After :func:`check_output_path`, the data goes to a temporary file in the same directory, which is flushed
    to disk and renamed onto ``path`` (through a symbolic link, onto its target). On failure the temporary file
    is removed and a one-line :class:`ComputeplanError` names the path and the reason; ``path`` is then either
    untouched or complete, never partial. An existing file keeps its permissions.
    """
    target = check_output_path(path, inputs=inputs, what=what)
    real = Path(os.path.realpath(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise ComputeplanError(f"{_show(target)}: cannot write {what}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _mode_for(real))
        os.replace(temp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise ComputeplanError(f"{_show(target)}: cannot write {what}: {exc.strerror or exc}") from None
        raise
    _sync_directory(real.parent)
    return target


def _mode_for(real: Path) -> int:
    """Permissions of the file being replaced, or the default for a new file under the current umask."""
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk where the platform allows (best effort)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ResumableParquet:
    """Rows written as they finish, so that an interrupted job resumes: each batch is a Parquet file in
    ``OUT.parts/`` beside a fingerprint of the job (``sweep.json``); :meth:`finish` writes all rows to ``out``
    (atomically) and removes the parts. A finished ``out`` is never overwritten, and parts of a different job
    (another fingerprint) are never mixed in: both are ``error``s naming the path."""

    def __init__(self, out: str | Path, fingerprint: str, *, error: type[ComputeplanError] = ComputeplanError) -> None:
        self.out = Path(out)
        self.dir = self.out.with_name(self.out.name + ".parts")
        self.fingerprint = fingerprint
        self.error = error

    def load(self) -> list[dict[str, Any]]:
        """The rows of the parts already written (none for a new job, whose directory it creates)."""
        import json

        import pandas as pd

        if self.out.exists():
            raise self.error(f"{_show(self.out)}: exists; a finished sweep is not overwritten (choose another --out)")
        meta = self.dir / "sweep.json"
        if not self.dir.exists():
            self.dir.mkdir(parents=True)
            meta.write_text(json.dumps({"fingerprint": self.fingerprint}), encoding="utf-8")
            return []
        if not meta.exists() or json.loads(meta.read_text(encoding="utf-8")).get("fingerprint") != self.fingerprint:
            raise self.error(
                f"{_show(self.dir)}: holds the parts of a different sweep (scenario, inputs, samples or seed differ); "
                "remove it or choose another --out"
            )
        rows: list[dict[str, Any]] = []
        for part in sorted(self.dir.glob("part-*.parquet")):
            rows += [{str(k): v for k, v in r.items()} for r in pd.read_parquet(part).to_dict("records")]
        return rows

    def write(self, rows: list[dict[str, Any]], first: int) -> None:
        """One batch of rows, named by its first row's number (so the parts sort in order)."""
        import pandas as pd

        path = self.dir / f"part-{first:08d}.parquet"
        tmp = path.with_suffix(".tmp")
        pd.DataFrame(rows).to_parquet(tmp, index=False)
        tmp.replace(path)

    def finish(self, frame: Any) -> None:
        """Write ``frame`` (a DataFrame) to ``out`` and remove the parts."""
        import shutil

        tmp = self.out.with_name(self.out.name + ".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(self.out)
        shutil.rmtree(self.dir)
