"""The ``alembic-guard-fix`` hook under the real pre-commit framework:
the first run fixes the files and fails, the second passes.

The hook repository is a git copy of this source tree, installed by
pre-commit as a user's ``repo:``/``rev:`` would be.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import as_user, commit, git

SECRET = "Pc9-fixer-pw"
ENV_PY = "from alembic import context\n\nconfig = context.config\n"


def pre_commit(repo: Path, home: Path, *args: str) -> tuple[int, str]:
    return as_user(repo, sys.executable, "-m", "pre_commit", *args, home=home)


def test_fixer_hook_fails_then_passes(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    home = pre_commit_home
    path, rev = hook_repo
    config = (
        f"repos:\n  - repo: {path}\n    rev: {rev}\n"
        "    hooks:\n      - id: alembic-guard-fix\n"
    )
    commit(
        repo,
        {".pre-commit-config.yaml": config, "migrations/env.py": ENV_PY},
        "setup",
    )
    leaky = (
        "[alembic]\nscript_location = migrations\n"
        f"sqlalchemy.url = postgresql://app:{SECRET}@db/app\n"
    )
    (repo / "alembic.ini").write_text(leaky)
    git(repo, "add", "alembic.ini")

    status, out = pre_commit(repo, home, "run", "--files", "alembic.ini")
    assert status == 1, out
    assert "Failed" in out
    assert "Fixing alembic.ini" in out
    assert "Fixing migrations/env.py" in out
    assert SECRET not in out
    text = (repo / "alembic.ini").read_text()
    assert text == leaky.replace(
        f"postgresql://app:{SECRET}@db/app", "%(DB_URL)s"
    )
    assert SECRET in (repo / ".env").read_text()

    git(repo, "add", "alembic.ini", "migrations/env.py", ".gitignore")
    status, out = pre_commit(repo, home, "run", "--files", "alembic.ini")
    assert status == 0, out
    assert "Passed" in out
    git(repo, "commit", "-q", "-m", "db")
    assert SECRET not in git(repo, "log", "-p", "--all")
    assert ".env" not in git(repo, "ls-files")
