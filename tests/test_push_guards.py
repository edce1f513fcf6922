"""The push guards under real ``git push`` to bare repositories on disk:
the native pre-push hook, pre-commit's pre-push stage and the server's
pre-receive hook."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import as_user, commit, git, init_repo

from alembic_guard.cli import main

PASSWORD = "Pu5h-guard-pw"
LEAKY = f"[alembic]\nsqlalchemy.url = postgresql://app:{PASSWORD}@db/app\n"
SAFE = "[alembic]\nsqlalchemy.url = %(DB_URL)s\n"
MASKED = "postgresql://app:***@db/app"


def shell(
    cwd: Path, *command: str, home: Path | None = None
) -> tuple[int, str]:
    """Run a command as a user would; status and stdout+stderr."""
    status, out = as_user(cwd, *command, home=home)
    assert PASSWORD not in out
    return status, out


def push(work: Path, *args: str, home: Path | None = None) -> tuple[int, str]:
    return shell(work, "git", "push", "-q", *args, home=home)


def remote_has(server: Path, ref: str) -> str:
    out = git(server, "for-each-ref", "--format=%(objectname)", ref)
    return out.strip()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree whose origin is a bare repository on local disk."""
    server = init_repo(tmp_path / "server.git", bare=True)
    work = init_repo(tmp_path / "work")
    git(work, "remote", "add", "origin", str(server))
    commit(work, {"alembic.ini": SAFE}, "start")
    git(work, "push", "-q", "-u", "origin", "main")
    return work, server


def test_native_pre_push(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work, server = pair
    assert main(["install", "--repo", str(work), "--hook", "pre-push"]) == 0
    capsys.readouterr()
    clean = commit(work, {"README": "x\n"}, "clean")
    assert push(work, "origin", "main")[0] == 0
    assert remote_has(server, "refs/heads/main") == clean

    leak = commit(work, {"alembic.ini": LEAKY}, "leak")
    commit(work, {"README": "y\n"}, "bury it")
    status, out = push(work, "origin", "main")
    assert status != 0, out
    assert MASKED in out and leak[:12] in out
    assert "push refused" in out
    assert remote_has(server, "refs/heads/main") == clean

    git(work, "checkout", "-q", "-b", "topic")
    status, out = push(work, "origin", "topic")
    assert status != 0 and MASKED in out
    assert remote_has(server, "refs/heads/topic") == ""

    git(work, "reset", "-q", "--hard", clean)
    fixed = commit(work, {"notes.txt": "n\n"}, "clean again")
    assert push(work, "origin", "topic")[0] == 0
    assert push(work, "origin", "--delete", "topic")[0] == 0
    git(work, "checkout", "-q", "main")
    git(work, "reset", "-q", "--hard", fixed)
    assert push(work, "origin", "main")[0] == 0


def test_pre_push_bad_stdin(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("one two\n"))
    assert main(["audit", "--pre-push", "origin", "url"]) == 2
    assert "expected 4 fields" in capsys.readouterr().err


def test_pre_receive(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work, server = pair
    assert (
        main(["install", "--repo", str(server), "--hook", "pre-receive"]) == 0
    )
    capsys.readouterr()
    base = remote_has(server, "refs/heads/main")
    clean = commit(work, {"README": "x\n"}, "clean")
    assert push(work, "origin", "main")[0] == 0

    leak = commit(work, {"conf/alembic.ini": LEAKY}, "leak")
    status, out = push(work, "origin", "main")
    assert status != 0, out
    assert "remote: " in out and MASKED in out and leak[:12] in out
    assert remote_has(server, "refs/heads/main") == clean

    status, out = push(work, "origin", "HEAD:refs/heads/newbranch")
    assert status != 0 and MASKED in out
    assert remote_has(server, "refs/heads/newbranch") == ""

    git(work, "reset", "-q", "--hard", base)
    commit(work, {"alembic.ini": LEAKY}, "rewritten with a leak")
    status, out = push(work, "--force", "origin", "main")
    assert status != 0 and MASKED in out
    assert remote_has(server, "refs/heads/main") == clean

    git(work, "reset", "-q", "--hard", base)
    rewritten = commit(work, {"README": "z\n"}, "rewritten clean")
    assert push(work, "--force", "origin", "main")[0] == 0
    assert remote_has(server, "refs/heads/main") == rewritten

    assert push(work, "origin", f"{base}:refs/heads/old")[0] == 0
    assert push(work, "origin", "--delete", "old")[0] == 0
    assert remote_has(server, "refs/heads/old") == ""


def test_pre_commit_framework_pre_push(
    pair: tuple[Path, Path], hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    work, server = pair
    home = pre_commit_home
    # Both hooks, as the README sets them up: the commit hook must not
    # judge the work tree at push time.
    config = (
        f"repos:\n  - repo: {hook_repo[0]}\n"
        f"    rev: {hook_repo[1]}\n"
        "    hooks:\n      - id: alembic-guard\n"
        "      - id: alembic-guard-push\n"
    )
    clean = commit(work, {".pre-commit-config.yaml": config}, "hooks")
    status, out = shell(
        work,
        sys.executable,
        "-m",
        "pre_commit",
        "install",
        "--hook-type",
        "pre-push",
        home=home,
    )
    assert status == 0, out
    assert push(work, "origin", "main", home=home)[0] == 0

    leak = commit(work, {"alembic.ini": LEAKY}, "no-verify leak")
    status, out = push(work, "origin", "main", home=home)
    assert status != 0, out
    assert MASKED in out and leak[:12] in out
    assert remote_has(server, "refs/heads/main") == clean

    git(work, "checkout", "-q", "-b", "fresh")
    status, out = push(work, "origin", "fresh", home=home)
    assert status != 0 and MASKED in out

    git(work, "reset", "-q", "--hard", clean)
    commit(work, {"README": "ok\n"}, "clean work")
    (work / "alembic.ini").write_text(LEAKY)
    git(work, "add", "alembic.ini")
    # Staged but not committed: not part of the push.
    assert push(work, "origin", "fresh", home=home)[0] == 0


def test_pre_commit_mode_without_environment(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "PRE_COMMIT_FROM_REF",
        "PRE_COMMIT_TO_REF",
        "PRE_COMMIT_LOCAL_BRANCH",
    ):
        monkeypatch.delenv(name, raising=False)
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    commit(repo, {"README": "x\n"}, "later")
    assert main(["audit", "--pre-commit"]) == 0
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "0" * 40)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", "HEAD")
    git(repo, "update-ref", "-d", "refs/remotes/origin/main")
    assert main(["audit", "--pre-commit"]) == 1
    assert PASSWORD not in "".join(capsys.readouterr())


def hook_input(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


ZERO = "0" * 40


def test_pre_push_in_process(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = commit(repo, {"README": "x\n"}, "start")
    git(repo, "update-ref", "refs/remotes/origin/main", base)
    leak = commit(repo, {"alembic.ini": LEAKY}, "leak")
    line = f"refs/heads/main {leak} refs/heads/main {base}\n"

    hook_input(monkeypatch, line)
    assert main(["audit", "--pre-push", "origin", "url"]) == 1
    out, err = capsys.readouterr()
    assert MASKED in out and leak[:12] in out
    assert "in ref tips" not in out and "push refused" in err
    assert PASSWORD not in out + err

    hook_input(monkeypatch, f"refs/heads/new {leak} refs/heads/new {ZERO}\n")
    assert main(["audit", "--pre-push", "origin", "url"]) == 1
    hook_input(monkeypatch, f"(delete) {ZERO} refs/heads/old {leak}\n")
    assert main(["audit", "--pre-push", "origin", "url"]) == 0
    hook_input(
        monkeypatch, f"refs/heads/main {base} refs/heads/main {'1' * 40}\n"
    )
    assert main(["audit", "--pre-push", "origin", "url"]) == 0
    capsys.readouterr()


def test_pre_push_blob_over_limit_refuses(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tip = commit(
        repo,
        {
            "alembic.ini": SAFE,
            "setup.cfg": "[alembic-guard]\nmax-bytes = 10\n",
        },
        "big",
    )
    hook_input(monkeypatch, f"refs/heads/main {tip} refs/heads/main {ZERO}\n")
    assert main(["audit", "--pre-push", "origin", "url"]) == 2
    err = capsys.readouterr().err
    assert "over the 10 byte limit" in err
    assert "could not read every blob" in err


def test_pre_receive_in_process(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = commit(repo, {"README": "x\n"}, "start")
    leak = commit(repo, {"alembic.ini": LEAKY}, "leak")
    git(repo, "update-ref", "refs/heads/main", base)
    hook_input(
        monkeypatch,
        f"{base} {leak} refs/heads/main\n{base} {ZERO} refs/heads/gone\n",
    )
    assert main(["audit", "--pre-receive"]) == 1
    out, err = capsys.readouterr()
    assert MASKED in out and PASSWORD not in out + err
    hook_input(monkeypatch, f"{base} {ZERO} refs/heads/main\n\n")
    assert main(["audit", "--pre-receive"]) == 0
    hook_input(monkeypatch, f"{base} {leak}\n")
    assert main(["audit", "--pre-receive"]) == 2
    assert "expected 3 fields" in capsys.readouterr().err


def test_pre_commit_mode_range(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = commit(repo, {"README": "x\n"}, "start")
    leak = commit(repo, {"alembic.ini": LEAKY}, "leak")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", leak)
    assert main(["audit", "--pre-commit"]) == 1
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", leak)
    assert main(["audit", "--pre-commit"]) == 0
    assert PASSWORD not in "".join(capsys.readouterr())
