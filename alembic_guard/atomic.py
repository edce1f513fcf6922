"""Replace several files as one step: all of them change, or none.

Each new content goes to a temporary file in the target's own folder
(same file system, so ``os.replace`` is a rename), is flushed and
fsynced, and only then are the temporaries renamed over the targets.
A rename that fails part way is undone from hard-link backups taken
beforehand, so a failure at any step leaves every target as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import NamedTuple

PREFIX = ".alembic-guard-"


class Change(NamedTuple):
    path: str
    data: bytes
    # The mode the file must have afterwards (0600 for a secrets file).
    mode: int


class AtomicError(Exception):
    """Nothing was changed; str() is the one-line reason."""


def write_all(changes: list[Change]) -> None:
    """Write every change, or raise AtomicError having written none."""
    temps: list[str] = []
    backups: dict[str, str | None] = {}
    try:
        for change in changes:
            temps.append(_temporary(change))
        for change in changes:
            backups[change.path] = _backup(change.path)
    except OSError as exc:
        _discard(temps + [b for b in backups.values() if b])
        raise AtomicError(_reason(exc)) from None
    _rename_all(changes, temps, backups)


def _rename_all(
    changes: list[Change], temps: list[str], backups: dict[str, str | None]
) -> None:
    done: list[str] = []
    try:
        for change, temp in zip(changes, temps, strict=True):
            os.replace(temp, change.path)
            done.append(change.path)
    except OSError as exc:
        failed = _undo(done, backups)
        # A backup that could not be put back is the only copy of the
        # old content: keep it and say where it is.
        kept = [(path, backups.pop(path)) for path in failed]
        _discard(temps + [b for b in backups.values() if b])
        if failed:
            raise AtomicError(
                f"{_where(exc)}{exc.strerror or exc}; could not restore "
                + ", ".join(_kept(p, b) for p, b in kept)
            ) from None
        raise AtomicError(_reason(exc)) from None
    _discard([b for b in backups.values() if b])


def _kept(path: str, backup: str | None) -> str:
    if backup is None:
        return f"{path} (it is new: delete it)"
    return f"{path} (its old content is in {backup})"


def _temporary(change: Change) -> str:
    folder = os.path.dirname(os.path.abspath(change.path))
    handle, temp = tempfile.mkstemp(prefix=PREFIX, dir=folder)
    try:
        # mkstemp creates 0600: the secret never sits in a wider file.
        os.fchmod(handle, change.mode)
        with os.fdopen(handle, "wb") as out:
            out.write(change.data)
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        _discard([temp])
        raise
    return temp


def _backup(path: str) -> str | None:
    """A hard link to the current file, or None when there is none."""
    if not os.path.lexists(path):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    backup = tempfile.mktemp(prefix=PREFIX, dir=folder)
    os.link(path, backup)
    return backup


def _undo(done: list[str], backups: dict[str, str | None]) -> list[str]:
    failed = []
    for path in reversed(done):
        backup = backups.get(path)
        try:
            if backup is None:
                os.unlink(path)
            else:
                os.replace(backup, path)
                backups[path] = None
        except OSError:
            failed.append(path)
    return failed


def _discard(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _where(exc: OSError) -> str:
    return f"{exc.filename}: " if exc.filename else ""


def _reason(exc: OSError) -> str:
    return f"{_where(exc)}{exc.strerror or exc}; no file was changed"
