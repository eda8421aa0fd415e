"""Measured-runs CSV files (docs/runs-schema.md), read row by row into typed runs; a bad row never breaks a file.

Two levels of problem:

- the file as a whole cannot be read (missing, not UTF-8 text, not CSV, no header, a required column missing):
  :class:`RunFileError`, one line starting with the path;
- one row cannot be used (blank id, a cell that is not a number, a non-finite or non-positive ``value``, a value
  outside its metric's plausible range, a size of zero or beyond a plausible model, an unknown chip or model, a
  length that cannot be inferred, a quote left open, more or fewer cells than the header): the row is skipped,
  reported as ``(id, "line N: reason")``, and the other rows are read.

A quoted cell may span lines (a note with a line break); a quote left open is told apart from one by what it
swallows: a record that spans lines is read as one row only when it has the header's number of cells and none of
its continuation lines would be a row by itself. Otherwise its first line is a bad row ("unterminated quote") and
the lines after it are read again as rows of their own.

A row that is read but whose configuration cannot run (no layout divides its chips) is not skipped: it comes back
as a result row without a prediction, with the reason.

Blank cells mean "not reported": they stay ``None`` and the model fills them (searching the layout, or a stated
default). The columns common to training and serving runs are read here; each model reads its own
(:mod:`computeplan.calibration.training`, :mod:`computeplan.calibration.serving`).
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError, UnknownEntryError, shown, shown_count
from computeplan.files import read_text
from computeplan.workload.transformer import TransformerSpec

SHOWN_CELL = 24  # characters of a bad cell quoted in a row's reason

if TYPE_CHECKING:
    from computeplan.calibration.model import CalibratedModel

SCHEMA_DOC = "docs/runs-schema.md"
MAX_WHOLE = 2**31 - 1
"""Largest whole number a cell may hold (model sizes, chip counts, batches): above it a row is refused."""

# 0 = dense (schema), and no local attention
ZERO_MEANS_BLANK = (
    "moe_experts",
    "moe_top_k",
    "moe_ffn_hidden",
    "moe_shared_experts",
    "attention_window",
    "window_layers",
)
ARCHITECTURE_COLUMNS: tuple[str, ...] = (
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "ffn_hidden",
    "vocab",
    "seq_len",
    *ZERO_MEANS_BLANK,
)
ARCHITECTURE_LIMITS = {
    "layers": 10_000,
    "hidden": 1_000_000,
    "heads": 100_000,
    "kv_heads": 100_000,
    "head_dim": 1_000_000,
    "ffn_hidden": 1_000_000,
    "vocab": 10_000_000,
    "seq_len": 16_777_216,  # 16M tokens
    "moe_experts": 100_000,
    "moe_top_k": 100_000,
    "moe_ffn_hidden": 1_000_000,
    "moe_shared_experts": 100_000,
    "attention_window": 16_777_216,
    "window_layers": 10_000,
}
"""Largest architecture a row may describe: far beyond any published model (the largest have ~200 layers, hidden
~25k, vocabularies ~260k, contexts ~10M), so that only a slip (``layers=1e9``) is refused."""
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called as work advances (done counts rows), with done == total at the end."""


class RunFileError(ComputeplanError):
    """A measured-runs file cannot be read as a whole (unreadable, not CSV, a required column missing)."""


class BadRow(ComputeplanError):
    """One row of a runs file cannot be used; it is skipped with this reason and the other rows are read."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MeasuredRun:
    """The columns every measured run has: what ran, on what, and what was measured (``line``: where, in the file)."""

    id: str
    source: str
    spec: TransformerSpec
    chip: str
    num_chips: int
    metric: str
    value: float
    line: int = 0


def suggest(value: str, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else ``''``."""
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _finite(key: str, raw: str, wanted: str) -> float:
    """The cell as a float; :class:`BadRow` when it is not a number, or not finite (the message says ``wanted``)."""
    try:
        x = float(raw)
    except ValueError:
        raise BadRow(f"column '{key}' must be a number, got {shown(raw, SHOWN_CELL)}") from None
    if not math.isfinite(x):
        raise BadRow(f"column '{key}' must be {wanted}, got {shown(raw, SHOWN_CELL)}")
    return x


class Cells:
    """The cells of one CSV row, read with checks; each problem raises :class:`BadRow` naming the column."""

    def __init__(self, row: dict[Any, Any], line: int) -> None:
        self.row = row
        self.line = line

    def text(self, key: str) -> str:
        """The cell, stripped of surrounding white space ('' when blank or absent)."""
        return self.row.get(key) or ""

    def whole(self, key: str, *, low: int = 1, high: int = MAX_WHOLE, why: str = "") -> int | None:
        """A whole number in [low, high], or None when blank (``8`` and ``8.0`` are 8; ``2.5`` is refused).

        ``why`` says why ``high`` is the limit (``"(beyond any real model)"``), in the message."""
        raw = self.text(key)
        if not raw:
            return None
        at_most = f"at most {high:,}{f' {why}' if why else ''}"
        digits = raw.lstrip("+-")
        if digits.isdigit() and len(digits) > 18:  # refused before int() reads it (above 4300 digits it would fail)
            if raw.startswith("-"):
                raise BadRow(f"column '{key}' must be at least {low}, got a {len(digits)}-digit negative number")
            raise BadRow(f"column '{key}' must be {at_most}, got a {len(digits)}-digit number")
        try:
            n = int(raw)
        except ValueError:
            try:
                x = float(raw)
            except ValueError:
                raise BadRow(f"column '{key}' must be a whole number, got {shown(raw, SHOWN_CELL)}") from None
            if not math.isfinite(x) or x != int(x):
                raise BadRow(f"column '{key}' must be a whole number, got {shown(raw, SHOWN_CELL)}") from None
            n = int(x)
        if n < low:
            raise BadRow(f"column '{key}' must be at least {low}, got {n}")
        if n > high:
            raise BadRow(f"column '{key}' must be {at_most}, got {shown_count(n)}")
        return n

    def number(self, key: str, *, low: float) -> float | None:
        """A finite number >= low (fractions allowed: a mean length may be 271.7), or None when blank."""
        raw = self.text(key)
        if not raw:
            return None
        x = _finite(key, raw, "a finite number")
        if x < low:
            raise BadRow(f"column '{key}' must be at least {low:g}, got {x:g}")
        return x

    def positive(self, key: str) -> float:
        """A finite number > 0 (required)."""
        raw = self.text(key)
        if not raw:
            raise BadRow(f"column '{key}' is blank; it must be a finite positive number")
        x = _finite(key, raw, "a finite positive number")
        if x <= 0:
            raise BadRow(f"column '{key}' must be positive, got {shown(raw, SHOWN_CELL)}")
        return x

    def choice(self, key: str, allowed: Iterable[str], *, lower: bool = False) -> str | None:
        """One of ``allowed``, or None when blank."""
        raw = self.text(key)
        if lower:
            raw = raw.lower()
        if not raw:
            return None
        options = list(allowed)
        if raw not in options:
            got = shown(raw, SHOWN_CELL)
            raise BadRow(f"column '{key}' must be one of {', '.join(options)}, got {got}{suggest(raw, options)}")
        return raw


# --- the file ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsCsv:
    """A runs file read as text, with its header checked: iterate :meth:`rows` for ``(line, row)`` pairs."""

    path: str
    text: str
    columns: tuple[str, ...]

    @classmethod
    def read(cls, path: str | Path) -> RunsCsv:
        """Read and check the header; :class:`RunFileError` for a file-level problem."""
        text = read_text(path, what="runs file", error=RunFileError)
        where = str(path)
        first = next(_lines(text), "")
        try:
            header = next(csv.reader([_ended(first)]), None)
        except csv.Error as exc:
            raise RunFileError(f"{where}: runs file is not CSV text (line 1: {exc}); see {SCHEMA_DOC}") from None
        if not header or not any(c.strip() for c in header):
            raise RunFileError(f"{where}: runs file is empty; it needs a header row (see {SCHEMA_DOC})")
        if _open_cell(header) is not None:
            raise RunFileError(f'{where}:1: the header row has an unterminated quote; close it with "')
        columns = tuple(c.strip() for c in header)
        duplicate = sorted({c for c in columns if c and columns.count(c) > 1})
        if duplicate:
            raise RunFileError(f"{where}: column(s) {', '.join(duplicate)} appear more than once in the header")
        return cls(where, text, columns)

    @property
    def kind(self) -> str:
        """``inference`` when the header has the serving column ``scenario``, else ``training``."""
        return "inference" if "scenario" in self.columns else "training"

    def check_columns(self, required: Iterable[str]) -> None:
        missing = [c for c in required if c not in self.columns]
        if missing:
            raise RunFileError(f"{self.path}: missing column(s) {', '.join(missing)}; see {SCHEMA_DOC} for the columns")
        if "model" not in self.columns and not {"layers", "hidden"} <= set(self.columns):
            raise RunFileError(
                f"{self.path}: needs a 'model' column or the 'layers' and 'hidden' columns; see {SCHEMA_DOC}"
            )

    def rows(self) -> Iterator[tuple[int, dict[str, str], str | None]]:
        """(line of the row's start, row as a dict of stripped cells keyed by column, problem or None) for each row
        that is not blank. A row with a problem (a quote left open, more or fewer cells than the header, a line
        the CSV reader refuses) is not to be read further; the rows after it are still given."""
        feed = _LineFeed(self.text)
        next(feed, None)  # the header, read alone by read()
        width = len(self.columns)
        reader = csv.reader(feed)
        while True:
            feed.start_record()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a cell beyond the reader's size limit: a quote left open, as a rule
                start = feed.taken[0][0] if feed.taken else feed.number
                if len(feed.taken) > 1:
                    refused = f"unterminated quote: a quoted cell is not closed on its line ({exc})"
                else:
                    refused = f"not valid CSV: {exc}"
                first = feed.taken[0][1] if feed.taken else ""
                feed.put_back()
                reader = csv.reader(feed)
                yield start, self._first_line_cells(first), refused
                continue
            start = feed.taken[0][0]
            row = dict(zip(self.columns, (c.strip() for c in cells), strict=False))
            problem = self._unterminated(cells, feed)
            if problem is not None:
                feed.put_back()
                reader = csv.reader(feed)
            elif not any(c.strip() for c in cells):
                continue
            elif len(cells) != width:
                if any('"' in line for _, line in feed.taken):
                    hint = "a quote left open or unmatched?"
                else:
                    hint = "quote a cell that contains a comma" if len(cells) > width else "a row cut short?"
                problem = f"{len(cells)} cells where the header has {width} ({hint})"
            yield start, row, problem

    def _first_line_cells(self, line: str) -> dict[str, str]:
        """The cells of one line read alone (for the id of a row the reader refused), or none."""
        try:
            cells = next(csv.reader([line]), [])
        except csv.Error:
            return {}
        return dict(zip(self.columns, (c.strip() for c in cells), strict=False))

    def _unterminated(self, cells: list[str], feed: _LineFeed) -> str | None:
        """Why a record is a quote left open, or None: it ran to the end of the file inside quotes, or it spans
        lines with the wrong number of cells, or with a continuation line that would be a row by itself."""
        lines = feed.taken
        if not feed.exhausted and (len(lines) == 1 or not self._swallowed(cells, lines)):
            return None
        at = _open_cell(cells)
        column = f"column '{self.columns[at]}'" if at is not None and at < len(self.columns) else "a cell"
        ran = "to the end of the file" if feed.exhausted else f"on to line {lines[-1][0]}"
        return (
            f"unterminated quote: the quoted cell in {column} is not closed on its line and ran {ran}; close it "
            'with " (a quote inside a quoted cell is written twice: "")'
        )

    def _swallowed(self, cells: list[str], lines: list[tuple[int, str]]) -> bool:
        if len(cells) != len(self.columns):
            return True
        for _, line in lines[1:]:
            try:
                alone = next(csv.reader([line]), [])
            except csv.Error:
                continue
            if len(alone) >= len(self.columns):
                return True
        return False


class _LineFeed:
    """The physical lines of a text for the CSV reader, numbered from 1; the lines taken for the current record
    are kept, so that they can be put back and read again (after a quote left open swallowed them).

    Every line is given with an ending, so that the reader asks for one more line only inside a quoted cell:
    running out of lines in a record (``exhausted``) then means a quote left open at the end of the file."""

    def __init__(self, text: str) -> None:
        self._lines = _lines(text)
        self._pending: deque[tuple[int, str]] = deque()
        self.number = 0  # of the last line read from the text
        self.taken: list[tuple[int, str]] = []
        self.exhausted = False

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._pending:
            item = self._pending.popleft()
        else:
            line = next(self._lines, None)
            if line is None:
                self.exhausted = True
                raise StopIteration
            self.number += 1
            item = (self.number, _ended(line))
        self.taken.append(item)
        return item[1]

    def start_record(self) -> None:
        self.taken = []
        self.exhausted = False

    def put_back(self) -> None:
        """Read the lines after the current record's first line again."""
        self._pending.extendleft(reversed(self.taken[1:]))
        self.taken = self.taken[:1]


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings (\\n, \\r\\n or \\r), one at a time: no list of them is built."""
    for match in _LINES.finditer(text):
        yield match.group()


def _ended(line: str) -> str:
    """``line`` with a line ending (the last line of a file may have none)."""
    return line if line.endswith(("\n", "\r")) else line + "\n"


def _open_cell(cells: list[str]) -> int | None:
    """The index of the first cell holding a line break (a quoted cell that ran past its line), or None."""
    return next((i for i, c in enumerate(cells) if "\n" in c or "\r" in c), None)


@dataclass(frozen=True, kw_only=True)
class RunsFile:
    """The runs of a file that could be read, and ``(id, reason)`` for each row skipped."""

    path: str
    kind: str
    runs: list[Any]
    skipped: list[tuple[str, str]]


def read_runs(source: RunsCsv, model: CalibratedModel[Any, Any, Any, Any], catalog: Catalog) -> RunsFile:
    """Every usable row of ``source`` as a run of ``model``; the rest in ``skipped`` with the reason."""
    source.check_columns(model.required_columns)
    runs: list[Any] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    shared: dict[Hashable, Any] = {}  # specs, layouts and texts repeated across rows, held once
    for line, row, problem in source.rows():
        cells = Cells(row, line)
        row_id = cells.text("id")
        try:
            if problem is not None:
                raise BadRow(problem)
            if not row_id:
                raise BadRow("column 'id' is blank")
            if row_id in seen:
                raise BadRow(f"duplicate id (first on line {seen[row_id]})")
            seen[row_id] = line
            runs.append(model.read_row(cells, catalog, _common(cells, model, catalog, shared), shared))
        except ComputeplanError as exc:
            skipped.append((row_id or f"line {line}", f"line {line}: {exc}"))
    return RunsFile(path=source.path, kind=model.kind, runs=runs, skipped=skipped)


def _common(
    cells: Cells, model: CalibratedModel[Any, Any, Any, Any], catalog: Catalog, shared: dict[Hashable, Any]
) -> dict[str, Any]:
    """The fields of :class:`MeasuredRun`, checked."""
    metric = cells.text("metric")
    if metric not in model.metrics:
        article = "an" if model.kind[0] in "aeiou" else "a"
        raise BadRow(
            f"metric '{metric}' is not {article} {model.kind} metric{suggest(metric, model.metrics)}; "
            f"{model.kind} metrics: {', '.join(model.metrics)}"
        )
    value = cells.positive("value")
    model.check_value(metric, value)
    chip = cells.text("chip")
    if not chip:
        raise BadRow("column 'chip' is blank")
    if chip not in catalog.chips:
        raise BadRow(f"column 'chip': {UnknownEntryError('chip', chip, catalog.chips)}")
    num_chips = cells.whole("num_chips")
    if num_chips is None:
        if model.default_num_chips is None:
            raise BadRow("column 'num_chips' is blank; it is required")
        num_chips = model.default_num_chips
    source = cells.text("source")
    return {
        "id": cells.text("id"),
        "source": shared.setdefault(("text", source), source),
        "spec": model_spec(cells, catalog, shared),
        "chip": shared.setdefault(("text", chip), chip),
        "num_chips": num_chips,
        "metric": shared.setdefault(("text", metric), metric),
        "value": value,
        "line": cells.line,
    }


def model_spec(cells: Cells, catalog: Catalog, cache: dict[Hashable, Any]) -> TransformerSpec:
    """The row's architecture: the catalog model's, overridden by any architecture column the row fills.

    Rows with the same model and architecture cells share one spec (``cache``), and one reason when it is bad.
    """
    key = ("spec", cells.text("model"), cells.text("mlp"), *(cells.text(c) for c in ARCHITECTURE_COLUMNS))
    found = cache.get(key)
    if found is None:
        try:
            found = _build_spec(cells, catalog)
        except ComputeplanError as exc:
            found = str(exc)
        cache[key] = found
    if isinstance(found, str):
        raise BadRow(found)
    return found


def _build_spec(cells: Cells, catalog: Catalog) -> TransformerSpec:
    col = {
        key: cells.whole(
            key, low=0 if key in ZERO_MEANS_BLANK else 1, high=ARCHITECTURE_LIMITS[key], why="(beyond any real model)"
        )
        for key in ARCHITECTURE_COLUMNS
    }
    mlp = cells.choice("mlp", ("gelu", "swiglu"))
    model_id = cells.text("model")
    if model_id:
        try:
            entry = catalog.model(model_id)
        except ComputeplanError as exc:
            raise BadRow(f"column 'model': {exc}") from None
        spec = TransformerSpec.from_entry(entry)
    elif col["layers"] and col["hidden"]:
        hidden = col["hidden"]
        heads = col["heads"] or max(hidden // 128, 1)  # FLOPs barely depend on heads; 128-wide heads assumed
        spec = TransformerSpec(
            name=f"{col['layers']}L-{hidden}D",
            layers=col["layers"],
            hidden=hidden,
            heads=heads,
            kv_heads=heads,
            head_dim=max(hidden // heads, 1),
            ffn_hidden=4 * hidden,
            gated_mlp=False,
            vocab=51200,
            seq_len=2048,
        )
    else:
        raise BadRow("needs a catalog 'model' id or the 'layers' and 'hidden' columns")
    changes: dict[str, Any] = {}
    for key in ("layers", "hidden", "heads", "ffn_hidden", "vocab", "seq_len"):
        if col[key]:
            changes[key] = col[key]
    heads = int(changes.get("heads", spec.heads))
    hidden = int(changes.get("hidden", spec.hidden))
    changes["kv_heads"] = col["kv_heads"] or (heads if col["heads"] else spec.kv_heads)
    changes["head_dim"] = col["head_dim"] or (hidden // heads if (col["heads"] or col["hidden"]) else spec.head_dim)
    if changes["head_dim"] < 1:
        raise BadRow(f"hidden / heads = {hidden} / {heads} leaves no head dimension; give 'head_dim'")
    if mlp:
        changes["gated_mlp"] = mlp == "swiglu"
    if col["attention_window"] or col["window_layers"]:
        if not (col["attention_window"] and col["window_layers"]):
            raise BadRow("give both 'attention_window' and 'window_layers' (local attention), or neither")
        changes.update(attention_window=col["attention_window"], window_layers=col["window_layers"])
    if col["moe_experts"]:
        if not (col["moe_ffn_hidden"] or col["ffn_hidden"] or spec.is_moe):
            raise BadRow(
                "moe_ffn_hidden blank: a mixture of experts not in the catalog needs its expert FFN width (a dense "
                "model's 4 x hidden would be a guess that multiplies the expert weights several times)"
            )
        changes.update(
            experts=col["moe_experts"],
            top_k=col["moe_top_k"] or 2,
            expert_ffn_hidden=col["moe_ffn_hidden"] or int(changes.get("ffn_hidden", spec.ffn_hidden)),
            shared_experts=col["moe_shared_experts"] or 0,
        )
    return replace(spec, **changes)
