"""detect.scan_text and the pieces that keep passwords out of output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alembic_guard import urls
from alembic_guard.cli import main
from alembic_guard.detect import kind_of, scan_text
from alembic_guard.finding import (
    MASK,
    REDACTED_WIDTH,
    Scrubber,
    fingerprint,
    mask,
    printable,
)
from alembic_guard.traced import Builder, Traced

PASSWORD = "Kiln-Harbor-73"


def found(
    text: str, path: str = "alembic.ini"
) -> list[tuple[int, str | None, str | None, str, tuple[str, ...]]]:
    result = scan_text(text, path, Scrubber())
    return [
        (f.line, f.section, f.key, f.context, f.used_by)
        for f in result.findings
    ]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param("alembic.ini", "ini", id="ini"),
        pytest.param("setup.cfg", "ini", id="cfg"),
        pytest.param("app.ini.tpl", "ini", id="template"),
        pytest.param("migrations/env.py", "python", id="env-py"),
        pytest.param("pyproject.toml", "text", id="toml"),
        pytest.param("README.MD", "text", id="markdown"),
    ],
)
def test_kind_of(path: str, kind: str) -> None:
    assert kind_of(path) == kind


def test_reported_where_written_and_who_uses_it() -> None:
    text = (
        f"[DEFAULT]\npw = {PASSWORD}\n[alembic]\n"
        "sqlalchemy.url = postgresql://app:%(pw)s@db/app\n"
        "[engine2]\nsqlalchemy.url = mysql://app:%(pw)s@db/b\n"
    )
    assert found(text) == [
        (
            2,
            "DEFAULT",
            "pw",
            "value",
            ("[alembic] sqlalchemy.url", "[engine2] sqlalchemy.url"),
        )
    ]


def test_users_listed_at_most_ten_times() -> None:
    users = "".join(f"url{i} = pg://app:%(pw)s@db/x\n" for i in range(15))
    result = scan_text(
        f"[a]\npw = {PASSWORD}\n{users}", "alembic.ini", Scrubber()
    )
    assert [len(f.used_by) for f in result.findings] == [10]


def test_comment_context_and_section() -> None:
    text = f"[alembic]\n; sqlalchemy.url = pg://app:{PASSWORD}@db/x\n"
    assert found(text) == [(2, "alembic", None, "comment", ())]


def test_commented_url_with_percent_escapes() -> None:
    text = "[alembic]\n# sqlalchemy.url = pg://app:K%%40ln%%25@db/x\n"
    scrub = Scrubber()
    result = scan_text(text, "alembic.ini", scrub)
    assert [f.redacted for f in result.findings] == ["pg://app:***@db/x"]
    assert "K@ln%" in scrub.secrets and "K%40ln%25" in scrub.secrets
    assert "K%%40ln%%25" in scrub.secrets


def test_here_is_no_password() -> None:
    # %(here)s is the checkout's folder: no secret, and different on
    # every machine, so no fingerprint of it could be allowed.
    text = "[a]\nurl = pg://app@db/x?password=%(here)s\n"
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "[a]\nurl = postgresql://\n    app:Kiln-73@db/x\n",
            3,
            id="split-after-scheme",
        ),
        pytest.param(
            "[a]\nurl = mssql+pyodbc://my user:Kiln-73@db/x\n",
            2,
            id="user-with-space",
        ),
        pytest.param(
            "[a]\nurl = pg://app:Kiln-73 @db/x\n",
            2,
            id="trailing-space-in-password",
        ),
    ],
)
def test_user_names_as_make_url_reads_them(text: str, line: int) -> None:
    assert [f[0] for f in found(text)] == [line]


def test_python_and_text_lines() -> None:
    python = f'e = create_engine("pg://app:{PASSWORD}@db/x")\n'
    assert found(python, "env.py") == [(1, None, None, "python", ())]
    toml = f'url = "pg://app:{PASSWORD}@db/x"\n'
    assert found(toml, "pyproject.toml") == [(1, None, None, "text", ())]


def test_line_pass_finds_what_the_value_pass_cannot() -> None:
    # "%(missing)s" leaves the value unresolved; the password written on
    # the line is still found, and reported once.
    text = f"[a]\nurl = pg://app:{PASSWORD}@db/%(missing)s\n"
    assert found(text) == [(2, "a", "url", "value", ())]


def test_shell_advice() -> None:
    text = "[alembic]\nsqlalchemy.url = ${DATABASE_URL}\n"
    result = scan_text(text, "alembic.ini", Scrubber())
    assert result.findings == []
    [advice] = result.advice
    assert (advice.line, advice.column) == (2, 18)
    assert "does not expand ${DATABASE_URL}" in advice.message


def test_no_advice_about_a_dollar_inside_a_password() -> None:
    text = "[alembic]\nsqlalchemy.url = pg://app:Kiln$Secret99@db/x\n"
    result = scan_text(text, "alembic.ini", Scrubber())
    assert len(result.findings) == 1
    assert result.advice == []


def test_advice_skips_the_password_but_not_the_user() -> None:
    text = "[alembic]\nsqlalchemy.url = pg://$DB_USER:Kiln$Secret9@db/x\n"
    [advice] = scan_text(text, "alembic.ini", Scrubber()).advice
    assert "$DB_USER" in advice.message and "Secret9" not in advice.message


def test_no_advice_for_other_dollars() -> None:
    text = "[alembic]\nprompt = $PS1\nsqlalchemy.url = pg://h/$\n"
    assert scan_text(text, "alembic.ini", Scrubber()).advice == []


def test_parse_problems_become_notices() -> None:
    result = scan_text("x = 1\n[a]\nk = 1\nk = 2\n", "alembic.ini", Scrubber())
    assert result.notices == [
        "alembic.ini:1: no section header before this line; Alembic "
        "cannot read this file",
        "alembic.ini:4: option 'k' appears twice in [a]; Alembic cannot "
        "read this file",
    ]


def test_mask_keeps_the_shape() -> None:
    text = "x = pg://u:aa@h/d?password=bb&c=1 tail"
    creds = urls.find(text)
    spans = [(c.start, c.end) for c in creds] + [(0, 1), (40, 44)]
    assert mask(text, spans, creds[0].url_start, creds[0].url_end) == (
        "pg://u:***@h/d?password=***&c=1 tail"
    )


def test_mask_is_cut_to_width() -> None:
    text = "pg://u:" + ":".join(f"p{i}" for i in range(2000)) + "@h"
    spans = [(7 + 3 * i, 7 + 3 * i + 2) for i in range(10)]
    shown = mask(text, spans, 0, len(text))
    assert len(shown) == REDACTED_WIDTH and shown.endswith("...")
    many = [(i, i + 1) for i in range(0, len(text), 2)]
    assert set(mask(text, many, 0, len(text))[:100]) <= set(text + MASK)


def test_printable() -> None:
    assert printable("a\nb\rc\x00d\udce9e\u200bf g") == (
        "a\\nb\\rc\\x00d\ufffde?f g"
    )


def test_scrubber_masks_every_spelling_and_overlaps() -> None:
    scrub = Scrubber()
    scrub.add("abcd", "bcdef", "xy", "  ")
    # Only where no letter or digit runs on: "abcdef" is another word.
    assert scrub("abcdef abcd-bcdef zz") == "abcdef ***-*** zz"
    assert scrub("abcd bcdef") == "*** ***"
    assert scrub("xy") == "xy"
    scrub.secrets.add("zz ")
    assert scrub("zz abcd") == "******"


def test_fingerprint_is_stable_and_hides_the_password() -> None:
    one = fingerprint("app", "DB", PASSWORD)
    assert one == fingerprint("app", "db", PASSWORD)
    assert one != fingerprint("app2", "db", PASSWORD)
    assert len(one) == 16 and PASSWORD not in one


def test_joined_runs_without_a_source() -> None:
    joined = Builder()
    joined.add(Traced.at("\n", None))
    joined.add(Traced.at("/srv", None))
    joined.add(Traced.at("x", 9))
    assert joined.build().source_of(0) == 9


def test_unclosed_quote_runs_to_the_end() -> None:
    creds = urls.find("'pg://u:Kiln-73@h")
    assert [c.password for c in creds] == ["Kiln-73"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("://u:Kiln-73@h", id="no-scheme"),
        pytest.param("1://u:Kiln-73@h", id="digit-scheme"),
    ],
)
def test_not_a_url_without_a_scheme(text: str) -> None:
    assert urls.find(text) == []


def test_odbc_with_a_broken_utf8_escape() -> None:
    text = "mssql:///?odbc_connect=DRIVER%3D%C3x%3BPWD%3DKiln-73%3B"
    [cred] = urls.find(text)
    assert text[cred.start : cred.end] == "Kiln-73"


def test_proc_mem_read_fails(capsys: pytest.CaptureFixture[str]) -> None:
    # A real file whose read() fails after stat() and open() succeed.
    status = main(["scan", "/proc/self/mem"])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("alembic-guard: /proc/self/mem: ")


# Known gaps, pinned so that a change of behaviour is seen.


def test_gap_implicitly_concatenated_python_literals() -> None:
    # Python joins "pg://app:Kiln" "-73@db" into one string; the scan
    # reads the line as written, so only the first piece is seen, and
    # without its "@" it is not a URL with a password.
    text = 'e = create_engine("pg://app:Kiln"\n    "-73@db/x")\n'
    assert found(text, "env.py") == []


def test_gap_free_text_urls_are_read_per_line() -> None:
    text = "See the connection string:\n  pg://app:\n  Kiln-73@db/x\n"
    assert found(text, "notes.txt") == []


def test_gap_digits_then_slash() -> None:
    text = "[a]\nurl = pg://app:1234/x@db/app\n"
    assert found(text) == []


def test_json_stays_valid_when_the_password_is_a_json_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env.py"
    path.write_text('e = create_engine("postgresql://app:null@db/app")\n')
    assert main(["scan", "--format", "json", str(path)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["findings"][0]["redacted"] == "postgresql://app:***@db/app"
    assert document["findings"][0]["section"] is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[a]\nurl = %(DB_URL)s\nx = [oops\n", id="no-at"),
        pytest.param("[a]\n[a]\nurl = sqlite:///x.db\n", id="duplicates"),
    ],
)
def test_quick_skips_texts_that_cannot_hold_a_password(text: str) -> None:
    result = scan_text(text, "alembic.ini", Scrubber(), quick=True)
    assert result == ([], [], [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[a]\nurl = pg://u:Kiln-4x@h/d\n", id="at"),
        pytest.param(
            "[a]\nurl = pg:///d?host=/s&PASSWORD=Kiln-4x\n", id="password-key"
        ),
        pytest.param("[a]\nurl = pg:///d?p%77d=Kiln-4x\n", id="escaped-key"),
        pytest.param(
            "[a]\nurl = pg:///d?pass%77ord=Kiln-4x\n", id="escaped-word"
        ),
    ],
)
def test_quick_still_reads_texts_that_can(text: str) -> None:
    quick = scan_text(text, "alembic.ini", Scrubber(), quick=True)
    full = scan_text(text, "alembic.ini", Scrubber())
    assert quick == full
    assert len(full.findings) == 1


def test_problem_notices_are_capped() -> None:
    text = "[a]\n" + "x = 1\n" * 50
    notices = scan_text(text, "alembic.ini", Scrubber()).notices
    assert len(notices) == 21
    assert notices[0] == (
        "alembic.ini: 49 lines Alembic cannot read; the first 20 follow"
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            "postgresql://user:%(here)s@db.prod.example/app",
            id="here-as-password",
        ),
        pytest.param("postgresql://app:$(DB_PW)@db/app", id="shell-command"),
    ],
)
def test_more_stand_ins(url: str) -> None:
    text = f"[alembic]\nsqlalchemy.url = {url}\n"
    assert scan_text(text, "alembic.ini", Scrubber()).findings == []


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param('db_pw = "Kiln-73x"\n', [1], id="pw-suffix"),
        pytest.param('password: str = "Kiln-73x"\n', [1], id="annotated"),
        pytest.param(
            'def f(password: "Optional[str]" = None): ...\n',
            [],
            id="quoted-annotation",
        ),
        pytest.param('g = lambda password: "Kiln-73x"\n', [], id="lambda"),
        pytest.param(
            "raise ValueError(\"password: 'Kiln-73x'\")\n", [], id="message"
        ),
        pytest.param('password = "Pa" + rest\n', [], id="expression"),
        pytest.param(
            'u = URL.create("pg", password="Kiln-73x", host="db")\n',
            [1],
            id="keyword",
        ),
        pytest.param("conf = {\"db_password\": 'Kiln-73x'}\n", [1], id="dict"),
        pytest.param('DB_PASSWORD = "Kiln-73x"\n', [1], id="assignment"),
        pytest.param(
            'if password == "Kiln-73x":\n    pass\n', [], id="comparison"
        ),
        pytest.param('pwd = os.environ["PW"]\n', [], id="environment"),
        pytest.param('password = "${DB_PASSWORD}"\n', [], id="placeholder"),
        pytest.param('password = ""\n', [], id="empty"),
    ],
)
def test_python_password_names(text: str, lines: list[int]) -> None:
    scrub = Scrubber()
    result = scan_text(text, "env.py", scrub)
    assert [f.line for f in result.findings] == lines
    assert all(f.rule == "python-password" for f in result.findings)
    assert all("Kiln-73x" not in f.redacted for f in result.findings)


@pytest.mark.parametrize(
    ("text", "found_rules"),
    [
        pytest.param(
            "[alembic]\ndb_password = Kiln-73x\n",
            ["password-option"],
            id="unused",
        ),
        pytest.param(
            "[alembic]\ndb_pw = Kiln-73x\nsqlalchemy.url = "
            "pg://u:%(db_pw)s@h/d\n",
            ["userinfo-password"],
            id="used-by-a-url",
        ),
        pytest.param("[alembic]\npassword = CHANGEME\n", [], id="marker"),
        pytest.param("[alembic]\npassword = %(PW)s\n", [], id="reference"),
        pytest.param("[alembic]\npassword =\n", [], id="empty"),
        pytest.param(
            "[alembic]\npasswords_file = /run/secrets/db\n", [], id="other-key"
        ),
    ],
)
def test_password_options(text: str, found_rules: list[str]) -> None:
    result = scan_text(text, "alembic.ini", Scrubber())
    assert [f.rule for f in result.findings] == found_rules


@pytest.mark.parametrize(
    ("text", "found_lines"),
    [
        pytest.param("[a]\n# db_password = Kiln-73x\n", [2], id="hash"),
        pytest.param("[a]\n  ; password: Kiln-73x\n", [2], id="semicolon"),
        pytest.param("[a]\n# password = %(PW)s\n", [], id="reference"),
        pytest.param("[a]\n# password = none\n", [], id="none"),
        pytest.param("[a]\npassword = null\n", [], id="null-value"),
        pytest.param("[a]\n" + "#" * 100_000 + "\n", [], id="hashes"),
    ],
)
def test_commented_password_options(text: str, found_lines: list[int]) -> None:
    result = scan_text(text, "alembic.ini", Scrubber())
    assert [f.line for f in result.findings] == found_lines
    assert all("Kiln-73x" not in f.redacted for f in result.findings)
