"""Running git, and reading the staged versions of files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import NamedTuple


class GitError(Exception):
    """git failed or is missing; str() is the one-line reason."""


class Staged(NamedTuple):
    """One file added or changed in the index."""

    path: str  # relative to the top of the work tree, '/' separated
    blob: str


def environment() -> dict[str, str]:
    """This process's environment without the ``GIT_*`` variables that
    git exports into hooks; they would point a nested git at the wrong
    repository. ``GIT_DIR`` and friends are kept only when asked."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_") or k in KEEP
    }


# Variables that select an object store or index on purpose: a hook must
# honour them (pre-receive quarantine, a temporary index in a commit).
KEEP = frozenset(
    (
        "GIT_DIR",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_WORK_TREE",
        "GIT_QUARANTINE_PATH",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_CEILING_DIRECTORIES",
    )
)


def run(
    *args: str,
    cwd: str | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> bytes:
    """Run ``git args`` and return its stdout."""
    command = ("git",) + args
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=environment(),
        )
    except OSError as exc:
        # The same FileNotFoundError names a missing git or a missing cwd.
        if exc.filename == "git":
            raise GitError("git: command not found") from None
        raise GitError(
            f"{exc.filename or cwd}: {exc.strerror or exc}"
        ) from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        first = message.splitlines()[0] if message else ""
        raise GitError(
            f"git {' '.join(args[:2])} failed "
            f"(exit {proc.returncode}): {first}"
        )
    return proc.stdout


def work_tree(cwd: str | None = None) -> tuple[str, str]:
    """The top of the work tree holding ``cwd`` and where ``cwd`` is in
    it ('' at the top, else 'sub/dir/'); GitError outside one."""
    out = run(
        "rev-parse", "--show-toplevel", "--show-prefix", cwd=cwd, check=False
    )
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    if not lines or not os.path.isabs(lines[0]):
        raise GitError("not inside a git work tree")
    return lines[0], lines[1] if len(lines) > 1 else ""


def staged(cwd: str | None = None) -> list[Staged]:
    """Each regular file added or changed in the index (against HEAD,
    or against nothing before the first commit)."""
    out = run(
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--no-ext-diff",
        "--diff-filter=ACMRT",
        cwd=cwd,
    )
    fields = out.split(b"\0")
    entries = []
    # Records come as ":old-mode new-mode old-id new-id status" NUL path;
    # symbolic links (120000) and submodules (160000) hold no config.
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()
        if len(parts) >= 4 and parts[1] in (b"100644", b"100755"):
            entries.append(
                Staged(
                    path.decode("utf-8", "surrogateescape"), parts[3].decode()
                )
            )
    return entries


def cat_blobs(
    blobs: list[str], cwd: str | None = None, limit: int | None = None
) -> Iterator[tuple[str, bytes | None]]:
    """Each blob's content, read through one ``git cat-file --batch``;
    None for a blob larger than ``limit``."""
    if not blobs:
        return
    request = "".join(f"{b}\n" for b in blobs).encode()
    out = run("cat-file", "--batch", cwd=cwd, stdin=request)
    pos = 0
    for blob in blobs:
        end = out.find(b"\n", pos)
        header = out[pos:end].split() if end >= 0 else []
        if len(header) < 3 or not header[2].isdigit():
            raise GitError(f"git cat-file: cannot read blob {blob}")
        size = int(header[2])
        data = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
        yield blob, (None if limit is not None and size > limit else data)
