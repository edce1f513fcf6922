"""``alembic-guard scan``: files on disk, or the staged index."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from alembic_guard import files
from alembic_guard.cli import CLEAN, ERROR, FOUND
from alembic_guard.detect import Result, scan_text
from alembic_guard.finding import Advice, Finding, Scrubber
from alembic_guard.report import write
from alembic_guard.settings import SECTION, BadSettings, Settings, load


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or folders to scan (default: the current folder; "
        "with --staged: limit to these paths)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format",
    )
    parser.add_argument(
        "--staged",
        action="store_true",
        help="scan the staged (index) versions instead of the work tree",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: setup.cfg or "
        "pyproject.toml of the repository)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive,
        metavar="N",
        help="refuse files larger than N bytes "
        f"(default {files.DEFAULT_MAX_BYTES})",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive whole number"
        )
    return int(text)


class Collected:
    """Everything one run found, across files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.findings: list[Finding] = []
        self.advice: list[Advice] = []
        self.notices: list[str] = []
        self.errors = 0
        self.scrub = Scrubber()

    def add(self, result: Result) -> None:
        self.findings.extend(
            f
            for f in result.findings
            if not self.settings.allows(f.fingerprint, f.host)
        )
        self.advice.extend(result.advice)
        self.notices.extend(result.notices)

    def scan(self, path: str, data: bytes) -> None:
        text, binary = files.decode(data)
        if binary:
            self.notices.append(
                f"{path}: binary content (NUL bytes); scanned line by line"
            )
        self.add(scan_text(text, path, self.scrub, "text" if binary else None))

    def error(self, message: str) -> None:
        self.errors += 1
        self.notices.append(f"alembic-guard: {message}")

    def exit_code(self) -> int:
        # An input we could not read may hold a password: that outranks
        # the findings, so that a broken run never passes for a finished
        # one.
        if self.errors:
            return ERROR
        return FOUND if self.findings else CLEAN


def run(args: argparse.Namespace) -> int:
    try:
        settings = load(args.config)
    except BadSettings as exc:
        sys.stderr.write(f"alembic-guard: {exc}\n")
        return ERROR
    found = Collected(settings)
    limit = args.max_bytes or settings.max_bytes or files.DEFAULT_MAX_BYTES
    if args.staged:
        _staged(args.paths, limit, found)
    else:
        for path, data in _on_disk(args.paths or ["."], limit, found):
            found.scan(path, data)
    write(
        sys.stdout,
        sys.stderr,
        args.format,
        found.findings,
        found.advice,
        found.notices,
        found.scrub,
    )
    if found.findings and args.format == "text":
        sys.stderr.write(_summary(found.findings, settings))
    return found.exit_code()


def _summary(findings: list[Finding], settings: Settings) -> str:
    paths = len({f.path for f in findings})
    listed = sum(f.rule != "too-many-passwords" for f in findings)
    more = " (and more not listed)" if listed < len(findings) else ""
    where = f"[{SECTION}] of setup.cfg"
    if settings.source is not None and settings.source.endswith(".toml"):
        where = f"[tool.{SECTION}] of {os.path.relpath(settings.source)}"
    elif settings.source is not None:
        where = f"[{SECTION}] of {os.path.relpath(settings.source)}"
    return (
        f"alembic-guard: {listed} database password"
        f"{'s' if listed != 1 else ''}{more} in {paths} file"
        f"{'s' if paths > 1 else ''}. A finding that is meant to be "
        f"there: add its fingerprint to allow-fingerprints in {where}.\n"
    )


def _on_disk(
    paths: list[str], limit: int, found: Collected
) -> Iterator[tuple[str, bytes]]:
    for named in paths:
        # A folder named on the command line is searched even when the
        # settings exclude it; a file named (as pre-commit names every
        # staged file) is not.
        folder = os.path.isdir(named) and not os.path.islink(named)
        for path in files.expand([named]):
            if found.settings.excludes(
                os.path.abspath(path),
                os.path.abspath(named) if folder else None,
            ):
                continue
            try:
                yield path, files.read_bytes(path, limit)
            except files.Unreadable as exc:
                found.error(str(exc))


def _staged(paths: list[str], limit: int, found: Collected) -> None:
    from alembic_guard import git

    try:
        top, prefix = git.work_tree()
    except git.GitError as exc:
        found.error(f"--staged: {os.getcwd()}: {exc}")
        return
    wanted = [_from_top(prefix, p) for p in paths]
    try:
        names: dict[str, list[str]] = {}
        for entry in git.staged():
            full = os.path.join(top, entry.path)
            if _chosen(entry.path, wanted) and not found.settings.excludes(
                full
            ):
                names.setdefault(entry.blob, []).append(os.path.relpath(full))
        for blob, data in git.cat_blobs(list(names), limit=limit):
            for path in names[blob]:
                if data is None:
                    found.error(
                        f"{path}: staged version is over the "
                        f"{limit} byte limit (raise it with "
                        "--max-bytes)"
                    )
                else:
                    found.scan(path, data)
    except git.GitError as exc:
        found.error(str(exc))


def _from_top(prefix: str, path: str) -> str:
    """A path given relative to the current folder, as git names it:
    relative to the top of the work tree, '/' separated."""
    joined = os.path.normpath(os.path.join(prefix, path))
    return "" if joined == "." else joined.replace(os.sep, "/")


def _chosen(path: str, wanted: list[str]) -> bool:
    """With no paths given, the files the guard scans by name; else the
    files given, whatever their name, and those under the folders given
    that the guard scans by name."""
    if path in wanted:
        return True
    under = not wanted or any(
        w == "" or path.startswith(w + "/") for w in wanted
    )
    return under and files.is_candidate(path)
