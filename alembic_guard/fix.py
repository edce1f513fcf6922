"""``alembic-guard fix``: move database URLs out of INI files.

Every new file content is worked out first: the INI files, the ``.env``
files that receive the URLs, the ``.gitignore`` lines that keep those
out of git, and the env.py files that read them back. Any problem stops
the run before a byte is written; then all files are replaced at once
(alembic_guard.atomic).
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from typing import NamedTuple

from alembic_guard import dotenv, files
from alembic_guard.atomic import AtomicError, Change, write_all
from alembic_guard.cli import CLEAN, ERROR, FOUND
from alembic_guard.detect import kind_of
from alembic_guard.finding import Scrubber, printable
from alembic_guard.rewrite import NAME, FixError, Placeholder
from alembic_guard.settings import BadSettings, Settings, load

ENV_MODE = 0o600


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="INI files, or folders to search for them (default: the "
        "current folder)",
    )
    parser.add_argument(
        "--placeholder",
        metavar="NAME",
        help="name of the placeholder and environment variable (default "
        "DB_URL, or DB_URL_<SECTION> outside the main section); "
        "only when one option is fixed",
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="where the URLs go (default: .env beside each INI file)",
    )
    parser.add_argument(
        "-n",
        "--name",
        default="alembic",
        metavar="SECTION",
        help="the main section, as for alembic -n (default: alembic)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: setup.cfg or "
        "pyproject.toml of the repository)",
    )


class Fixed(NamedTuple):
    path: str
    data: bytes
    mode: int
    placeholders: list[Placeholder]
    notes: list[str]
    env_py: tuple[str | None, str]


class Output:
    """What one run says: changed files on stderr, the lines a person
    must add by hand on stdout, everything scrubbed of passwords."""

    def __init__(self, scrub: Scrubber) -> None:
        self.scrub = scrub
        self.changed: list[tuple[str, list[str]]] = []
        self.manual: list[str] = []
        self.notices: list[str] = []

    def flush(self) -> None:
        for path, notes in self.changed:
            self._err(f"Fixing {path}")
            for note in notes:
                self._err(f"  {note}")
        for notice in self.notices:
            self._err(notice)
        for text in self.manual:
            sys.stdout.write(self.scrub(text))

    def _err(self, text: str) -> None:
        sys.stderr.write(self.scrub(printable(text)) + "\n")


def run(args: argparse.Namespace) -> int:
    if args.placeholder is not None and not NAME.fullmatch(args.placeholder):
        sys.stderr.write(
            f"alembic-guard: --placeholder {args.placeholder!r}"
            " is not a valid variable name\n"
        )
        return ERROR
    out = Output(Scrubber())
    try:
        settings = load(args.config)
        changes = _plan(args, settings, out)
    except (BadSettings, FixError) as exc:
        sys.stderr.write(out.scrub(f"alembic-guard: {exc}\n"))
        out.changed.clear()
        return ERROR
    return _write(changes, out)


def _write(changes: list[Change], out: Output) -> int:
    try:
        write_all(changes)
    except AtomicError as exc:
        sys.stderr.write(out.scrub(f"alembic-guard: {exc}\n"))
        return ERROR
    out.flush()
    return FOUND if changes or out.manual else CLEAN


def _targets(paths: list[str], settings: Settings, out: Output) -> list[str]:
    chosen = []
    for path in files.expand(paths or ["."]):
        if settings.excludes(os.path.normpath(path)):
            continue
        if kind_of(path) != "ini":
            if path in paths:
                out.notices.append(
                    f"alembic-guard: {path}: not an INI "
                    "file; fix changes INI files only"
                )
            continue
        chosen.append(path)
    return chosen


def _plan(
    args: argparse.Namespace, settings: Settings, out: Output
) -> list[Change]:
    fixed = [
        f
        for f in (
            _fix_ini(p, args, settings, out)
            for p in _targets(args.paths, settings, out)
        )
        if f is not None
    ]
    changes = [Change(f.path, f.data, f.mode) for f in fixed]
    for f in fixed:
        out.changed.append((_shown(f.path), f.notes))
    changes += _env_files(fixed, args.env_file, out)
    changes += _env_py(fixed, out)
    return changes


def _fix_ini(
    path: str, args: argparse.Namespace, settings: Settings, out: Output
) -> Fixed | None:
    from alembic_guard import envpy
    from alembic_guard.rewrite import rewrite

    target = os.path.realpath(path)
    try:
        data = files.read_bytes(target, files.DEFAULT_MAX_BYTES)
    except files.Unreadable as exc:
        raise FixError(str(exc).replace(target, path, 1)) from None
    text, binary = files.decode(data)
    if binary:
        raise FixError(f"{path}: binary content (NUL bytes)")
    result = rewrite(
        text, path, args.name, settings, out.scrub, args.placeholder
    )
    if not result.edits:
        return None
    new = result.text.encode("utf-8", "surrogateescape")
    if data.startswith(files.BOM):
        new = files.BOM + new
    shown = os.path.normpath(path)
    notes = [
        f"{shown}:{e.line}: {e.note}"
        for e in sorted(result.edits, key=lambda e: e.start)
    ]
    where = (
        envpy.locate(path, result.doc, args.name)
        if (result.placeholders)
        else (None, "")
    )
    return Fixed(target, new, _mode(target), result.placeholders, notes, where)


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _env_files(
    fixed: list[Fixed], explicit: str | None, out: Output
) -> list[Change]:
    wanted: dict[str, dict[str, str]] = {}
    for f in fixed:
        if not f.placeholders:
            continue
        path = explicit or os.path.join(os.path.dirname(f.path), ".env")
        entries = wanted.setdefault(os.path.abspath(path), {})
        for p in f.placeholders:
            if entries.get(p.name, p.url) != p.url:
                raise FixError(
                    f"{p.name} would get two different URLs "
                    f"in {path}; use --placeholder per file"
                )
            entries[p.name] = p.url
    changes = []
    for path, entries in wanted.items():
        changes += _env_file(path, entries, out)
    return changes


def _env_file(path: str, entries: dict[str, str], out: Output) -> list[Change]:
    try:
        with open(path, "rb") as handle:
            existing = handle.read()
    except FileNotFoundError:
        existing = b""
    except OSError as exc:
        raise FixError(f"{path}: {exc.strerror or exc}") from None
    known = dotenv.parse(existing.decode("utf-8", "surrogateescape"))
    for name, url in entries.items():
        if name in known and known[name] != url:
            raise FixError(
                f"{_shown(path)} already sets {name} to another value; "
                "nothing was changed (remove that line or choose "
                "another name with --placeholder)"
            )
    new = {n: u for n, u in entries.items() if n not in known}
    if not new:
        return []
    if _tracked(path):
        raise FixError(
            f"{_shown(path)} is tracked by git, so the URLs would be "
            "committed; untrack it (git rm --cached) or choose "
            "--env-file outside the repository"
        )
    names = ", ".join(new)
    out.changed.append(
        (
            _shown(path),
            [f"added {names} (mode 0600; keep this file out of git)"],
        )
    )
    changes = [Change(path, dotenv.append(existing, new), ENV_MODE)]
    return changes + _gitignore(path, out)


def _gitignore(env_file: str, out: Output) -> list[Change]:
    folder = os.path.dirname(env_file)
    ignored = _check_ignore(env_file)
    if ignored is True:
        return []
    if ignored is None:
        out.notices.append(
            f"alembic-guard: {_shown(folder) or '.'} is not in a git "
            "repository; added the .env file to .gitignore anyway"
        )
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, "rb") as handle:
            existing = handle.read()
        mode = _mode(path)
    except FileNotFoundError:
        existing, mode = b"", 0o644
    except OSError as exc:
        raise FixError(f"{path}: {exc.strerror or exc}") from None
    line = "/" + os.path.basename(env_file)
    newline = b"\r\n" if b"\r\n" in existing else b"\n"
    if existing and not existing.endswith((b"\n", b"\r")):
        existing += newline
    data = existing + line.encode("utf-8", "surrogateescape") + newline
    out.changed.append((_shown(path), [f"added {line}"]))
    return [Change(path, data, mode)]


def _tracked(path: str) -> bool:
    from alembic_guard import git

    try:
        listed = git.run(
            "ls-files",
            "--",
            os.path.basename(path),
            cwd=os.path.dirname(path),
            check=False,
        )
    except git.GitError:
        return False
    return bool(listed.strip())


def _check_ignore(path: str) -> bool | None:
    """Whether git ignores ``path``; None outside a repository."""
    from alembic_guard import git

    try:
        proc = subprocess.run(
            ["git", "check-ignore", "-q", "--", os.path.basename(path)],
            cwd=os.path.dirname(path),
            env=git.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None
    if proc.returncode not in (0, 1):
        return None
    return proc.returncode == 0


def _env_py(fixed: list[Fixed], out: Output) -> list[Change]:
    wanted: dict[str, list[tuple[str, str]]] = {}
    for f in fixed:
        pairs = [(p.section, p.name) for p in f.placeholders]
        env, why = f.env_py
        if not pairs:
            continue
        if env is None:
            out.manual.append(
                _instructions(
                    f"{_shown(f.path)}: env.py not found ({why})", pairs
                )
            )
            continue
        known = wanted.setdefault(env, [])
        known += [p for p in pairs if p not in known]
    changes = []
    for env, pairs in wanted.items():
        change = _wire(env, pairs, out)
        if change is not None:
            changes.append(change)
    return changes


def _wire(
    env: str, pairs: list[tuple[str, str]], out: Output
) -> Change | None:
    from alembic_guard import envpy

    try:
        with open(env, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise FixError(f"{env}: {exc.strerror or exc}") from None
    bom = data.startswith(files.BOM)
    text = files.decode(data)[0]
    wiring = envpy.wire(text, pairs)
    if wiring.problem is not None:
        out.manual.append(
            _instructions(
                f"{_shown(env)}: not changed, {wiring.problem}", pairs
            )
        )
        return None
    if wiring.text is None:
        return None
    names = ", ".join(n for _, n in pairs)
    out.changed.append(
        (
            _shown(env),
            [
                f"reads {names} from the environment (block marked "
                "'alembic-guard')"
            ],
        )
    )
    new = wiring.text.encode("utf-8", "surrogateescape")
    return Change(env, (files.BOM if bom else b"") + new, _mode(env))


def _instructions(reason: str, pairs: list[tuple[str, str]]) -> str:
    from alembic_guard import envpy

    return (
        f"{reason}.\nAdd this block to env.py right after "
        "'config = context.config', or set each name below with "
        "config.set_section_option yourself:\n\n"
        f"{envpy.block(pairs)}\n"
    )


def _shown(path: str) -> str:
    """``path`` relative to the working folder when it is under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
