"""What the commit hook imports: nothing it does not need.

Every commit pays for the hook's imports. Each case runs a real scan in
a fresh ``python -S`` (no site hooks: a machine's ``.pth`` files would
load modules such as ``shutil`` before any of our code runs, and hide
them) and lists the modules that the scan added.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit, git, init_repo

from alembic_guard import cli

# Never on the scan path: history tooling, database stacks, optional
# engines, what only the audit, the fixer or a server would use, and
# standard modules that cost milliseconds for nothing a scan needs.
HEAVY_NAMES = """
    git gitdb smmap sqlalchemy alembic psycopg psycopg2 asyncpg regex
    jsonschema hypothesis configparser logging asyncio email http
    urllib.request ssl socket multiprocessing concurrent sqlite3
    shutil tempfile importlib zipfile tarfile inspect
    alembic_guard.audit alembic_guard.fix alembic_guard.install
"""
HEAVY = frozenset(HEAVY_NAMES.split())
# json only for --format json, hashlib only to fingerprint a finding,
# subprocess (our git runner) only for --staged.
LAZY = frozenset(("json", "hashlib", "subprocess", "alembic_guard.git"))
ROOT = Path(__file__).resolve().parents[1]

CHILD = """\
import sys
before = set(sys.modules)
from alembic_guard.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(set(sys.modules) - before)))
sys.exit(code)
"""

CLEAN = """\
[alembic]
script_location = %(here)s/alembic
sqlalchemy.url = postgresql://app@db.internal.example/app
"""
PASSWORD = "imports-test-not-real-9Vx"
FOUND = CLEAN.replace("app@", f"app:{PASSWORD}@")


def loaded(tmp_path: Path, cwd: Path, *args: str, expected: int) -> set[str]:
    listing = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", CHILD, str(listing), *args],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert PASSWORD not in proc.stdout + proc.stderr
    assert proc.returncode == expected, proc.stderr
    return set(listing.read_text().split())


def top_names(modules: set[str]) -> set[str]:
    """Each module and every package above it."""
    names = set()
    for module in modules:
        parts = module.split(".")
        names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


@pytest.mark.parametrize(
    ("content", "args", "expected", "allowed"),
    [
        pytest.param(CLEAN, (), 0, set(), id="clean-text"),
        pytest.param(FOUND, (), 1, {"hashlib"}, id="finding-text"),
        pytest.param(
            CLEAN, ("--format", "json"), 0, {"json"}, id="clean-json"
        ),
    ],
)
def test_scan_imports(
    tmp_path: Path,
    content: str,
    args: tuple[str, ...],
    expected: int,
    allowed: set[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "alembic.ini").write_text(content)
    modules = loaded(
        tmp_path, work, "scan", *args, "alembic.ini", expected=expected
    )
    assert "alembic_guard.scan" in modules
    unwanted = top_names(modules) & (HEAVY | (LAZY - allowed))
    assert not unwanted


def test_staged_scan_runs_git_without_gitpython(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "repo")
    commit(work, {"README.md": "demo\n"}, "start")
    (work / "alembic.ini").write_text(CLEAN)
    git(work, "add", "alembic.ini")
    modules = loaded(tmp_path, work, "scan", "--staged", expected=0)
    assert "alembic_guard.git" in modules
    assert not top_names(modules) & (HEAVY | {"json", "hashlib"})


# The start-up shortcuts in cli.py must not change what users see.


@pytest.mark.parametrize(
    "columns",
    [
        pytest.param("50", id="set"),
        pytest.param(None, id="unset"),
        pytest.param("wide", id="not-a-number"),
        pytest.param("0", id="zero"),
    ],
)
def test_terminal_width_as_shutil_finds_it(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli._columns() == shutil.get_terminal_size().columns


def test_terminal_width_without_stdout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "__stdout__", None)
    assert cli._columns() == shutil.get_terminal_size().columns == 80


def test_help_wraps_to_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert cli.main(["scan", "--help"]) == cli.CLEAN
    out = capsys.readouterr().out
    assert "--staged" in out
    # The epilog is laid out by hand; everything else is wrapped.
    wrapped = [x for x in out.splitlines() if x not in cli.EPILOG]
    assert max(len(line) for line in wrapped) <= 60


def test_top_help_lists_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A run with a command builds only that command's parser.
    assert cli.main(["--help"]) == cli.CLEAN
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert f"    {name} " in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["bogus"], id="unknown-command"),
        pytest.param([], id="no-command"),
        pytest.param(["scan", "--format", "xml"], id="bad-option"),
    ],
)
def test_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == cli.ERROR
    err = capsys.readouterr().err
    assert err.startswith("usage: alembic-guard")
    assert "Traceback" not in err


def test_an_explicit_width_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    parser = argparse.ArgumentParser(
        prog="x", formatter_class=functools.partial(cli._Formatter, width=40)
    )
    parser.add_argument("--long", help="word " * 30)
    assert max(len(line) for line in parser.format_help().splitlines()) <= 40
