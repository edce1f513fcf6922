"""``alembic-guard scan``: files on disk, or the staged index."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterator

from alembic_guard import files
from alembic_guard.cli import CLEAN, ERROR, FOUND
from alembic_guard.detect import Result, scan_text
from alembic_guard.finding import Advice, Finding, Scrubber
from alembic_guard.report import write
from alembic_guard.settings import BadSettings, Settings, load


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="files or folders to scan (default: the current folder; "
             "with --staged: limit to these paths)")
    parser.add_argument("--format", choices=("text", "json"),
                        default="text", help="output format")
    parser.add_argument(
        "--staged", action="store_true",
        help="scan the staged (index) versions instead of the work tree")
    parser.add_argument("--config", metavar="FILE",
                        help="settings file (default: setup.cfg or "
                             "pyproject.toml of the repository)")
    parser.add_argument("--max-bytes", type=int, metavar="N",
                        help="refuse files larger than N bytes "
                             f"(default {files.DEFAULT_MAX_BYTES})")


class Collected:
    """Everything one run found, across files."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.advice: list[Advice] = []
        self.notices: list[str] = []
        self.errors = 0
        self.scrub = Scrubber()

    def add(self, result: Result, settings: Settings) -> None:
        self.findings.extend(
            f for f in result.findings
            if not settings.allows(f.fingerprint, f.host))
        self.advice.extend(result.advice)
        self.notices.extend(result.notices)

    def scan(self, path: str, data: bytes, settings: Settings) -> None:
        text, binary = files.decode(data)
        if binary:
            self.notices.append(f"{path}: binary content (NUL bytes); "
                                "scanned line by line")
        self.add(scan_text(text, path, self.scrub,
                           "text" if binary else None), settings)

    def error(self, message: str) -> None:
        self.errors += 1
        self.notices.append(f"alembic-guard: {message}")

    def exit_code(self) -> int:
        if self.errors:
            return ERROR
        return FOUND if self.findings else CLEAN


def run(args: argparse.Namespace) -> int:
    found = Collected()
    try:
        settings = load(args.config)
    except BadSettings as exc:
        sys.stderr.write(f"alembic-guard: {exc}\n")
        return ERROR
    limit = args.max_bytes or settings.max_bytes or files.DEFAULT_MAX_BYTES
    if args.staged:
        _staged(args.paths, settings, limit, found)
    else:
        for path, data in _on_disk(args.paths or ["."], settings, limit,
                                   found):
            found.scan(path, data, settings)
    write(sys.stdout, sys.stderr, args.format, found.findings,
          found.advice, found.notices, found.scrub)
    return found.exit_code()


def _on_disk(paths: list[str], settings: Settings, limit: int,
             found: Collected) -> Iterator[tuple[str, bytes]]:
    for path in files.expand(paths):
        if settings.excludes(os.path.normpath(path)):
            continue
        try:
            yield path, files.read_bytes(path, limit)
        except files.Unreadable as exc:
            found.error(str(exc))


def _staged(paths: list[str], settings: Settings, limit: int,
            found: Collected) -> None:
    from alembic_guard import git

    wanted = {os.path.normpath(p) for p in paths}
    try:
        entries = [
            (path, blob) for path, blob in git.staged()
            if (files.is_candidate(path) if not wanted
                else os.path.normpath(path) in wanted)
            and not settings.excludes(path)]
        names = {}
        for path, blob in entries:
            names.setdefault(blob, []).append(path)
        for blob, data in git.cat_blobs(list(names), limit=limit):
            for path in names[blob]:
                if data is None:
                    found.error(f"{path}: staged version is over the "
                                f"{limit} byte limit")
                else:
                    found.scan(path, data, settings)
    except git.GitError as exc:
        found.error(str(exc))
