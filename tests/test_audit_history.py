"""The git plumbing under the audit (history.py), and the audit's rarer
paths: repeated removals, detached HEAD, odd refs, many places."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import commit, git
from test_audit import LEAKY, LEAKY2, PASSWORD, SAFE, audit, report

from alembic_guard import history
from alembic_guard.audit import Event, purge_pairs, text_block
from alembic_guard.cli import main
from alembic_guard.finding import Finding, Scrubber
from alembic_guard.git import GitError


def test_tokens_split_on_nul_across_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(history, "CHUNK", 3)
    read, write = os.pipe()
    calls = []

    def idle() -> bool:
        calls.append(1)
        if len(calls) == 1:
            return True
        if len(calls) == 2:
            os.write(write, b"ab\0cdefg\0\0tail")
            os.close(write)
        return False

    try:
        found = list(history.tokens(read, idle))
    finally:
        os.close(read)
    assert found == [b"ab", b"cdefg", b"", b"tail"]
    assert len(calls) > 2


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            [b"c1 p1", b"\n:100644 100644 a b M", b"x.ini"],
            [
                history.Header("c1", ("p1",)),
                history.Change("c1", "x.ini", "a", "b", "100644"),
            ],
            id="header-and-change",
        ),
        pytest.param(
            [b"\n", b"c2 "],
            [history.Header("c2", ())],
            id="blank-field-skipped",
        ),
        pytest.param(
            [b"c3", b":broken", b"y.ini"],
            [history.Header("c3", ())],
            id="short-meta-skipped",
        ),
        pytest.param(
            [b"c4", b":100644 100644 a b M", b"README"],
            [history.Header("c4", ())],
            id="non-candidate-sifted",
        ),
        pytest.param(
            [b"c5", b":100644 100644 a b M", b"conf/app.ini.tpl"],
            [
                history.Header("c5", ()),
                history.Change("c5", "conf/app.ini.tpl", "a", "b", "100644"),
            ],
            id="template-suffix",
        ),
    ],
)
def test_parse(fields: list[bytes], expected: list[object]) -> None:
    assert list(history._parse(iter(fields))) == expected


def test_git_missing(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["audit", "--quiet"]) == 2
    assert "git: command not found" in capsys.readouterr().err
    with pytest.raises(GitError, match="command not found"):
        history.Repository(None, False).popen("log")


def test_blobs_missing_object_and_dead_process(repo: Path) -> None:
    commit(repo, {"README": "x\n"}, "start")
    blobs = history.Blobs(history.Repository(None, False))
    with pytest.raises(GitError, match="cannot read object"):
        blobs.info("1" * 40)
    blobs.proc.kill()
    blobs.proc.wait()
    with pytest.raises(GitError, match="stopped unexpectedly"):
        for _ in range(10_000):
            blobs.ask("info", "1" * 40)


def test_prefetch_missing_object_and_handler_error(repo: Path) -> None:
    seen: list[tuple[str, bytes | None, int]] = []

    def handle(oid: str, path: str, data: bytes | None, size: int) -> None:
        seen.append((oid, data, size))
        if oid.startswith("2"):
            raise ValueError("handler broke")

    repository = history.Repository(None, False)
    fetch = history.Prefetch(repository, 100, handle)
    fetch.request("1" * 40, "a.ini")
    fetch.close()
    assert seen == [("1" * 40, None, -1)]
    fetch = history.Prefetch(repository, 100, handle)
    fetch.request("2" * 40, "a.ini")
    fetch.request("3" * 40, "a.ini")
    with pytest.raises(ValueError, match="handler broke"):
        fetch.close()


def test_prefetch_dead_process(repo: Path) -> None:
    fetch = history.Prefetch(
        history.Repository(None, False), 100, lambda *args: None
    )
    fetch.proc.kill()
    fetch.proc.wait()
    with pytest.raises(GitError):
        for _ in range(10_000):
            fetch.request("1" * 40, "a.ini")
    with pytest.raises(GitError):
        fetch.close()


def test_removed_twice_latest_removal_and_first_add(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    both = LEAKY + LEAKY2.replace("[alembic]", "[other]")
    first = commit(repo, {"alembic.ini": both}, "add two")
    commit(repo, {"alembic.ini": LEAKY2}, "drop one")
    back = commit(repo, {"alembic.ini": LEAKY}, "back again")
    last = commit(repo, {"alembic.ini": SAFE}, "drop both")
    status, doc, _ = report(capsys)
    assert status == 1
    creds = {c["host"]: c for c in doc["credentials"]}
    assert {c["first_commit"]["commit"] for c in creds.values()} == {first}
    assert creds["db"]["removed_in"]["commit"] == last
    assert creds["db2"]["removed_in"]["commit"] == back


def test_detached_head_not_a_ref_tip(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "--detach")
    commit(repo, {"alembic.ini": LEAKY}, "detached leak")
    status, doc, _ = report(capsys)
    assert status == 1
    [cred] = doc["credentials"]
    assert cred["at_head"] is True and cred["refs"] == []


def test_odd_refs_and_gitlink_named_like_config(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = commit(repo, {"alembic.ini": LEAKY}, "leak")
    blob = git(repo, "rev-parse", "HEAD:alembic.ini").strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    git(repo, "tag", "blob-tag", blob)
    git(repo, "tag", "-a", "-m", "a tree", "tree-tag", tree)
    git(
        repo,
        "update-index",
        "--add",
        "--cacheinfo",
        f"160000,{start},vendor.cfg",
    )
    git(repo, "commit", "-q", "-m", "gitlink")
    status, doc, _ = report(capsys)
    assert status == 1
    [cred] = doc["credentials"]
    assert cred["refs"] == ["refs/heads/main"]


def test_many_places_and_many_notes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {f"d{i}/alembic.ini": LEAKY for i in range(7)}, "spread")
    status, out, _ = audit(capsys)
    assert status == 1
    assert "... and 2 more place(s)" in out
    commit(
        repo, {f"e{i}/alembic.ini": f"[a]\n# {i}\n" for i in range(22)}, "many"
    )
    status, _, err = audit(capsys, "--max-bytes", "5")
    assert status == 2
    assert "(further notes left out)" in err


def test_branch_only_credential_text(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, {"alembic.ini": LEAKY}, "topic leak")
    git(repo, "checkout", "-q", "main")
    status, out, _ = audit(capsys)
    assert status == 1
    assert "not at HEAD (still in history)" in out
    assert "in ref tips: refs/heads/topic" in out


def test_bad_settings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, {"setup.cfg": "[alembic-guard]\nnonsense = 1\n"}, "bad")
    status, out, err = audit(capsys)
    assert (status, out) == (2, "")
    assert "unknown setting 'nonsense'" in err


def test_empty_repository_purge_file(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "purge.txt"
    status, _, _ = audit(capsys, "--purge-file", str(target))
    assert status == 0 and target.read_bytes() == b""


def test_unwritable_output(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    status, out, err = audit(
        capsys, "--output", str(tmp_path / "missing" / "out.txt")
    )
    assert (status, out) == (2, "")
    assert "out.txt" in err and len(err.strip().splitlines()) == 1


def _finding(line: int, column: int) -> Finding:
    return Finding(
        "a.ini",
        line,
        column,
        "alembic",
        "sqlalchemy.url",
        "userinfo-password",
        "value",
        "x",
        "f" * 16,
        "db",
    )


def test_purge_pairs_fallbacks() -> None:
    text = "[a]\nurl = postgresql://u:Abc-pw1@db/x\n"
    scrub = Scrubber()
    scrub.add("Abc-pw1")
    column = text.splitlines()[1].index("Abc") + 1
    assert purge_pairs(text, [_finding(2, column)], scrub) == {
        (":Abc-pw1@", ":REDACTED@")
    }
    assert purge_pairs(text, [_finding(2, 1)], scrub) == {
        ("Abc-pw1", "REDACTED")
    }
    assert purge_pairs(text, [_finding(9, 1)], scrub) == set()


def test_text_block_without_commit_details() -> None:
    from alembic_guard.audit import Credential, Location

    cred = Credential(
        "f" * 16,
        "userinfo-password",
        "u:***@db",
        "db",
        [Location("a.ini", 2, 3, None, None, "c" * 40)],
        Event(1, "c" * 40, "a.ini"),
        None,
        [],
        True,
    )
    block = text_block(cred, {})
    assert f"first added: {'c' * 12}\n" in block
    assert "a.ini:2:3: (since" in block
    assert PASSWORD not in block
    assert json.dumps(cred._asdict())


def test_removal_inside_range_of_older_credential(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    commit(repo, {"alembic.ini": SAFE}, "fix")
    status, out, _ = audit(capsys, ".", "HEAD~1..HEAD")
    assert (status, out) == (0, "")


def test_prefetch_reader_error_seen_by_step_then_close(repo: Path) -> None:
    fetch = history.Prefetch(
        history.Repository(None, False), 100, lambda *args: None
    )
    fetch.proc.kill()
    fetch.proc.wait()
    fetch.request("1" * 40, "a.ini")
    fetch.thread.join(timeout=10)
    assert fetch.step() is False
    assert fetch.step() is False
    with pytest.raises(GitError, match="cannot read object"):
        fetch.close()
