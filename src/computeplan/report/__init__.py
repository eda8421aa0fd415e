"""Presentation only: tables, charts and the HTML report. No math here."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPED_WIDTH = 200  # rich assumes 80 columns when output is piped; wide tables would be truncated
MIN_WIDTH, MAX_WIDTH = 40, 10_000  # a $COLUMNS outside this range is taken as its nearest end


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


def fit_columns(out: Console, tab: Table, optional: Sequence[str]) -> list[str]:
    """Drop the ``optional`` columns of ``tab`` (named by header, least wanted first) until it fits ``out``'s width
    without wrapping or cutting a cell; returns the headers dropped, for a note under the table."""
    unbounded = out.options.update_width(MAX_WIDTH)  # measure the natural width, not one clamped to the console's
    dropped: list[str] = []
    for header in optional:
        if out.measure(tab, options=unbounded).maximum <= out.width:
            break
        column = next((c for c in tab.columns if c.header == header), None)
        if column is not None:
            tab.columns.remove(column)
            dropped.append(header)
    return dropped
