"""The scanned repository's own choices: what it accepts on purpose.

Read from ``[alembic-guard]`` in ``setup.cfg`` or ``[tool.alembic-guard]``
in ``pyproject.toml``, found by walking up from the working folder to the
top of the repository, or from the file named by ``--config``::

    [alembic-guard]
    allow-fingerprints = 3f1c9a0b7d2e4c68
    allow-hosts = localhost 127.0.0.1 *.test
    exclude = tests/fixtures/*
"""
from __future__ import annotations

import fnmatch
import os
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
    source: str | None = None

    def allows(self, fingerprint: str, host: str) -> bool:
        if fingerprint in self.allow_fingerprints:
            return True
        names = [_hostname(h) for h in host.split(",") if h.strip()]
        return bool(names) and bool(self.allow_hosts) and all(
            any(fnmatch.fnmatchcase(name, pattern.lower())
                for pattern in self.allow_hosts)
            for name in names)

    def excludes(self, path: str) -> bool:
        path = path.replace(os.sep, "/")
        return any(fnmatch.fnmatchcase(path, p) for p in self.exclude)


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def load(explicit: str | None, start: str = ".") -> Settings:
    if explicit is not None:
        found = _read(explicit)
        if found is None:
            raise BadSettings(f"{explicit}: no [{SECTION}] section "
                              f"(or [tool.{SECTION}] in TOML)")
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
    if f"[tool.{SECTION}]".encode() not in data and SECTION.encode() \
            not in data:
        return None
    try:
        import tomllib
    except ImportError:  # pragma: no cover (Python 3.10)
        import tomli as tomllib
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadSettings(f"{path}: not valid TOML: {exc}") from None
    table = parsed.get("tool", {}).get(SECTION)
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
        raise BadSettings(f"{path}: unknown setting {unknown[0]!r} in "
                          f"[{SECTION}] (known: {', '.join(KEYS)})")
    max_bytes = table.get("max-bytes")
    if max_bytes is not None:
        try:
            max_bytes = int(max_bytes)
        except (TypeError, ValueError):
            raise BadSettings(
                f"{path}: max-bytes must be a whole number") from None
    return Settings(
        frozenset(h.lower() for h in _words(table, "allow-fingerprints")),
        tuple(_words(table, "allow-hosts")),
        tuple(_words(table, "exclude")),
        max_bytes,
        path,
    )


def _words(table: dict[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(
            isinstance(v, str) for v in value):
        raise BadSettings(f"{key} must be a list of strings")
    return value
