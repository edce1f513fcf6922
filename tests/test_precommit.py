"""The user's loop with the real pre-commit framework and git commit.

The hook repository is a git copy of this source tree, installed by
pre-commit the way a user's ``repo:``/``rev:`` would install it. The
hook environment is built once per session (it pip-installs the copy).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, as_user, commit, git

from alembic_guard import files

PASSWORD = "Tr0ub4dor-pc7"
LEAKY = (
    "[alembic]\n"
    "script_location = migrations\n"
    f"sqlalchemy.url = postgresql://app:{PASSWORD}@db.example/app\n"
)
SAFE = "[alembic]\nscript_location = migrations\nsqlalchemy.url = %(DB_URL)s\n"


def run(cwd: Path, home: Path, *command: str) -> tuple[int, str]:
    """Run ``command`` as a user would, with pre-commit's store in
    ``home``; return the exit status and stdout+stderr together."""
    return as_user(cwd, *command, home=home)


def config(source: tuple[Path, str]) -> str:
    path, rev = source
    return (
        f"repos:\n"
        f"  - repo: {path}\n"
        f"    rev: {rev}\n"
        f"    hooks:\n"
        f"      - id: alembic-guard\n"
    )


def pre_commit(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "pre_commit", *args)


def test_commit_refused_then_accepted(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    commit(repo, {".pre-commit-config.yaml": config(hook_repo)}, "hooks")
    status, out = run(repo, pre_commit_home, *pre_commit("install"))
    assert status == 0, out

    (repo / "alembic.ini").write_text(LEAKY, encoding="utf-8")
    git(repo, "add", "alembic.ini")
    status, out = run(repo, pre_commit_home, "git", "commit", "-m", "db")
    column = LEAKY.splitlines()[2].index(PASSWORD) + 1
    assert status != 0, out
    assert f"alembic.ini:3:{column}: [alembic] sqlalchemy.url" in out
    assert "postgresql://app:***@db.example/app" in out
    assert PASSWORD not in out
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"

    (repo / "alembic.ini").write_text(SAFE, encoding="utf-8")
    git(repo, "add", "alembic.ini")
    status, out = run(repo, pre_commit_home, "git", "commit", "-m", "db")
    assert status == 0, out
    assert PASSWORD not in git(repo, "log", "-p", "--all")


def test_run_on_placeholder_file_passes(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    commit(
        repo,
        {".pre-commit-config.yaml": config(hook_repo), "alembic.ini": SAFE},
        "safe",
    )
    status, out = run(
        repo, pre_commit_home, *pre_commit("run", "--files", "alembic.ini")
    )
    assert status == 0, out
    assert "Passed" in out


def test_try_repo_finds_leak(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    (repo / "alembic.ini").write_text(LEAKY, encoding="utf-8")
    git(repo, "add", "alembic.ini")
    status, out = run(
        repo,
        pre_commit_home,
        *pre_commit(
            "try-repo",
            str(hook_repo[0]),
            "alembic-guard",
            "--ref",
            hook_repo[1],
            "--files",
            "alembic.ini",
        ),
    )
    assert status == 1, out
    assert "alembic.ini:3:" in out
    assert PASSWORD not in out


NAMES = [
    "alembic.ini",
    "deploy/prod.ini",
    "app.ini.tpl",
    "setup.cfg",
    "migrations/env.py",
    "pyproject.toml",
    "README.md",
    "ini",
    "my_env.py",
    "env.py.bak",
    "alembic.ini/notes.txt",
    "Alembic.INI",
    "SETUP.CFG",
]


@pytest.mark.parametrize("name", NAMES)
def test_hook_files_match_what_scan_reads(name: str) -> None:
    # pre-commit decides which staged files the hook sees; a folder scan
    # decides by files.is_candidate: the two must agree.
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "alembic-guard"]
    assert hook["entry"] == "alembic-guard scan"
    assert hook["language"] == "python"
    selected = re.search(hook["files"], name) is not None
    assert selected is files.is_candidate(name)
