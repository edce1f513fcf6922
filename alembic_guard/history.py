"""Streaming a repository's history through a few long-lived git
processes: one ``git log`` for every change to a candidate file, one
``git cat-file --batch-command`` for the blobs, one ``git ls-tree`` per
ref tip. Nothing here judges content; audit.py does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, NamedTuple

from alembic_guard.git import GitError, environment

# Cheap first sift on the raw path bytes; files.is_candidate decides.
# No pathspec is given to git: matching wildcard pathspecs against every
# tree entry tripled git log's CPU time on the benchmark repository,
# while sifting here costs little.
SUFFIXES = (b".ini", b".cfg", b"env.py", b"pyproject.toml", b".gitmodules")
INFIXES = (b".ini.", b".cfg.")
GITLINK = "160000"
PIPE_SIZE = getattr(fcntl, "F_SETPIPE_SZ", 1031)
LOW = 1 << 16
NAP = 0.002
CHUNK = 1 << 18
# Variables naming the repository itself: dropped when REPO is given,
# so that a hook's GIT_DIR cannot redirect an explicit audit.
LOCATORS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


class Header(NamedTuple):
    """A commit (shown once per parent for a merge)."""

    commit: str
    parents: tuple[str, ...]


class Change(NamedTuple):
    commit: str
    path: str
    old: str
    new: str
    new_mode: str


class Entry(NamedTuple):
    path: str
    blob: str
    mode: str


def is_zero(oid: str) -> bool:
    return not oid.strip("0")


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class Repository:
    """Runs git against one repository with a clean environment."""

    def __init__(self, path: str | None, explicit: bool) -> None:
        self.path = path
        self.env = environment()
        if explicit:
            for name in LOCATORS:
                self.env.pop(name, None)

    def command(self, *args: str) -> list[str]:
        prefix = ["git"] if self.path is None else ["git", "-C", self.path]
        return prefix + list(args)

    def run(
        self, *args: str, stdin: bytes | None = None, check: bool = True
    ) -> bytes:
        try:
            proc = subprocess.run(
                self.command(*args),
                input=stdin,
                capture_output=True,
                env=self.env,
            )
        except FileNotFoundError:
            raise GitError("git: command not found") from None
        if check and proc.returncode != 0:
            raise GitError(_failure(args, proc.returncode, proc.stderr))
        return proc.stdout

    def popen(
        self, *args: str, stdin: bool = False, stderr: IO[bytes] | None = None
    ) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                self.command(*args),
                env=self.env,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr if stderr is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise GitError("git: command not found") from None


def _failure(args: tuple[str, ...], code: int, stderr: bytes) -> str:
    message = stderr.decode("utf-8", "replace").strip()
    first = message.splitlines()[0] if message else ""
    return f"git {' '.join(args[:2])} failed (exit {code}): {first}"


def waiting(fd: int) -> int:
    """How many bytes the pipe ``fd`` holds unread."""
    answer = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", answer)[0])


def tokens(fd: int, idle: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """NUL-terminated fields read from ``fd`` in chunks, so that memory
    stays flat however long the history is. While git has nothing new
    to say, ``idle()`` is called until it returns False: other work
    fills the wait instead of a thread fighting for the GIL (which
    stretched the walk to twice git's own time)."""
    rest = b""
    while True:
        if idle is not None:
            while waiting(fd) < LOW and idle():
                pass
        if waiting(fd) < LOW:
            # git log writes each commit on its own; reading them one by
            # one cost more CPU than parsing them. Let a batch gather.
            time.sleep(NAP)
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest.strip():
        yield rest


def walk(
    repo: Repository,
    revs: list[str],
    every_ref: bool = False,
    idle: Callable[[], bool] | None = None,
) -> Iterator[Header | Change]:
    """Every change to a path that may be a candidate, in the commits
    ``revs`` select (plus every ref's history with ``every_ref``),
    newest first in topological order. ``-m`` shows each merge against
    every parent, so content that exists only in a merge's result is
    seen."""
    with tempfile.TemporaryFile() as errors:
        proc = repo.popen(
            "log",
            "--raw",
            "-z",
            "--no-abbrev",
            "-m",
            "--no-renames",
            "--topo-order",
            "--no-color",
            "--no-textconv",
            "--format=%H %P",
            *(["--all"] if every_ref else []),
            "--stdin",
            stdin=True,
            stderr=errors,
        )
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):
            # A deeper pipe lets git run ahead while we scan.
            fcntl.fcntl(proc.stdout.fileno(), PIPE_SIZE, 1 << 20)
        # Revisions go through stdin: a long pre-receive list or a name
        # starting with "-" cannot be taken for an option there (git
        # 2.39 accepts no pseudo-options such as --not on stdin).
        proc.stdin.write(
            "".join(f"{r}\n" for r in revs).encode("utf-8", "surrogateescape")
        )
        proc.stdin.close()
        try:
            yield from _parse(tokens(proc.stdout.fileno(), idle))
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise GitError(_failure(("log",), code, errors.read()))


def _parse(fields: Iterator[bytes]) -> Iterator[Header | Change]:
    commit = ""
    for field in fields:
        field = field.lstrip(b"\n")
        if not field.startswith(b":"):
            ids = field.decode("ascii", "replace").split()
            if ids:
                commit = ids[0]
                yield Header(commit, tuple(ids[1:]))
            continue
        # ":old-mode new-mode old-id new-id status" then the path.
        path = next(fields, b"")
        if not path.endswith(SUFFIXES) and not any(i in path for i in INFIXES):
            continue
        meta = field[1:].decode("ascii", "replace").split()
        if len(meta) >= 4:
            yield Change(commit, decode_path(path), meta[2], meta[3], meta[1])


class Blobs:
    """One ``git cat-file --batch-command`` for all blob reads: ask a
    blob's size first, fetch its content only when under the limit."""

    def __init__(self, repo: Repository) -> None:
        self.proc = repo.popen("cat-file", "--batch-command", stdin=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout

    def ask(self, command: str, oid: str) -> list[str]:
        try:
            self.stdin.write(f"{command} {oid}\n".encode())
            self.stdin.flush()
        except BrokenPipeError:
            raise GitError("git cat-file stopped unexpectedly") from None
        header = self.stdout.readline().decode("ascii", "replace").split()
        if len(header) != 3 or not header[2].isdigit():
            raise GitError(f"git cat-file: cannot read object {oid}")
        return header

    def info(self, oid: str) -> tuple[str, int]:
        """The object's type and size in bytes."""
        header = self.ask("info", oid)
        return header[1], int(header[2])

    def read(self, oid: str) -> bytes:
        size = int(self.ask("contents", oid)[2])
        data = self.stdout.read(size + 1)
        if len(data) != size + 1:  # pragma: no cover (git died)
            raise GitError(f"git cat-file: short read of {oid}")
        return data[:size]

    def close(self) -> None:
        self.stdin.close()
        self.stdout.close()
        self.proc.wait()


class Prefetch:
    """Blob contents from one ``git cat-file --batch``: a thread only
    moves bytes from git into a queue, so requests never wait for a
    round trip (two per blob cost more than git log itself on the
    benchmark repository); the caller judges them in ``step()``.
    ``handle(oid, path, data, size)`` gets None for a blob over
    ``limit`` bytes (size >= 0) or an object that is not a blob
    (size -1). Blobs waiting in the queue are all that is held."""

    def __init__(
        self,
        repo: Repository,
        limit: int,
        handle: Callable[[str, str, bytes | None, int], None],
    ) -> None:
        self.proc = repo.popen("cat-file", "--batch", stdin=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self.limit = limit
        self.handle = handle
        self.pending: queue.SimpleQueue[tuple[str, str] | None] = (
            queue.SimpleQueue()
        )
        self.ready: queue.SimpleQueue[
            tuple[str, str, bytes | None, int] | None
        ] = queue.SimpleQueue()
        self.unflushed = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def request(self, oid: str, path: str) -> None:
        self.pending.put((oid, path))
        try:
            self.stdin.write(f"{oid}\n".encode())
        except BrokenPipeError:
            raise GitError("git cat-file stopped unexpectedly") from None
        self.unflushed = True

    def step(self) -> bool:
        """Judge one blob that has arrived; False when none has."""
        try:
            item = self.ready.get_nowait()
        except queue.Empty:
            if self.unflushed:
                self.unflushed = False
                with contextlib.suppress(BrokenPipeError):
                    self.stdin.flush()
            return False
        if item is None:
            # The reader stopped on an error: leave the mark for close().
            self.ready.put(None)
            return False
        self.handle(*item)
        return True

    def close(self) -> None:
        self.pending.put(None)
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        while (item := self.ready.get()) is not None:
            self.handle(*item)
        self.thread.join()
        self.stdout.close()
        self.proc.wait()
        if self.error is not None:
            raise self.error

    def _read(self) -> None:
        try:
            while (item := self.pending.get()) is not None:
                self.ready.put(self._one(*item))
        except BaseException as exc:  # re-raised by close()
            self.error = exc
            # Keep git's output flowing so that the writer never blocks.
            while self.stdout.read(CHUNK):
                pass
        finally:
            self.ready.put(None)

    def _one(self, oid: str, path: str) -> tuple[str, str, bytes | None, int]:
        header = self.stdout.readline().decode("ascii", "replace").split()
        if len(header) == 2 and header[1] == "missing":
            return oid, path, None, -1
        if len(header) != 3 or not header[2].isdigit():
            raise GitError(f"git cat-file: cannot read object {oid}")
        size = int(header[2])
        if header[1] != "blob" or size > self.limit:
            self._skip(size + 1)
            return oid, path, None, size if header[1] == "blob" else -1
        data = self.stdout.read(size + 1)
        if len(data) != size + 1:  # pragma: no cover (git died)
            raise GitError(f"git cat-file: short read of {oid}")
        return oid, path, data[:size], size

    def _skip(self, count: int) -> None:
        while count > 0:
            got = len(self.stdout.read(min(count, CHUNK)))
            if not got:  # pragma: no cover (git died)
                raise GitError("git cat-file: output ended early")
            count -= got


def tree(repo: Repository, commit: str) -> list[Entry]:
    """The files of ``commit``'s tree that may be candidates."""
    out = repo.run("ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for record in out.split(b"\0"):
        if not record.endswith(SUFFIXES) and not any(
            i in record for i in INFIXES
        ):
            continue
        meta, _, path = record.partition(b"\t")
        parts = meta.decode("ascii", "replace").split()
        if len(parts) == 3 and parts[1] == "blob":
            entries.append(Entry(decode_path(path), parts[2], parts[0]))
    return entries


class Ref(NamedTuple):
    name: str
    commit: str


def refs(repo: Repository) -> list[Ref]:
    """Every ref that leads to a commit, tags peeled."""
    out = repo.run(
        "for-each-ref",
        "--format=%(objectname) "
        "%(objecttype) %(*objectname) %(*objecttype) "
        "%(refname)",
    )
    found = []
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, kind, peeled, peeled_kind, name = line.split(" ", 4)
        if kind == "commit":
            found.append(Ref(name, oid))
        elif peeled_kind == "commit":
            found.append(Ref(name, peeled))
    return found


def stash_entries(repo: Repository) -> list[str]:
    """Older stash entries live only in the reflog of refs/stash."""
    out = repo.run(
        "reflog", "show", "--format=%H", "refs/stash", "--", check=False
    )
    return out.decode("ascii", "replace").split()


def head(repo: Repository) -> str | None:
    out = repo.run(
        "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False
    ).strip()
    return out.decode("ascii", "replace") or None


class CommitInfo(NamedTuple):
    commit: str
    author: str
    date: str
    subject: str


def describe(repo: Repository, commits: list[str]) -> dict[str, CommitInfo]:
    """Author, date and subject of each commit, in one ``git log``."""
    out = repo.run(
        "log",
        "--no-walk=unsorted",
        "--stdin",
        "-z",
        "--format=%H%x1f%an%x1f%aI%x1f%s",
        stdin="".join(f"{c}\n" for c in commits).encode(),
    )
    found = {}
    for record in out.split(b"\0"):
        parts = record.decode("utf-8", "replace").split("\x1f", 3)
        if len(parts) == 4:
            found[parts[0]] = CommitInfo(*parts)
    return found


def is_shallow(repo: Repository) -> bool:
    out = repo.run("rev-parse", "--is-shallow-repository", check=False)
    return out.strip() == b"true"


def git_dir(repo: Repository) -> str:
    """The repository's git directory; raises GitError if none."""
    out = repo.run("rev-parse", "--absolute-git-dir")
    return os.fsdecode(out.rstrip(b"\n"))


def top_level(repo: Repository) -> str | None:
    """The work tree's top folder, None for a bare repository."""
    out = repo.run("rev-parse", "--show-toplevel", check=False)
    return os.fsdecode(out.rstrip(b"\n")) or None
