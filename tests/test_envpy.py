"""Wiring env.py: every Alembic template, hand-edited files left alone,
and env.py found through each form of ``script_location``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config

from alembic_guard import envpy, ini
from alembic_guard.cli import main

TEMPLATES = ["generic", "async", "multidb", "pyproject", "pyproject_async"]
PAIRS = [("alembic", "DB_URL")]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("templates")
    for name in TEMPLATES:
        (root / name).mkdir()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "init",
                "-t",
                name,
                "migrations",
            ],
            cwd=root / name,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return root


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template(templates: Path, template: str) -> None:
    text = (templates / template / "migrations" / "env.py").read_text()
    wired = envpy.wire(text, PAIRS)
    assert wired.problem is None
    assert wired.text is not None
    compile(wired.text, "env.py", "exec")
    before, _, after = wired.text.partition(envpy.BEGIN)
    assert before.endswith("config = context.config\n")
    assert wired.text.replace(envpy.block(PAIRS), "") == text
    assert envpy.wire(wired.text, PAIRS) == (None, None)


def test_block_adds_new_pairs(templates: Path) -> None:
    text = (templates / "multidb" / "migrations" / "env.py").read_text()
    one = envpy.wire(text, [("engine1", "DB_URL_ENGINE1")]).text
    assert one is not None
    both = envpy.wire(
        one, [("engine2", "DB_URL_ENGINE2"), ("engine1", "DB_URL_ENGINE1")]
    ).text
    assert both is not None
    assert both.count(envpy.BEGIN) == 1
    assert both == text.replace(
        "config = context.config\n",
        "config = context.config\n"
        + envpy.block(
            [("engine1", "DB_URL_ENGINE1"), ("engine2", "DB_URL_ENGINE2")]
        ),
    )


def test_crlf_kept() -> None:
    text = "from alembic import context\r\nconfig = context.config\r\nx=1"
    wired = envpy.wire(text, PAIRS).text
    assert wired is not None
    assert "\n" not in wired.replace("\r\n", "")


HAND_EDITED = [
    pytest.param(
        'config.set_main_option("sqlalchemy.url", URL)\n',
        "sets sqlalchemy.url itself",
        id="set-main-option",
    ),
    pytest.param(
        "config.set_section_option(\n    'a', 'sqlalchemy.url', u)",
        "sets sqlalchemy.url itself",
        id="set-section-option",
    ),
    pytest.param(
        'url = os.environ["DATABASE_URL"]\n',
        "reads a URL from the environment",
        id="environ",
    ),
    pytest.param(
        'url = os.getenv("DB_URL", "sqlite://")\n',
        "reads a URL from the environment",
        id="getenv",
    ),
    pytest.param(
        "engine = create_engine(settings.dsn)\n",
        "builds its engine without the config",
        id="create-engine",
    ),
    pytest.param(
        "engine = create_async_engine(dsn)\n",
        "builds its engine without the config",
        id="create-async-engine",
    ),
]


@pytest.mark.parametrize(("extra", "reason"), HAND_EDITED)
def test_hand_edited_left_alone(
    templates: Path, extra: str, reason: str
) -> None:
    text = (templates / "generic" / "migrations" / "env.py").read_text()
    assert envpy.wire(text + extra, PAIRS) == (None, f"it {reason}")


def test_commented_other_way_is_not_code(templates: Path) -> None:
    text = (templates / "generic" / "migrations" / "env.py").read_text()
    extra = '# url = os.environ["DATABASE_URL"]\n'
    assert envpy.wire(text + extra, PAIRS).text is not None


def test_no_config_line() -> None:
    assert envpy.wire("import os\n", PAIRS) == (
        None,
        "it has no line 'config = context.config'",
    )


def test_block_runs_with_real_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alembic.ini"
    path.write_text(
        "[alembic]\nsqlalchemy.url = %(DB_URL)s\n"
        "[engine1]\nsqlalchemy.url = %(DB_URL_ENGINE1)s\n"
    )
    config = Config(str(path))
    pairs = [("alembic", "DB_URL"), ("engine1", "DB_URL_ENGINE1")]
    code = compile(envpy.block(pairs), "env.py", "exec")
    url = "postgresql://app:p%25%40ss@db/app"
    monkeypatch.setenv("DB_URL", url)
    monkeypatch.delenv("DB_URL_ENGINE1", raising=False)
    with pytest.raises(SystemExit) as stop:
        exec(code, {"config": config})
    assert "DB_URL_ENGINE1" in str(stop.value)
    assert url not in str(stop.value)

    monkeypatch.setenv("DB_URL_ENGINE1", url + "2")
    exec(code, {"config": config})
    assert config.get_main_option("sqlalchemy.url") == url
    assert config.get_section_option("engine1", "sqlalchemy.url") == (
        url + "2"
    )


def _doc(text: str) -> ini.Document:
    return ini.read(text)


def test_locate_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    for folder in ("migrations", "pkg/sub/scripts"):
        (project / folder).mkdir(parents=True)
        (project / folder / "env.py").write_text("")
    for init in ("pkg/__init__.py", "pkg/sub/__init__.py"):
        (project / init).write_text("raise SystemExit('imported')\n")
    monkeypatch.chdir(tmp_path)
    path = str(project / "alembic.ini")
    env = str(project / "migrations" / "env.py")
    for location in (
        "migrations",
        "%(here)s/migrations",
        str(project / "migrations"),
    ):
        doc = _doc(f"[alembic]\nscript_location = {location}\n")
        assert envpy.locate(path, doc, "alembic") == (env, "")
    doc = _doc("[alembic]\nscript_location = pkg.sub:scripts\n")
    assert envpy.locate(path, doc, "alembic") == (
        str(project / "pkg" / "sub" / "scripts" / "env.py"),
        "",
    )
    doc = _doc("[other]\nscript_location = migrations\n[alembic]\n")
    assert envpy.locate(path, doc, "other")[0] == env


def test_locate_pyproject(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "env.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
    )
    found = envpy.locate(
        str(tmp_path / "alembic.ini"), _doc("[alembic]\n"), "alembic"
    )
    assert found == (str(tmp_path / "migrations" / "env.py"), "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("[alembic]\n", "no script_location", id="none"),
        pytest.param(
            "[alembic]\nscript_location = nowhere\n",
            "'nowhere' was not found",
            id="missing-folder",
        ),
        pytest.param(
            "[alembic]\nscript_location = nopkg_zz:x\n",
            "'nopkg_zz:x' was not found",
            id="missing-package",
        ),
        pytest.param(
            "[alembic]\nscript_location = empty\n",
            "does not exist",
            id="no-env-py",
        ),
    ],
)
def test_locate_failures(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "empty").mkdir()
    env, why = envpy.locate(
        str(tmp_path / "alembic.ini"), _doc(text), "alembic"
    )
    assert env is None
    assert reason in why


def test_fix_prints_block_for_hand_edited(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "Hn4-handmade"
    (repo / "migrations").mkdir()
    env_py = (
        "from alembic import context\nimport os\n"
        "config = context.config\n"
        "config.set_main_option('sqlalchemy.url',"
        " os.environ['DATABASE_URL'])\n"
    )
    (repo / "migrations" / "env.py").write_text(env_py)
    (repo / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n"
        f"sqlalchemy.url = postgresql://app:{secret}@db/app\n"
    )
    assert main(["fix", "alembic.ini"]) == 1
    out, err = capsys.readouterr()
    assert secret not in out + err
    assert out.startswith(
        "migrations/env.py: not changed, it sets sqlalchemy.url itself.\n"
    )
    assert envpy.block(PAIRS) in out
    assert (repo / "migrations" / "env.py").read_text() == env_py
    assert "%(DB_URL)s" in (repo / "alembic.ini").read_text()
    assert main(["fix", "alembic.ini"]) == 0


def test_fix_without_env_py(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(
        "[alembic]\nsqlalchemy.url = postgresql://app:Qw3-nowhere@db/a\n"
    )
    assert main(["fix", "alembic.ini"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "alembic.ini: env.py not found (no "
        "script_location in the INI or pyproject.toml)"
    )
    assert envpy.BEGIN in out
