"""A real PostgreSQL server for the end-to-end tests, one per session.

Loaded with ``pytest_plugins = ["pg"]`` (and not imported directly, so
that pytest rewrites its asserts). The server listens on
127.0.0.1 and a free port only, with scram-sha-256 on TCP so that the
password matters, and trust on its private Unix socket for setting up
databases. initdb refuses to run as root, so as root the server runs as
the ``postgres`` system user from a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import quote

import pytest

# Every character the issue names: % @ : / # and a space.
PASSWORD = "pa%ss @wo:rd/x#y z"
USER = "guard_app"


class Server(NamedTuple):
    port: int
    socket_dir: str
    bin_dir: str
    as_user: list[str]

    def url(self, database: str, driver: str = "psycopg2") -> str:
        """The URL as Alembic must see it (before configparser)."""
        return (
            f"postgresql+{driver}://{USER}:{quote(PASSWORD, safe='')}"
            f"@127.0.0.1:{self.port}/{database}"
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        proc = subprocess.run(
            _wrap(
                self.as_user,
                [
                    os.path.join(self.bin_dir, "psql"),
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    self.socket_dir,
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-d",
                    database,
                    "-c",
                    sql,
                ],
            ),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(proc.stderr.decode(errors="replace"))
        return proc.stdout.decode().strip()

    @property
    def password(self) -> str:
        return PASSWORD

    def tables(self, database: str) -> set[str]:
        """The tables in ``database``, read over TCP with the password."""
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=PASSWORD,
            dbname=database,
        )
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = 'public'"
                )
                return {row[0] for row in cur.fetchall()}
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}" OWNER {USER}')
        return name


def bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> list[str]:
    """The prefix that runs a command as the ``postgres`` user when we
    are root (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", "postgres", "--"]
    # su takes one shell command: the rest of the list is joined by
    # _wrap below.
    return ["su", "-s", "/bin/sh", "postgres", "-c"]


def _wrap(prefix: list[str], command: list[str]) -> list[str]:
    if prefix[:1] == ["su"]:
        return [*prefix, shlex.join(command)]
    return [*prefix, *command]


def _run(command: list[str]) -> None:
    proc = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{command[-1]}: {proc.stdout.decode(errors='replace')}"
        )


def _prepare(root: str, as_user: list[str]) -> None:
    if as_user:
        import pwd

        account = pwd.getpwnam("postgres")
        for path in (root, os.path.join(root, "sock")):
            os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(os.path.join(root, "sock"), 0o755)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    binaries = bin_dir()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    as_user = _as_user()
    # Not under pytest's tmp folder: that one is private to the test
    # user, and the server may run as another.
    root = tempfile.mkdtemp(prefix="alembic-guard-pg-")
    os.chmod(root, 0o755)
    os.mkdir(os.path.join(root, "sock"))
    _prepare(root, as_user)
    data = os.path.join(root, "data")
    server = Server(
        _free_port(), os.path.join(root, "sock"), binaries, as_user
    )
    _run(
        _wrap(
            as_user,
            [
                os.path.join(binaries, "initdb"),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} "
        f"-c unix_socket_directories={server.socket_dir} -c fsync=off"
    )
    _run(
        _wrap(
            as_user,
            [
                os.path.join(binaries, "pg_ctl"),
                "-D",
                data,
                "-w",
                "-l",
                os.path.join(root, "log"),
                "-o",
                options,
                "start",
            ],
        )
    )
    try:
        literal = PASSWORD.replace("'", "''")
        server.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{literal}'")
        yield server
    finally:
        _run(
            _wrap(
                as_user,
                [
                    os.path.join(binaries, "pg_ctl"),
                    "-D",
                    data,
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
            )
        )
        shutil.rmtree(root, ignore_errors=True)
