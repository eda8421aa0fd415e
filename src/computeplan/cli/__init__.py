"""The ``computeplan`` command line. Each command parses, calls one library function, and renders.

Every error a user can cause ends in one line on stderr, ``error: ...``, and exit code 2: library errors
(:class:`computeplan.errors.ComputeplanError`) and command-line usage errors alike (an unknown option, a value that
is not a number, an option out of its range). ``--debug`` shows the traceback of a library error instead. Anything
else that escapes is a bug and keeps its traceback (tests/fuzz hunts for those).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import NoReturn

from computeplan.errors import ComputeplanError

EXIT_USER_ERROR = 2
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EIO)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from computeplan.cli.app import app
    from computeplan.cli.options import ClickException, NoArgsIsHelpError, message_for_cli, usage_message

    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        # standalone_mode=False: click's usage errors come back here instead of printing a multi-line usage box
        code = app(args=args, prog_name="computeplan", standalone_mode=False)
    except ComputeplanError as exc:
        if debug:
            raise
        _fail(message_for_cli(exc))
    except NoArgsIsHelpError as exc:  # bare `computeplan`: the help, as `computeplan --help` prints it
        sys.stdout.write(exc.format_message().rstrip("\n") + "\n")
        code = 0
    except ClickException as exc:  # a usage error has no traceback worth showing, even with --debug
        _fail(usage_message(exc))
    except OSError as exc:  # the output cannot be written (a full disk); a broken pipe typer handles itself
        if debug or exc.errno not in OUTPUT_ERRORS:
            raise
        _silence_stdout()
        _fail(f"cannot write the output: {exc.strerror}")
    if isinstance(code, int) and code:  # typer.Exit(code) in non-standalone mode comes back as a return value
        sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is left of it at exit raises nothing more."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (tests capture it)
        pass


def _fail(message: str) -> NoReturn:
    """One line on stderr (whatever the message holds: a hostile value may carry newlines) and exit code 2."""
    line = " ".join(message.split()) or "unknown error"
    sys.stderr.write(f"error: {line}\n")
    sys.exit(EXIT_USER_ERROR)
