"""Reading files from disk: which ones, and their bytes as text."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator

# What the hook looks at: Alembic and Pyramid style INI files (also as
# templates such as app.ini.tpl), setup.cfg, env.py and pyproject.toml.
CANDIDATE = re.compile(
    r"(?i)(?:^|/)(?:[^/]*\.(?:ini|cfg)(?:\.[A-Za-z0-9_-]+)?|env\.py"
    r"|pyproject\.toml)$"
)
SKIP_DIRS = frozenset(
    (
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    )
)
# Real Alembic configuration is a few kilobytes. Reading costs about
# 12 us and 1 KB of memory per option, so a 20 MB file of tiny options
# would hold a commit for most of a minute and take gigabytes: above
# this size a file is refused (exit 2) unless --max-bytes says more.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
BOM = b"\xef\xbb\xbf"


class Unreadable(Exception):
    """A path that could not be scanned; str() is the one-line reason."""


def is_candidate(path: str) -> bool:
    return CANDIDATE.search(path.replace(os.sep, "/")) is not None


def expand(paths: list[str]) -> Iterator[str]:
    """The files to scan: each path given, and candidates under each
    folder given (a folder's own tree, not the links it holds)."""
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(names):
                    full = os.path.join(root, name)
                    if is_candidate(full):
                        yield full
        else:
            yield path


def read_bytes(path: str, max_bytes: int) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise Unreadable(f"{path}: broken symbolic link") from None
        raise Unreadable(f"{path}: no such file") from None
    except OSError as exc:
        raise Unreadable(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise Unreadable(f"{path}: is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise Unreadable(
            f"{path}: {info.st_size} bytes, over the {max_bytes} byte "
            "limit (raise it with --max-bytes)"
        )
    try:
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise Unreadable(f"{path}: {exc.strerror or exc}") from None


def decode(data: bytes) -> tuple[str, bool]:
    """The text of ``data`` and whether it looks binary.

    Undecodable bytes are kept as lone surrogates rather than dropped,
    so that a Latin-1 password is still seen and offsets still line up.
    """
    if data.startswith(BOM):
        data = data[len(BOM) :]
    return data.decode("utf-8", "surrogateescape"), b"\0" in data
