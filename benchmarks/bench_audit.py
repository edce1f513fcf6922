"""How fast the history audit is next to git walking the same objects.

Builds synthetic repositories with ``git fast-import`` (cached under the
temporary folder between runs), then prints, for each size: the median
wall time and peak RSS of ``alembic-guard audit`` and of ``git rev-list
--all --objects`` on the same repository, and their ratio.

    python benchmarks/bench_audit.py [--commits 50000] [--small 10000]

Peak RSS is the largest single process in the command's tree (the
Python audit or one of its git children), read from getrusage.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

FILES = 4000
CONFIGS = 300
CONFIG_SHARE = 0.2
# Planted at these fractions of history; some on side branches, one
# only reachable from a tag, each removed a while later.
PLANTS = (
    (0.02, "main"),
    (0.3, "feature/a"),
    (0.55, "main"),
    (0.8, "tag-only"),
    (0.97, "main"),
)
PASSWORD = "Bench-pl4nted-"
PROBE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,\n"
    "               stderr=subprocess.DEVNULL, check=False)\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(0, use.ru_maxrss, use.ru_utime + use.ru_stime)\n"
)
# The audit in-process, so that the Python process's own peak is seen
# apart from its git children's.
AUDIT_PROBE = (
    "import os, resource, sys\n"
    "from alembic_guard.cli import main\n"
    "out, sys.stdout = sys.stdout, open(os.devnull, 'w')\n"
    "sys.stderr = open(os.devnull, 'w')\n"
    "main(sys.argv[1:])\n"
    "me = resource.getrusage(resource.RUSAGE_SELF)\n"
    "kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(me.ru_maxrss, kids.ru_maxrss, me.ru_utime + me.ru_stime\n"
    "      + kids.ru_utime + kids.ru_stime, file=out)\n"
)


def config_text(index: int, version: int, secret: str | None) -> bytes:
    url = (
        f"postgresql://svc{index}:{secret}@db{index}.bench/app"
        if secret
        else "%(DB_URL)s"
    )
    return (
        f"[alembic]\nscript_location = migrations/{index}\n"
        f"sqlalchemy.url = {url}\n# revision {version}\n"
    ).encode()


def data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


class Stream:
    """A fast-import stream written straight to git's stdin."""

    def __init__(self, out: object) -> None:
        self.out = out
        self.mark = 0
        self.when = 1_600_000_000

    def commit(
        self,
        ref: str,
        message: str,
        changes: list[tuple[str, bytes | None]],
        parent: int | None = None,
    ) -> int:
        self.mark += 1
        self.when += 60
        lines = [
            b"commit %s\n" % ref.encode(),
            b"mark :%d\n" % self.mark,
            b"committer Bench <bench@example.invalid> %d +0000\n" % self.when,
            data(message.encode()),
        ]
        if parent is not None:
            lines.append(b"from :%d\n" % parent)
        for path, payload in changes:
            if payload is None:
                lines.append(b"D %s\n" % path.encode())
            else:
                lines.append(b"M 100644 inline %s\n" % path.encode())
                lines.append(data(payload))
        self.out.write(b"".join(lines))  # type: ignore[attr-defined]
        return self.mark


def build(path: Path, commits: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    git = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE
    )
    assert git.stdin is not None
    stream = Stream(git.stdin)
    names = [f"src/pkg{i % 80}/module{i}.py" for i in range(FILES)]
    configs = [
        f"services/svc{i}/alembic.ini"
        if i % 3
        else f"deploy/env{i}/settings.cfg"
        for i in range(CONFIGS)
    ]
    versions = [0] * CONFIGS
    first = [(n, f"# module {i}\n".encode()) for i, n in enumerate(names)]
    first += [(c, config_text(i, 0, None)) for i, c in enumerate(configs)]
    head = stream.commit("refs/heads/main", "initial", list(first))
    plants = {
        int(frac * commits): (n, ref) for n, (frac, ref) in enumerate(PLANTS)
    }
    for number in range(1, commits):
        if number in plants:
            head = plant(stream, rng, head, configs, *plants[number])
            continue
        changes: list[tuple[str, bytes | None]] = [
            (rng.choice(names), f"# edit {number}\n".encode())
        ]
        if rng.random() < CONFIG_SHARE:
            which = rng.randrange(CONFIGS)
            versions[which] += 1
            changes.append(
                (configs[which], config_text(which, versions[which], None))
            )
        head = stream.commit(
            "refs/heads/main", f"change {number}", changes, head
        )
    git.stdin.close()
    if git.wait() != 0:
        raise SystemExit("git fast-import failed")


def plant(
    stream: Stream,
    rng: random.Random,
    head: int,
    configs: list[str],
    number: int,
    ref: str,
) -> int:
    which = rng.randrange(CONFIGS)
    secret = f"{PASSWORD}{number}"
    leak = [(configs[which], config_text(which, 10_000 + number, secret))]
    if ref == "main":
        head = stream.commit("refs/heads/main", "oops", leak, head)
        return stream.commit(
            "refs/heads/main",
            "undo oops",
            [(configs[which], config_text(which, 20_000 + number, None))],
            head,
        )
    target = "refs/tags/old-leak" if ref == "tag-only" else f"refs/heads/{ref}"
    stream.commit(target, f"leak on {ref}", leak, head)
    return head


def prepare(commits: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"alembic-guard-bench-{commits}.git"
    if (path / "DONE").exists():
        return path
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    started = time.monotonic()
    build(path, commits)
    subprocess.run(["git", "-C", str(path), "repack", "-adq"], check=True)
    subprocess.run(
        ["git", "-C", str(path), "symbolic-ref", "HEAD", "refs/heads/main"],
        check=True,
    )
    (path / "DONE").write_text("")
    print(
        f"built {path} in {time.monotonic() - started:.1f} s", file=sys.stderr
    )
    return path


class Figures(NamedTuple):
    wall: float
    cpu: float
    own_rss: float
    child_rss: float


def measure(command: list[str], runs: int, probe: str = PROBE) -> Figures:
    """Medians of wall and CPU seconds, peak RSS in MB of the process
    itself (the audit's Python) and of its largest child."""
    rows = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", probe, *command],
            stdout=subprocess.PIPE,
            check=True,
        ).stdout
        wall = time.perf_counter() - started
        own, child, cpu = out.split()[-3:]
        rows.append((wall, float(cpu), int(own) / 1024, int(child) / 1024))
    return Figures(
        statistics.median(r[0] for r in rows),
        statistics.median(r[1] for r in rows),
        max(r[2] for r in rows),
        max(r[3] for r in rows),
    )


def report(commits: int, runs: int) -> None:
    path = prepare(commits)
    floor = measure(
        ["git", "-C", str(path), "rev-list", "--all", "--objects"], runs
    )
    audit = measure(
        ["audit", "--quiet", "--format", "json", str(path)], runs, AUDIT_PROBE
    )
    found = subprocess.run(
        [sys.executable, "-m", "alembic_guard", "audit", "--quiet", str(path)],
        capture_output=True,
        check=False,
    )
    credentials = found.stdout.decode().count("fingerprint ")
    print(
        f"{commits:>6} commits: git rev-list --all --objects "
        f"{floor.wall:5.2f} s wall {floor.cpu:5.2f} s CPU "
        f"{floor.child_rss:5.0f} MB"
    )
    print(
        f"{'':>15}alembic-guard audit          {audit.wall:5.2f} s wall "
        f"{audit.cpu:5.2f} s CPU, Python {audit.own_rss:3.0f} MB, "
        f"largest git child {audit.child_rss:3.0f} MB"
    )
    print(
        f"{'':>15}ratio {audit.wall / floor.wall:4.2f} wall, "
        f"{audit.cpu / floor.cpu:4.2f} CPU; {credentials} of "
        f"{len(PLANTS)} planted credentials found"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument(
        "--small",
        type=int,
        default=10_000,
        help="a smaller history, to show memory does not "
        "grow with commit count",
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("GIT_DIR", None)
    print(
        f"files {FILES}, config files {CONFIGS}, {CONFIG_SHARE:.0%} of "
        f"commits change a config file; median of {args.runs} runs"
    )
    for commits in sorted({args.small, args.commits}):
        report(commits, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
