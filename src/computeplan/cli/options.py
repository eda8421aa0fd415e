"""Options shared by every command, so that output formats and catalog selection stay uniform."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
        ClickException as ClickException,
    )
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
        NoArgsIsHelpError as NoArgsIsHelpError,
    )
    from click.exceptions import UsageError as UsageError  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]

if TYPE_CHECKING:
    from computeplan.catalog.loader import Catalog
    from computeplan.estimate.efficiency import EfficiencyTables

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="a device profile (`computeplan profile`): adds its chip (e.g. profile-cpu) with the measured "
        "efficiencies",
    ),
]
CatalogOption = Annotated[
    list[str] | None,  # text, not Path: Path("") is ".", and an empty --catalog must be refused, not read as "."
    typer.Option(
        "--catalog",
        help="Directory of extra catalog YAML files (repeatable); also read from $COMPUTEPLAN_CATALOG.",
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
    with nothing in it (``--weights ,``) or with an item twice (``h100-sxm,h100-sxm``) is an error naming
    ``field`` (the API parameter), not "use the default" or a silent duplicate."""
    from computeplan.errors import InvalidInput

    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InvalidInput(field, f"expected a comma-separated list, got {text!r}")
    twice = next((item for i, item in enumerate(items) if item in items[:i]), None)
    if twice is not None:
        raise InvalidInput(field, f"{twice!r} is listed twice; give each once")
    return items


def print_json(data: Any) -> None:
    """``data`` as JSON on stdout. NaN and infinity are refused (they are not JSON): a figure that is legitimately
    undefined is None (null) before it gets here, and anything else non-finite is a bug that must not be printed.
    A negative zero (an LP's -0.0) is written as 0.0."""
    text = json.dumps(_without_negative_zero(data), indent=2, sort_keys=False, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def _without_negative_zero(data: Any) -> Any:
    if isinstance(data, float):
        return 0.0 if data == 0.0 else data  # -0.0 == 0.0; NaN is left for json.dumps to refuse
    if isinstance(data, Mapping):
        return {key: _without_negative_zero(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_without_negative_zero(value) for value in data]
    return data


def require_path(value: str, name: str) -> str:
    """A file argument (``name`` as the help shows it, e.g. ``FILE.csv``) that is not empty or blank."""
    from computeplan.errors import ComputeplanError

    if not value.strip():
        raise ComputeplanError(f"{name}: empty path; give a file name")
    return value


def catalog_dirs(dirs: Sequence[str] | None) -> list[Path]:
    """The user catalog directories of a command: ``--catalog`` ones, then those of ``$COMPUTEPLAN_CATALOG``.
    An empty ``--catalog ""`` is refused (read as a path it would be the current directory, every YAML file in
    it loaded as catalog data)."""
    from computeplan.catalog.loader import user_dirs_from_env
    from computeplan.errors import CatalogError

    if any(not d for d in dirs or ()):
        raise CatalogError("--catalog: empty path; give a directory (--catalog . for the current one)")
    return [*(Path(d) for d in dirs or ()), *user_dirs_from_env()]


def with_profile(catalog: Catalog, profile: str | None) -> tuple[Catalog, EfficiencyTables | None]:
    """``catalog`` and efficiency tables extended by a ``--profile`` file (None: the built-in tables)."""
    if profile is None:
        return catalog, None
    from computeplan.profiling.device_profile import load_profile

    require_path(profile, "--profile")
    return load_profile(profile).extend(catalog)


def cli_catalog(dirs: Sequence[str] | None) -> Catalog:
    """The catalog a command uses: built-in data, then ``--catalog`` directories, then ``$COMPUTEPLAN_CATALOG``.
    Only the CLI reads the environment; the library takes what it is given."""
    from computeplan.catalog.loader import load_catalog

    return load_catalog(catalog_dirs(dirs))


CATALOG_SUFFIXES = (".yaml", ".yml")  # the files of a catalog directory that the catalog loader reads


def guard_output(
    path: str, *, what: str, catalog: Sequence[str] | None, files: Iterable[str | None], efficiency: bool
) -> list[Path]:
    """Check, before any work, that the output ``path`` may be written; return the inputs to give
    :func:`computeplan.files.write_atomic` when writing it.

    The inputs are every file the command reads: the package's own catalog files (and, with ``efficiency``, its
    efficiency tables: ``calibrate`` does not read them, and ``make calibrate`` rewrites them), the YAML files of
    the catalog directories (``--catalog`` and ``$COMPUTEPLAN_CATALOG``) and ``files`` (a scenario, a CSV, a
    ``--model``/``--chip`` YAML file; values that name no file, such as catalog ids, are left out). A YAML output
    inside a catalog directory is refused too: the next command would read it as catalog data.
    """
    from computeplan.catalog.loader import builtin_files, efficiency_table_path
    from computeplan.errors import ComputeplanError
    from computeplan.files import check_output_path

    dirs = catalog_dirs(catalog)
    package = builtin_files()
    if efficiency:
        package += [efficiency_table_path("training"), efficiency_table_path("inference")]
    inputs = [*package, *(Path(f) for f in files if f and _is_file(f))]
    for directory in dirs:
        inputs += _catalog_files(directory)
    check_output_path(path, inputs=inputs, what=what)
    target = Path(os.path.realpath(path))
    if target.suffix in CATALOG_SUFFIXES and not target.name.startswith("."):  # a name the loader would read
        for directory in dirs:
            if _is_dir(directory) and target.parent == Path(os.path.realpath(directory)):
                raise ComputeplanError(
                    f"{path}: {what} would be written into the catalog directory {directory}, where the next "
                    f"command would read it as catalog data; choose another directory"
                )
    return inputs


def _catalog_files(directory: Path) -> list[Path]:
    """The YAML files of a catalog directory, in any case, hidden ones too (nothing when it cannot be listed: loading
    the catalog says why)."""
    try:
        names = os.listdir(directory)
    except (OSError, ValueError):
        return []
    return [directory / name for name in names if name.lower().endswith(CATALOG_SUFFIXES)]


def _is_file(path: str | Path) -> bool:
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _is_dir(path: str | Path) -> bool:
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


# The command-line flags of each parameter a library error may name (computeplan.errors.InvalidInput.field): the
# message names the first of them that the user gave (serve's chip list comes from --compare or --chip).
FLAG_OF_FIELD: dict[str, tuple[str, ...]] = {
    "model": ("--model",),
    "chip": ("--chip", "--compare"),
    "seq_len": ("--seq",),
    "global_batch": ("--global-batch",),
    "global_batch_tokens": ("--global-batch-tokens",),
    "tokens": ("--tokens",),
    "layout": ("--layout",),
    "top": ("--top",),
    "overrides": ("--set",),
    "pue": ("--pue",),
    "framework": ("--framework",),
    "num_chips": ("--chips",),
    "chips": ("--chips", "--compare", "--chip"),
    "input_len": ("--input",),
    "output_len": ("--output",),
    "tpot_s": ("--tpot-ms",),
    "ttft_s": ("--ttft-s",),
    "traffic": ("--traffic",),
    "traffic_tokens_per_day": ("--traffic",),
    "weight_precisions": ("--weights",),
    "compare": ("--compare",),
    "prefix_hit_rate": ("--prefix-hit-rate",),
    "speculative_tokens": ("--speculative-tokens",),
    "acceptance_rate": ("--acceptance-rate",),
    "utilization": ("--utilization",),
    "run_days": ("--days",),
    "days": ("--days",),
    "storage_bytes_per_s_per_chip": ("--storage-gb-per-s",),
    "device": ("--device",),
    "dtype": ("--dtype",),
}

# Parameters that the library receives converted from what the user typed (a unit, req/s to tokens per day,
# "4M" to 4e6): a bound in the library's message is in this unit, and the value shown is the text typed.
LIBRARY_UNIT = {
    "traffic": "output tokens/day",
    "traffic_tokens_per_day": "output tokens/day",
    "tpot_s": "s",
    "storage_bytes_per_s_per_chip": "bytes/s",
    "run_days": "days",
    "global_batch_tokens": "tokens",
    "tokens": "tokens",
}
_BOUND = re.compile(r"must be (at most|at least|>|>=|<|<=) \S+$")


def usage_message(exc: ClickException) -> str:
    """The one-line message of a command-line usage error (unknown option, bad value), with where to get help."""
    message = " ".join(exc.format_message().split())
    ctx = exc.ctx if isinstance(exc, UsageError) else None
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def flags_given(args: Sequence[str]) -> dict[str, str]:
    """The long options on a command line, each with the text typed for it (the next argument, or what follows
    its '='), for messages; a switch maps to whatever follows it, which no message uses."""
    given: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            given[name] = value if sep else (args[i + 1] if i + 1 < len(args) else "")
    return given


def message_for_cli(exc: Exception, given: Mapping[str, str] | None = None) -> str:
    """The one-line message of a user error, with a library parameter name replaced by the flag the user gave.

    ``given`` (from :func:`flags_given`) is what the user typed: a parameter is blamed on a flag only when the
    user gave that flag (a PUE from the catalog is not "--pue"), and a value the CLI converted before the library
    saw it (``--traffic -5req/s``) is shown as typed. Without ``given``, every parameter maps to its first flag.
    """
    from computeplan.errors import InvalidInput

    if not isinstance(exc, InvalidInput) or exc.field not in FLAG_OF_FIELD:
        return " ".join(str(exc).split()) or type(exc).__name__
    flags = FLAG_OF_FIELD[exc.field]
    flag = flags[0] if given is None else next((f for f in flags if f in given), None)
    if flag is None:
        return f"{exc.field}: {exc.problem} (a value from the catalog, a file or a default, not from a flag)"
    problem = exc.problem
    if given is not None and exc.field in LIBRARY_UNIT and ", got " in problem:
        bound = problem.rsplit(", got ", 1)[0]
        if _BOUND.search(bound):
            bound += f" {LIBRARY_UNIT[exc.field]}"
        problem = f"{bound}, got {given[flag]!r}"
    return f"{flag}: {problem}"


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


def json_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-ready dicts: NaN and infinities as null."""
    import math

    return [
        {str(k): (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]
