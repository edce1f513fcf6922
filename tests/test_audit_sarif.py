"""SARIF output against the official schema, and the purge file run
through the real ``git filter-repo``."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import IDENTITY, commit, git

from alembic_guard.cli import main

DATA = Path(__file__).resolve().parent / "data"
PASSWORD = "S4rif-purge-pw"
SHORT = "abc"
LEAKY = f"[alembic]\nsqlalchemy.url = postgresql://app:{PASSWORD}@db/app\n"
TRICKY = (
    "[alembic]\n"
    f"sqlalchemy.url = postgresql://{SHORT}:{SHORT}@db/abc\n"
    "# abc is also an ordinary word here\n"
)
ARROW = "[db]\nurl = postgresql://arr:Xy==>z9@db/app\n"
ODBC = (
    "[alembic]\nsqlalchemy.url = mssql+pyodbc:///?odbc_connect="
    "DRIVER%%3D{ODBC}%%3BPWD%%3DS3cret%%3D%%3D%%3E%%3B\n"
)


def run_audit(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    status = main(["audit", "--quiet", *args])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return status, out, err


def sarif(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    status, out, _ = run_audit(capsys, "--format", "sarif")
    assert status == 1
    document: dict[str, Any] = json.loads(out)
    return document


def test_sarif_validates_against_official_schema(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    first = commit(
        repo, {"db/alembic.ini": LEAKY, "space dir/x.ini": LEAKY}, "leak"
    )
    commit(repo, {"db/alembic.ini": "[alembic]\n"}, "remove")

    document = sarif(capsys)

    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "alembic-guard" and driver["informationUri"]
    for rule in driver["rules"]:
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
    uris = set()
    for result in run["results"]:
        assert result["level"] == "error"
        assert "***" in result["message"]["text"]
        assert result["properties"]["commit"] == first
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        uris.add(location["artifactLocation"]["uri"])
        assert location["region"]["startLine"] == 2
    assert uris == {"db/alembic.ini", "space%20dir/x.ini"}


def test_partial_fingerprints_stable(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"alembic.ini": LEAKY}, "leak")

    def prints() -> list[dict[str, str]]:
        return [
            r["partialFingerprints"]
            for r in sarif(capsys)["runs"][0]["results"]
        ]

    before = prints()
    commit(repo, {"README": "x\n", "other.ini": "[a]\n"}, "later work")
    assert prints() == before
    assert len(before) == 1


def test_empty_sarif_still_valid(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    status, out, _ = run_audit(capsys, "--format", "sarif")
    assert status == 0
    document = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(document)
    assert document["runs"][0]["results"] == []


def filter_repo(clone: Path, expressions: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY, GIT_CONFIG_NOSYSTEM="1", HOME=str(clone.parent))
    tool = shutil.which("git-filter-repo")
    assert tool is not None, "git-filter-repo is not installed"
    proc = subprocess.run(
        [tool, "--replace-text", str(expressions), "--force"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout.decode(errors="replace")


def test_purge_round_trip(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(
        repo,
        {
            "alembic.ini": LEAKY,
            "notes/abc.ini": TRICKY,
            "mssql.ini": ODBC,
            "arrow.cfg": ARROW,
        },
        "leaks",
    )
    commit(repo, {"alembic.ini": "[alembic]\n"}, "remove")
    git(repo, "checkout", "-q", "-b", "old")
    commit(
        repo,
        {"deploy/env.py": f"URL = 'postgresql://app:{PASSWORD}@db/app'\n"},
        "env.py",
    )
    git(repo, "checkout", "-q", "main")
    purge = tmp_path / "purge.txt"

    status, _, err = run_audit(capsys, "--purge-file", str(purge))

    assert status == 1
    assert stat.S_IMODE(purge.stat().st_mode) == 0o600
    assert "holds the passwords" in err and str(purge) in err
    clone = tmp_path / "clone"
    git(
        tmp_path,
        "clone",
        "-q",
        "--no-local",
        "--mirror",
        str(repo),
        str(clone),
    )
    filter_repo(clone, purge)
    status, out, err = run_audit(capsys, str(clone))
    assert (status, out) == (0, ""), err
    history = git(clone, "log", "-p", "--all")
    assert PASSWORD not in history and "S3cret" not in history
    assert "Xy==>z9" not in history
    assert "abc is also an ordinary word" in history


def test_purge_file_replaces_existing_mode(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    purge = tmp_path / "purge.txt"
    purge.write_text("old\n")
    purge.chmod(0o644)
    commit(repo, {"alembic.ini": "[alembic]\n"}, "clean")
    status, _, _ = run_audit(capsys, "--purge-file", str(purge))
    assert status == 0
    assert stat.S_IMODE(purge.stat().st_mode) == 0o600
    assert purge.read_bytes() == b""


def test_every_rule_has_sarif_metadata(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each rule the detector can report must be described in the SARIF
    # run, or the document cannot name it.
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    commit(
        repo,
        {
            "alembic.ini": "[alembic]\ndb_password = Opt-S4rif-pw\n",
            "env.py": 'DB_PASSWORD = "Py-S4rif-pw"\n',
        },
        "two new rules",
    )
    document = sarif(capsys)
    jsonschema.validate(document, schema)
    ids = {r["ruleId"] for r in document["runs"][0]["results"]}
    assert ids == {"password-option", "python-password"}


def test_purge_of_a_bare_value_keeps_the_same_word_elsewhere(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(
        repo,
        {
            "alembic.ini": "[alembic]\ndb_password = main\n",
            "tool.py": 'def main():\n    return " main"\n',
        },
        "bare password",
    )
    purge = tmp_path / "purge.txt"
    assert main(["audit", "--quiet", "--purge-file", str(purge)]) == 1
    capsys.readouterr()
    lines = purge.read_text().splitlines()
    assert lines == ["literal:db_password = main==>db_password = REDACTED"]
