"""Judge one file's text: which lines hold a database password.

An INI file is read twice over. Once as Alembic reads it, so that
interpolation, continuation lines, ``%%`` escapes and ``[DEFAULT]`` are
understood and a password is reported where its literal is written; and
once line by line, so that comments, lines configparser cannot parse and
anything the first reading misses are still seen. Other files (env.py,
TOML) are read line by line.
"""

from __future__ import annotations

import os
import re
import sys
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from alembic_guard import ini, urls
from alembic_guard.finding import (
    MASK,
    Advice,
    Finding,
    Scrubber,
    fingerprint,
    mask,
    printable,
)
from alembic_guard.placeholders import (
    MAIN_SECTION,
    is_placeholder,
    placeholder_name,
)
from alembic_guard.traced import Builder, Traced

SHELL_VARIABLE = re.compile(
    r"\$\{[A-Za-z_][A-Za-z0-9_]*[^}]{0,80}\}"
    r"|\$[A-Za-z_][A-Za-z0-9_]*"
)
# Each finding costs a PBKDF2 fingerprint (about 20 ms): a file of a
# hundred thousand passwords must not take half an hour to refuse.
MAX_FINDINGS = 100
TOO_MANY = "too-many-passwords"
# An INI option or Python name that holds a password on its own, and a
# Python string given to one: password="...", "pwd": '...'.
PASSWORD_KEY = re.compile(r"(?:^|[._-])(?:password|passwd|pwd|pw)$", re.I)
_SECRET_NAME = r"[A-Za-z_.\-]*(?:password|passwd|pwd|pw)"
PYTHON_PASSWORD = re.compile(
    # A dictionary entry: "db_password": "...".
    r"""(?:(["'])(?P<key>""" + _SECRET_NAME + r""")\1\s*:"""
    # A keyword argument or an assignment, annotated or not.
    r"""|\b(?P<name>""" + _SECRET_NAME + r""")"""
    r"""(?:\s*:\s*[A-Za-z_][\w\[\]., |]{0,80})?\s*=(?!=))"""
    r"""\s*[rRuU]?(?P<q>["'])(?P<value>(?:(?!(?P=q))[^\\\n]|\\.){1,500})"""
    # Not the first piece of an expression ("Pa" + secret).
    r"""(?P=q)(?!\s*[+%.\[])""",
    re.I,
)
# Values of a password option that mean "no password".
NO_PASSWORD = frozenset(("none", "null", "nil", "false", "true", "password"))
# A commented-out option: "# db_password = ...".
COMMENTED_OPTION = re.compile(
    r"[#;]+\s*(?P<key>[^=:\s#;]{1,100})\s*[=:]\s*(?P<value>.*)"
)
# Notices about lines configparser rejects, at most, per file.
MAX_NOTICES = 20
# Options named as users of one password, at most.
MAX_USED_BY = 10
PYTHON_SUFFIXES = (".py", ".pyi")
TEXT_SUFFIXES = (".toml", ".yaml", ".yml", ".json", ".env", ".txt", ".md")


class Result(NamedTuple):
    findings: list[Finding]
    advice: list[Advice]
    notices: list[str]


class _Spans:
    """The password spans of one text, for masking each URL in it: only
    the spans inside that URL are looked at, so a line of a million
    URLs is masked in linear time."""

    def __init__(self, text: str, creds: list[urls.Credential]) -> None:
        spans = [(c.start, c.end) for c in creds]
        spans.extend(
            _same_user(text, c)
            for c in creds
            if c.rule == "userinfo-password" and c.user == c.password
        )
        self.spans = sorted(spans)
        self.starts = [start for start, _ in self.spans]

    def mask(self, text: str, cred: urls.Credential) -> str:
        first = bisect_left(self.starts, cred.url_start)
        last = bisect_left(self.starts, cred.url_end)
        return mask(text, self.spans[first:last], cred.url_start, cred.url_end)


def _same_user(text: str, cred: urls.Credential) -> tuple[int, int]:
    """The span of a user name that equals its password
    (postgres:postgres): shown, it would show the password."""
    return text.find("://", cred.url_start) + 3, cred.start - 1


def _unescape(line: ini.Line) -> Traced:
    """``line`` with each ``%%`` read as ``%``, offsets kept."""
    out = Builder()
    pos = 0
    while True:
        pct = line.text.find("%%", pos)
        if pct < 0:
            out.add(Traced.at(line.text[pos:], line.offset + pos))
            return out.build()
        out.add(Traced.at(line.text[pos : pct + 1], line.offset + pos))
        pos = pct + 2


def kind_of(path: str) -> str:
    name = os.path.basename(path).lower()
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return "ini"


def scan_text(
    text: str,
    path: str,
    scrub: Scrubber,
    kind: str | None = None,
    quick: bool = False,
) -> Result:
    """Find every credential in ``text``, the content of ``path``.

    ``quick`` skips, without a word, a text that cannot hold a password:
    for the history audit, where most versions of most files hold none
    and notices about them are not shown.
    """
    if quick and _cannot_hold_password(text):
        return Result([], [], [])
    scan = _Scan(text, path, scrub)
    kind = kind or kind_of(path)
    if kind == "ini":
        scan.read_ini()
    elif kind == "python":
        lines = ini.split_lines(text)
        scan.lines(lines, "python")
        scan.python_names(lines)
    else:
        scan.lines(ini.split_lines(text), "text")
    return Result(scan.ordered(), scan.advice, scan.notices)


# A percent-escaped letter or digit: "p%77d=" is "pwd=" to a URL parser.
ESCAPED_WORD = re.compile(r"%[3-7][0-9A-Fa-f]")


def _bare_password(text: str) -> bool:
    """Whether the value of an option named for a password is one: not
    empty, not a URL (read as one instead), not a word for "none", not
    a placeholder."""
    return bool(
        text
        and "://" not in text
        and text.lower() not in NO_PASSWORD
        and not is_placeholder(text)
    )


def _cannot_hold_password(text: str) -> bool:
    """True when no reading could find a password (or advice) in
    ``text``: most versions of most files in a history audit.

    Interpolation copies only text of the same file, so a userinfo
    password needs a literal "@" somewhere, a query or ODBC password a
    key holding "pw" or "pass", and shell-syntax advice a "$".
    """
    if "@" in text or "$" in text or ESCAPED_WORD.search(text):
        return False
    lowered = text.lower()
    return "pw" not in lowered and "pass" not in lowered


class _Scan:
    def __init__(self, text: str, path: str, scrub: Scrubber) -> None:
        self.text = text
        self.path = path
        self.scrub = scrub
        self.found: dict[tuple[int, str], Finding] = {}
        self.advice: list[Advice] = []
        self.notices: list[str] = []
        self.line_starts: list[int] = []
        self.owner_starts: list[int] = []
        self.sources: set[int] = set()
        # Source spans of the passwords found in the option last read: a
        # "$" inside one is part of the secret, and advice quoting it
        # would print a piece of it.
        self.secret_spans: list[tuple[int, int]] = []
        self.capped = False

    def ordered(self) -> list[Finding]:
        return sorted(
            self.found.values(), key=lambda f: (f.line, f.column, f.rule)
        )

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1

    def read_ini(self) -> None:
        doc = ini.read(self.text)
        self.line_starts = [line.offset for line in doc.lines] or [0]
        serious = [
            (number, problem)
            for number, problem in doc.problems
            if "twice" in problem or "no section" in problem
        ]
        if len(serious) > MAX_NOTICES:
            self.notices.append(
                f"{self.path}: {len(serious)} lines Alembic cannot read; "
                f"the first {MAX_NOTICES} follow"
            )
        for number, problem in serious[:MAX_NOTICES]:
            self.notices.append(
                f"{self.path}:{number}: {problem}; "
                "Alembic cannot read this file"
            )
        owners = sorted(doc.options, key=lambda o: o.value_start)
        here = os.path.dirname(os.path.abspath(self.path))
        # The file's own length plus a margin for interpolation: a file
        # of many references to one long value must not cost its square.
        budget = len(self.text) + ini.EXPANSION_LIMIT
        cut = False
        named: list[tuple[Traced, ini.Option]] = []
        for option in doc.options:
            self.secret_spans = []
            password_named = PASSWORD_KEY.search(option.key) is not None
            raw = option.raw.text
            if password_named or "%" in raw or "://" in raw:
                # Other values hold no reference, no URL and no password
                # by name: skipping them keeps a file of a million
                # options near 1 s.
                lookup = ini.lookup_for(doc, option.section, here)
                value, problems = ini.interpolate(option.raw, lookup, budget)
                budget -= len(value.text)
                if any("expands past" in p for p in problems) and not cut:
                    cut = True
                    self.notices.append(
                        f"{self.path}:{option.line}: %(name)s references "
                        "expand too far; the rest is read line by line"
                    )
                self._value(value, option, owners)
                if password_named:
                    named.append((value, option))
            self._shell_advice(option)
        for value, option in named:
            self._named(value, option)
        self._commented_options(doc)
        sections = {line.number: section for line, section in doc.comments}
        self.lines(doc.lines, "comment", sections)

    def _named(self, value: Traced, option: ini.Option) -> None:
        """An option such as ``db_password = ...`` that no URL used:
        read after the URLs, which report it better when they do."""
        text = value.text.strip()
        start = len(value.text) - len(value.text.lstrip())
        source = value.source_of(start)
        if (
            source is None
            or source in self.sources
            or not value.literal_part(0, len(value.text)).strip()
            or not _bare_password(text)
        ):
            return
        cred = urls.Credential(
            "password-option",
            start,
            len(value.text),
            text,
            "",
            "",
            0,
            len(value.text),
        )
        self._add(
            cred,
            source,
            option.section,
            option.key,
            "value",
            f"{option.key} = {MASK}",
            (),
            (text,),
        )

    def _commented_options(self, doc: ini.Document) -> None:
        """``# db_password = ...``: git keeps comments too."""
        for line, section in doc.comments:
            stripped = line.text.lstrip()
            match = COMMENTED_OPTION.match(stripped)
            if match is None or not PASSWORD_KEY.search(match.group("key")):
                continue
            text = match.group("value").strip().replace("%%", "%")
            if not _bare_password(text):
                continue
            at = len(line.text) - len(stripped) + match.start("value")
            cred = urls.Credential(
                "password-option", at, len(line.text), text, "", "", 0, 0
            )
            key = match.group("key")
            self._add(
                cred,
                line.offset + at,
                section,
                None,
                "comment",
                printable(f"{key} = {MASK}"),
                (),
                (text, match.group("value").strip()),
            )

    def _value(
        self, value: Traced, option: ini.Option, owners: list[ini.Option]
    ) -> None:
        creds = urls.find(value.text)
        spans = _Spans(value.text, creds)
        secrets = []
        for cred in creds:
            literal = value.literal_part(cred.start, cred.end)
            if not literal.strip() or is_placeholder(cred.password, cred.user):
                continue
            source = value.source_of(cred.start)
            if source is None:
                source = option.value_start
            holder = self._holder(owners, source) or option
            used_by: tuple[str, ...] = ()
            if holder is not option:
                used_by = (f"[{option.section}] {option.key}",)
            last = value.source_of(cred.end - 1)
            secrets.append((source, source + 1 if last is None else last + 1))
            redacted = "" if self.capped else spans.mask(value.text, cred)
            self._add(
                cred,
                source,
                holder.section,
                holder.key,
                "value",
                redacted,
                used_by,
                (literal, cred.password, value.text[cred.start : cred.end]),
            )
        self.secret_spans = sorted(secrets)

    def lines(
        self,
        lines: list[ini.Line],
        context: str,
        sections: dict[int, str | None] | None = None,
    ) -> None:
        """The line-by-line reading, every line in ``context``.

        With ``sections`` (the section of each comment line) the lines
        are INI lines: only the comments get ``context``, the rest
        "text", and a commented-out option is written with configparser's
        ``%%`` escapes, so they are undone before the URL is read."""
        if not self.line_starts:
            self.line_starts = [line.offset for line in lines] or [0]
        for line in lines:
            if "://" not in line.text:
                continue
            text = (
                _unescape(line)
                if sections is not None
                else Traced.at(line.text, line.offset)
            )
            here = (
                context
                if sections is None or line.number in sections
                else "text"
            )
            self._line(text, here, (sections or {}).get(line.number))

    def _line(self, text: Traced, context: str, section: str | None) -> None:
        creds = urls.find(text.text)
        spans = _Spans(text.text, creds)
        for cred in creds:
            if is_placeholder(cred.password, cred.user):
                continue
            start = text.source_of(cred.start)
            last = text.source_of(cred.end - 1)
            assert start is not None and last is not None
            redacted = "" if self.capped else spans.mask(text.text, cred)
            self._add(
                cred,
                start,
                section,
                None,
                context,
                redacted,
                (),
                (
                    self.text[start : last + 1],
                    cred.password,
                    text.text[cred.start : cred.end],
                ),
            )

    def python_names(self, lines: list[ini.Line]) -> None:
        """``password="..."``: a keyword argument, an assignment or a
        dictionary entry whose name says it holds a password."""
        for line in lines:
            lowered = line.text.lower()
            if "pw" not in lowered and "pass" not in lowered:
                continue
            for match in PYTHON_PASSWORD.finditer(line.text):
                text = match.group("value")
                source = line.offset + match.start("value")
                if source in self.sources or is_placeholder(text):
                    continue
                cred = urls.Credential(
                    "python-password",
                    match.start("value"),
                    match.end("value"),
                    text,
                    "",
                    "",
                    match.start(),
                    match.end(),
                )
                name = match.group("key") or match.group("name")
                quote = match.group("q")
                redacted = printable(f"{name}={quote}{MASK}{quote}")
                self._add(
                    cred, source, None, None, "python", redacted, (), (text,)
                )

    def _add(
        self,
        cred: urls.Credential,
        source: int,
        section: str | None,
        key: str | None,
        context: str,
        redacted: str,
        used_by: tuple[str, ...],
        forms: tuple[str, ...],
    ) -> None:
        self.scrub.add(*forms)
        slot = (source, cred.rule)
        known = self.found.get(slot)
        if known is not None:
            if (
                used_by
                and len(known.used_by) < MAX_USED_BY
                and used_by[0] not in known.used_by
            ):
                self.found[slot] = known._replace(
                    used_by=known.used_by + used_by
                )
            return
        if len(self.found) >= MAX_FINDINGS:
            if not self.capped:
                self._cap(source, section, key, context)
            return
        self.sources.add(source)
        line, column = self.position(source)
        self.found[slot] = Finding(
            self.path,
            line,
            column,
            section,
            key,
            cred.rule,
            context,
            redacted,
            fingerprint(cred.user, cred.host, cred.password),
            cred.host,
            used_by,
        )

    def _cap(
        self, source: int, section: str | None, key: str | None, context: str
    ) -> None:
        """Stop at MAX_FINDINGS with one last finding that no allow-list
        entry matches (no fingerprint, no host): what is not listed must
        still fail the scan."""
        self.capped = True
        self.notices.append(
            f"{self.path}: more than {MAX_FINDINGS} "
            "passwords; only the first are listed"
        )
        line, column = self.position(source)
        self.found[(source, TOO_MANY)] = Finding(
            self.path,
            line,
            column,
            section,
            key,
            TOO_MANY,
            context,
            "(more passwords from here on are not listed)",
            "",
            "",
        )

    def _holder(
        self, owners: list[ini.Option], source: int
    ) -> ini.Option | None:
        """The option whose written value holds offset ``source``."""
        if len(self.owner_starts) != len(owners):
            self.owner_starts = [o.value_start for o in owners]
        # Values do not overlap: only the last one starting at or before
        # ``source`` can hold it.
        index = bisect_right(self.owner_starts, source) - 1
        option = owners[max(index, 0)]
        inside = index >= 0 and source <= option.value_end
        return option if inside else None

    def _shell_advice(self, option: ini.Option) -> None:
        raw = option.raw.text
        if "$" not in raw or not (option.key.endswith("url") or "://" in raw):
            return
        for match in SHELL_VARIABLE.finditer(raw):
            source = option.raw.source_of(match.start())
            if not self._in_secret(source):
                self._advise(option, match.group(), source)
                return

    def _in_secret(self, source: int | None) -> bool:
        """Whether ``source`` is inside a password just found in the
        value being advised on."""
        index = bisect_right(self.secret_spans, (source or 0, sys.maxsize)) - 1
        return (
            source is not None
            and index >= 0
            and source < self.secret_spans[index][1]
        )

    def _advise(
        self, option: ini.Option, variable: str, source: int | None
    ) -> None:
        line, column = self.position(
            option.value_start if source is None else source
        )
        section = option.section or MAIN_SECTION
        name = placeholder_name(section, option.key, MAIN_SECTION)
        # %% keeps a URL-encoded password (%40) from being read as
        # interpolation when configparser stores the value.
        self.advice.append(
            Advice(
                self.path,
                line,
                column,
                f"[{section}] {option.key}: configparser does not "
                f"expand {variable}; Alembic would use it literally. "
                f"Write %({name})s and set it in env.py with "
                f"config.set_section_option({section!r}, {name!r}, "
                f"os.environ[{name!r}].replace('%', '%%'))",
            )
        )
