"""Presentation only: tables, charts and the HTML report. No math here.

Every string that came from a user (a scenario's name, an id from a CSV or a user catalog, a path, a flag's value)
goes through :func:`safe_text` before it reaches the terminal, so that it cannot carry terminal escapes or rich
markup; the HTML report escapes it with ``html.escape``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPED_WIDTH = 200  # rich assumes 80 columns when output is piped; wide tables would be truncated
MIN_WIDTH, MAX_WIDTH = 40, 10_000  # a $COLUMNS outside this range is taken as its nearest end


def safe_text(value: object, *, markup: bool = True) -> str:
    """``value`` as text that prints as itself: each character a terminal would act on (control characters, the
    escape of ANSI sequences, bidirectional overrides, line and paragraph separators) is written as its Python
    escape (``\\x1b``, ``\\n``, ``\\u202e``); with ``markup`` (for rich: console.print, table cells) the square
    brackets of rich markup are escaped too, so ``[red]`` prints as ``[red]``."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if markup and "[" in text:
        from rich.markup import escape

        text = escape(text)
    return text


def console() -> Console:
    """A rich console: as wide as ``$COLUMNS`` when it is set (a positive whole number), else the terminal's width,
    else (output piped) :data:`PIPED_WIDTH`, so that table cells are not truncated to rich's default 80 columns."""
    from rich.console import Console

    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isascii() and columns.isdigit() and int(columns) > 0:
        return Console(width=min(max(int(columns), MIN_WIDTH), MAX_WIDTH))
    out = Console()
    return out if out.is_terminal else Console(width=PIPED_WIDTH)


def table(title: str | None = None) -> Table:
    """The house style of a terminal table: a rule under the header, one space between columns and no frame, so
    that a table of a dozen numeric columns fits 100 columns of terminal."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
        header_style="bold",
    )


def fits(out: Console, tab: Table) -> bool:
    """Whether ``tab`` fits ``out``'s width with every cell whole on one line (its natural width)."""
    unbounded = out.options.update_width(MAX_WIDTH)  # measure the natural width, not one clamped to the console's
    return out.measure(tab, options=unbounded).maximum <= out.width


def fit_columns(out: Console, tab: Table, optional: Sequence[str]) -> list[str]:
    """Drop the ``optional`` columns of ``tab`` (named by header, least wanted first) until it fits ``out``'s width
    without wrapping or cutting a cell; returns the headers dropped, for a note under the table."""
    dropped: list[str] = []
    for header in optional:
        if fits(out, tab):
            break
        column = next((c for c in tab.columns if c.header == header), None)
        if column is not None:
            tab.columns.remove(column)
            dropped.append(header)
    return dropped
