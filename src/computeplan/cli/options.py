"""Options shared by every command, so that output formats and catalog selection stay uniform."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from computeplan.catalog.loader import Catalog

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


def cli_catalog(dirs: list[Path] | None) -> Catalog:
    """The catalog a command uses: built-in data, then ``--catalog`` directories, then ``$COMPUTEPLAN_CATALOG``.
    Only the CLI reads the environment; the library takes what it is given."""
    from computeplan.catalog.loader import load_catalog, user_dirs_from_env

    return load_catalog([*(dirs or []), *user_dirs_from_env()])


# The command-line flag of each parameter a library error may name (computeplan.errors.InvalidInput.field).
FLAG_OF_FIELD = {
    "seq_len": "--seq",
    "global_batch": "--global-batch",
    "global_batch_tokens": "--global-batch-tokens",
    "tokens": "--tokens",
    "layout": "--layout",
    "top": "--top",
    "overrides": "--set",
    "pue": "--pue",
    "num_chips": "--chips",
    "chips": "--chips",
    "input_len": "--input",
    "output_len": "--output",
    "tpot_s": "--tpot-ms",
    "ttft_s": "--ttft-s",
    "traffic": "--traffic",
    "traffic_tokens_per_day": "--traffic",
    "weight_precisions": "--weights",
    "prefix_hit_rate": "--prefix-hit-rate",
    "speculative_tokens": "--speculative-tokens",
    "acceptance_rate": "--acceptance-rate",
    "utilization": "--utilization",
    "run_days": "--days",
    "storage_bytes_per_s_per_chip": "--storage-gb-per-s",
}


def message_for_cli(exc: Exception) -> str:
    """The one-line message of a user error, with a library parameter name replaced by its flag."""
    from computeplan.errors import InvalidInput

    if isinstance(exc, InvalidInput) and exc.field in FLAG_OF_FIELD:
        flag = FLAG_OF_FIELD[exc.field]
        problem = exc.problem
        if exc.field in ("tpot_s", "storage_bytes_per_s_per_chip", "run_days"):  # the flag is in other units
            problem = problem.split(", got")[0].replace("must be at most", "must be at most the equivalent of")
        return f"{flag}: {problem}"
    return " ".join(str(exc).split()) or type(exc).__name__
