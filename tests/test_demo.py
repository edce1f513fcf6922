"""The bundled demo project: what the README's Quick start shows."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest
from conftest import git

from alembic_guard import files
from alembic_guard.cli import main
from alembic_guard.detect import scan_text
from alembic_guard.finding import Scrubber

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
DEMO = FIXTURES / "demo"
BUNDLE = FIXTURES / "demo.bundle"


def _make_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_demo", FIXTURES / "make_demo.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_demo = _make_demo()


def assert_no_password(*outputs: str) -> None:
    for password in make_demo.PASSWORDS:
        for output in outputs:
            assert password not in output, "a demo password was printed"


def scan_json(
    path: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, object]], str]:
    code = main(["scan", "--format", "json", path])
    out, err = capsys.readouterr()
    assert_no_password(out, err)
    return code, json.loads(out)["findings"], err


def test_quick_start_reports_the_current_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's command, verbatim, from the top of the repository.
    monkeypatch.chdir(ROOT)
    code = main(["scan", "fixtures/demo"])
    out, err = capsys.readouterr()
    assert_no_password(out, err)
    assert code == 1, (
        "alembic-guard scan fixtures/demo found nothing from the top of "
        "the repository: is fixtures/* excluded in setup.cfg?"
    )
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fixtures/demo/alembic.ini:8:")
    assert "[alembic] sqlalchemy.url" in lines[0]
    assert "inventory:***@db.internal.example:5432" in lines[0]


def test_demo_findings_in_detail(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # From outside the project, so no repository settings apply.
    monkeypatch.chdir(tmp_path)
    code, found, _ = scan_json(str(DEMO), capsys)
    assert code == 1
    assert [
        (f["path"], f["line"], f["section"], f["key"], f["rule"], f["context"])
        for f in found
    ] == [
        (
            str(DEMO / "alembic.ini"),
            8,
            "alembic",
            "sqlalchemy.url",
            "userinfo-password",
            "value",
        )
    ]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("alembic.ini.example", id="placeholder-password"),
        pytest.param("alembic/env.py", id="password-removed-from-env-py"),
        pytest.param("pyproject.toml", id="no-url"),
    ],
)
def test_demo_files_that_must_stay_clean(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, found, _ = scan_json(str(DEMO / name), capsys)
    assert (code, found) == (0, [])


def test_regenerating_gives_the_same_commits_and_files(tmp_path: Path) -> None:
    assert make_demo.main(["--out", str(tmp_path)]) == 0
    heads = git(tmp_path, "bundle", "list-heads", str(BUNDLE))
    assert heads == git(
        tmp_path, "bundle", "list-heads", str(tmp_path / "demo.bundle")
    )
    assert "refs/heads/main" in heads
    assert _tree(tmp_path / "demo") == _tree(DEMO)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_history_holds_the_old_password(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(BUNDLE), str(clone))
    found = _history_findings(clone)
    assert sorted({(path, rule) for path, rule, _ in found}) == [
        ("alembic.ini", "userinfo-password"),
        ("alembic/env.py", "python"),
    ]
    # Two different credentials: the one still in alembic.ini and the
    # one only the history keeps.
    assert len({fp for _, _, fp in found}) == 2
    old = make_demo.OLD_PASSWORD.encode()
    assert all(old not in data for data in _tree(DEMO).values())


def _history_findings(clone: Path) -> set[tuple[str, str, str]]:
    """(path, rule or context, fingerprint) in every commit."""
    found = set()
    for commit in git(clone, "rev-list", "--all").split():
        names = git(clone, "ls-tree", "-r", "-z", "--name-only", commit)
        for name in filter(files.is_candidate, names.split("\0")):
            text = git(clone, "show", f"{commit}:{name}")
            result = scan_text(text, name, Scrubber())
            for f in result.findings:
                label = f.context if f.context == "python" else f.rule
                found.add((name, label, f.fingerprint))
    return found


def test_audit_of_the_bundle(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The README's second command, once the audit exists.
    pytest.importorskip("alembic_guard.audit")
    monkeypatch.chdir(tmp_path)
    code = main(["audit", str(BUNDLE)])
    out, err = capsys.readouterr()
    assert_no_password(out, err)
    assert code == 1
    assert "alembic/env.py" in out
    assert "alembic.ini" in out


def test_demo_tree_has_no_git_folder() -> None:
    assert not (DEMO / ".git").exists()
    assert os.path.isfile(BUNDLE)
