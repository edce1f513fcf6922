"""Running git, and reading the staged versions of files."""
from __future__ import annotations

import os
import subprocess
from typing import Iterator


class GitError(Exception):
    """git failed or is missing; str() is the one-line reason."""


def environment() -> dict[str, str]:
    """This process's environment without the ``GIT_*`` variables that
    git exports into hooks; they would point a nested git at the wrong
    repository. ``GIT_DIR`` and friends are kept only when asked."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("GIT_") or k in KEEP}


# Variables that select an object store or index on purpose: a hook must
# honour them (pre-receive quarantine, a temporary index in a commit).
KEEP = frozenset(("GIT_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_WORK_TREE",
                  "GIT_QUARANTINE_PATH", "GIT_CONFIG_PARAMETERS",
                  "GIT_CONFIG_COUNT", "GIT_CEILING_DIRECTORIES"))


def run(*args: str, cwd: str | None = None, stdin: bytes | None = None,
        check: bool = True) -> bytes:
    """Run ``git args`` and return its stdout."""
    command = ("git",) + args
    try:
        proc = subprocess.run(command, cwd=cwd, input=stdin,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=environment())
    except FileNotFoundError:
        raise GitError("git: command not found") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        first = message.splitlines()[0] if message else ""
        raise GitError(f"git {' '.join(args[:2])} failed "
                       f"(exit {proc.returncode}): {first}")
    return proc.stdout


def staged(cwd: str | None = None) -> list[tuple[str, str]]:
    """``(path, blob id)`` of each file added or changed in the index."""
    out = run("diff", "--cached", "--raw", "-z", "--no-abbrev",
              "--no-renames", "--diff-filter=ACMRT", cwd=cwd)
    fields = out.split(b"\0")
    entries = []
    # Records come as ":old-mode new-mode old-id new-id status" NUL path.
    for meta, path in zip(fields[0::2], fields[1::2]):
        parts = meta.split()
        if len(parts) >= 4 and parts[1] in (b"100644", b"100755"):
            entries.append((path.decode("utf-8", "surrogateescape"),
                            parts[3].decode()))
    return entries


def cat_blobs(blobs: list[str], cwd: str | None = None,
              limit: int | None = None) -> Iterator[tuple[str, bytes | None]]:
    """Each blob's content, read through one ``git cat-file --batch``;
    None for a blob larger than ``limit``."""
    if not blobs:
        return
    request = "".join(f"{b}\n" for b in blobs).encode()
    out = run("cat-file", "--batch", cwd=cwd, stdin=request)
    pos = 0
    for blob in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) < 3:
            raise GitError(f"git cat-file: cannot read blob {blob}")
        size = int(header[2])
        data = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
        yield blob, (None if limit is not None and size > limit else data)
