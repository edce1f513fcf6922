"""The README stays true to the hooks we ship and the CI we run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(?:sh|shell|bash|console)?\n(.*?)^```", re.M | re.S)


def hook_ids() -> list[str]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return [hook["id"] for hook in hooks]


def shell_lines() -> list[str]:
    return [
        line.strip()
        for block in FENCE.findall(README)
        for line in block.splitlines()
        if line.strip()
    ]


def test_every_hook_id_is_documented() -> None:
    ids = hook_ids()
    assert "alembic-guard" in ids
    for hook_id in ids:
        # "id: alembic-guard" must not be satisfied by a longer id.
        pattern = rf"\bid: {re.escape(hook_id)}(?![\w-])"
        assert re.search(pattern, README), f"{hook_id} not in README"


def test_ci_runs_the_readme_test_command() -> None:
    commands = [
        line
        for line in shell_lines()
        if "pytest" in line and "pip install" in line
    ]
    assert len(commands) == 1, commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[0] in [
        line.strip() for line in ci if not line.lstrip().startswith("#")
    ]


def test_quick_start_has_two_commands() -> None:
    start = README.index("## Quick start")
    end = README.find("\n## ", start + 1)
    section = README[start : end if end >= 0 else None]
    blocks = FENCE.findall(section)
    assert len(blocks) == 2
    assert all(len(b.strip().splitlines()) == 1 for b in blocks)
