"""Every case of the detection corpus through ``alembic-guard scan``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from alembic_guard.cli import main

CASES = Path(__file__).parent / "corpus" / "cases"


def _cases() -> list[pytest.param]:
    params = []
    for case in sorted(CASES.iterdir()):
        inputs = [p for p in case.iterdir() if p.name != "expected.json"]
        assert len(inputs) == 1, case
        expected = json.loads((case / "expected.json").read_text())
        params.append(pytest.param(inputs[0], expected, id=case.name))
    return params


def spellings(secret: str) -> set[str]:
    """The secret as it would appear raw or inside a JSON string."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def test_corpus_is_complete() -> None:
    assert len(_cases()) >= 56


@pytest.mark.parametrize(("path", "expected"), _cases())
def test_corpus_case(
    path: Path,
    expected: dict[str, object],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # A copy outside the project, scanned by bare file name as a user
    # would: the project's own settings (which exclude tests/) and
    # expected.json stay out of reach, as in run_corpus.py.
    shutil.copyfile(path, tmp_path / path.name)
    monkeypatch.chdir(tmp_path)
    status = main(["scan", "--format", "json", path.name])
    out, err = capsys.readouterr()

    assert "Traceback" not in err
    assert status == (1 if expected["flag"] else 0), err
    lines = {f["line"] for f in json.loads(out)["findings"]}
    for want in expected["lines"]:  # type: ignore[attr-defined]
        options = want if isinstance(want, list) else [want]
        assert lines & set(options), (want, sorted(lines))
    for secret in expected["secrets"]:  # type: ignore[attr-defined]
        for form in spellings(secret):
            assert form not in out
            assert form not in err
    assert os.path.basename(str(path)) in out or not expected["flag"]
