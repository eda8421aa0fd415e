"""The ``computeplan`` command line. Each command parses, calls one library function, and renders.

Every error a user can cause ends in one line on stderr, ``error: ...``, and exit code 2: library errors
(:class:`computeplan.errors.ComputeplanError`) and command-line usage errors alike (an unknown option, a value that
is not a number, an option out of its range). ``--debug`` shows the traceback of a library error instead. Anything
else that escapes is a bug and keeps its traceback (tests/fuzz hunts for those).

The line is safe to print: a library error names the flag the user gave (never a Python parameter, never a flag
the user did not give), control characters are escaped, and text the user typed is echoed at most
:data:`ECHO_LIMIT` characters long.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from computeplan.errors import ComputeplanError

EXIT_USER_ERROR = 2
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EIO)
ECHO_LIMIT = 60  # characters of a user's text echoed in an error; longer text is shortened


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from computeplan.cli.app import app
    from computeplan.cli.options import (
        ClickException,
        NoArgsIsHelpError,
        flags_given,
        message_for_cli,
        usage_message,
    )

    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args

    def fail(message: str) -> NoReturn:
        _fail(shorten_echoes(message, args))

    try:
        # standalone_mode=False: click's usage errors come back here instead of printing a multi-line usage box
        code = app(args=args, prog_name="computeplan", standalone_mode=False)
    except ComputeplanError as exc:
        if debug:
            raise
        fail(message_for_cli(exc, flags_given(args)))
    except NoArgsIsHelpError as exc:  # bare `computeplan`: the help, as `computeplan --help` prints it
        sys.stdout.write(exc.format_message().rstrip("\n") + "\n")
        code = 0
    except ClickException as exc:  # a usage error has no traceback worth showing, even with --debug
        fail(usage_message(exc))
    except OSError as exc:  # the output cannot be written (a full disk); a broken pipe typer handles itself
        if debug or exc.errno not in OUTPUT_ERRORS:
            raise
        _silence_stdout()
        fail(f"cannot write the output: {exc.strerror}")
    if isinstance(code, int) and code:  # typer.Exit(code) in non-standalone mode comes back as a return value
        sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is left of it at exit raises nothing more."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (tests capture it)
        pass


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` as echoed in a message: whole when at most ``limit`` characters, else its start and end around
    '...' with its length, so that a 5,000-character value does not fill the terminal."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[: limit - tail - 3]}...{text[-tail:]} ({len(text):,} characters)"


_LONG_WORD = re.compile(rf"\S{{{2 * ECHO_LIMIT + 1},}}")


def shorten_echoes(message: str, args: Sequence[str]) -> str:
    """``message`` with every long command-line argument in it (as typed, or escaped as ``repr`` shows it)
    shortened; an argument naming an existing file stays whole (a path is bounded and worth reading in full).
    Any word still longer than twice :data:`ECHO_LIMIT` (text from a file the user gave) is shortened too."""
    values = {v for arg in args for v in (arg, arg.partition("=")[2] if arg.startswith("--") else "")}
    long_values = [v for v in values if len(v) > ECHO_LIMIT and not _names_a_file(v)]
    for value in sorted(long_values, key=len, reverse=True):
        short = shorten(value)
        message = message.replace(value, short).replace(repr(value)[1:-1], short)

    def cut_start(match: re.Match[str]) -> str:
        """A long value the library already cut to its start ('xxxx...'): shortened the same way."""
        word = match.group(0)
        core = word.strip("'\"`:;,.()[]")
        whole = next((v for v in long_values if len(core) > ECHO_LIMIT and v.startswith(core)), None)
        if whole is None:
            return word
        at = word.index(core)
        rest = word[at + len(core) :].removeprefix("...")
        return f"{word[:at]}{shorten(whole)}{rest}"

    message = re.sub(rf"\S{{{ECHO_LIMIT + 1},}}", cut_start, message)
    return _LONG_WORD.sub(lambda match: shorten(match.group(0)), message)


def _names_a_file(value: str) -> bool:
    try:
        return os.path.lexists(value)
    except (OSError, ValueError):
        return False


def _fail(message: str) -> NoReturn:
    """One line on stderr (whatever the message holds: a hostile value may carry newlines or terminal escapes)
    and exit code 2."""
    from computeplan.report import safe_text

    line = safe_text(" ".join(message.split()), markup=False) or "unknown error"
    sys.stderr.write(f"error: {line}\n")
    sys.exit(EXIT_USER_ERROR)
