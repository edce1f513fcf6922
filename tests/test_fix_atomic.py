"""A failure at any step of ``fix`` leaves every file as it was.

The failures are injected into our own write path (``os.replace``,
``os.fsync``, ``os.link`` as alembic_guard.atomic calls them).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from alembic_guard import atomic
from alembic_guard.cli import main

SECRET = "Vb8-atomic-pw"
INI = (
    f"[alembic]\nscript_location = migrations\n"
    f"sqlalchemy.url = postgresql://app:{SECRET}@db/app\n"
)
ENV_PY = "from alembic import context\n\nconfig = context.config\n"


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = (
                path.read_bytes(),
                stat.S_IMODE(path.stat().st_mode),
            )
    return found


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "alembic.ini").write_text(INI)
    (repo / "alembic.ini").chmod(0o640)
    (repo / "migrations").mkdir()
    (repo / "migrations" / "env.py").write_text(ENV_PY)
    (repo / ".gitignore").write_text("*.pyc\n")
    return repo


def failing(real: Any, fail_at: int) -> Any:
    calls = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == fail_at:
            raise OSError(28, "No space left on device", str(args[-1]))
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    ("name", "fail_at"),
    [
        pytest.param("replace", 1, id="first-rename"),
        pytest.param("replace", 2, id="second-rename"),
        pytest.param("replace", 4, id="last-rename"),
        pytest.param("fsync", 3, id="fsync-third-temp"),
        pytest.param("link", 2, id="backup-link"),
    ],
)
def test_failure_leaves_all_files(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    fail_at: int,
) -> None:
    before = snapshot(project)
    monkeypatch.setattr(atomic.os, name, failing(getattr(os, name), fail_at))
    status = main(["fix", "alembic.ini"])
    out, err = capsys.readouterr()
    assert status == 2
    assert "No space left on device; no file was changed" in err
    assert SECRET not in out + err
    assert snapshot(project) == before

    monkeypatch.undo()
    assert main(["fix", "alembic.ini"]) == 1
    assert SECRET not in "".join(capsys.readouterr())
    after = snapshot(project)
    assert set(after) == set(before) | {".env"}
    assert after["alembic.ini"][1] == 0o640
    assert after[".env"][1] == 0o600


def test_all_four_files_change_together(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(project)
    assert main(["fix", "alembic.ini"]) == 1
    err = capsys.readouterr().err
    after = snapshot(project)
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert changed == [
        ".env",
        ".gitignore",
        "alembic.ini",
        "migrations/env.py",
    ]
    for path in changed:
        assert f"Fixing {path}" in err


def test_write_all_new_file_removed_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old"
    old.write_bytes(b"old")
    monkeypatch.setattr(atomic.os, "replace", failing(os.replace, 2))
    changes = [
        atomic.Change(str(tmp_path / "new"), b"new", 0o600),
        atomic.Change(str(old), b"changed", 0o644),
    ]
    with pytest.raises(atomic.AtomicError, match="no file was changed"):
        atomic.write_all(changes)
    assert sorted(os.listdir(tmp_path)) == ["old"]
    assert old.read_bytes() == b"old"


def test_write_all_says_what_it_could_not_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"1")
    second.write_bytes(b"2")
    real = os.replace
    calls: list[str] = []

    def replace(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) >= 2:
            raise OSError(5, "Input/output error", target)
        real(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(atomic.AtomicError) as error:
        atomic.write_all(
            [
                atomic.Change(str(first), b"x", 0o644),
                atomic.Change(str(second), b"y", 0o644),
            ]
        )
    message = str(error.value)
    assert f"could not restore {first} (its old content is in " in message
    backup = message.rsplit(" ", 1)[1].rstrip(")")
    assert Path(backup).read_bytes() == b"1"
    assert second.read_bytes() == b"2"
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["first", "second", Path(backup).name]
    )
