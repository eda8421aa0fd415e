"""Options shared by every command, so that output formats and catalog selection stay uniform."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
CatalogOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        help="Directory of extra catalog YAML files (repeatable); also read from $COMPUTEPLAN_CATALOG.",
        file_okay=False,
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")]


def parse_set_options(items: list[str] | None) -> dict[str, str]:
    """``--set key=value`` options into a mapping; a malformed one is a one-line ScenarioError."""
    from computeplan.errors import ScenarioError

    overrides = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ScenarioError(f"--set: expected key=value, got {item!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")
