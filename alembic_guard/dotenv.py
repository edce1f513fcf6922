"""The ``.env`` file that receives the URLs taken out of alembic.ini.

Entries are written so that a POSIX shell (``set -a; . ./.env``),
docker ``--env-file``-style readers that honour quotes, and
python-dotenv all read back the same value: single quotes, or double
quotes with ``\\``, ``"``, ``$`` and backtick escaped when the value
itself holds a single quote.
"""

from __future__ import annotations

import re

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DOUBLE_ESCAPED = '\\"$`'


def quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    escaped = "".join("\\" + c if c in DOUBLE_ESCAPED else c for c in value)
    return f'"{escaped}"'


def entry(name: str, value: str) -> str:
    return f"{name}={quote(value)}\n"


def parse(text: str) -> dict[str, str]:
    """The ``NAME=value`` entries of ``text``; the last one wins, as in
    a shell. Lines that are not entries are ignored."""
    values: dict[str, str] = {}
    # Not str.splitlines: a shell ends a line at "\n" only, and a value
    # may hold U+2028 or U+0085.
    for line in re.split(r"\r\n|\r|\n", text):
        stripped = line.strip()
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, eq, rest = stripped.partition("=")
        if eq and NAME.fullmatch(name):
            values[name] = _value(rest)
    return values


def _value(rest: str) -> str:
    if rest.startswith("'"):
        close = rest.find("'", 1)
        return rest[1:close] if close > 0 else rest[1:]
    if rest.startswith('"'):
        return _double(rest)
    comment = rest.find(" #")
    return (rest if comment < 0 else rest[:comment]).strip()


def _double(rest: str) -> str:
    out = []
    pos = 1
    while pos < len(rest) and rest[pos] != '"':
        char = rest[pos]
        if char == "\\" and rest[pos + 1 : pos + 2] in DOUBLE_ESCAPED:
            char = rest[pos + 1]
            pos += 1
        out.append(char)
        pos += 1
    return "".join(out)


def append(existing: bytes, entries: dict[str, str]) -> bytes:
    """``existing`` with one line per entry added at the end."""
    added = "".join(entry(n, v) for n, v in entries.items())
    data = added.encode("utf-8", "surrogateescape")
    if existing and not existing.endswith((b"\n", b"\r")):
        existing += b"\n"
    return existing + data
