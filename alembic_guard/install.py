"""``alembic-guard install``: native git hooks, no framework needed."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from alembic_guard.cli import CLEAN, ERROR

MARKER = "# installed by alembic-guard"
# What each hook runs; git passes a pre-push hook the remote's name and
# URL as arguments and the refs on stdin, and a pre-receive hook the
# refs on stdin.
HOOKS = {
    "pre-commit": "scan --staged",
    "pre-push": "audit --pre-push",
    "pre-receive": "audit --pre-receive",
}


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hook",
        choices=sorted(HOOKS),
        default="pre-commit",
        help="which hook to install (default: pre-commit)",
    )
    parser.add_argument(
        "--repo",
        default=".",
        metavar="DIR",
        help="the repository (default: the current folder; a bare "
        "one for pre-receive)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a hook that alembic-guard did not "
        "write (it is kept as HOOK.orig, or HOOK.orig.N)",
    )


def script(hook: str) -> str:
    python = shlex.quote(sys.executable)
    command = HOOKS[hook]
    return (
        "#!/bin/sh\n"
        f"{MARKER}: refuses database passwords ({hook})\n"
        f"if [ -x {python} ]; then\n"
        f'    exec {python} -m alembic_guard {command} "$@"\n'
        "fi\n"
        f'exec alembic-guard {command} "$@"\n'
    )


def run(args: argparse.Namespace) -> int:
    from alembic_guard import git

    try:
        hooks = (
            git.run("rev-parse", "--git-path", "hooks", cwd=args.repo)
            .decode()
            .strip()
        )
    except git.GitError as exc:
        sys.stderr.write(
            f"alembic-guard: {args.repo}: not a git repository ({exc})\n"
        )
        return ERROR
    # --git-path answers relative to --repo, and honours core.hooksPath.
    path = os.path.join(args.repo, hooks, args.hook)
    try:
        return _install(path, args.hook, args.force)
    except OSError as exc:
        sys.stderr.write(
            f"alembic-guard: {exc.filename or path}: {exc.strerror or exc}\n"
        )
        return ERROR


def _install(path: str, hook: str, force: bool) -> int:
    if os.path.lexists(path):
        if not _ours(path) and not force:
            sys.stderr.write(
                f"alembic-guard: {path} exists and is not ours; add "
                f"'alembic-guard {HOOKS[hook]}' to it, or rerun "
                "with --force to replace it (it is kept)\n"
            )
            return ERROR
        if not _ours(path):
            kept = _free_name(path + ".orig")
            os.replace(path, kept)
            sys.stderr.write(f"alembic-guard: kept the old hook as {kept}\n")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(script(hook))
    os.chmod(temporary, 0o755)
    os.replace(temporary, path)
    sys.stderr.write(f"alembic-guard: installed {path}\n")
    return CLEAN


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return MARKER in handle.read(4096)
    except OSError:
        # A dangling link or a folder: not something we wrote.
        return False


def _free_name(path: str) -> str:
    """``path``, or ``path.N`` for the first N not taken: never overwrite
    a hook kept by an earlier --force."""
    candidate, number = path, 0
    while os.path.lexists(candidate):
        number += 1
        candidate = f"{path}.{number}"
    return candidate
