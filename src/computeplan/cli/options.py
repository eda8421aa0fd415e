"""Options shared by every command, so that output formats and catalog selection stay uniform."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# Command-line usage errors, which main() prints as one line. Recent typer vendors click as typer._click.
try:
    from typer._click.exceptions import ClickException as ClickException
    from typer._click.exceptions import NoArgsIsHelpError as NoArgsIsHelpError
    from typer._click.exceptions import UsageError as UsageError
except ImportError:  # pragma: no cover - an older typer runs on click itself
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        ClickException as ClickException,
    )
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        NoArgsIsHelpError as NoArgsIsHelpError,
    )
    from click.exceptions import UsageError as UsageError  # type: ignore[import-not-found,no-redef,unused-ignore]

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


def split_list(text: str | None, field: str) -> list[str] | None:
    """A comma-separated option (``h100-sxm,trn2``) as a list; None when the option is absent. An option given
    with nothing in it (``--weights ,``) is an error naming ``field`` (the API parameter), not "use the default"."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        from computeplan.errors import InvalidInput

        raise InvalidInput(field, f"expected a comma-separated list, got {text!r}")
    return items


def print_json(data: Any) -> None:
    """``data`` as JSON on stdout. NaN and infinity are refused (they are not JSON): a figure that is legitimately
    undefined is None (null) before it gets here, and anything else non-finite is a bug that must not be printed."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def cli_catalog(dirs: list[Path] | None) -> Catalog:
    """The catalog a command uses: built-in data, then ``--catalog`` directories, then ``$COMPUTEPLAN_CATALOG``.
    Only the CLI reads the environment; the library takes what it is given."""
    from computeplan.catalog.loader import load_catalog, user_dirs_from_env

    return load_catalog([*(dirs or []), *user_dirs_from_env()])


# The command-line flag of each parameter a library error may name (computeplan.errors.InvalidInput.field).
FLAG_OF_FIELD = {
    "model": "--model",
    "chip": "--chip",
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
    "compare": "--compare",
    "prefix_hit_rate": "--prefix-hit-rate",
    "speculative_tokens": "--speculative-tokens",
    "acceptance_rate": "--acceptance-rate",
    "utilization": "--utilization",
    "run_days": "--days",
    "days": "--days",
    "storage_bytes_per_s_per_chip": "--storage-gb-per-s",
}


def usage_message(exc: ClickException) -> str:
    """The one-line message of a command-line usage error (unknown option, bad value), with where to get help."""
    message = " ".join(exc.format_message().split())
    ctx = exc.ctx if isinstance(exc, UsageError) else None
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


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


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr, as a ``progress(done, total)`` callback; None when stderr is not a terminal
    (pipes, tests, CI), so that machine-readable output stays clean."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
