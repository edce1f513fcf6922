"""Rewrite one INI text so that it holds no password, changing only
the characters that must change.

The detector says where each literal password is written. Every option
whose value (as Alembic would read it, interpolation done) carries one
of those passwords becomes a ``%(NAME)s`` placeholder, and its full URL
is handed back for the ``.env`` file. A password written in another
option and pulled in through ``%(name)s`` is deleted where it is
written. A password in a comment is masked in place.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from alembic_guard import ini, urls
from alembic_guard.detect import scan_text
from alembic_guard.finding import MASK, Finding, Scrubber
from alembic_guard.placeholders import URL_KEY, placeholder_name
from alembic_guard.settings import Settings
from alembic_guard.traced import Traced

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Sections that logging.config.fileConfig reads from alembic.ini.
LOGGING = re.compile(
    r"loggers|handlers|formatters|(?:logger|handler"
    r"|formatter)_.*"
)


class FixError(Exception):
    """The file cannot be fixed; str() is the one-line reason."""


class Placeholder(NamedTuple):
    # The section env.py sets NAME in, and where the option was.
    section: str
    name: str
    option: str
    line: int
    url: str


class Edit(NamedTuple):
    start: int
    end: int
    text: str
    # What the report says about it (no secret in it).
    note: str
    line: int


class Rewrite(NamedTuple):
    text: str
    placeholders: list[Placeholder]
    edits: list[Edit]
    doc: ini.Document


def rewrite(
    text: str,
    path: str,
    main: str,
    settings: Settings,
    scrub: Scrubber,
    override: str | None = None,
) -> Rewrite:
    """The fixed text of ``path``; unchanged when nothing is found."""
    doc = ini.read(text)
    findings = [
        f
        for f in scan_text(text, path, scrub, "ini").findings
        if not settings.allows(f.fingerprint, f.host)
    ]
    if not findings:
        return Rewrite(text, [], [], doc)
    _readable(doc, path)
    plan = _Plan(text, path, doc, main, findings)
    plan.consumers()
    plan.name_all(override)
    plan.holders()
    plan.comments()
    new = _apply(text, plan.edits)
    _verify(new, path, settings)
    return Rewrite(new, plan.placeholders, plan.edits, doc)


def _readable(doc: ini.Document, path: str) -> None:
    for number, problem in doc.problems:
        if "twice" in problem or "no section" in problem:
            raise FixError(
                f"{path}:{number}: {problem}; Alembic cannot "
                "read this file, fix it by hand first"
            )


class _Plan:
    def __init__(
        self,
        text: str,
        path: str,
        doc: ini.Document,
        main: str,
        findings: list[Finding],
    ) -> None:
        self.text = text
        self.path = path
        self.doc = doc
        self.main = main
        starts = [line.offset for line in doc.lines]
        self.offsets = {starts[f.line - 1] + f.column - 1: f for f in findings}
        self.values = {
            o for o, f in self.offsets.items() if f.context == "value"
        }
        self.here = os.path.dirname(os.path.abspath(path))
        self.found: list[tuple[ini.Option, str]] = []
        self.secret: set[int] = set()
        self.users: dict[int, str] = {}
        self.placeholders: list[Placeholder] = []
        self.edits: list[Edit] = []

    def consumers(self) -> None:
        """Each option whose value carries a found password."""
        for option in self.doc.options:
            lookup = ini.lookup_for(self.doc, option.section, self.here)
            value, problems = ini.interpolate(option.raw, lookup)
            creds = [
                c
                for c in urls.find(value.text)
                if self._source(value, c.start, option) in self.values
            ]
            if not creds:
                continue
            where = f"[{option.section}] {option.key}"
            for cred in creds:
                for index in range(cred.start, cred.end):
                    source = value.source_of(index)
                    if source is not None:
                        self.secret.add(source)
                        self.users.setdefault(source, where)
            if option.section == ini.DEFAULT and option.key != URL_KEY:
                continue
            if problems:
                raise FixError(
                    f"{self.path}:{option.line}: {where}: cannot work out "
                    f"the URL Alembic reads ({(problems or ['?'])[0]})"
                )
            url = value.text.strip()
            if any(c in url for c in "\r\n\0"):
                raise FixError(
                    f"{self.path}:{option.line}: {where}: the "
                    "URL spans several lines; join them first"
                )
            self.found.append((option, url))

    @staticmethod
    def _source(value: Traced, index: int, option: ini.Option) -> int:
        source = value.source_of(index)
        return option.value_start if source is None else source

    def name_all(self, override: str | None) -> None:
        if override is not None and len(self.found) > 1:
            raise FixError(
                f"{self.path}: --placeholder names one placeholder, but "
                f"{len(self.found)} options hold passwords"
            )
        taken: dict[str, str] = {}
        for option, url in self.found:
            section = option.section or ""
            where = f"[{section}] {option.key}"
            if LOGGING.fullmatch(section):
                # logging.config.fileConfig reads the file with its own
                # parser, which env.py cannot hand the value to.
                raise FixError(
                    f"{self.path}:{option.line}: {where}: "
                    "logging configuration; fix it by hand"
                )
            name = override or placeholder_name(section, option.key, self.main)
            target = self.main if section == ini.DEFAULT else section
            self._check_name(target, name, where, taken.get(name.lower()))
            taken[name.lower()] = where
            self.placeholders.append(
                Placeholder(target, name, where, option.line, url)
            )
            self.edits.append(self._collapse(option, name))

    def _check_name(
        self, target: str, name: str, where: str, other: str | None
    ) -> None:
        if other is not None:
            raise FixError(
                f"{self.path}: {other} and {where} would both "
                f"become %({name})s; rename a section or fix "
                "one by hand"
            )
        key = name.lower()
        if key in self.doc.sections.get(target, {}) or (
            key in self.doc.defaults
        ):
            raise FixError(
                f"{self.path}: [{target}] already has an option {key}; "
                "choose another name with --placeholder"
            )

    def _collapse(self, option: ini.Option, name: str) -> Edit:
        """The value becomes ``%(NAME)s``; continuation lines go, and
        comment or blank lines between them stay."""
        out = [f"%({name})s"]
        if option.raw.text.startswith("\n") and (
            self.text[option.value_start - 1] not in " \t"
        ):
            # "key =" then the URL on the next line: keep "key = %(X)s"
            # readable rather than "key =%(X)s" (both parse the same).
            out.insert(0, " ")
        lines = self.doc.lines
        first = self._line(option.value_start)
        previous = lines[first - 1].offset + len(lines[first - 1].text)
        for line in lines[first:]:
            if line.offset > option.value_end:
                break
            end = line.offset + len(line.text)
            stripped = line.text.strip()
            if not stripped or stripped.startswith(ini.COMMENT_PREFIXES):
                out.append(self.text[previous:end])
            previous = end
        return Edit(
            option.value_start,
            option.value_end,
            "".join(out),
            f"[{option.section}] {option.key} = %({name})s",
            option.line,
        )

    def holders(self) -> None:
        """Delete passwords written outside the replaced values."""
        spans = [(e.start, e.end) for e in self.edits]
        for source in sorted(self.secret):
            if any(lo <= source < hi for lo, hi in spans):
                continue
            end = source + 1
            if self.text[source : source + 2] == "%%":
                end += 1
            line = self._line(source)
            self.edits.append(
                Edit(
                    source,
                    end,
                    "",
                    f"password removed (used by {self.users[source]})",
                    line,
                )
            )

    def comments(self) -> None:
        """Mask passwords outside values: comments, unreadable lines."""
        spans = [(e.start, e.end) for e in self.edits]
        for offset, finding in self.offsets.items():
            if finding.context == "value":
                continue
            if any(lo <= offset < hi for lo, hi in spans):
                continue
            line = self.doc.lines[finding.line - 1]
            if finding.rule == "password-option":
                # "# db_password = ...": the value runs to the line's end.
                end = line.offset + len(line.text.rstrip())
                self.edits.append(
                    Edit(
                        offset,
                        end,
                        MASK,
                        "password masked in a comment",
                        finding.line,
                    )
                )
                continue
            for cred in urls.find(line.text):
                if line.offset + cred.start == offset:
                    self.edits.append(
                        Edit(
                            offset,
                            line.offset + cred.end,
                            MASK,
                            "password masked in a comment",
                            finding.line,
                        )
                    )

    def _line(self, offset: int) -> int:
        number = 1
        for line in self.doc.lines:
            if line.offset > offset:
                break
            number = line.number
        return number


def _apply(text: str, edits: list[Edit]) -> str:
    out = []
    pos = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < pos:
            continue
        out.append(text[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def _verify(new: str, path: str, settings: Settings) -> None:
    """A fixer that leaves a password behind must say so, not succeed."""
    left = [
        f
        for f in scan_text(new, path, Scrubber(), "ini").findings
        if not settings.allows(f.fingerprint, f.host)
    ]
    if left:
        raise FixError(
            f"{path}:{left[0].line}: cannot remove this "
            "password automatically; fix it by hand"
        )
