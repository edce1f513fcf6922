"""The ``alembic-guard`` command: one subcommand per module.

Each subcommand module has ``arguments(parser)`` and ``run(args) -> int``
and is imported only when chosen, so that the commit hook does not pay
for the history audit's imports.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from alembic_guard import __version__

CLEAN, FOUND, ERROR = 0, 1, 2

COMMANDS = {
    "scan": ("alembic_guard.scan",
             "scan files (or the staged index) for database passwords"),
    "audit": ("alembic_guard.audit",
              "scan every commit of a repository's history"),
    "fix": ("alembic_guard.fix",
            "move passwords out of alembic.ini into .env"),
    "install": ("alembic_guard.install", "install a native git hook"),
}

EPILOG = """\
exit status:
  0  nothing found (or, for fix, nothing to change)
  1  a credential was found (for fix: a file was changed)
  2  usage error, or an input could not be read: the job is not done
"""


def parser() -> tuple[argparse.ArgumentParser,
                      dict[str, argparse.ArgumentParser]]:
    top = argparse.ArgumentParser(
        prog="alembic-guard",
        description="Keep database credentials out of git.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version",
                     version=f"alembic-guard {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    subs = {}
    for name, (_, summary) in COMMANDS.items():
        subs[name] = sub.add_parser(
            name, help=summary, description=summary, epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter)
    return top, subs


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    top, subs = parser()
    chosen = next((a for a in args if not a.startswith("-")), None)
    module = None
    if chosen in COMMANDS:
        module = importlib.import_module(COMMANDS[chosen][0])
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
