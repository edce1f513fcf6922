"""``alembic-guard scan`` as a command: exit codes, formats, messages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alembic_guard.cli import main

PASSWORD = "s3cr3t-Cli-pw"
URL = f"postgresql://app:{PASSWORD}@db.example:5432/app"
MASKED = "postgresql://app:***@db.example:5432/app"

# (file name, content, expected line) for each place a password hides.
LEAKS = [
    pytest.param(
        "alembic.ini",
        f"[alembic]\nsqlalchemy.url = {URL}\n",
        2,
        id="ini-value",
    ),
    pytest.param(
        "alembic.ini",
        f"[alembic]\n# sqlalchemy.url = {URL}\nsqlalchemy.url = %(DB_URL)s\n",
        2,
        id="ini-comment",
    ),
    pytest.param(
        "alembic.ini",
        f"[DEFAULT]\npw = {PASSWORD}\n[alembic]\nsqlalchemy.url ="
        " postgresql://app:%(pw)s@db/app\n",
        2,
        id="ini-default-interpolation",
    ),
    pytest.param(
        "alembic.ini",
        "[engine1]\nsqlalchemy.url = mssql+pyodbc://db/app?"
        f"driver=x&password={PASSWORD}\n",
        2,
        id="query-password",
    ),
    pytest.param(
        "env.py",
        "from sqlalchemy import create_engine\n"
        f"engine = create_engine({URL!r})\n",
        2,
        id="env-py",
    ),
    pytest.param(
        "setup.cfg", f"[db]\nurl:\n    {URL}\n", 3, id="continuation"
    ),
]
CLEAN = [
    pytest.param(
        "alembic.ini",
        "[alembic]\nsqlalchemy.url = %(DB_URL)s\n",
        id="placeholder",
    ),
    pytest.param(
        "alembic.ini",
        "[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
        id="template",
    ),
    pytest.param(
        "alembic.ini", "[alembic]\nsqlalchemy.url = sqlite:///a\n", id="sqlite"
    ),
    pytest.param("env.py", "url = os.environ['DB_URL']\n", id="env-py"),
]
TEXT_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<where>.*?): "
    r"(?P<rule>[^:]+): (?P<url>.*) \((?P<hint>.+); "
    r"fingerprint (?P<fp>[0-9a-f]{16})\)$"
)
JSON_KEYS = {
    "path",
    "line",
    "column",
    "section",
    "key",
    "rule",
    "redacted",
    "fingerprint",
}


def scan(
    tmp_path: Path, name: str, content: str, *args: str
) -> tuple[Path, list[str]]:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path, ["scan", *args, str(path)]


@pytest.mark.parametrize("name, content, line", LEAKS)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_leak_found_and_masked(
    tmp_path: Path,
    name: str,
    content: str,
    line: int,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, argv = scan(tmp_path, name, content, "--format", fmt)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert "***" in out
    if fmt == "json":
        findings = json.loads(out)["findings"]
        assert [f["line"] for f in findings] == [line]
    else:
        assert out.startswith(f"{path}:{line}:")
        assert out.count("\n") == 1


@pytest.mark.parametrize("name, content", CLEAN)
def test_clean_is_quiet(
    tmp_path: Path, name: str, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, argv = scan(tmp_path, name, content)
    assert main(argv) == 0
    assert capsys.readouterr() == ("", "")


def test_text_line_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, argv = scan(
        tmp_path, "alembic.ini", f"[alembic]\nsqlalchemy.url = {URL}\n"
    )
    assert main(argv) == 1
    out, err = capsys.readouterr()
    match = TEXT_LINE.match(out.rstrip("\n"))
    assert match is not None, out
    assert match["path"] == str(path)
    assert (match["line"], match["col"]) == (
        "2",
        str(len("sqlalchemy.url = postgresql://app:") + 1),
    )
    assert match["where"] == "[alembic] sqlalchemy.url"
    assert match["rule"] == "password in URL"
    assert match["url"] == MASKED
    assert "%(DB_URL)s" in match["hint"]
    assert "1 database password in 1 file" in err
    assert "allow-fingerprints" in err


def test_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, argv = scan(
        tmp_path,
        "alembic.ini",
        f"[alembic]\nsqlalchemy.url = {URL}\n",
        "--format",
        "json",
    )
    assert main(argv) == 1
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert set(document) == {"findings", "advice"}
    assert document["advice"] == []
    (finding,) = document["findings"]
    assert set(finding) >= JSON_KEYS
    assert finding["path"] == str(path)
    assert (finding["line"], finding["section"], finding["key"]) == (
        2,
        "alembic",
        "sqlalchemy.url",
    )
    assert finding["rule"] == "userinfo-password"
    assert finding["redacted"] == MASKED
    assert re.fullmatch(r"[0-9a-f]{16}", finding["fingerprint"])
    assert err == ""


def test_json_clean_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, argv = scan(tmp_path, "alembic.ini", "[alembic]\n", "--format", "json")
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "findings": [],
        "advice": [],
    }


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("${DATABASE_URL}", id="braced"),
        pytest.param("$DATABASE_URL", id="bare"),
        pytest.param("postgresql://app:${DB_PASSWORD}@db/app", id="in-url"),
    ],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_shell_variable_advice(
    tmp_path: Path, value: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, argv = scan(
        tmp_path,
        "alembic.ini",
        f"[alembic]\nsqlalchemy.url = {value}\n",
        "--format",
        fmt,
    )
    assert main(argv) == 0
    out, err = capsys.readouterr()
    if fmt == "json":
        document = json.loads(out)
        assert document["findings"] == []
        (advice,) = document["advice"]
        assert advice["path"] == str(path) and advice["line"] == 2
        message = advice["message"]
    else:
        assert out == ""
        assert err.startswith(f"{path}:2:") and "advice:" in err
        message = err
    assert "configparser does not expand" in message
    assert "%(DB_URL)s" in message


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    for code in (
        "0  nothing found",
        "1  a credential was found",
        "2  usage error",
    ):
        assert code in out
    assert "--staged" in out and "--max-bytes" in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["scan", "--format", "xml", "x"], id="bad-format"),
        pytest.param(["scan", "--max-bytes", "lots", "x"], id="bad-max-bytes"),
        pytest.param(["scan", "--max-bytes", "-5", "x"], id="negative"),
        pytest.param(["scan", "--no-such-option"], id="unknown-option"),
    ],
)
def test_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "error:" in err
    assert "Traceback" not in out + err


def test_folder_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak = f"[alembic]\nsqlalchemy.url = {URL}\n"
    for name in (
        "alembic.ini",
        "migrations/env.py",
        "deploy/app.cfg",
        "notes.txt",
        ".venv/lib/x.ini",
        ".git/config.ini",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            leak
            if name.endswith((".ini", ".cfg", ".txt"))
            else f"create_engine({URL!r})\n"
        )
    assert main(["scan", "--format", "json", str(tmp_path)]) == 1
    paths = {
        os.path.relpath(f["path"], tmp_path)
        for f in json.loads(capsys.readouterr().out)["findings"]
    }
    assert paths == {
        "alembic.ini",
        os.path.join("migrations", "env.py"),
        os.path.join("deploy", "app.cfg"),
    }


def test_default_is_current_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nsqlalchemy.url = {URL}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["scan"]) == 1
    assert capsys.readouterr().out.startswith(f".{os.sep}alembic.ini:2:")


@pytest.mark.parametrize(
    "limit, status",
    [
        pytest.param("10", 2, id="over"),
        pytest.param("1000", 1, id="under"),
    ],
)
def test_max_bytes(
    tmp_path: Path, limit: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path, argv = scan(
        tmp_path,
        "alembic.ini",
        f"[alembic]\nsqlalchemy.url = {URL}\n",
        "--max-bytes",
        limit,
    )
    assert main(argv) == status
    out, err = capsys.readouterr()
    if status == 2:
        assert out == ""
        assert err == (
            f"alembic-guard: {path}: {path.stat().st_size} "
            f"bytes, over the 10 byte limit (raise it with "
            f"--max-bytes)\n"
        )


def test_unreadable_input_wins_over_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak, argv = scan(
        tmp_path, "alembic.ini", f"[alembic]\nsqlalchemy.url = {URL}\n"
    )
    missing = tmp_path / "gone.ini"
    assert main([*argv, str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"{leak}:2:")
    assert f"alembic-guard: {missing}: no such file\n" in err
    assert PASSWORD not in out + err


def test_odd_file_names_stay_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak = f"[alembic]\nsqlalchemy.url = {URL}\n".encode()
    folder = os.fsencode(tmp_path)
    for name in (b"new\nline.ini", b"caf\xe9.ini", b"tab\tbell\x07.ini"):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(leak)
    assert main(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(TEXT_LINE.match(line) for line in lines), out
    assert "new\\nline.ini:2:" in out
    assert "caf\ufffd.ini:2:" in out


def test_settings_problem_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "guard.toml").write_text("[tool.alembic-guard\n")
    assert (
        main(["scan", "--config", str(tmp_path / "guard.toml"), str(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid TOML" in err


def leaky_file(tmp_path: Path) -> Path:
    path = tmp_path / "alembic.ini"
    path.write_text(f"[alembic]\nsqlalchemy.url = {URL}\n")
    return path


def console(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        command, cwd=cwd, env=env, check=False, capture_output=True, text=True
    )


def test_python_dash_m(tmp_path: Path) -> None:
    path = leaky_file(tmp_path)
    proc = console(
        sys.executable, "-m", "alembic_guard", "scan", path.name, cwd=tmp_path
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("alembic.ini:2:")
    assert MASKED in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr


def test_console_script(tmp_path: Path) -> None:
    script = shutil.which("alembic-guard")
    assert script is not None, "pip install -e . provides alembic-guard"
    leaky_file(tmp_path)
    proc = console(script, "scan", "--format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"][0]["redacted"] == MASKED
    proc = console(script, "scan", "missing.ini", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "alembic-guard: missing.ini: no such file\n"


def test_binary_file_still_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "alembic.ini"
    path.write_bytes(b"\0\0junk\n" + f"url = {URL}\n".encode())
    assert main(["scan", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}:2:")
    assert f"{path}: binary content (NUL bytes); scanned line by line" in err
    assert PASSWORD not in out + err


def test_too_many_passwords_are_summed_up_not_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        f"url{i} = postgresql://u:Pw-{i:04d}-x@db{i}/app" for i in range(105)
    ]
    path = tmp_path / "many.ini"
    path.write_text("[a]\n" + "\n".join(lines) + "\n")
    assert main(["scan", str(path)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 101
    assert "more passwords, not listed one by one" in out.splitlines()[-1]
    assert "clean it by hand" in out.splitlines()[-1]
    assert "100 database passwords (and more not listed) in 1 file" in err
    assert "Pw-0" not in out + err


@pytest.mark.parametrize(
    ("user", "password", "shown"),
    [
        pytest.param(
            "app",
            "gres",
            "postgresql://app:***@db.prod.example:5432/app",
            id="inside-scheme",
        ),
        pytest.param(
            "app",
            "prod",
            "postgresql://app:***@db.prod.example:5432/app",
            id="inside-host",
        ),
        pytest.param(
            "app",
            "5432",
            "postgresql://app:***@db.prod.example:5432/app",
            id="port",
        ),
        pytest.param(
            "app",
            "alembic",
            "postgresql://app:***@db.prod.example:5432/app",
            id="section-name",
        ),
        pytest.param(
            "postgres",
            "postgres",
            "postgresql://***:***@db.prod.example:5432/app",
            id="user-is-password",
        ),
    ],
)
def test_masking_never_points_at_the_password(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    user: str,
    password: str,
    shown: str,
) -> None:
    # Masking every occurrence would print "post***ql" or "[***]" and so
    # give a short password away; only its own span (and a user name
    # equal to it) is masked.
    path = tmp_path / "alembic.ini"
    path.write_text(
        "[alembic]\nsqlalchemy.url = "
        f"postgresql://{user}:{password}@db.prod.example:5432/app\n"
    )
    assert main(["scan", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"[alembic] sqlalchemy.url: password in URL: {shown} " in out


def test_names_holding_a_password_are_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "[app:***]" or "***_password" would point at the password.
    path = tmp_path / "alembic.ini"
    path.write_text(
        "[app:main]\nsqlalchemy.url = postgresql://app:main@db/app\n"
        "[x]\napp_password = app\n"
    )
    assert main(["scan", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[app:main] sqlalchemy.url: password in URL: " in out
    assert "%(DB_URL_APP_MAIN)s" in out
    assert "[x] app_password: password option: app_password = ***" in out
