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
    parser.add_argument("--hook", choices=sorted(HOOKS),
                        default="pre-commit", help="which hook to install")
    parser.add_argument("--repo", default=".",
                        help="the repository (a bare one for pre-receive)")
    parser.add_argument("--force", action="store_true",
                        help="replace a hook that alembic-guard did not "
                             "write (it is kept as HOOK.orig)")


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
        hooks = git.run("rev-parse", "--git-path", "hooks",
                        cwd=args.repo).decode().strip()
    except git.GitError as exc:
        sys.stderr.write(f"alembic-guard: {args.repo}: not a git "
                         f"repository ({exc})\n")
        return ERROR
    hooks = os.path.join(args.repo, hooks)
    path = os.path.join(hooks, args.hook)
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            ours = MARKER in handle.read()
        if not ours and not args.force:
            sys.stderr.write(
                f"alembic-guard: {path} exists and is not ours; add "
                f"'alembic-guard {HOOKS[args.hook]}' to it, or rerun "
                "with --force to replace it\n")
            return ERROR
        if not ours:
            os.replace(path, path + ".orig")
    os.makedirs(hooks, exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(script(args.hook))
    os.chmod(temporary, 0o755)
    os.replace(temporary, path)
    sys.stderr.write(f"alembic-guard: installed {path}\n")
    return CLEAN
