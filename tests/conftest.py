"""Shared fixtures: throwaway git repositories with a fixed identity."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a copy of this project for pre-commit leaves out: caches and
# builds.
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "build",
    "dist",
    ".coverage*",
    "*.pyc",
)
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}


def git(repo: Path | str, *args: str, input: bytes | None = None) -> str:
    """Run git in ``repo`` with a fixed identity; return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["HOME"] = str(Path(repo).parent)
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout.decode("utf-8", "surrogateescape")


def init_repo(path: Path, bare: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main", *(["--bare"] if bare else []))
    git(path, "config", "user.name", "Test Author")
    git(path, "config", "user.email", "author@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """An empty work tree repository, as the working directory."""
    path = init_repo(tmp_path / "repo")
    old = os.getcwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(old)


def commit(repo: Path, files: dict[str, str | bytes], message: str) -> str:
    """Write ``files`` (None deletes), commit them, return the hash."""
    for name, content in files.items():
        target = repo / name
        if content is None:
            git(repo, "rm", "-q", "--", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        git(repo, "add", "--", name)
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding a copy of this project, and its commit:
    what a user's ``repo:``/``rev:`` points pre-commit at."""
    path = tmp_path_factory.mktemp("hook-src") / "alembic-guard"
    shutil.copytree(ROOT, path, ignore=COPY_IGNORE, symlinks=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A", ".")
    git(path, "commit", "-q", "-m", "alembic-guard under test")
    return path, git(path, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's store, shared so each hook environment is built once
    per session (it pip-installs the project copy)."""
    return tmp_path_factory.mktemp("pre-commit-home")


def as_user(
    cwd: Path, *command: str, home: Path | None = None
) -> tuple[int, str]:
    """Run ``command`` as a user would in ``cwd`` (fixed identity, no
    colour, pre-commit's store in ``home``); exit status and stdout and
    stderr together."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        IDENTITY, GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1", HOME=str(cwd.parent)
    )
    if home is not None:
        env["PRE_COMMIT_HOME"] = str(home)
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace")
