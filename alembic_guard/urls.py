"""Find the passwords a database URL carries.

The reading follows ``sqlalchemy.engine.make_url``: ``name://user:password
@host/database?query``, with ``%XX`` escapes decoded. It is more lenient
than make_url on purpose, because a URL SQLAlchemy rejects still leaks
its password: a raw ``@`` or ``/`` in the password, comma-separated
hosts, TNS descriptors and spaces are all read. Where the split between
password and host is ambiguous, the password is taken as long as it can
be, so that a masked URL never shows part of one.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote, unquote_plus

SCHEME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-_"
)
QUERY_PASSWORD_KEYS = frozenset(("password", "passwd", "pwd"))
ODBC_PASSWORD_KEYS = frozenset(("pwd", "password"))
QUOTES = "\"'`"
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Credential(NamedTuple):
    rule: str
    # The password as written, ``text[start:end]``, and as the driver
    # would receive it.
    start: int
    end: int
    password: str
    user: str
    host: str
    url_start: int
    url_end: int


def find(text: str) -> list[Credential]:
    """Every password in a URL anywhere in ``text``."""
    found: list[Credential] = []
    starts = _url_starts(text)
    for i, (begin, after) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        quote = text[begin - 1 : begin] if begin else ""
        if quote and quote in QUOTES:
            end = _closing(text, quote, after, end)
        found.extend(_parse(text, begin, after, end))
    return found


def _closing(text: str, quote: str, start: int, end: int) -> int:
    """The quote that ends a string literal; a backslash-escaped one
    (``\\"`` in Python) is part of the password, not its end."""
    pos = text.find(quote, start, end)
    while pos >= 0:
        # Each backslash run is walked once: it ends at this quote.
        back = pos
        while back > start and text[back - 1] == "\\":
            back -= 1
        if (pos - back) % 2 == 0:
            return pos
        pos = text.find(quote, pos + 1, end)
    return end


def _url_starts(text: str) -> list[tuple[int, int]]:
    """(scheme start, authority start) of each ``scheme://``."""
    starts = []
    floor = 0
    pos = text.find("://")
    while pos >= 0:
        begin = pos
        while begin > floor and text[begin - 1] in SCHEME_CHARS:
            begin -= 1
        while begin < pos and not text[begin].isalpha():
            begin += 1
        if begin < pos:
            starts.append((begin, pos + 3))
        floor = pos + 3
        pos = text.find("://", floor)
    return starts


def _parse(text: str, begin: int, after: int, end: int) -> list[Credential]:
    found = []
    query_from = after
    user, host = "", _host(text, after, end)
    at = text.find("@", after, end)
    if at >= 0:
        last_at = _split_at(text, at, end)
        name, credential = _userinfo(text, after, text[after:last_at])
        if name is not None:
            user, host = unquote(name), _host(text, last_at + 1, end)
            query_from = last_at + 1
        if credential is not None:
            start, stop = credential
            found.append(
                Credential(
                    "userinfo-password",
                    start,
                    stop,
                    unquote(text[start:stop]),
                    user,
                    host,
                    begin,
                    end,
                )
            )
    question = text.find("?", query_from, end)
    if question >= 0:
        found.extend(_query(text, question + 1, end, user, host, begin))
    return found


def _split_at(text: str, first: int, end: int) -> int:
    """The "@" that ends the password: the last one, unless what comes
    before it reads as ``host/path?key=`` (an "@" in the query)."""
    last = text.rfind("@", first, end)
    slash = text.find("/", first, last)
    question = text.find("?", slash, last) if slash >= 0 else -1
    if question >= 0 and text.find("=", question, last) >= 0:
        return text.rfind("@", first, question)
    return last


def _userinfo(
    text: str, after: int, userinfo: str
) -> tuple[str | None, tuple[int, int] | None]:
    """The user and the password span, or (None, None) if ``userinfo``
    cannot be one (it holds a path, or is prose)."""
    colon = userinfo.find(":")
    user = userinfo if colon < 0 else userinfo[:colon]
    # make_url takes white space, even a line break from a continued
    # INI value, as part of the user name; only "/" rules a user out.
    if "/" in user:
        return None, None
    if colon < 0:
        return user, None
    password = userinfo[colon + 1 :]
    digits = len(password) - len(password.lstrip("0123456789"))
    if digits and password[digits : digits + 1] == "/":
        # host:port/path@... : a port, not a password.
        return None, None
    if not unquote(password).strip():
        # Blank once decoded ("%20", "%0D"): no secret.
        return user, None
    start = after + colon + 1
    return user, (start, start + len(password))


def _host(text: str, start: int, end: int) -> str:
    stop = end
    for mark in "/?":
        found = text.find(mark, start, end)
        if found >= 0:
            stop = min(stop, found)
    return text[start:stop].strip()


def _query(
    text: str, start: int, end: int, user: str, host: str, begin: int
) -> list[Credential]:
    found = []
    pos = start
    while pos <= end:
        amp = text.find("&", pos, end)
        stop = end if amp < 0 else amp
        key, eq, value = text[pos:stop].partition("=")
        key = unquote_plus(key).strip().lower()
        vstart = text.find("=", pos, stop) + 1 if eq else stop
        raw = text[vstart:stop].rstrip()
        if eq and key in QUERY_PASSWORD_KEYS and raw.strip():
            found.append(
                Credential(
                    "query-password",
                    vstart,
                    vstart + len(raw),
                    unquote_plus(raw),
                    user,
                    host,
                    begin,
                    end,
                )
            )
        elif eq and key == "odbc_connect":
            found.extend(
                _odbc(text, vstart, vstart + len(raw), host, begin, end)
            )
        pos = stop + 1
    return found


def _odbc(
    text: str, start: int, stop: int, host: str, begin: int, end: int
) -> list[Credential]:
    entries = _odbc_entries(unquote_plus(text[start:stop]))
    user = next(
        (
            value
            for key, value, _, _ in entries
            if key in ("uid", "user id", "user")
        ),
        "",
    )
    found = []
    walker = _Encoded(text, start, stop)
    for key, value, at, until in entries:
        if key in ODBC_PASSWORD_KEYS and value:
            found.append(
                Credential(
                    "odbc-password",
                    walker.index(at),
                    walker.index(until),
                    value,
                    user,
                    host,
                    begin,
                    end,
                )
            )
    return found


def odbc_pairs(conn: str) -> list[tuple[str, str, int]]:
    """``(key, value, value index)`` of an ODBC connection string, where a
    ``{braced}`` value may hold ``;`` and ``}}`` stands for ``}``."""
    return [entry[:3] for entry in _odbc_entries(conn)]


def _odbc_entries(conn: str) -> list[tuple[str, str, int, int]]:
    """As odbc_pairs, plus where the written value ends (its ";", or
    the end of ``conn``: an unclosed brace runs to the end)."""
    pairs = []
    pos = 0
    while pos < len(conn):
        eq = conn.find("=", pos)
        if eq < 0:
            break
        key = conn[pos:eq].strip().lower()
        vpos = eq + 1
        while vpos < len(conn) and conn[vpos] == " ":
            vpos += 1
        if conn.startswith("{", vpos):
            value, pos = _braced(conn, vpos)
        else:
            semi = conn.find(";", vpos)
            semi = len(conn) if semi < 0 else semi
            value, pos = conn[vpos:semi].strip(), semi + 1
        until = pos - 1 if conn[pos - 1 : pos] == ";" else len(conn)
        pairs.append((key, value, vpos, until))
    return pairs


def _braced(conn: str, start: int) -> tuple[str, int]:
    out = []
    pos = start + 1
    while pos < len(conn):
        if conn[pos] == "}":
            if conn.startswith("}}", pos):
                out.append("}")
                pos += 2
                continue
            semi = conn.find(";", pos)
            return "".join(out), len(conn) if semi < 0 else semi + 1
        out.append(conn[pos])
        pos += 1
    return "".join(out), len(conn)


class _Encoded:
    """Where each decoded character of ``text[start:stop]`` is written,
    walking forward only: asked in increasing order, as the pairs of one
    connection string are, it reads the text once. An ``%XX`` escape,
    or the run of them that spells one UTF-8 character, is one
    character."""

    def __init__(self, text: str, start: int, stop: int) -> None:
        self.text = text
        self.stop = stop
        self.pos = start
        self.count = 0

    def index(self, wanted: int) -> int:
        while self.pos < self.stop and self.count < wanted:
            self.pos += self._width()
            self.count += 1
        return self.pos

    def _width(self) -> int:
        lead = self._byte(self.pos)
        if lead is None:
            return 1
        extra = (
            1
            if 0xC0 <= lead < 0xE0
            else 2
            if 0xE0 <= lead < 0xF0
            else 3
            if 0xF0 <= lead < 0xF8
            else 0
        )
        width = 3
        while extra:
            follow = self._byte(self.pos + width)
            if follow is None or not 0x80 <= follow < 0xC0:
                break
            width += 3
            extra -= 1
        return width

    def _byte(self, pos: int) -> int | None:
        digits = self.text[pos + 1 : pos + 3]
        if (
            self.text[pos : pos + 1] != "%"
            or pos + 3 > self.stop
            or len(digits) != 2
            or not all(c in HEX_DIGITS for c in digits)
        ):
            return None
        return int(digits, 16)
