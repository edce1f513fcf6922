"""``alembic-guard audit`` over real repositories built in the tests."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git, init_repo

from alembic_guard.audit import Progress
from alembic_guard.cli import main

PASSWORD = "Aud1t-h1story-pw"
OTHER = "Br4nch-only-pw"
LEAKY = f"[alembic]\nsqlalchemy.url = postgresql://app:{PASSWORD}@db/app\n"
LEAKY2 = f"[alembic]\nsqlalchemy.url = postgresql://ops:{OTHER}@db2/ops\n"
SAFE = "[alembic]\nsqlalchemy.url = %(DB_URL)s\n"
SECRETS = (PASSWORD, OTHER, "S0mmer-latin\xe9", "Merge-only-pw9")


def audit(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the audit in-process; assert no password got out."""
    status = main(["audit", "--quiet", *args])
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err
    return status, out, err


def report(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    status, out, err = audit(capsys, "--format", "json", *args)
    return status, json.loads(out), err


def by_host(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["host"]: c for c in document["credentials"]}


def test_attribution_first_removed_refs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = commit(repo, {"README": "x\n"}, "start")
    added = commit(repo, {"alembic.ini": LEAKY}, "add db config")
    git(repo, "tag", "-a", "v1", "-m", "release")
    commit(repo, {"README": "y\n"}, "unrelated")
    removed = commit(repo, {"alembic.ini": SAFE}, "use %(DB_URL)s")
    git(repo, "checkout", "-q", "-b", "feature", start)
    side = commit(repo, {"deploy/prod.ini": LEAKY2}, "prod settings")
    git(repo, "checkout", "-q", "main")

    status, doc, _ = report(capsys)

    assert status == 1
    old, branch = by_host(doc)["db"], by_host(doc)["db2"]
    assert old["first_commit"]["commit"] == added
    assert old["first_commit"]["subject"] == "add db config"
    assert old["first_commit"]["author"] == "Test Author"
    assert old["removed_in"]["commit"] == removed
    assert old["refs"] == ["refs/tags/v1"]
    assert old["at_head"] is False and old["status"] == "history"
    assert old["redacted"] == "postgresql://app:***@db/app"
    assert old["locations"] == [
        {
            "path": "alembic.ini",
            "line": 2,
            "column": LEAKY.splitlines()[1].index(PASSWORD) + 1,
            "section": "alembic",
            "key": "sqlalchemy.url",
            "commit": added,
        }
    ]
    assert branch["first_commit"]["commit"] == side
    assert branch["refs"] == ["refs/heads/feature"]
    assert branch["removed_in"] is None


def test_text_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    added = commit(repo, {"alembic.ini": LEAKY}, "add db config")
    removed = commit(repo, {"alembic.ini": SAFE}, "drop password")
    commit(repo, {"env/alembic.ini": LEAKY2}, "second")

    status, out, err = audit(capsys)

    assert status == 1
    assert "postgresql://app:***@db/app (password in URL;" in out
    assert f"first added: {added[:12]} " in out
    assert f"removed in: {removed[:12]} " in out
    assert "(still in history)" in out
    assert "still present at HEAD" in out
    assert "env/alembic.ini:2:" in out
    assert "in ref tips: refs/heads/main" in out
    assert "audited 3 commit(s)" in err


def test_clean_history(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, {"alembic.ini": SAFE}, "safe")
    status, out, err = audit(capsys)
    assert (status, out) == (0, "")
    assert "0 credential(s)" in err


def _deleted(repo: Path) -> str:
    first = commit(repo, {"old/alembic.ini": LEAKY}, "add")
    commit(repo, {"old/alembic.ini": None}, "delete")
    return first


def _renamed(repo: Path) -> str:
    commit(repo, {"a.ini": SAFE}, "start")
    (repo / "a.ini").write_text(LEAKY)
    git(repo, "add", "a.ini")
    git(repo, "mv", "a.ini", "b.ini")
    git(repo, "commit", "-q", "-m", "rename and edit")
    return git(repo, "rev-parse", "HEAD").strip()


def _copied(repo: Path) -> str:
    first = commit(repo, {"a.txt": LEAKY}, "not a candidate name")
    copy = commit(repo, {"copy/alembic.ini": LEAKY}, "copy")
    assert first != copy
    return copy


def _other_branch(repo: Path) -> str:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "topic")
    found = commit(repo, {"alembic.ini": LEAKY}, "on topic")
    git(repo, "checkout", "-q", "main")
    return found


def _tag_only(repo: Path) -> str:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "gone")
    found = commit(repo, {"alembic.ini": LEAKY}, "tagged")
    git(repo, "tag", "lightweight")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "gone")
    return found


def _orphan(repo: Path) -> str:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "--orphan", "pages")
    git(repo, "rm", "-rq", "--cached", ".")
    found = commit(
        repo, {"site.cfg": LEAKY.replace("[alembic]", "[db]")}, "orphan"
    )
    git(repo, "checkout", "-q", "-f", "main")
    return found


def _remote_tracking(repo: Path) -> str:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "tmp")
    found = commit(repo, {"alembic.ini": LEAKY}, "fetched")
    git(repo, "update-ref", "refs/remotes/origin/tmp", found)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "tmp")
    return found


def _stash(repo: Path) -> str:
    commit(repo, {"alembic.ini": SAFE}, "start")
    (repo / "alembic.ini").write_text(LEAKY)
    git(repo, "stash", "-q")
    (repo / "alembic.ini").write_text(LEAKY2)
    git(repo, "stash", "-q")
    return git(repo, "rev-parse", "stash@{1}").strip()


def _pyproject_and_env(repo: Path) -> str:
    return commit(
        repo,
        {
            "migrations/env.py": (
                "URL = 'postgresql://app:" + PASSWORD + "@db/app'\n"
            )
        },
        "env.py",
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_deleted, id="deleted-later"),
        pytest.param(_renamed, id="renamed"),
        pytest.param(_copied, id="copied"),
        pytest.param(_other_branch, id="other-branch"),
        pytest.param(_tag_only, id="tag-only"),
        pytest.param(_orphan, id="orphan-branch"),
        pytest.param(_remote_tracking, id="remote-tracking-ref"),
        pytest.param(_stash, id="older-stash-entry"),
        pytest.param(_pyproject_and_env, id="env-py"),
    ],
)
def test_found_wherever_it_hides(
    repo: Path, capsys: pytest.CaptureFixture[str], build: Any
) -> None:
    expected = build(repo)
    status, doc, _ = report(capsys)
    assert status == 1
    firsts = {c["first_commit"]["commit"] for c in doc["credentials"]}
    assert expected in firsts


def test_credential_only_in_merge_result(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": SAFE, "README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, {"side.txt": "s\n"}, "side work")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"main.txt": "m\n"}, "main work")
    git(repo, "merge", "-q", "--no-commit", "--no-ff", "side")
    merged = LEAKY.replace(PASSWORD, "Merge-only-pw9")
    (repo / "alembic.ini").write_text(merged)
    git(repo, "add", "alembic.ini")
    git(repo, "commit", "-q", "-m", "merge side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    assert len(git(repo, "rev-parse", "HEAD^@").split()) == 2

    status, doc, _ = report(capsys)

    assert status == 1
    [cred] = doc["credentials"]
    assert cred["first_commit"]["commit"] == merge
    assert cred["at_head"] is True


def test_merged_side_branch_keeps_its_own_first_commit(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"README": "x\n"}, "start")
    git(repo, "checkout", "-q", "-b", "side")
    side = commit(repo, {"alembic.ini": LEAKY}, "side leak")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"main.txt": "m\n"}, "main work")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "side")
    status, doc, _ = report(capsys)
    assert status == 1
    assert doc["credentials"][0]["first_commit"]["commit"] == side


def test_non_utf8_path_and_content(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = os.fsdecode(b"caf\xe9 dir/na\nme.ini")
    if os.fsencode(name) != b"caf\xe9 dir/na\nme.ini":  # pragma: no cover
        pytest.skip("file system cannot hold the name")
    data = (
        "[alembic]\nsqlalchemy.url = postgresql://app:S0mmer-latin"
        "\xe9@db/app\n"
    ).encode("latin-1")
    found = commit(repo, {name: data}, "latin-1")
    status, doc, _ = report(capsys)
    assert status == 1
    [cred] = doc["credentials"]
    assert cred["first_commit"]["commit"] == found
    assert cred["locations"][0]["line"] == 2
    assert "caf" in cred["locations"][0]["path"]


def test_paths_with_spaces_and_newlines(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = commit(
        repo, {"my configs/line\nbreak/alembic.ini": LEAKY}, "odd names"
    )
    status, out, _ = audit(capsys)
    assert status == 1
    assert "my configs/line\\nbreak/alembic.ini:2:" in out
    assert found[:12] in out


def test_each_blob_scanned_once(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"a/alembic.ini": LEAKY, "b/alembic.ini": LEAKY}, "two")
    commit(repo, {"c/alembic.ini": LEAKY}, "three")
    git(repo, "checkout", "-q", "-b", "again")
    commit(repo, {"d/alembic.ini": LEAKY}, "four")
    status, doc, _ = report(capsys)
    assert status == 1
    assert doc["blobs"] == 1
    [cred] = doc["credentials"]
    assert {p["path"] for p in cred["locations"]} == {
        "a/alembic.ini",
        "b/alembic.ini",
        "c/alembic.ini",
        "d/alembic.ini",
    }


def test_rev_range_limits_commits(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "old leak")
    git(repo, "checkout", "-q", "-b", "topic")
    new = commit(repo, {"prod.ini": LEAKY2}, "new leak")
    status, doc, _ = report(capsys, ".", "main..topic")
    assert status == 1
    [cred] = doc["credentials"]
    assert cred["first_commit"]["commit"] == new
    status, doc, _ = report(capsys, ".", "topic..main")
    assert (status, doc["credentials"]) == (0, [])


def test_allow_list_of_the_work_tree(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(
        repo,
        {
            "alembic.ini": LEAKY,
            "deploy/prod.ini": LEAKY2,
            "tests/fixtures/alembic.ini": LEAKY2.replace("db2", "db3"),
            "setup.cfg": "[alembic-guard]\nallow-hosts = db\n"
            "exclude = tests/*\n",
        },
        "settings",
    )
    status, doc, _ = report(capsys)
    assert status == 1
    assert set(by_host(doc)) == {"db2"}


def test_bare_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = init_repo(tmp_path / "work")
    found = commit(work, {"alembic.ini": LEAKY}, "leak")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    status, doc, _ = report(capsys, str(bare))
    assert status == 1
    cred = doc["credentials"][0]
    assert cred["first_commit"]["commit"] == found
    assert cred["at_head"] is True


def test_bundle_file_cloned_and_removed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = init_repo(tmp_path / "work")
    found = commit(work, {"alembic.ini": LEAKY}, "leak")
    commit(work, {"alembic.ini": SAFE}, "fix")
    bundle = tmp_path / "demo.bundle"
    git(work, "bundle", "create", str(bundle), "--all")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    status, out, err = audit(capsys, str(bundle))

    assert status == 1
    assert f"first added: {found[:12]}" in out
    assert "(still in history)" in out
    assert list(scratch.iterdir()) == []


def test_shallow_clone_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = init_repo(tmp_path / "work")
    commit(work, {"alembic.ini": LEAKY}, "old")
    commit(work, {"alembic.ini": LEAKY + "# edit\n"}, "edit")
    shallow = tmp_path / "shallow"
    git(
        tmp_path, "clone", "-q", "--depth", "1", f"file://{work}", str(shallow)
    )
    status, doc, err = report(capsys, str(shallow))
    assert status == 1
    assert "shallow clone" in err
    assert doc["commits"] == 1


def test_empty_repository(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = audit(capsys)
    assert (status, out) == (0, "")
    assert "empty repository" in err


def test_submodule_not_recursed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inner = init_repo(tmp_path / "inner")
    commit(inner, {"alembic.ini": LEAKY}, "inner leak")
    outer = init_repo(tmp_path / "outer")
    git(
        outer,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(inner),
        "inner",
    )
    git(outer, "commit", "-q", "-m", "submodule")
    status, out, err = audit(capsys, str(outer))
    assert (status, out) == (0, "")
    assert "submodules are not audited" in err


def test_blob_over_limit_skipped_with_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    status, out, err = audit(capsys, "--max-bytes", "10")
    assert (status, out) == (2, "")
    assert "over the 10 byte limit; skipped" in err


def test_not_a_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = audit(capsys, str(tmp_path))
    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert "not a git repository" in err


def test_bad_range(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, {"README": "x\n"}, "start")
    status, out, err = audit(capsys, ".", "nosuch..main")
    assert (status, out) == (2, "")
    assert err.startswith("alembic-guard: .: git log failed")


def test_output_file(
    repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    target = tmp_path / "report.json"
    status, out, _ = audit(capsys, "--format", "json", "--output", str(target))
    assert (status, out) == (1, "")
    assert PASSWORD not in target.read_text()
    assert json.loads(target.read_text())["credentials"]


def test_password_in_commit_message_masked(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, f"add {PASSWORD} for now")
    status, out, _ = audit(capsys)
    assert status == 1
    assert "add *** for now" in out


def test_progress_only_when_enabled(tmp_path: Path) -> None:
    with open(tmp_path / "tty", "w+") as stream:
        Progress(stream, False).show(5, 2, final=True)
        assert stream.tell() == 0
        Progress(stream, True).show(5, 2, final=True)
        shown = Progress(stream, True)
        shown.show(1, 1)
        shown.last = 0.0
        shown.show(3, 1)
        stream.seek(0)
        assert "5 commits, 2 blobs" in stream.read()


def test_no_progress_when_not_a_terminal(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")
    main(["audit"])
    err = capsys.readouterr().err
    assert "\r" not in err
