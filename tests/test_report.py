"""Text and JSON output: shape, hints, colour, and the scrubbing net."""

from __future__ import annotations

import io
import json

import pytest

from alembic_guard import report
from alembic_guard.finding import Advice, Finding, Scrubber

SECRET = "n0t-in-0utput"
BASE = Finding(
    path="alembic.ini",
    line=3,
    column=30,
    section="alembic",
    key="sqlalchemy.url",
    rule="userinfo-password",
    context="value",
    redacted="postgresql://u:***@db/app",
    fingerprint="0123456789abcdef",
    host="db",
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "changes, expected",
    [
        pytest.param(
            {},
            "replace the value with %(DB_URL)s: alembic-guard fix",
            id="url-value",
        ),
        pytest.param(
            {
                "used_by": ("[alembic] sqlalchemy.url",),
                "key": "pw",
                "section": "DEFAULT",
            },
            "move the password out of this file: alembic-guard fix",
            id="interpolated",
        ),
        pytest.param(
            {"key": "connection"},
            "move the password out of this file: alembic-guard fix",
            id="other-key",
        ),
        pytest.param(
            {"context": "comment", "key": None},
            "delete the comment or mask its password",
            id="comment",
        ),
        pytest.param(
            {"context": "python", "key": None, "section": None},
            "read the URL from the environment instead",
            id="python",
        ),
        pytest.param(
            {"context": "text", "key": None, "section": None},
            "read the URL from the environment instead",
            id="text",
        ),
    ],
)
def test_hint(changes: dict[str, object], expected: str) -> None:
    assert report.hint(BASE._replace(**changes)) == expected


@pytest.mark.parametrize(
    "changes, expected",
    [
        pytest.param({}, "[alembic] sqlalchemy.url", id="value"),
        pytest.param(
            {"context": "comment", "key": None},
            "[alembic] comment",
            id="comment",
        ),
        pytest.param(
            {"section": None, "key": None, "context": "python"},
            "",
            id="python",
        ),
        pytest.param(
            {
                "section": "DEFAULT",
                "key": "pw",
                "used_by": ("[alembic] sqlalchemy.url", "[e1] url"),
            },
            "[DEFAULT] pw (used by [alembic] sqlalchemy.url, [e1] url)",
            id="used-by",
        ),
    ],
)
def test_where(changes: dict[str, object], expected: str) -> None:
    assert report.where(BASE._replace(**changes)) == expected


def test_text_line() -> None:
    assert report.text_line(BASE) == (
        "alembic.ini:3:30: [alembic] sqlalchemy.url: password in URL: "
        "postgresql://u:***@db/app (replace the value with %(DB_URL)s: "
        "alembic-guard fix; fingerprint 0123456789abcdef)"
    )
    python = BASE._replace(
        section=None, key=None, context="python", path="env.py"
    )
    assert report.text_line(python).startswith(
        "env.py:3:30: password in URL: postgresql"
    )


def test_text_line_never_breaks() -> None:
    odd = BASE._replace(path="a\nb\udcff.ini", key="k\tey")
    line = report.text_line(odd)
    assert "\n" not in line and "\udcff" not in line
    assert line.startswith("a\\nb\ufffd.ini:3:30: [alembic] k\\x09ey:")


def write(
    fmt: str,
    findings: list[Finding],
    advice: list[Advice] = (),
    notices: list[str] = (),
    scrub: Scrubber | None = None,
    out: io.StringIO | None = None,
    colour: bool | None = None,
) -> tuple[str, str]:
    out = io.StringIO() if out is None else out
    err = io.StringIO()
    report.write(
        out,
        err,
        fmt,
        findings,
        list(advice),
        list(notices),
        scrub or Scrubber(),
        colour=colour,
    )
    return out.getvalue(), err.getvalue()


def test_scrubber_is_the_last_net() -> None:
    # A known password in a message, or in a name that holds a URL (a
    # malformed line read as a section header), never leaves; the
    # redacted URL is trusted to be masked span by span.
    scrub = Scrubber()
    scrub.add(SECRET)
    leaky = BASE._replace(
        section=f"postgresql://u:{SECRET}@db",
        used_by=(f"[postgresql://u:{SECRET}@db] url",),
    )
    advice = [Advice("alembic.ini", 1, 1, f"about {SECRET}")]
    notices = [f"{SECRET}: odd"]
    for fmt in ("text", "json"):
        out, err = write(fmt, [leaky], advice, notices, scrub)
        assert SECRET not in out + err
        assert "***" in out


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("gres", id="inside-scheme"),
        pytest.param("prod", id="inside-host"),
        pytest.param("alembic", id="section-name"),
        pytest.param("5432", id="port"),
    ],
)
def test_scrubbing_never_points_at_a_password(password: str) -> None:
    # Masking "gres" in "postgresql" would show what the password is.
    scrub = Scrubber()
    scrub.add(password)
    finding = BASE._replace(
        path="alembic.ini",
        section="alembic",
        key="sqlalchemy.url",
        redacted="postgresql://app:***@db.prod.example:5432/app",
        host="db.prod.example:5432",
    )
    out, _ = write("text", [finding], [], [], scrub)
    assert "[alembic] sqlalchemy.url" in out
    assert "postgresql://app:***@db.prod.example:5432/app" in out


def test_json_document() -> None:
    advice = [Advice("alembic.ini", 2, 18, "configparser does not expand")]
    out, err = write("json", [BASE], advice, ["a notice"])
    document = json.loads(out)
    assert document == {
        "findings": [report.as_dict(BASE)],
        "advice": [
            {
                "path": "alembic.ini",
                "line": 2,
                "column": 18,
                "message": "configparser does not expand",
            }
        ],
    }
    assert set(document["findings"][0]) == {
        "path",
        "line",
        "column",
        "section",
        "key",
        "rule",
        "context",
        "redacted",
        "fingerprint",
        "used_by",
    }
    assert err == "a notice\n"


def test_text_streams() -> None:
    advice = [Advice("alembic.ini", 2, 18, "say\nthis")]
    out, err = write(
        "text", [BASE, BASE._replace(line=4)], advice, ["first\nnotice"]
    )
    assert out.count("\n") == 2 and out.startswith("alembic.ini:3:30: ")
    assert err == ("first\\nnotice\nalembic.ini:2:18: advice: say\\nthis\n")


def test_quiet_when_nothing() -> None:
    assert write("text", []) == ("", "")


@pytest.mark.parametrize(
    "no_color, coloured",
    [
        pytest.param(None, True, id="terminal"),
        pytest.param("1", False, id="NO_COLOR"),
    ],
)
def test_colour_only_on_terminal(
    monkeypatch: pytest.MonkeyPatch, no_color: str | None, coloured: bool
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    out, _ = write("text", [BASE], out=Terminal())
    assert ("\033[" in out) is coloured
    assert report.use_colour(io.StringIO()) is False
    plain, _ = write("text", [BASE])
    assert "\033[" not in plain


def test_colour_never_in_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, _ = write("json", [BASE], out=Terminal())
    assert "\033[" not in out
    json.loads(out)


def test_forced_colour_keeps_the_words() -> None:
    line = report.text_line(BASE, colour=True)
    bare = line.replace(report.BOLD, "").replace(report.RED, "")
    assert bare.replace(report.RESET, "") == report.text_line(BASE)
    assert report.advice_line(Advice("a", 1, 1, "m"), True) == (
        f"a:1:1: {report.YELLOW}advice{report.RESET}: m"
    )
