"""Presentation only: tables, charts and the HTML report. No math here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 200  # rich assumes 80 columns when output is piped; wide tables would be truncated


def console() -> Console:
    """A rich console that never truncates table cells when output is piped."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=PIPED_WIDTH)
