"""ini.py against configparser as Alembic configures it.

Alembic builds ``ConfigParser({"here": <folder>})`` and reads the file in
text mode, so line breaks are universal newlines; ``io.StringIO`` with
``newline=None`` gives the same lines without touching the disk.
"""

from __future__ import annotations

import configparser
import io

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alembic_guard import ini
from alembic_guard.traced import Builder, Traced

HERE = "/srv/app"
ORACLE_ERRORS = (configparser.Error,)

# Odd white space that str.strip() and configparser's \s both know.
SPACE = st.sampled_from(
    ["", " ", "  ", "\t", "\x0c", "\x0b", "\u00a0", "\u2003", "\u3000", "\x1f"]
)
SECTION = st.sampled_from(
    [
        "alembic",
        "DEFAULT",
        "engine1",
        "Alembic",
        "post_write_hooks",
        "a b",
        "x]y",
    ]
)
KEY = st.sampled_from(
    [
        "sqlalchemy.url",
        "SQLAlchemy.URL",
        "db_password",
        "Db_Password",
        "here",
        "a",
        "b",
        "script location",
    ]
)
FRAGMENT = st.sampled_from(
    [
        "postgresql://app:",
        "@db/app",
        "Kiln-73",
        "%%",
        "%(a)s",
        "%(b)s",
        "%(DB_PASSWORD)s",
        "%(here)s",
        "%(missing)s",
        "%",
        "%(",
        "%()s",
        "%(a)d",
        " ",
        "://",
        "@",
        ":",
        "=",
        "#",
        ";",
        "é",
        "\u2003",
        "[x]",
        "\x85",
        "\u2028",
    ]
)
VALUE = st.lists(FRAGMENT, max_size=5).map("".join)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def header_line(draw: st.DrawFn) -> str:
    return f"{draw(SPACE)}[{draw(SECTION)}]{draw(SPACE)}"


@st.composite
def option_line(draw: st.DrawFn) -> str:
    delim = draw(st.sampled_from(["=", ":"]))
    return (
        f"{draw(SPACE)}{draw(KEY)}{draw(SPACE)}{delim}"
        f"{draw(SPACE)}{draw(VALUE)}{draw(SPACE)}"
    )


@st.composite
def continuation_line(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(["  ", "    ", "\t", " \u00a0 "]))
    return indent + draw(VALUE)


@st.composite
def comment_line(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["#", ";"]))
    return f"{draw(SPACE)}{prefix}{draw(VALUE)}"


LINE = st.one_of(
    header_line(),
    option_line(),
    option_line(),
    continuation_line(),
    comment_line(),
    SPACE,
    VALUE,
)


@st.composite
def ini_text(draw: st.DrawFn) -> str:
    lines = draw(st.lists(LINE, max_size=12))
    if draw(st.booleans()):
        lines.insert(0, "[alembic]")
    if draw(st.booleans()):
        brk = draw(BREAK)
        return brk.join(lines) + draw(st.sampled_from(["", brk]))
    return "".join(line + draw(BREAK) for line in lines)


def oracle(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser({"here": HERE})
    parser.read_file(io.StringIO(text, newline=None), "alembic.ini")
    return parser


def ours(doc: ini.Document, section: str, key: str) -> tuple[str, list[str]]:
    lookup = ini.lookup_for(doc, section, HERE)
    raw = lookup(key)
    assert raw is not None, (section, key)
    value, problems = ini.interpolate(raw, lookup)
    return value.text, problems


def compare(text: str) -> None:
    doc = ini.read(text)
    try:
        parser = oracle(text)
    except ORACLE_ERRORS:
        assert doc.problems, "configparser refused a file we accept"
        return
    assert doc.problems == []
    assert sorted(parser.sections()) == sorted(doc.sections)
    for section in ["DEFAULT", *parser.sections()]:
        keys = set(parser.defaults()) | set(
            parser.options(section) if section != "DEFAULT" else ()
        )
        mine = set(doc.defaults) | {"here"}
        if section != "DEFAULT":
            mine |= set(doc.sections[section])
        assert keys == mine, section
        for key in keys:
            check_value(parser, doc, section, key)


def check_value(
    parser: configparser.ConfigParser,
    doc: ini.Document,
    section: str,
    key: str,
) -> None:
    value, problems = ours(doc, section, key)
    try:
        expected = parser.get(section, key)
    except configparser.InterpolationError:
        assert problems, (section, key)
        return
    assert (value, problems) == (expected, []), (section, key)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ini_text())
@example("[a]\nk = %(k)s\n")
@example("[a]\nx = 1\n[a]\n")
@example("[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n")
@example("[a]\nx = 1\nX = 2\n")
@example("x = 1\n")
@example("[a]\njunk\n")
@example("[a]\n= v\n")
@example("[a]\nk = v\n\n  more\n\n")
@example("[a]\nk = v\n# c\n  more\n")
@example("[a]\nk = 50%\n")
@example("[a]\nk = 50%%\r\n  %(here)s\r")
@example("[a]\nk = %(j)s\nj = %(k)s\n")
@example(
    "[a]\n"
    + "".join(f"k{i} = %(k{i + 1})s\n" for i in range(12))
    + "k12 = end\n"
)
@example("[a]\nk\x0c= v\x85w\u2028\n")
@example("[a]\nk = %(a%(b\n")
@example("[a]\nk = %(a)x%(b)x%(k2)s\nk2 = v\n")
def test_reads_like_configparser(text: str) -> None:
    compare(text)


def test_ten_levels_of_nesting_are_fine() -> None:
    # configparser stops at depth 10: nine hops resolve, ten do not.
    chain = "".join(f"k{i} = %(k{i + 1})s\n" for i in range(9))
    compare("[a]\n" + chain + "k9 = end\n")
    compare("[a]\n" + chain + "k9 = %(k10)s\nk10 = end\n")


def test_split_lines_universal_newlines() -> None:
    lines = ini.split_lines("a\r\nb\rc\n\nd")
    assert [(x.number, x.offset, x.text) for x in lines] == [
        (1, 0, "a"),
        (2, 3, "b"),
        (3, 5, "c"),
        (4, 7, ""),
        (5, 8, "d"),
    ]
    assert ini.split_lines("") == []


def _where(text: str, section: str, key: str, needle: str) -> tuple[int, int]:
    """Line and column in ``text`` of ``needle`` in a value's result."""
    doc = ini.read(text)
    value, _ = ours(doc, section, key)
    source = ini.interpolate(
        ini.lookup_for(doc, section, HERE)(key) or Traced(),
        ini.lookup_for(doc, section, HERE),
    )[0]
    assert source.text == value
    offset = source.source_of(value.index(needle))
    assert offset is not None
    line = [x for x in ini.split_lines(text) if x.offset <= offset][-1]
    return line.number, offset - line.offset + 1


SOURCE_CASES = [
    pytest.param(
        "[a]\nurl = pg://u:Kiln-73@h/d\n", "a", "url", (2, 14), id="plain"
    ),
    pytest.param(
        "[a]\nurl = pg://u:50%%Kiln@h/d\n",
        "a",
        "url",
        (2, 18),
        id="after-percent-escape",
    ),
    pytest.param(
        "[DEFAULT]\npw = Kiln-73\n[a]\nurl = pg://u:%(pw)s@h/d\n",
        "a",
        "url",
        (2, 6),
        id="default-interpolation",
    ),
    pytest.param(
        "[a]\npw = Kiln-73\nmid = %(pw)s\nurl = pg://u:%(mid)s@h/d\n",
        "a",
        "url",
        (2, 6),
        id="nested-interpolation",
    ),
    pytest.param(
        "[a]\nurl = pg://u:\n    Kiln-73@h/d\n",
        "a",
        "url",
        (3, 5),
        id="continuation",
    ),
    pytest.param(
        "[a]\r\nurl = pg://u:\r\n\r\n  Kiln-73@h/d\r\n",
        "a",
        "url",
        (4, 3),
        id="crlf-blank-inside-value",
    ),
    pytest.param(
        "[a]\rurl\t:  pg://u:Kiln-73@h/d\r",
        "a",
        "url",
        (2, 15),
        id="cr-colon-delimiter",
    ),
    pytest.param(
        "[a]\n  URL = x\n [b]\n", "a", "url", (2, 9), id="indented-key"
    ),
]


@pytest.mark.parametrize(("text", "section", "key", "where"), SOURCE_CASES)
def test_source_of(
    text: str, section: str, key: str, where: tuple[int, int]
) -> None:
    needle = "x" if where == (2, 9) else "Kiln"
    assert _where(text, section, key, needle) == where


def test_joining_newline_points_at_next_piece() -> None:
    text = "[a]\nurl = one\n  two\n"
    raw = ini.read(text).sections["a"]["url"].raw
    assert raw.text == "one\ntwo"
    assert raw.source_of(3) == text.index("two")
    joined = Builder()
    joined.add(Traced.at("x", 5))
    joined.add(Traced.at("\n", None))
    assert joined.build().source_of(1) is None
    assert Traced().source_of(0) is None


def test_here_has_no_source() -> None:
    doc = ini.read("[a]\nk = %(here)s/x\n")
    value, problems = ours(doc, "a", "k")
    assert (value, problems) == (HERE + "/x", [])
    traced = ini.interpolate(
        doc.sections["a"]["k"].raw, ini.lookup_for(doc, "a", HERE)
    )[0]
    start = doc.sections["a"]["k"].value_start
    assert traced.source_of(len(HERE)) == start + len("%(here)s")


def test_unresolved_reference_is_opaque() -> None:
    doc = ini.read("[a]\nk = pg://u:%(nope)s@h\n")
    value, problems = ini.interpolate(
        doc.sections["a"]["k"].raw, ini.lookup_for(doc, "a", HERE)
    )
    assert problems == ["'%(nope)s' refers to no option"]
    start = value.text.index("%(")
    assert value.literal_part(0, len(value.text)) == "pg://u:@h"
    assert value.literal_part(start, start + 8) == ""


def test_value_offsets_cover_continuations() -> None:
    text = "[a]\nk =  v1\n   v2  \n\nj = 1\n"
    option = ini.read(text).sections["a"]["k"]
    assert text[option.value_start : option.value_end] == "v1\n   v2"
    assert option.line == 2


def test_slice_and_rstrip_keep_origins() -> None:
    joined = Builder()
    joined.add(Traced.at("ab", 10))
    joined.add_opaque(Traced.at("%(x)s", 20))
    joined.add(Traced.at("cd  ", 30))
    traced = joined.build()
    part = traced.slice(1, 9)
    assert part.text == "b%(x)scd"
    assert [part.source_of(i) for i in (0, 1, 6)] == [11, 20, 30]
    assert part.opaque == [(1, 6)]
    stripped = traced.rstrip()
    assert stripped.text == "ab%(x)scd"
    assert stripped.source_of(8) == 31
