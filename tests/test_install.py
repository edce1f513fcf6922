"""``alembic-guard install`` and ``scan --staged`` under a real git commit."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from conftest import as_user, commit, git, init_repo

from alembic_guard.cli import main

PASSWORD = "Hunter2-staged"
LEAKY = f"[alembic]\nsqlalchemy.url = postgresql://app:{PASSWORD}@db/app\n"
SAFE = "[alembic]\nsqlalchemy.url = %(DB_URL)s\n"


def git_commit(repo: Path, *args: str) -> tuple[int, str]:
    """A real ``git commit`` (hooks run); exit status and all output."""
    return as_user(repo, "git", "commit", "-m", "change", *args)


def install(repo: Path, *args: str) -> int:
    return main(["install", "--repo", str(repo), *args])


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "--all").strip() or 0)


def test_index_with_password_refused_although_work_tree_clean(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"README": "x\n"}, "start")
    assert install(repo) == 0
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    (repo / "alembic.ini").write_text(SAFE)

    status, out = git_commit(repo)

    assert status != 0, out
    assert "alembic.ini:2:" in out and "app:***@db/app" in out
    assert PASSWORD not in out + capsys.readouterr().err
    assert commits(repo) == 1


def test_clean_index_accepted_although_work_tree_dirty(repo: Path) -> None:
    assert install(repo) == 0
    (repo / "alembic.ini").write_text(SAFE)
    git(repo, "add", "alembic.ini")
    (repo / "alembic.ini").write_text(LEAKY)

    status, out = git_commit(repo)

    assert status == 0, out
    assert PASSWORD not in git(repo, "show", "HEAD:alembic.ini")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("-a",), id="commit-all"),
        pytest.param(("--", "alembic.ini"), id="commit-only-path"),
    ],
)
def test_temporary_index_of_commit_is_scanned(
    repo: Path, args: tuple[str, ...]
) -> None:
    # git commit -a and git commit PATH build a temporary index and name
    # it in GIT_INDEX_FILE: the hook must read that one.
    commit(repo, {"alembic.ini": SAFE}, "start")
    assert install(repo) == 0
    (repo / "alembic.ini").write_text(LEAKY)

    status, out = git_commit(repo, *args)

    assert status != 0, out
    assert PASSWORD not in out
    assert commits(repo) == 1


def test_first_commit_is_scanned(repo: Path) -> None:
    assert install(repo) == 0
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    status, out = git_commit(repo)
    assert status != 0, out
    assert PASSWORD not in out
    assert commits(repo) == 0


def test_hook_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install(repo) == 0
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert hook.stat().st_mode & stat.S_IXUSR
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "-m alembic_guard scan --staged" in text
    assert (
        f"installed {os.path.join(str(repo), '.git', 'hooks')}"
        in capsys.readouterr().err
    )


def test_reinstall_is_idempotent(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    assert install(repo) == 0
    first = (hooks / "pre-commit").read_bytes()
    assert install(repo) == 0
    assert (hooks / "pre-commit").read_bytes() == first
    assert not list(hooks.glob("pre-commit.orig*"))
    assert not list(hooks.glob("pre-commit.tmp"))


def test_foreign_hook_left_alone(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")

    assert install(repo) == 2

    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exists and is not ours" in err and "--force" in err


def test_force_keeps_foreign_hooks(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\necho first\n")
    assert install(repo, "--force") == 0
    (hooks / "pre-commit").write_text("#!/bin/sh\necho second\n")
    assert install(repo, "--force") == 0

    assert (hooks / "pre-commit.orig").read_text().endswith("first\n")
    assert (hooks / "pre-commit.orig.1").read_text().endswith("second\n")
    assert "scan --staged" in (hooks / "pre-commit").read_text()


def test_core_hooks_path_honoured(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", "githooks")
    assert install(repo) == 0
    assert (repo / "githooks" / "pre-commit").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    status, out = git_commit(repo)
    assert status != 0, out
    assert PASSWORD not in out


def test_install_from_subfolder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert main(["install"]) == 0
    assert (repo / ".git" / "hooks" / "pre-commit").exists()


def test_pre_receive_in_bare_repository(tmp_path: Path) -> None:
    bare = init_repo(tmp_path / "server.git", bare=True)
    assert install(bare, "--hook", "pre-receive") == 0
    assert (
        "audit --pre-receive" in (bare / "hooks" / "pre-receive").read_text()
    )


def test_install_outside_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a git repository" in err


def test_unwritable_hooks_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file where the hooks folder should be: one line, exit 2.
    git(repo, "config", "core.hooksPath", "blocked")
    (repo / "blocked").write_text("")
    assert install(repo) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "blocked" in err
    assert "Traceback" not in err


def test_scan_staged_outside_repository(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["scan", "--staged"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "--staged" in err and "not inside a git work tree" in err


def test_scan_staged_from_subfolder(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (repo / "app").mkdir()
    (repo / "app" / "alembic.ini").write_text(LEAKY)
    (repo / "other.ini").write_text(LEAKY.replace("app:", "other:"))
    git(repo, "add", ".")
    monkeypatch.chdir(repo / "app")

    assert main(["scan", "--staged", "alembic.ini"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("alembic.ini:2:")
    assert "other" not in out

    assert main(["scan", "--staged"]) == 1
    out = capsys.readouterr().out
    assert f"..{os.sep}other.ini:2:" in out and "alembic.ini:2:" in out
    assert PASSWORD not in out


@pytest.mark.parametrize(
    "paths, expected",
    [
        pytest.param([], {"alembic.ini", "deploy/prod.ini"}, id="candidates"),
        pytest.param(["deploy"], {"deploy/prod.ini"}, id="folder"),
        pytest.param(["notes.txt"], {"notes.txt"}, id="explicit-any-name"),
        pytest.param(["missing.ini"], set(), id="not-staged"),
    ],
)
def test_scan_staged_path_selection(
    repo: Path,
    paths: list[str],
    expected: set[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("alembic.ini", "deploy/prod.ini", "notes.txt"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(LEAKY)
    git(repo, "add", ".")
    main(["scan", "--staged", "--format", "json", *paths])
    out = capsys.readouterr().out
    assert PASSWORD not in out
    found = {f["path"] for f in json.loads(out)["findings"]}
    assert found == {p.replace("/", os.sep) for p in expected}


def test_staged_blob_over_limit(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    assert main(["scan", "--staged", "--max-bytes", "10"]) == 2
    out, err = capsys.readouterr()
    assert "alembic.ini: staged version is over the 10 byte limit" in err
    assert PASSWORD not in out + err


def test_staged_settings_exclude(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "setup.cfg").write_text("[alembic-guard]\nexclude = fixtures\n")
    (repo / "fixtures").mkdir()
    (repo / "fixtures" / "alembic.ini").write_text(LEAKY)
    git(repo, "add", ".")
    assert main(["scan", "--staged"]) == 0
    assert capsys.readouterr().out == ""


def test_same_blob_under_two_names(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.ini", "b.ini"):
        (repo / name).write_text(LEAKY)
    git(repo, "add", ".")
    assert main(["scan", "--staged"]) == 1
    out = capsys.readouterr().out
    assert PASSWORD not in out
    assert out.count("\n") == 2 and "a.ini:2:" in out and "b.ini:2:" in out


def test_git_missing(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    empty = repo.parent / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["scan", "--staged"]) == 2
    assert "git: command not found" in capsys.readouterr().err


def test_install_into_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(tmp_path / "nowhere") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err
    assert "No such file or directory" in err


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.symlink_to(p.parent / "gone"), id="dangling"),
        pytest.param(lambda p: p.mkdir(), id="folder"),
    ],
)
def test_odd_existing_hook(repo: Path, make: object) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    make(hook)  # type: ignore[operator]
    assert install(repo) == 2
    assert install(repo, "--force") == 0
    assert "scan --staged" in hook.read_text()
    assert os.path.lexists(str(hook) + ".orig")


def test_symlinks_in_index_are_not_followed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The blob of a symbolic link is its target's name, not a config.
    outside = repo.parent / "outside.ini"
    outside.write_text(LEAKY)
    (repo / "link.ini").symlink_to(outside)
    git(repo, "add", "link.ini")
    assert main(["scan", "--staged"]) == 0
    assert main(["scan", "--staged", "."]) == 0
    assert capsys.readouterr().out == ""


def test_unknown_blob(repo: Path) -> None:
    from alembic_guard import git as guard_git

    with pytest.raises(guard_git.GitError, match="cannot read blob"):
        list(guard_git.cat_blobs(["0" * 40]))


def test_broken_index_is_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A guard that cannot read the index must not pass the commit.
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "add", "alembic.ini")
    (repo / ".git" / "index").write_bytes(b"DIRC garbage")
    assert main(["scan", "--staged"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alembic-guard: git diff --cached failed")
    assert err.count("\n") == 1
