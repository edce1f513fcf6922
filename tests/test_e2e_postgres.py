"""``fix`` on every Alembic template, then the real ``alembic upgrade``
against a real PostgreSQL server with a password full of URL syntax.

The URL goes back in through the generated ``.env``, read by a POSIX
shell (``set -a; . ./.env``), which also proves its quoting.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from pg import Server

pytest_plugins = ["pg"]
REVISION = '''\
"""create a table"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(engine_name: str = "") -> None:
    op.create_table("guarded" + engine_name,
                    sa.Column("id", sa.Integer, primary_key=True))


def downgrade(engine_name: str = "") -> None:
    op.drop_table("guarded" + engine_name)
'''
TEMPLATE_URL = re.compile(r"^sqlalchemy\.url = driver://.*$", re.M)


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DB_URL", "GIT_"))
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(
    project: Path, *command: str, dotenv: bool = False
) -> subprocess.CompletedProcess[str]:
    if dotenv:
        command = (
            "sh",
            "-c",
            'set -a; . ./.env; set +a; exec "$@"',
            "sh",
            *command,
        )
    return subprocess.run(
        command,
        cwd=project,
        env=_env(),
        text=True,
        capture_output=True,
        check=False,
    )


def _alembic(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "alembic", *args)


def _project(tmp_path: Path, template: str, urls: list[str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    done = _run(project, *_alembic("init", "-t", template, "migrations"))
    assert done.returncode == 0, done.stderr
    ini = project / "alembic.ini"
    text = ini.read_text()
    found = TEMPLATE_URL.findall(text)
    assert len(found) == len(urls)
    for old, url in zip(found, urls, strict=True):
        # configparser reads %% as %: the URL-encoded password doubles.
        text = text.replace(
            old, "sqlalchemy.url = " + url.replace("%", "%%"), 1
        )
    ini.write_text(text)
    (project / "migrations" / "versions" / "0001_create.py").write_text(
        REVISION
    )
    return project


def _assert_secret_free(server: Server, *texts: str) -> None:
    encoded = quote(server.password, safe="")
    for text in texts:
        for secret in (server.password, encoded, encoded.replace("%", "%%")):
            assert secret not in text


CASES = [
    pytest.param("generic", "psycopg2", id="generic"),
    pytest.param("async", "asyncpg", id="async"),
    pytest.param("pyproject", "psycopg2", id="pyproject"),
    pytest.param("pyproject_async", "asyncpg", id="pyproject_async"),
]


@pytest.mark.parametrize(("template", "driver"), CASES)
def test_fix_then_upgrade(
    postgres: Server, tmp_path: Path, template: str, driver: str
) -> None:
    database = postgres.create_database(f"e2e_{template}")
    project = _project(tmp_path, template, [postgres.url(database, driver)])

    _fix_and_check(postgres, project, ["DB_URL"])
    _upgrade(postgres, project, "DB_URL")
    assert "guarded" in postgres.tables(database)


def test_fix_then_upgrade_multidb(postgres: Server, tmp_path: Path) -> None:
    one = postgres.create_database("e2e_multidb_one")
    two = postgres.create_database("e2e_multidb_two")
    project = _project(
        tmp_path, "multidb", [postgres.url(one), postgres.url(two, "psycopg")]
    )

    _fix_and_check(postgres, project, ["DB_URL_ENGINE1", "DB_URL_ENGINE2"])
    _upgrade(postgres, project, "DB_URL_ENGINE1")
    assert "guardedengine1" in postgres.tables(one)
    assert "guardedengine2" in postgres.tables(two)


def _fix_and_check(server: Server, project: Path, names: list[str]) -> None:
    fixer = (sys.executable, "-m", "alembic_guard", "fix", "alembic.ini")
    done = _run(project, *fixer)
    assert done.returncode == 1, done.stderr
    _assert_secret_free(server, done.stdout, done.stderr)
    assert "Fixing alembic.ini" in done.stderr

    ini = (project / "alembic.ini").read_text()
    _assert_secret_free(server, ini)
    for name in names:
        assert f"sqlalchemy.url = %({name})s" in ini
    env_file = project / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert sorted(re.findall(r"^(\w+)=", env_file.read_text(), re.M)) == (
        names
    )

    again = _run(project, *fixer)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    scan = _run(project, sys.executable, "-m", "alembic_guard", "scan", ".")
    assert scan.returncode == 0, scan.stdout


def _upgrade(server: Server, project: Path, first_name: str) -> None:
    missing = _run(project, *_alembic("upgrade", "head"))
    assert missing.returncode != 0
    assert (
        f"set the environment variable {first_name} to the database URL"
    ) in missing.stderr
    _assert_secret_free(server, missing.stdout, missing.stderr)

    done = _run(project, *_alembic("upgrade", "head"), dotenv=True)
    assert done.returncode == 0, done.stderr
    _assert_secret_free(server, done.stdout, done.stderr)
    current = _run(project, *_alembic("current"), dotenv=True)
    assert current.returncode == 0, current.stderr
    assert "0001 (head)" in current.stdout
    _assert_secret_free(server, current.stdout, current.stderr)
