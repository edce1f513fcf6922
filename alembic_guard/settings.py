"""The scanned repository's own choices: what it accepts on purpose.

Read from ``[alembic-guard]`` in ``setup.cfg`` or ``[tool.alembic-guard]``
in ``pyproject.toml``, found by walking up from the working folder to the
top of the repository, or from the file named by ``--config``::

    [alembic-guard]
    allow-fingerprints = 3f1c9a0b7d2e4c68
    allow-hosts = localhost 127.0.0.1:5433 *.test
    exclude = tests/fixtures
    max-bytes = 1048576

Exclude patterns read like .gitignore lines, against paths relative to
the folder of the settings file, and exclude a folder's whole tree when
they match it.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from typing import Any, NamedTuple

from alembic_guard import ini

SECTION = "alembic-guard"
KEYS = ("allow-fingerprints", "allow-hosts", "exclude", "max-bytes")


class BadSettings(Exception):
    """The settings file is wrong; str() is the one-line reason."""


class Settings(NamedTuple):
    allow_fingerprints: frozenset[str] = frozenset()
    allow_hosts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_bytes: int | None = None
    source: str | None = None  # absolute path of the settings file

    def allows(self, fingerprint: str, host: str) -> bool:
        """Whether a finding is accepted on purpose: its fingerprint is
        listed, or every host of its URL matches an allowed host."""
        if fingerprint.lower() in self.allow_fingerprints:
            return True
        hosts = [_split_host(h) for h in host.split(",") if h.strip()]
        patterns = [_split_host(p) for p in self.allow_hosts]
        return bool(hosts) and all(
            any(_host_matches(h, p) for p in patterns) for h in hosts
        )

    def excludes(self, path: str, named: str | None = None) -> bool:
        """Whether ``path`` (relative to the settings file's folder, or
        absolute) or a folder above it matches an exclude pattern.

        ``named`` is a folder the user asked for by name, ``path`` being
        under it: then only what lies below that folder counts, so that
        naming an excluded folder scans it.
        """
        parts = self.relative(path).split("/")
        first = 1 + (0 if named is None else _depth(self.relative(named)))
        prefixes = ["/".join(parts[:n]) for n in range(first, len(parts) + 1)]
        return any(
            _matches(pattern, prefix)
            for pattern in self.exclude
            for prefix in prefixes
        )

    def relative(self, path: str) -> str:
        """``path`` as the exclude patterns see it: '/' separated and,
        when absolute, relative to the settings file's folder."""
        if os.path.isabs(path) and self.source is not None:
            path = os.path.relpath(path, os.path.dirname(self.source))
        return os.path.normpath(path).replace(os.sep, "/")


def _depth(path: str) -> int:
    return 0 if path == "." else len(path.split("/"))


def _matches(pattern: str, path: str) -> bool:
    # As in .gitignore: a pattern without '/' names a file or folder at
    # any depth, one with '/' a path from the settings file's folder.
    if "/" not in pattern:
        path = path.rsplit("/", 1)[-1]
    return _glob(pattern.lstrip("/")).match(path) is not None


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """A pattern where ``*`` and ``?`` stay within one path segment and
    ``**`` crosses them (fnmatch lets ``*`` cross '/': 'fixtures/*' would
    then also exclude a folder named below 'fixtures')."""
    out, pos = [], 0
    while pos < len(pattern):
        if pattern.startswith("**/", pos):
            out.append("(?:.*/)?")
            pos += 3
        elif pattern.startswith("**", pos):
            out.append(".*")
            pos += 2
        elif pattern[pos] in "*?":
            out.append("[^/]*" if pattern[pos] == "*" else "[^/]")
            pos += 1
        elif pattern[pos] == "[" and "]" in pattern[pos + 2 :]:
            close = pattern.index("]", pos + 2)
            body = pattern[pos + 1 : close].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            pos = close + 1
        else:
            out.append(re.escape(pattern[pos]))
            pos += 1
    return re.compile("".join(out) + r"\Z")


def _split_host(host: str) -> tuple[str, str | None]:
    """``(name, port or None)`` of ``host``, ``[v6]:port`` and bare IPv6
    included; percent escapes decoded, case folded."""
    host = _unquote(host.strip()).lower()
    if host.startswith("["):
        close = host.find("]")
        if close < 0:
            return host[1:], None
        rest = host[close + 1 :]
        return host[1:close], rest[1:] if rest.startswith(":") else None
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port or None
    return host, None


def _host_matches(
    host: tuple[str, str | None], pattern: tuple[str, str | None]
) -> bool:
    # A pattern without a port allows every port of its hosts; one with
    # a port allows only URLs that name that port.
    if pattern[1] is not None and pattern[1] != host[1]:
        return False
    return fnmatch.fnmatchcase(host[0], pattern[0])


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


def load(explicit: str | None, start: str = ".") -> Settings:
    if explicit is not None:
        found = _read(explicit)
        if found is None:
            raise BadSettings(
                f"{explicit}: no [{SECTION}] section "
                f"(or [tool.{SECTION}] in TOML)"
            )
        return found
    folder = os.path.abspath(start)
    while True:
        for name in ("setup.cfg", "pyproject.toml"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                found = _read(path)
                if found is not None:
                    return found
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")) or parent == folder:
            return Settings()
        folder = parent


def _read(path: str) -> Settings | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise BadSettings(f"{path}: {exc.strerror or exc}") from None
    if path.endswith(".toml"):
        table = _toml_table(path, data)
    else:
        table = _cfg_table(data)
    if table is None:
        return None
    return _settings(path, table)


def _toml_table(path: str, data: bytes) -> dict[str, Any] | None:
    if (
        f"[tool.{SECTION}]".encode() not in data
        and SECTION.encode() not in data
    ):
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover (CI runs 3.11; 3.10 has no tomllib)
        import tomli as tomllib
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadSettings(f"{path}: not valid TOML: {exc}") from None
    tool = parsed.get("tool")
    table = tool.get(SECTION) if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def _cfg_table(data: bytes) -> dict[str, Any] | None:
    text = data.decode("utf-8", "surrogateescape").lstrip("\ufeff")
    options = ini.read(text).sections.get(SECTION)
    if options is None:
        return None
    return {key: option.raw.text for key, option in options.items()}


def _settings(path: str, table: dict[str, Any]) -> Settings:
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise BadSettings(
            f"{path}: unknown setting {unknown[0]!r} in "
            f"[{SECTION}] (known: {', '.join(KEYS)})"
        )
    return Settings(
        frozenset(
            f.lower() for f in _words(path, table, "allow-fingerprints")
        ),
        tuple(_words(path, table, "allow-hosts")),
        tuple(_pattern(p) for p in _words(path, table, "exclude")),
        _max_bytes(path, table.get("max-bytes")),
        os.path.abspath(path),
    )


def _max_bytes(path: str, value: object) -> int | None:
    if value is None:
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number is None or number <= 0:
        raise BadSettings(f"{path}: max-bytes must be a positive whole number")
    return number


def _pattern(pattern: str) -> str:
    # "./tests/" and "tests" name the same folder as the paths we match.
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.rstrip("/") or "."


def _words(path: str, table: dict[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(
        isinstance(v, str) for v in value
    ):
        raise BadSettings(f"{path}: {key} must be a list of strings")
    return value
