"""``alembic-guard audit``: every credential that ever entered history,
where and when it came in, and whether it is still there.

Also the push guards: ``--pre-push`` (a native hook), ``--pre-commit``
(pre-commit's pre-push stage) and ``--pre-receive`` (a server hook).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO, NamedTuple

from alembic_guard import files, history
from alembic_guard.cli import CLEAN, ERROR, FOUND
from alembic_guard.finding import Finding, Scrubber
from alembic_guard.history import Change, CommitInfo, Entry, Header, Repository
from alembic_guard.settings import BadSettings, Settings

REPLACEMENT = "REDACTED"
MAX_NOTICES = 20
SHOWN_LOCATIONS = 5


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "repo",
        nargs="?",
        metavar="REPO",
        help="a work tree, a bare repository or a git bundle file "
        "(default: the current repository)",
    )
    parser.add_argument(
        "ranges",
        nargs="*",
        metavar="REV-RANGE",
        help="audit only these commits, e.g. origin/main..HEAD "
        "(default: every commit reachable from any ref)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="output format",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the report to FILE, not stdout"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: setup.cfg or "
        "pyproject.toml of the work tree)",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        metavar="N",
        help="skip blobs larger than N bytes, with a "
        f"note (default {files.DEFAULT_MAX_BYTES})",
    )
    parser.add_argument(
        "--purge-file",
        metavar="FILE",
        help="write a git filter-repo --replace-text file that masks "
        "every password found (mode 0600: it holds the secrets)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress display"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--pre-push",
        action="store_true",
        help="git pre-push hook: REPO and REV-RANGE are the remote's "
        "name and URL; refs to push come on stdin",
    )
    mode.add_argument(
        "--pre-commit",
        action="store_true",
        help="pre-commit's pre-push stage: audit PRE_COMMIT_FROM_REF.."
        "PRE_COMMIT_TO_REF",
    )
    mode.add_argument(
        "--pre-receive",
        action="store_true",
        help="server pre-receive hook: 'old new ref' lines on stdin",
    )


class Event(NamedTuple):
    order: int
    commit: str
    path: str


class Location(NamedTuple):
    path: str
    line: int
    column: int
    section: str | None
    key: str | None
    commit: str


class Credential(NamedTuple):
    """One distinct credential (one fingerprint) across history."""

    fingerprint: str
    rule: str
    redacted: str
    host: str
    locations: list[Location]
    first: Event
    removed: Event | None
    refs: list[str]
    at_head: bool


class Trail:
    """What the walk learns about one fingerprint."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        self.first: Event | None = None
        self.removed: Event | None = None
        self.places: dict[Finding, Event] = {}
        self.refs: set[str] = set()
        self.at_head = False

    def seen(self, event: Event, finding: Finding) -> None:
        # Changes are replayed newest first: each sighting is as old as
        # any before it, so the last one wins.
        self.first = event
        self.finding = finding
        self.places[finding._replace(used_by=())] = event


class Progress:
    """Commits and blobs done, on a terminal only."""

    def __init__(self, stream: IO[str], enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.start = self.last = time.monotonic()

    def show(self, commits: int, blobs: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.25 and not final):
            return
        self.last = now
        rate = commits / max(now - self.start, 1e-6)
        self.stream.write(
            f"\ralembic-guard: {commits} commits, {blobs} "
            f"blobs, {rate:.0f} commits/s "
        )
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _name(scrub: Scrubber, name: str | None) -> str | None:
    return None if name is None else scrub.name(name)


class Audit:
    """One walk over history, scanning each candidate blob once.

    The walk notes the changes to candidate files and asks for every new
    blob as it goes, scanning those that have arrived whenever git log
    keeps it waiting. The changes are then replayed, newest first, with
    every verdict known.
    """

    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        limit: int,
        progress: Progress,
        purge: bool,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.limit = limit
        self.progress = progress
        self.scrub = Scrubber()
        self.blobs: history.Blobs | None = None
        self.verdicts: dict[tuple[str, str], tuple[str, ...]] = {}
        self.findings: dict[tuple[str, str], list[Finding]] = {}
        self.trails: dict[str, Trail] = {}
        self.purge: set[tuple[str, str]] | None = set() if purge else None
        self.notices: list[str] = []
        self.skipped = 0
        self.commits = 0
        self.last = ""
        self.paths: dict[str, bool] = {}
        self.submodules = False

    def close(self) -> None:
        if self.blobs is not None:
            self.blobs.close()

    def walk(self, revs: list[str], every_ref: bool) -> None:
        fetch = history.Prefetch(self.repo, self.limit, self.receive)
        asked: set[tuple[str, str]] = set()
        changes: list[tuple[int, str, str, str, str]] = []
        try:
            for item in history.walk(self.repo, revs, every_ref, fetch.step):
                if isinstance(item, Header):
                    self.header(item)
                elif self.wanted(item):
                    kind = _kind(item.path)
                    for oid in (item.old, item.new):
                        if (
                            not history.is_zero(oid)
                            and (oid, kind) not in asked
                        ):
                            asked.add((oid, kind))
                            fetch.request(oid, item.path)
                    changes.append(
                        (
                            self.commits,
                            item.commit,
                            item.path,
                            item.old,
                            item.new,
                        )
                    )
        finally:
            fetch.close()
        self.progress.show(self.commits, len(self.verdicts), final=True)
        for change in changes:
            self.change(*change)

    def header(self, item: Header) -> None:
        # A merge comes once per parent under -m: count it once.
        if item.commit != self.last:
            self.last = item.commit
            self.commits += 1
            self.progress.show(self.commits, len(self.verdicts))

    def wanted(self, item: Change) -> bool:
        path = item.path
        if path.rsplit("/", 1)[-1] == ".gitmodules":
            self.submodules = self.submodules or not history.is_zero(item.new)
            return False
        known = self.paths.get(path)
        if known is None:
            known = files.is_candidate(path) and not (
                self.settings.excludes(path)
            )
            self.paths[path] = known
        return known

    def change(
        self, order: int, commit: str, path: str, old_id: str, new_id: str
    ) -> None:
        kind = _kind(path)
        new = () if history.is_zero(new_id) else self.verdict(new_id, path)
        old = () if history.is_zero(old_id) else self.verdict(old_id, path)
        event = Event(order, commit, path)
        if new:
            for finding in self.findings[(new_id, kind)]:
                finding = finding._replace(path=path)
                trail = self.trails.setdefault(
                    finding.fingerprint, Trail(finding)
                )
                trail.seen(event, finding)
        gone = set(old) - set(new)
        if gone:
            # Newest first: a removal is met before the commit that
            # brought the credential in.
            for finding in self.findings[(old_id, kind)]:
                if finding.fingerprint in gone:
                    trail = self.trails.setdefault(
                        finding.fingerprint, Trail(finding)
                    )
                    if trail.removed is None:
                        trail.removed = event

    def verdict(self, blob: str, path: str) -> tuple[str, ...]:
        """The fingerprints in ``blob`` read as ``path``'s kind; blobs
        the walk did not meet (ref tips outside a range) are read one
        at a time."""
        known = self.verdicts.get((blob, _kind(path)))
        if known is None:
            if self.blobs is None:
                self.blobs = history.Blobs(self.repo)
            kind, size = self.blobs.info(blob)
            data = (
                self.blobs.read(blob)
                if kind == "blob" and size <= self.limit
                else None
            )
            self.receive(blob, path, data, size if kind == "blob" else -1)
            known = self.verdicts[(blob, _kind(path))]
        return known

    def receive(
        self, blob: str, path: str, data: bytes | None, size: int
    ) -> None:
        """Record the verdict on one blob."""
        key = (blob, _kind(path))
        found = [] if data is None else self.scan(data, path, key[1])
        if data is None and size >= 0:
            self.skipped += 1
            self.note(
                f"{path}: blob {blob[:12]} is {size} bytes, "
                f"over the {self.limit} byte limit; skipped (raise "
                "it with --max-bytes)"
            )
        self.verdicts[key] = tuple(sorted({f.fingerprint for f in found}))
        if found:
            self.findings[key] = found

    def scan(self, data: bytes, path: str, kind: str) -> list[Finding]:
        from alembic_guard.detect import scan_text

        text, binary = files.decode(data)
        local = Scrubber()
        result = scan_text(
            text, path, local, "text" if binary else kind, quick=True
        )
        self.scrub.secrets |= local.secrets
        found = [
            f
            for f in result.findings
            if not self.settings.allows(f.fingerprint, f.host)
        ]
        if self.purge is not None and found:
            self.purge |= purge_pairs(text, found, local)
        return found

    def note(self, message: str) -> None:
        if len(self.notices) < MAX_NOTICES:
            self.notices.append(message)
        elif len(self.notices) == MAX_NOTICES:
            self.notices.append("(further notes left out)")

    def tips(self, refs: list[tuple[str, str]], head: str | None) -> None:
        """Which refs' tips, and whether HEAD, still hold each
        credential."""
        names: dict[str, list[str]] = {}
        for name, commit in refs:
            names.setdefault(commit, []).append(name)
        for commit, holders in names.items():
            present = self.present(history.tree(self.repo, commit))
            for fingerprint in present:
                self.trails[fingerprint].refs.update(holders)
            if commit == head:
                for fingerprint in present:
                    self.trails[fingerprint].at_head = True
        if head is not None and head not in names:
            for fingerprint in self.present(history.tree(self.repo, head)):
                self.trails[fingerprint].at_head = True

    def present(self, entries: list[Entry]) -> set[str]:
        found: set[str] = set()
        for entry in entries:
            path = entry.path
            if files.is_candidate(path) and not self.settings.excludes(path):
                found.update(
                    fp
                    for fp in self.verdict(entry.blob, path)
                    if fp in self.trails
                )
        return found

    def credentials(self) -> list[Credential]:
        listed = []
        for fingerprint, trail in self.trails.items():
            if trail.first is None:
                continue
            places = sorted(
                trail.places.items(), key=lambda item: -item[1].order
            )
            finding = trail.finding
            listed.append(
                Credential(
                    fingerprint,
                    finding.rule,
                    finding.redacted,
                    finding.host,
                    [
                        Location(
                            place.path,
                            place.line,
                            place.column,
                            _name(self.scrub, place.section),
                            _name(self.scrub, place.key),
                            event.commit,
                        )
                        for place, event in places
                    ],
                    trail.first,
                    None if trail.at_head else trail.removed,
                    sorted(trail.refs),
                    trail.at_head,
                )
            )
        listed.sort(
            key=lambda c: (-c.first.order, c.first.path, c.fingerprint)
        )
        return listed


@functools.lru_cache(maxsize=4096)
def _kind(path: str) -> str:
    # Asked several times per change, for a few hundred distinct paths.
    from alembic_guard.detect import kind_of

    return kind_of(path)


WHOLE_LINE_RULES = frozenset(("password-option", "python-password"))


def purge_pairs(
    text: str, found: list[Finding], local: Scrubber
) -> set[tuple[str, str]]:
    """``(as written, replacement)`` for each password in ``text``, with
    the character on each side so that the same letters elsewhere in a
    file (a short password that is also a word) are left alone."""
    from alembic_guard.ini import split_lines

    lines = split_lines(text)
    # The detector keeps the value as configparser reads it; in the
    # file each "%" of it is written "%%".
    written = local.secrets | {s.replace("%", "%%") for s in local.secrets}
    pairs: set[tuple[str, str]] = set()
    for finding in found:
        if not 0 < finding.line <= len(lines):
            continue
        line = lines[finding.line - 1].text
        start = finding.column - 1
        forms = sorted(
            (s for s in written if line.startswith(s, start)), key=len
        )
        if not forms:
            pairs.update((s, REPLACEMENT) for s in written if s in line)
            continue
        end = start + len(forms[-1])
        before = line[max(start - 1, 0) : start]
        after = line[end : end + 1]
        if finding.rule in WHOLE_LINE_RULES:
            # A bare value ("main") has no URL around it to tell it
            # from the same word in code: the whole line tells it.
            before, after = line[:start], line[end:]
        pairs.add((before + forms[-1] + after, before + REPLACEMENT + after))
    return pairs


def expressions(pairs: set[tuple[str, str]]) -> bytes:
    """``git filter-repo --replace-text`` lines. filter-repo splits each
    line at its last ``==>``, so a password holding one stays literal
    as long as the replacement has none."""
    return "".join(
        f"literal:{text}==>{replacement}\n"
        for text, replacement in sorted(pairs)
    ).encode("utf-8", "surrogateescape")


def write_secret_file(path: str, data: bytes) -> None:
    """Create or replace ``path`` readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


class Target(NamedTuple):
    repo: Repository
    name: str
    top: str | None


@contextlib.contextmanager
def opened(path: str | None) -> Iterator[Target]:
    """The repository to audit; a bundle file is cloned into a temporary
    bare repository, removed afterwards."""
    name = path or "."
    if path is not None and os.path.isfile(path):
        scratch = tempfile.mkdtemp(prefix="alembic-guard-")
        try:
            clone = os.path.join(scratch, "bundle.git")
            Repository(None, True).run(
                "clone", "--mirror", "-q", "--", os.path.abspath(path), clone
            )
            yield Target(Repository(clone, True), name, None)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    repo = Repository(path, path is not None)
    history.git_dir(repo)
    yield Target(repo, name, history.top_level(repo))


def load_settings(args: argparse.Namespace, top: str | None) -> Settings:
    from alembic_guard.settings import load

    if top is None and args.config is None:
        return Settings()
    return load(args.config, top or ".")


def run(args: argparse.Namespace) -> int:
    from alembic_guard.git import GitError

    if args.pre_push or args.pre_commit or args.pre_receive:
        return guard(args)
    try:
        with opened(args.repo) as target:
            return audit(args, target)
    except GitError as exc:
        sys.stderr.write(f"alembic-guard: {args.repo or '.'}: {exc}\n")
    except BadSettings as exc:
        sys.stderr.write(f"alembic-guard: {exc}\n")
    except OSError as exc:
        sys.stderr.write(
            f"alembic-guard: {exc.filename or args.output}: "
            f"{exc.strerror or exc}\n"
        )
    return ERROR


def audit(args: argparse.Namespace, target: Target) -> int:
    repo = target.repo
    settings = load_settings(args, target.top)
    refs = [(r.name, r.commit) for r in history.refs(repo)]
    head = history.head(repo)
    if not refs and head is None and not args.ranges:
        sys.stderr.write(
            f"alembic-guard: {target.name}: empty "
            "repository, nothing to audit\n"
        )
        return _finish(args, [], Scrubber(), None, 0, 0)
    if history.is_shallow(repo):
        sys.stderr.write(
            f"alembic-guard: {target.name} is a shallow clone: only the "
            "commits it holds were audited\n"
        )
    revs = list(args.ranges)
    if not revs:
        revs = history.stash_entries(repo) + ([head] if head else [])
    return walk_and_report(
        args, repo, settings, revs, not args.ranges, refs, head
    )


def walk_and_report(
    args: argparse.Namespace,
    repo: Repository,
    settings: Settings,
    revs: list[str],
    every_ref: bool,
    refs: list[tuple[str, str]] | None,
    head: str | None,
) -> int:
    limit = args.max_bytes or settings.max_bytes or files.DEFAULT_MAX_BYTES
    progress = Progress(sys.stderr, sys.stderr.isatty() and not args.quiet)
    walker = Audit(
        repo,
        settings,
        limit,
        progress,
        bool(getattr(args, "purge_file", None)),
    )
    try:
        walker.walk(revs, every_ref)
        if refs is not None:
            walker.tips(refs, head)
    finally:
        walker.close()
    if walker.submodules:
        walker.note(
            "submodules are not audited (not recursed); audit "
            "each one in its own repository"
        )
    for notice in walker.notices:
        sys.stderr.write(walker.scrub(f"alembic-guard: {notice}") + "\n")
    found = walker.credentials()
    return _finish(
        args, found, walker.scrub, walker, walker.commits, len(walker.verdicts)
    )


def _finish(
    args: argparse.Namespace,
    found: list[Credential],
    scrub: Scrubber,
    walker: Audit | None,
    commits: int,
    blobs: int,
) -> int:
    infos: dict[str, CommitInfo] = {}
    if walker is not None and found:
        wanted = {c.first.commit for c in found} | {
            c.removed.commit for c in found if c.removed
        }
        infos = history.describe(walker.repo, sorted(wanted))
    # Commit subjects and authors are free text and may quote a
    # password; the rest was masked span by span. Scrubbing the whole
    # document would instead point at a password that happens to be a
    # word of a host ("db.***.example") and could break its JSON.
    infos = {
        commit: info._replace(
            subject=scrub(info.subject), author=scrub(info.author)
        )
        for commit, info in infos.items()
    }
    text = render(args.format, found, infos, commits, blobs, guarding(args))
    _emit(args, text)
    if walker is not None and walker.purge is not None:
        write_secret_file(args.purge_file, expressions(walker.purge))
        sys.stderr.write(
            f"alembic-guard: wrote {len(walker.purge)} replacement(s) to "
            f"{args.purge_file} (mode 0600): it holds the passwords "
            "themselves; rotate them, run git filter-repo --replace-text "
            "on a fresh clone, then delete the file\n"
        )
    elif getattr(args, "purge_file", None):
        write_secret_file(args.purge_file, b"")
    sys.stderr.write(
        f"alembic-guard: audited {commits} commit(s), "
        f"{blobs} blob(s): {len(found)} credential(s)\n"
    )
    if walker is not None and walker.skipped:
        return ERROR
    return FOUND if found else CLEAN


def _emit(args: argparse.Namespace, text: str) -> None:
    if not args.output:
        sys.stdout.write(text)
        return
    with open(args.output, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)


def guarding(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "pre_push", False)
        or getattr(args, "pre_commit", False)
        or getattr(args, "pre_receive", False)
    )


def render(
    fmt: str,
    found: list[Credential],
    infos: dict[str, CommitInfo],
    commits: int,
    blobs: int,
    guard: bool = False,
) -> str:
    import json

    if fmt == "sarif":
        from alembic_guard.sarif import document

        return json.dumps(document(found), indent=2) + "\n"
    if fmt == "json":
        return (
            json.dumps(
                {
                    "commits": commits,
                    "blobs": blobs,
                    "credentials": [as_dict(c, infos) for c in found],
                },
                indent=2,
            )
            + "\n"
        )
    return "".join(text_block(c, infos, guard) for c in found)


def _info(
    event: Event | None, infos: dict[str, CommitInfo]
) -> dict[str, str] | None:
    if event is None:
        return None
    info = infos.get(event.commit)
    return {
        "commit": event.commit,
        "path": event.path,
        "author": info.author if info else "",
        "date": info.date if info else "",
        "subject": info.subject if info else "",
    }


def as_dict(
    cred: Credential, infos: dict[str, CommitInfo]
) -> dict[str, object]:
    return {
        "fingerprint": cred.fingerprint,
        "rule": cred.rule,
        "redacted": cred.redacted,
        "host": cred.host,
        "locations": [place._asdict() for place in cred.locations],
        "first_commit": _info(cred.first, infos),
        "removed_in": _info(cred.removed, infos),
        "refs": cred.refs,
        "at_head": cred.at_head,
        "status": "present" if cred.at_head else "history",
    }


def _commit_line(event: Event, infos: dict[str, CommitInfo]) -> str:
    from alembic_guard.finding import printable

    info = infos.get(event.commit)
    if info is None:
        return event.commit[:12]
    return printable(
        f"{event.commit[:12]} {info.date[:10]} {info.author}: {info.subject}"
    )


def text_block(
    cred: Credential, infos: dict[str, CommitInfo], guard: bool = False
) -> str:
    from alembic_guard.finding import printable
    from alembic_guard.report import RULE_TEXT

    lines = [
        f"{cred.redacted} ({RULE_TEXT.get(cred.rule, cred.rule)}; "
        f"fingerprint {cred.fingerprint})"
    ]
    for place in cred.locations[:SHOWN_LOCATIONS]:
        where = " ".join(
            p
            for p in (
                f"[{place.section}]" if place.section else "",
                place.key or "",
            )
            if p
        )
        lines.append(
            f"  {printable(place.path)}:{place.line}:"
            f"{place.column}: {printable(where) + ' ' if where else ''}"
            f"(since {place.commit[:12]})"
        )
    hidden = len(cred.locations) - SHOWN_LOCATIONS
    if hidden > 0:
        lines.append(f"  ... and {hidden} more place(s)")
    lines.append(f"  first added: {_commit_line(cred.first, infos)}")
    if guard:
        # The refs are not updated yet: where the credential will be
        # is the push itself.
        return "\n".join(lines) + "\n"
    if cred.at_head:
        lines.append("  still present at HEAD")
    elif cred.removed is not None:
        lines.append(
            f"  removed in: {_commit_line(cred.removed, infos)}"
            " (still in history)"
        )
    else:
        lines.append("  not at HEAD (still in history)")
    refs = ", ".join(cred.refs) if cred.refs else "none"
    lines.append(f"  in ref tips: {printable(refs)}")
    return "\n".join(lines) + "\n"


def guard(args: argparse.Namespace) -> int:
    from alembic_guard.guards import guard as run_guard

    return run_guard(args)
