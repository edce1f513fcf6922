"""Read INI text the way Alembic's ``configparser.ConfigParser`` reads it.

Alembic builds ``ConfigParser({"here": <folder of the file>})``: ``=`` and
``:`` delimiters, full-line ``#`` and ``;`` comments, no inline comments,
blank lines kept inside continued values, strict duplicate checks, keys
folded to lower case and ``BasicInterpolation``. This module reimplements
that reading instead of calling configparser, for three reasons: every
character of a value keeps its offset in the file; a file configparser
rejects (duplicates, a bare ``%``, no section header) is still read; and
no regular expression runs over a hostile line (configparser's option
pattern is quadratic on long runs of white space). tests/test_ini.py
holds this reading to configparser's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from alembic_guard.traced import Builder, Traced

DEFAULT = "DEFAULT"
COMMENT_PREFIXES = ("#", ";")
# configparser.MAX_INTERPOLATION_DEPTH
MAX_DEPTH = 10
# Longest interpolated value we build; far above any real one.
EXPANSION_LIMIT = 1 << 22


class Line(NamedTuple):
    number: int
    offset: int
    text: str


class Option(NamedTuple):
    section: str | None
    key: str
    line: int
    raw: Traced
    # Offsets of the value on its first line and of the end of the last
    # line that continues it: what a fixer replaces.
    value_start: int
    value_end: int


class Document(NamedTuple):
    lines: list[Line]
    options: list[Option]
    comments: list[tuple[Line, str | None]]
    problems: list[tuple[int, str]]
    sections: dict[str, dict[str, Option]]
    defaults: dict[str, Option]


def split_lines(text: str) -> list[Line]:
    """Split on the three line breaks that universal newlines knows."""
    lines = []
    pos = 0
    number = 1
    size = len(text)
    # The next "\r" and "\n" at or after pos, each searched for again
    # only once passed: a file with no "\r" at all is not rescanned to
    # its end for every line.
    cr = lf = -1
    while pos < size:
        if cr < pos:
            cr = text.find("\r", pos)
            cr = size if cr < 0 else cr
        if lf < pos:
            lf = text.find("\n", pos)
            lf = size if lf < 0 else lf
        end = min(cr, lf)
        lines.append(Line(number, pos, text[pos:end]))
        pos = end + (2 if text.startswith("\r\n", end) else 1)
        number += 1
    return lines


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _header(stripped: str) -> str | None:
    # configparser's SECTCRE is r"\[(?P<header>.+)\]" used with match():
    # the greedy group runs to the last "]" of the line.
    if not stripped.startswith("["):
        return None
    close = stripped.rfind("]")
    return stripped[1:close] if close > 1 else None


def _delimiter(stripped: str) -> int:
    positions = [i for i in (stripped.find("="), stripped.find(":")) if i >= 0]
    return min(positions) if positions else -1


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines = split_lines(text)
        self.options: list[Option] = []
        self.comments: list[tuple[Line, str | None]] = []
        self.problems: list[tuple[int, str]] = []
        self.sections: dict[str, dict[str, Option]] = {}
        self.defaults: dict[str, Option] = {}
        self.seen: set[object] = set()
        # The option being continued: its pieces and where it ends.
        self.pieces: list[Traced] = []
        self.head: tuple[str | None, str, int, int] | None = None
        self.end = 0

    def read(self) -> Document:
        section: str | None = None
        indent_level = 0
        for line in self.lines:
            stripped = line.text.strip()
            if stripped.startswith(COMMENT_PREFIXES):
                self.comments.append((line, section))
                continue
            if not stripped:
                if self.head is not None:
                    self.pieces.append(Traced(""))
                continue
            indent = _indent(line.text)
            if self.head is not None and indent > indent_level:
                start = line.offset + indent
                self.pieces.append(Traced.at(stripped, start))
                self.end = start + len(stripped)
                continue
            indent_level = indent
            header = _header(stripped)
            if header is not None:
                self._finish()
                section = self._enter(header, line.number)
            else:
                self._option(section, line, stripped, indent)
        self._finish()
        return Document(
            self.lines,
            self.options,
            self.comments,
            self.problems,
            self.sections,
            self.defaults,
        )

    def _enter(self, header: str, number: int) -> str:
        if header != DEFAULT:
            if header in self.seen:
                self.problems.append(
                    (number, f"section [{header}] appears twice")
                )
            self.seen.add(header)
            self.sections.setdefault(header, {})
        return header

    def _option(
        self, section: str | None, line: Line, stripped: str, indent: int
    ) -> None:
        if section is None:
            self.problems.append(
                (line.number, "no section header before this line")
            )
        at = _delimiter(stripped)
        if at <= 0:
            # A line without a delimiter leaves configparser continuing
            # the option before it; one with an empty key ends it.
            if at == 0:
                self._finish()
            self.problems.append((line.number, "line is not key = value"))
            self.comments.append((line, section))
            return
        key = stripped[:at].rstrip().lower()
        self._finish()
        if (section, key) in self.seen:
            self.problems.append(
                (line.number, f"option {key!r} appears twice in [{section}]")
            )
        self.seen.add((section, key))
        value = stripped[at + 1 :].lstrip()
        start = line.offset + indent + len(stripped) - len(value)
        self.pieces = [Traced.at(value, start)]
        self.head = (section, key, line.number, start)
        self.end = start + len(value)

    def _finish(self) -> None:
        if self.head is None:
            return
        section, key, number, start = self.head
        if len(self.pieces) == 1:
            raw = self.pieces[0].rstrip()
        else:
            joined = Builder()
            for i, piece in enumerate(self.pieces):
                if i:
                    joined.add(Traced.at("\n", None))
                joined.add(piece)
            raw = joined.build().rstrip()
        option = Option(section, key, number, raw, start, self.end)
        self.options.append(option)
        if section == DEFAULT:
            self.defaults[key] = option
        else:
            self.sections.setdefault(section or "", {})[key] = option
        self.head = None
        self.pieces = []


def read(text: str) -> Document:
    """Parse ``text``; never raises on malformed input."""
    return _Reader(text).read()


Lookup = Callable[[str], "Traced | None"]


def lookup_for(doc: Document, section: str | None, here: str) -> Lookup:
    """What ``%(name)s`` finds from ``section``: its own options, then
    ``[DEFAULT]``, then Alembic's ``here``."""
    own = doc.sections.get(section or "", {}) if section != DEFAULT else {}

    def lookup(name: str) -> Traced | None:
        option = own.get(name) or doc.defaults.get(name)
        if option is not None:
            return option.raw
        if name != "here":
            return None
        # Opaque: a folder path stands for no password, and it differs
        # from one checkout to the next.
        return Traced(here, [(0, None)], [(0, len(here))] if here else [])

    return lookup


def interpolate(
    raw: Traced, lookup: Lookup, limit: int = EXPANSION_LIMIT
) -> tuple[Traced, list[str]]:
    """Expand ``raw`` as ``BasicInterpolation`` would.

    Where configparser would raise, carry on and say why (each problem
    once): an unknown or too deep reference stays in the result as an
    opaque span, and a bare ``%`` stays a literal character. A reference
    that would make the result longer than ``limit`` characters is left
    opaque too: ten levels of ten references each is 10**10 characters.
    """
    out = Builder()
    problems: list[str] = []
    _Expansion(out, lookup, problems, limit).expand(raw, 1)
    return out.build(), problems


class _Expansion:
    def __init__(
        self, out: Builder, lookup: Lookup, problems: list[str], limit: int
    ) -> None:
        self.out = out
        self.lookup = lookup
        self.problems = problems
        self.limit = limit
        self.noted: set[str] = set()

    def note(self, problem: str) -> None:
        if problem not in self.noted:
            self.noted.add(problem)
            self.problems.append(problem)

    def expand(self, raw: Traced, depth: int) -> None:
        # Literal text is added in whole runs, not a character at a time:
        # a value of a million bare "%" stays one slice.
        text = raw.text
        closes = _Closes(text)
        flushed = pos = 0
        while (pct := text.find("%", pos)) >= 0:
            follow = text[pct + 1 : pct + 2]
            close = closes.after(pct + 2) if follow == "(" else -1
            if follow == "%":
                self.out.add(raw.slice(flushed, pct + 1))
                flushed = pos = pct + 2
            elif close > pct + 2 and text[close + 1 : close + 2] == "s":
                self.out.add(raw.slice(flushed, pct))
                self.reference(raw, pct, close, depth)
                flushed = pos = close + 2
            else:
                self.note(
                    "a malformed '%(name)s' reference"
                    if follow == "("
                    else "a '%' that is not '%%' or '%(name)s'"
                )
                pos = pct + 1
        self.out.add(raw.slice(flushed, len(text)))

    def reference(self, raw: Traced, pct: int, close: int, depth: int) -> None:
        name = raw.text[pct + 2 : close].lower()
        target = self.lookup(name)
        if target is None:
            self.note(f"'%({name})s' refers to no option")
        elif self.out.length + len(target.text) > self.limit:
            self.note(f"'%({name})s' expands past {self.limit} characters")
        elif "%" not in target.text:
            self.out.add(target)
            return
        elif depth + 1 > MAX_DEPTH:
            self.note(f"'%({name})s' nests deeper than {MAX_DEPTH}")
        else:
            self.expand(target, depth + 1)
            return
        self.out.add_opaque(raw.slice(pct, close + 2))


class _Closes:
    """The first ")" at or after a position, without searching the same
    stretch twice: "%(" repeated a million times stays linear."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found = -2

    def after(self, start: int) -> int:
        if self.found == -1 or self.found >= start:
            return self.found
        self.found = self.text.find(")", start)
        return self.found
