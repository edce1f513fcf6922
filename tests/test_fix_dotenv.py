"""The .env entries ``fix`` writes read back unchanged, by our parser
and by a POSIX shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alembic_guard import dotenv

VALUES = [
    pytest.param("postgresql://app:p%25%40ss@db/app", id="encoded"),
    pytest.param("postgresql://app:it's@db/app", id="single-quote"),
    pytest.param('postgresql://app:"$HOME`id`\\x@db/a', id="shell-syntax"),
    pytest.param("postgresql://a:b c # d@db/app", id="space-hash"),
    pytest.param("postgresql://a:'\"'\\@db/app", id="quotes-backslash"),
    pytest.param("", id="empty"),
    pytest.param("a\u2028b\x85c", id="unicode-line-separators"),
]


@pytest.mark.parametrize("value", VALUES)
def test_shell_reads_back(tmp_path: Path, value: str) -> None:
    (tmp_path / ".env").write_text("FIRST=1\n" + dotenv.entry("X", value))
    shown = subprocess.run(
        ["sh", "-c", 'set -a; . ./.env; printf "%s" "$X"'],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        check=True,
    ).stdout.decode()
    assert shown == value
    assert dotenv.parse((tmp_path / ".env").read_text())["X"] == value


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_round_trip(value: str) -> None:
    assert dotenv.parse(dotenv.entry("DB_URL", value)) == {"DB_URL": value}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A=1\nA=2\n", {"A": "2"}, id="last-wins"),
        pytest.param("export B='x y'\n", {"B": "x y"}, id="export"),
        pytest.param("C=plain # note\n", {"C": "plain"}, id="comment"),
        pytest.param("# D=1\nnot an entry\n9X=1\n", {}, id="ignored"),
        pytest.param('E="a\\"b"\n', {"E": 'a"b'}, id="double-escaped"),
        pytest.param("F='unclosed\n", {"F": "unclosed"}, id="unclosed"),
    ],
)
def test_parse(text: str, expected: dict[str, str]) -> None:
    assert dotenv.parse(text) == expected


def test_append_keeps_existing_bytes() -> None:
    assert dotenv.append(b"A=1", {"B": "x"}) == b"A=1\nB='x'\n"
    assert dotenv.append(b"", {"B": "x"}) == b"B='x'\n"
