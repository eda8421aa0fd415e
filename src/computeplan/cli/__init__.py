"""The ``computeplan`` command line. Each command parses, calls one library function, and renders.

User errors (:class:`computeplan.errors.ComputeplanError`) end in one line on stderr and exit code 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import sys

from computeplan.errors import ComputeplanError

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from computeplan.cli.app import app

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, prog_name="computeplan")
    except ComputeplanError as exc:
        if debug:
            raise
        from computeplan.cli.options import message_for_cli

        sys.stderr.write(f"error: {message_for_cli(exc)}\n")
        sys.exit(EXIT_USER_ERROR)
