"""What stands for a password, and what is one however weak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alembic_guard.cli import main
from alembic_guard.placeholders import is_placeholder

NOT_PASSWORDS = [
    pytest.param("%(NAME)s", "", id="configparser-reference"),
    pytest.param("%(db_password)s", "app", id="configparser-lower"),
    pytest.param("%s", "", id="printf-positional"),
    pytest.param("${NAME}", "", id="shell-braced"),
    pytest.param("${NAME:-default}", "", id="shell-default"),
    pytest.param("$NAME", "", id="shell-bare"),
    pytest.param("${USER}:${PASS}", "", id="two-shell-names"),
    pytest.param("{NAME}", "", id="str-format"),
    pytest.param("{settings.db_password}", "", id="f-string-attribute"),
    pytest.param("{{ x }}", "", id="jinja"),
    pytest.param("{{db_password}}", "", id="mustache"),
    pytest.param("{% raw %}", "", id="jinja-statement"),
    pytest.param("<x>", "", id="angle"),
    pytest.param("<your-password>", "", id="angle-words"),
    pytest.param("<%= x %>", "", id="erb"),
    pytest.param("[[ password ]]", "", id="double-bracket"),
    pytest.param("***", "", id="stars"),
    pytest.param("xxxx", "", id="x-mask"),
    pytest.param("XXXXXX", "", id="x-mask-upper"),
    pytest.param("••••", "", id="bullets"),
    pytest.param("----", "", id="dashes"),
    pytest.param("", "", id="empty"),
    pytest.param("   ", "", id="blank"),
    pytest.param("redacted", "", id="redacted-word"),
    pytest.param("DB_PASSWORD", "", id="marker-db-password"),
    pytest.param("REPLACE_WITH_PASSWORD", "", id="marker-replace-with"),
    pytest.param("PASSWORD", "admin", id="marker-password"),
    pytest.param("CHANGEME", "", id="marker-changeme"),
    pytest.param("pass", "user", id="alembic-template"),
    pytest.param("password", "username", id="docs-username-password"),
    pytest.param("secret", "dbuser", id="docs-dbuser-secret"),
]

PASSWORDS = [
    pytest.param("postgres", "postgres", id="user-equals-password"),
    pytest.param("$uN-Harbor-88", "", id="dollar-leading"),
    pytest.param("admin123", "admin", id="weak-admin"),
    pytest.param("!@#$%^", "", id="only-symbols"),
    pytest.param("pass", "admin", id="generic-word-real-user"),
    pytest.param("password", "", id="generic-word-no-user"),
    pytest.param("ADMIN", "", id="upper-word-not-marker"),
    pytest.param("HUNTER2", "", id="upper-with-digit"),
    pytest.param("Secret", "", id="capitalised"),
    pytest.param("{{x}}extra", "", id="template-plus-text"),
    pytest.param("%(a)s-Kiln-73", "", id="reference-plus-text"),
    pytest.param("p%40ss", "", id="percent-encoded"),
    pytest.param("Þórr-Fjörð", "", id="non-ascii"),
    pytest.param("x1", "", id="short"),
]


@pytest.mark.parametrize(("password", "user"), NOT_PASSWORDS)
def test_not_a_password(password: str, user: str) -> None:
    assert is_placeholder(password, user)


@pytest.mark.parametrize(("password", "user"), PASSWORDS)
def test_a_password(password: str, user: str) -> None:
    assert not is_placeholder(password, user)


URL_NEGATIVES = [
    pytest.param("driver://user:pass@localhost/dbname", id="alembic"),
    pytest.param("postgresql://username:password@host/db", id="docs"),
    pytest.param("postgresql://app:%%(DB_PASSWORD)s@db/app", id="reference"),
    pytest.param("postgresql://app:***@db/app", id="mask"),
    pytest.param("postgresql://app:<password>@db/app", id="angle"),
    pytest.param("postgresql://app:{{ pw }}@db/app", id="jinja"),
    pytest.param("postgresql://app@db/app", id="no-password"),
    pytest.param("postgresql://app:@db/app", id="empty-password"),
    pytest.param("sqlite:///%(here)s/app.db", id="sqlite"),
]

URL_POSITIVES = [
    pytest.param(
        "postgresql://postgres:postgres@db/app",
        "postgres",
        id="postgres-postgres",
    ),
    pytest.param(
        "mysql+pymysql://admin:admin123@db/app",
        "admin123",
        id="admin-admin123",
    ),
    pytest.param("postgresql://app:!@#$^&@db/app", "!@#$^&", id="symbols"),
]


def _scan(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    path = tmp_path / "alembic.ini"
    path.write_text(f"[alembic]\nsqlalchemy.url = {url}\n")
    status = main(["scan", "--format", "json", str(path)])
    out, err = capsys.readouterr()
    # The temporary folder is named after the test, password included.
    return status, (out + err).replace(str(tmp_path), "<tmp>")


@pytest.mark.parametrize("url", URL_NEGATIVES)
def test_url_not_flagged(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = _scan(tmp_path, url, capsys)
    assert status == 0


@pytest.mark.parametrize(("url", "password"), URL_POSITIVES)
def test_url_flagged(
    tmp_path: Path, url: str, password: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = _scan(tmp_path, url, capsys)
    assert status == 1
    # "postgresql" holds the password "postgres" without pointing at it:
    # the scheme is shown as written, the user and password are masked.
    output = output.replace("postgresql://***:***@", "")
    assert password not in output
    assert json.dumps(password)[1:-1] not in output
