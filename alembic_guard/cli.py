"""The ``alembic-guard`` command: one subcommand per module.

Each subcommand module has ``arguments(parser)`` and ``run(args) -> int``
and is imported only when chosen, so that the commit hook does not pay
for the history audit's imports.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from alembic_guard import __version__

CLEAN, FOUND, ERROR = 0, 1, 2

COMMANDS = {
    "scan": (
        "alembic_guard.scan",
        "scan files (or the staged index) for database passwords",
    ),
    "audit": (
        "alembic_guard.audit",
        "scan every commit of a repository's history",
    ),
    "fix": (
        "alembic_guard.fix",
        "move passwords out of alembic.ini into .env",
    ),
    "install": ("alembic_guard.install", "install a native git hook"),
}

EPILOG = """\
exit status:
  0  nothing found (or, for fix, nothing to change)
  1  a credential was found (for fix: a file was changed)
  2  usage error, or an input could not be read: the job is not done
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help layout, without importing shutil.

    argparse builds a formatter for every ``add_argument`` and, left to
    itself, asks ``shutil`` for the terminal width; shutil and the
    compression modules it imports cost about 3.5 ms of every hook run
    in a plain virtual environment (python -X importtime).
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` finds it."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    stream = sys.__stdout__
    if columns <= 0 and stream is not None:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def parser(
    only: str | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top parser and the subcommand parsers: all of them, or just
    ``only`` (each costs about 0.1 ms, and a hook names its command)."""
    top = argparse.ArgumentParser(
        prog="alembic-guard",
        description="Keep database credentials out of git.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    top.add_argument(
        "--version", action="version", version=f"alembic-guard {__version__}"
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    subs = {}
    for name, (_, summary) in COMMANDS.items():
        if only is None or name == only:
            subs[name] = sub.add_parser(
                name,
                help=summary,
                description=summary,
                epilog=EPILOG,
                formatter_class=_Formatter,
            )
    return top, subs


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    chosen = next((a for a in args if not a.startswith("-")), None)
    if chosen not in COMMANDS:
        chosen = None
    top, subs = parser(chosen)
    module = None
    if chosen is not None:
        # __import__ rather than importlib: a console script has not
        # loaded the importlib package, which costs about 0.8 ms.
        __import__(COMMANDS[chosen][0])
        module = sys.modules[COMMANDS[chosen][0]]
        module.arguments(subs[chosen])
    try:
        parsed = top.parse_args(args)
    except SystemExit as exc:
        return ERROR if exc.code not in (0, None) else CLEAN
    assert module is not None
    try:
        return int(module.run(parsed))
    except KeyboardInterrupt:
        sys.stderr.write("alembic-guard: interrupted\n")
        return ERROR
