"""The push guards: which commits a push brings, handed to the audit.

Anything reachable from a commit the other side already has is left
out, so one walk covers every ref of a push.
"""

from __future__ import annotations

import argparse
import os
import sys

from alembic_guard import history
from alembic_guard.cli import ERROR
from alembic_guard.git import GitError
from alembic_guard.history import Repository, is_zero
from alembic_guard.settings import BadSettings


class BadInput(Exception):
    """The hook's stdin is not what git sends; str() says why."""


def _lines(width: int) -> list[list[str]]:
    rows = []
    for number, line in enumerate(sys.stdin.read().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != width:
            raise BadInput(
                f"stdin line {number}: expected {width} "
                f"fields, got {len(parts)}"
            )
        rows.append(parts)
    return rows


def _exists(repo: Repository, oid: str) -> bool:
    out = repo.run("cat-file", "-t", oid, check=False)
    return out.strip() == b"commit"


def _remote_tips(repo: Repository) -> list[str]:
    return [
        f"^{r.commit}"
        for r in history.refs(repo)
        if r.name.startswith("refs/remotes/")
    ]


def pre_push(repo: Repository) -> list[str]:
    """git passes ``<local ref> <local sha> <remote ref> <remote sha>``;
    a deleted ref brings nothing, a new one brings what no
    remote-tracking ref has."""
    revs: list[str] = []
    fresh = False
    for _, local, _, remote in _lines(4):
        if is_zero(local):
            continue
        revs.append(local)
        if not is_zero(remote) and _exists(repo, remote):
            revs.append(f"^{remote}")
        else:
            fresh = True
    if revs and fresh:
        revs.extend(_remote_tips(repo))
    return revs


def pre_commit(repo: Repository) -> list[str]:
    """pre-commit names the range in its environment; for a branch whose
    root is new it sets only the branch name."""
    source = os.environ.get("PRE_COMMIT_FROM_REF", "")
    target = os.environ.get("PRE_COMMIT_TO_REF", "")
    if source and target and not is_zero(source):
        return [target, f"^{source}"]
    tip = target or os.environ.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    return [tip] + _remote_tips(repo)


def pre_receive(repo: Repository) -> list[str]:
    """git passes ``<old> <new> <ref>``: the new commits are those no
    existing ref reaches; they sit in the quarantine that git names in
    GIT_QUARANTINE_PATH and friends, which Repository keeps."""
    revs = [new for _, new, _ in _lines(3) if not is_zero(new)]
    if revs:
        revs.extend(f"^{r.commit}" for r in history.refs(repo))
    return revs


MODES = {
    "pre_push": pre_push,
    "pre_commit": pre_commit,
    "pre_receive": pre_receive,
}


def guard(args: argparse.Namespace) -> int:
    from alembic_guard.audit import load_settings, walk_and_report

    mode = next(name for name in MODES if getattr(args, name))
    repo = Repository(None, False)
    try:
        revs = MODES[mode](repo)
        if not revs:
            return 0
        top = history.top_level(repo)
        settings = load_settings(args, top)
        status = walk_and_report(args, repo, settings, revs, False, None, None)
    except (GitError, BadInput, BadSettings) as exc:
        sys.stderr.write(
            f"alembic-guard: {mode.replace('_', '-')}: "
            f"{exc}; refusing the push\n"
        )
        return ERROR
    if status == ERROR:
        sys.stderr.write(
            "alembic-guard: push refused: the audit could "
            "not read every blob (see above)\n"
        )
    elif status:
        sys.stderr.write(
            "alembic-guard: push refused: take the password out of the "
            "commits above (rewrite them), then push again\n"
        )
    return status
