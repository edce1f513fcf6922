"""``alembic-guard fix`` on INI files: only the value changes.

Inputs that must come out byte for byte unchanged come first, then
(input, expected) pairs. Every case runs in a real git repository and
checks that no password reaches stdout or stderr, that ``scan`` finds
nothing afterwards, and that a second run changes nothing.
"""

from __future__ import annotations

import configparser
import io
import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import commit
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alembic_guard import dotenv
from alembic_guard.cli import main
from alembic_guard.finding import Scrubber
from alembic_guard.rewrite import rewrite
from alembic_guard.settings import Settings

SECRET = "Zq7-hunter2x"
URL = f"postgresql://app:{SECRET}@db.internal:5432/app"
GENERIC_ENV_PY = """\
from alembic import context

config = context.config

url = config.get_main_option("sqlalchemy.url")
"""


def run_fix(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    status = main(["fix", *args])
    out, err = capsys.readouterr()
    return status, out, err


def assert_secret_free(*texts: str, secrets: tuple[str, ...] = ()) -> None:
    for text in texts:
        for secret in (SECRET, *secrets):
            assert secret not in text


UNCHANGED = [
    pytest.param(
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n", id="placeholder"
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = sqlite:///app.db\n", id="sqlite"
    ),
    pytest.param(b"[alembic]\nscript_location = migrations\n", id="no-url"),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
        id="alembic-template-example",
    ),
    pytest.param(
        b"[alembic]\n# postgresql://app:***@db/app\n", id="masked-comment"
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = postgresql://app@db/app\n",
        id="no-password",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = "
        b"postgresql://app:${DB_PASSWORD}@db/app\n",
        id="shell-placeholder",
    ),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("data", UNCHANGED)
def test_unchanged(
    repo: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    (repo / "alembic.ini").write_bytes(data)
    assert run_fix(capsys, "alembic.ini") == (0, "", "")
    assert (repo / "alembic.ini").read_bytes() == data
    assert not (repo / ".env").exists()
    assert not (repo / ".gitignore").exists()


S = SECRET.encode()
FIXED = [
    pytest.param(
        b"[alembic]\n# db_password = " + S + b"\n"
        b"sqlalchemy.url = postgresql://app:" + S + b"@db/app\n",
        b"[alembic]\n# db_password = ***\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="commented-password-option",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = postgresql://app:" + S + b"@db/app\n",
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="simple",
    ),
    pytest.param(
        b"; top comment\r\n[alembic]\r\n\r\n  # keep me\r\n"
        b"script_location = migrations\r\n"
        b"sqlalchemy.url = mysql://app:" + S + b"@db/app\r\n"
        b"\r\n[other]\r\nkey = value\r\n",
        b"; top comment\r\n[alembic]\r\n\r\n  # keep me\r\n"
        b"script_location = migrations\r\n"
        b"sqlalchemy.url = %(DB_URL)s\r\n"
        b"\r\n[other]\r\nkey = value\r\n",
        {"DB_URL": f"mysql://app:{SECRET}@db/app"},
        id="crlf",
    ),
    pytest.param(
        b"[alembic]\rsqlalchemy.url = postgresql://app:"
        + S
        + b"@db/app\r# end\r",
        b"[alembic]\rsqlalchemy.url = %(DB_URL)s\r# end\r",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="cr-only",
    ),
    pytest.param(
        b"\xef\xbb\xbf[alembic]\nsqlalchemy.url = postgresql://app:"
        + S
        + b"@db/app\n",
        b"\xef\xbb\xbf[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="bom",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url: postgresql://app:" + S + b"@db/app   \n",
        b"[alembic]\nsqlalchemy.url: %(DB_URL)s   \n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="colon-delimiter-trailing-space",
    ),
    pytest.param(
        b"[alembic]\n    sqlalchemy.url=postgresql://app:" + S + b"@db/app\n",
        b"[alembic]\n    sqlalchemy.url=%(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="indented-no-spaces",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url =\n    postgresql://app:"
        + S
        + b"@db/app\n    # why\n\n    ?sslmode=require\nnext = 1\n",
        None,
        None,
        id="continuation-with-blank-line-refused",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url =\n    postgresql://app:"
        + S
        + b"@db/app?sslmode=require\n    # why\nnext = 1\n",
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n    # why\nnext = 1\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app?sslmode=require"},
        id="continuation-collapsed-comment-kept",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url =\n    # why\n\n    postgresql://app:"
        + S
        + b"@db/app\nnext = 1\n",
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n    # why\n\nnext = 1\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="comment-inside-continuation-kept",
    ),
    pytest.param(
        b"[DEFAULT]\nsqlalchemy.url = postgresql://app:"
        + S
        + b"@db/app\n[alembic]\n",
        b"[DEFAULT]\nsqlalchemy.url = %(DB_URL_DEFAULT)s\n[alembic]\n",
        {"DB_URL_DEFAULT": f"postgresql://app:{SECRET}@db/app"},
        id="default-section-url",
    ),
    pytest.param(
        b"[DEFAULT]\nbase = postgresql://app:" + S + b"@db\n[alembic]\n"
        b"sqlalchemy.url = %(base)s/app\n",
        b"[DEFAULT]\nbase = postgresql://app:@db\n[alembic]\n"
        b"sqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="default-url-holder-loses-password",
    ),
    pytest.param(
        b"[DEFAULT]\npw = %%" + S + b"%%\n[alembic]\n"
        b"sqlalchemy.url = postgresql://app:%(pw)s@db/app\n",
        b"[DEFAULT]\npw = \n[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:%{SECRET}%@db/app"},
        id="escaped-percent-in-holder",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = postgresql://app:a%%25b"
        + S
        + b"@db/app\n",
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:a%25b{SECRET}@db/app"},
        id="percent-escaped",
    ),
    pytest.param(
        b"[alembic]\nsqlalchemy.url = postgresql://db/app?user=app"
        b"&password=" + S + b"\n",
        b"[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://db/app?user=app&password={SECRET}"},
        id="query-password",
    ),
    pytest.param(
        b"[alembic]\n# sqlalchemy.url = postgresql://app:"
        + S
        + b"@old/app\nsqlalchemy.url = sqlite:///x.db\n",
        b"[alembic]\n# sqlalchemy.url = postgresql://app:***@old/app\n"
        b"sqlalchemy.url = sqlite:///x.db\n",
        {},
        id="commented-out-masked",
    ),
    pytest.param(
        b"[alembic]\ndatabases = engine1, engine2\n\n[engine1]\n"
        b"sqlalchemy.url = postgresql://a:" + S + b"@db/one\n\n"
        b"[engine2]\nsqlalchemy.url = postgresql://b:" + S + b"@db/two\n",
        b"[alembic]\ndatabases = engine1, engine2\n\n[engine1]\n"
        b"sqlalchemy.url = %(DB_URL_ENGINE1)s\n\n"
        b"[engine2]\nsqlalchemy.url = %(DB_URL_ENGINE2)s\n",
        {
            "DB_URL_ENGINE1": f"postgresql://a:{SECRET}@db/one",
            "DB_URL_ENGINE2": f"postgresql://b:{SECRET}@db/two",
        },
        id="multidb",
    ),
    pytest.param(
        b"[DEFAULT]\npw = " + S + b"\n\n[alembic]\n"
        b"sqlalchemy.url = postgresql://app:%(pw)s@db/app\n",
        b"[DEFAULT]\npw = \n\n[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="interpolated-from-default",
    ),
    pytest.param(
        b"[alembic]\nbase = postgresql://app:" + S + b"@db\n"
        b"sqlalchemy.url = %(base)s/app\n",
        b"[alembic]\nbase = %(DB_URL_BASE)s\nsqlalchemy.url = %(DB_URL)s\n",
        {
            "DB_URL_BASE": f"postgresql://app:{SECRET}@db",
            "DB_URL": f"postgresql://app:{SECRET}@db/app",
        },
        id="interpolated-from-own-section",
    ),
    pytest.param(
        b"[alembic]\n# caf\xe9 \xff\nsqlalchemy.url = postgresql://app:"
        + S
        + b"@db/app\n",
        b"[alembic]\n# caf\xe9 \xff\nsqlalchemy.url = %(DB_URL)s\n",
        {"DB_URL": f"postgresql://app:{SECRET}@db/app"},
        id="undecodable-bytes-kept",
    ),
]


@pytest.mark.parametrize(("data", "expected", "env"), FIXED)
def test_fixed(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    data: bytes,
    expected: bytes | None,
    env: dict[str, str] | None,
) -> None:
    ini = repo / "alembic.ini"
    ini.write_bytes(data)
    status, out, err = run_fix(capsys, "alembic.ini")
    assert_secret_free(out, err)
    if expected is None:
        assert status == 2
        assert ini.read_bytes() == data
        return
    assert status == 1, err
    assert ini.read_bytes() == expected
    assert SECRET.encode() not in ini.read_bytes()
    assert "Fixing alembic.ini" in err
    if env:
        env_file = repo / ".env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert dotenv.parse(env_file.read_text()) == env
    else:
        assert not (repo / ".env").exists()
    assert run_fix(capsys, "alembic.ini") == (0, "", "")
    assert main(["scan", "alembic.ini"]) == 0
    assert_secret_free(*capsys.readouterr())


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600])
def test_mode_kept(
    repo: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    ini = repo / "alembic.ini"
    ini.write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    ini.chmod(mode)
    assert run_fix(capsys, "alembic.ini")[0] == 1
    assert stat.S_IMODE(ini.stat().st_mode) == mode
    assert stat.S_IMODE((repo / ".env").stat().st_mode) == 0o600


def test_symlink_target_rewritten(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = repo / "conf" / "real.ini"
    real.parent.mkdir()
    real.write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    (repo / "alembic.ini").symlink_to(real)
    assert run_fix(capsys, "alembic.ini")[0] == 1
    assert (repo / "alembic.ini").is_symlink()
    assert "%(DB_URL)s" in real.read_text()
    assert (repo / "conf" / ".env").exists()


def test_env_file_appended_not_clobbered(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".env").write_text("# mine\nOTHER='x'\nLAST=1")
    (repo / ".env").chmod(0o644)
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    status, out, err = run_fix(capsys, "alembic.ini")
    assert status == 1
    assert_secret_free(out, err)
    assert (repo / ".env").read_text() == (
        f"# mine\nOTHER='x'\nLAST=1\nDB_URL='{URL}'\n"
    )
    assert stat.S_IMODE((repo / ".env").stat().st_mode) == 0o600


def test_env_file_same_value_kept(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".env").write_text(f'export DB_URL="{URL}"\n')
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    status, _, err = run_fix(capsys, "alembic.ini")
    assert status == 1
    assert "Fixing .env" not in err
    assert (repo / ".env").read_text() == f'export DB_URL="{URL}"\n'


def test_env_file_conflict_changes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "postgresql://app:0ther-s3cret@elsewhere/app"
    (repo / ".env").write_text(f"DB_URL='{other}'\n")
    data = f"[alembic]\nsqlalchemy.url = {URL}\n"
    (repo / "alembic.ini").write_text(data)
    status, out, err = run_fix(capsys, "alembic.ini")
    assert status == 2
    assert "already sets DB_URL to another value" in err
    assert_secret_free(out, err, secrets=("0ther-s3cret",))
    assert (repo / "alembic.ini").read_text() == data
    assert (repo / ".env").read_text() == f"DB_URL='{other}'\n"
    assert not (repo / ".gitignore").exists()


def test_env_file_option(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    (repo / "secrets").mkdir()
    status, _, err = run_fix(
        capsys, "--env-file", "secrets/db.env", "alembic.ini"
    )
    assert status == 1, err
    assert dotenv.parse((repo / "secrets" / "db.env").read_text()) == {
        "DB_URL": URL
    }
    assert (repo / "secrets" / ".gitignore").read_text() == "/db.env\n"
    assert not (repo / ".env").exists()


def test_placeholder_option(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    assert run_fix(capsys, "--placeholder", "APP_DB", "alembic.ini")[0] == 1
    assert (repo / "alembic.ini").read_text() == (
        "[alembic]\nsqlalchemy.url = %(APP_DB)s\n"
    )
    assert dotenv.parse((repo / ".env").read_text()) == {"APP_DB": URL}


def test_main_section_option(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(
        f"[prod]\nsqlalchemy.url = {URL}\n[alembic]\nx = 1\n"
    )
    assert run_fix(capsys, "-n", "prod", "alembic.ini")[0] == 1
    assert "sqlalchemy.url = %(DB_URL)s" in (repo / "alembic.ini").read_text()


def test_gitignore_appended(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".gitignore").write_bytes(b"*.pyc\r\nbuild/")
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    assert run_fix(capsys, "alembic.ini")[0] == 1
    assert (repo / ".gitignore").read_bytes() == (
        b"*.pyc\r\nbuild/\r\n/.env\r\n"
    )
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=repo, check=False
    )
    assert ignored.returncode == 0


def test_gitignore_left_when_ignored(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".gitignore").write_text(".env*\n")
    (repo / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    _, _, err = run_fix(capsys, "alembic.ini")
    assert (repo / ".gitignore").read_text() == ".env*\n"
    assert "Fixing .gitignore" not in err


def test_outside_git(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nsqlalchemy.url = {URL}\n"
    )
    status, _, err = run_fix(capsys, "alembic.ini")
    assert status == 1
    assert "not in a git repository" in err
    assert (tmp_path / ".gitignore").read_text() == "/.env\n"


def test_folder_argument(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "db").mkdir()
    (repo / "db" / "alembic.ini").write_text(
        f"[alembic]\nsqlalchemy.url = {URL}\n"
    )
    (repo / "db" / "env.py").write_text(f'URL = "{URL}"\n')
    status, out, err = run_fix(capsys)
    assert status == 1
    assert_secret_free(out, err)
    assert (repo / "db" / ".env").exists()
    assert SECRET in (repo / "db" / "env.py").read_text()


def test_two_files_one_env(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.ini", "b.ini"):
        (repo / name).write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    assert run_fix(capsys, "a.ini", "b.ini")[0] == 1
    assert (repo / ".env").read_text() == f"DB_URL='{URL}'\n"


ERRORS = [
    pytest.param(
        ["missing.ini"], "missing.ini: no such file", id="missing-file"
    ),
    pytest.param(
        ["--placeholder", "1BAD", "alembic.ini"],
        "is not a valid variable name",
        id="bad-placeholder",
    ),
    pytest.param(
        ["--placeholder", "ONE", "two.ini"],
        "--placeholder names one placeholder",
        id="placeholder-2",
    ),
    pytest.param(["dup.ini"], "appears twice", id="duplicate-section"),
    pytest.param(
        ["unknown.ini"], "cannot work out the URL", id="unresolved-reference"
    ),
    pytest.param(
        ["taken.ini"], "already has an option db_url", id="name-taken"
    ),
    pytest.param(
        ["clash.ini", "alembic.ini"],
        "two different URLs",
        id="same-name-two-urls",
    ),
    pytest.param(["binary.ini"], "binary content", id="binary"),
    pytest.param(
        ["twins.ini"],
        "[engine-1] sqlalchemy.url and [engine_1] "
        "sqlalchemy.url would both become %(DB_URL_ENGINE_1)s",
        id="two-sections-one-name",
    ),
    pytest.param(
        ["logging.ini"],
        "[handler_db] args: logging configuration; fix it by hand",
        id="logging-section",
    ),
]


@pytest.mark.parametrize(("args", "message"), ERRORS)
def test_errors_change_nothing(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    files = {
        "alembic.ini": f"[alembic]\nsqlalchemy.url = {URL}\n",
        "two.ini": f"[a]\nsqlalchemy.url = {URL}\n[b]\nx.url = {URL}\n",
        "dup.ini": f"[alembic]\nsqlalchemy.url = {URL}\n[alembic]\n",
        "unknown.ini": f"[alembic]\nsqlalchemy.url = {URL}/%(nope)s\n",
        "taken.ini": f"[alembic]\ndb_url = 1\nsqlalchemy.url = {URL}\n",
        "clash.ini": f"[alembic]\nsqlalchemy.url = {URL}2\n",
        "binary.ini": f"[alembic]\nsqlalchemy.url = {URL}\n\0",
        "twins.ini": f"[engine-1]\nsqlalchemy.url = {URL}\n"
        f"[engine_1]\nsqlalchemy.url = {URL}\n",
        "logging.ini": f"[handler_db]\nargs = ('{URL}',)\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)
    status, out, err = run_fix(capsys, *args)
    assert status == 2
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert_secret_free(out, err)
    for name, text in files.items():
        assert (repo / name).read_text() == text
    assert sorted(os.listdir(repo)) == sorted([".git", *files])


def test_not_an_ini_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "env.py").write_text(f'URL = "{URL}"\n')
    status, out, err = run_fix(capsys, "env.py")
    assert status == 0
    assert "not an INI file" in err
    assert_secret_free(out, err)


PASSWORDS = st.text(
    st.characters(min_codepoint=32, max_codepoint=126), min_size=8, max_size=24
)


@settings(max_examples=150, deadline=None)
@given(
    password=PASSWORDS,
    delimiter=st.sampled_from(["=", " = ", ": "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_rewrite_property(password: str, delimiter: str, newline: str) -> None:
    """Whatever the password, the fixed text holds none of it, reads
    with configparser, and gives back the same URL through DB_URL."""
    url = f"postgresql://app:{quote(password, safe='')}@db/app"
    text = newline.join(
        [
            "[alembic]",
            "# keep",
            f"sqlalchemy.url{delimiter}" + url.replace("%", "%%"),
            "x = 1",
            "",
        ]
    )
    done = rewrite(text, "alembic.ini", "alembic", Settings(), Scrubber())
    if not done.edits:
        assume(False)
    assert [p.url for p in done.placeholders] == [url]
    assert done.text == text.replace(url.replace("%", "%%"), "%(DB_URL)s")
    parser = configparser.ConfigParser()
    # Universal newlines, as Alembic's open() reads a CR-only file.
    parser.read_file(io.StringIO(done.text, newline=None))
    parser.set("alembic", "DB_URL", url.replace("%", "%%"))
    assert parser.get("alembic", "sqlalchemy.url") == url


def test_tracked_env_file_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {".env": "DEBUG=1\n"}, "env")
    data = f"[alembic]\nsqlalchemy.url = {URL}\n"
    (repo / "alembic.ini").write_text(data)
    status, out, err = run_fix(capsys, "alembic.ini")
    assert status == 2
    assert ".env is tracked by git" in err
    assert_secret_free(out, err)
    assert (repo / "alembic.ini").read_text() == data
    assert (repo / ".env").read_text() == "DEBUG=1\n"
