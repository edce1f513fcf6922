"""Repository settings: accepting findings on purpose, excluding paths."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import init_repo

from alembic_guard.cli import main
from alembic_guard.settings import BadSettings, Settings, load

PASSWORD = "Pl4in-Settings-pw"
URL = f"postgresql://app:{PASSWORD}@db.example/app"


def ini(url: str = URL) -> str:
    return f"[alembic]\nsqlalchemy.url = {url}\n"


def findings(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[dict[str, object]]]:
    status = main(["scan", "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return status, json.loads(out)["findings"] if out else []


def fingerprint_of(capsys: pytest.CaptureFixture[str], path: str) -> str:
    status, found = findings(capsys, path)
    assert status == 1
    return str(found[0]["fingerprint"])


# -- accepting a finding on purpose ------------------------------------


@pytest.mark.parametrize(
    "name, template",
    [
        pytest.param(
            "setup.cfg",
            "[alembic-guard]\nallow-fingerprints = {}\n",
            id="setup.cfg",
        ),
        pytest.param(
            "setup.cfg",
            "[metadata]\nname = x\n\n[alembic-guard]\n"
            "allow-fingerprints =\n    0000000000000000\n    {}\n",
            id="setup.cfg-multiline",
        ),
        pytest.param(
            "pyproject.toml",
            '[tool.alembic-guard]\nallow-fingerprints = ["{}"]\n',
            id="pyproject.toml",
        ),
    ],
)
def test_allow_fingerprint(
    repo: Path, name: str, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(ini())
    mark = fingerprint_of(capsys, "alembic.ini")
    (repo / name).write_text(template.format(mark.upper()))

    assert findings(capsys, "alembic.ini") == (0, [])
    (repo / "other.ini").write_text(ini(URL.replace(PASSWORD, "0ther-pw")))
    status, found = findings(capsys, ".")
    assert status == 1
    assert [f["path"] for f in found] == [f".{os.sep}other.ini"]


HOSTS = [
    # (allow-hosts, URL host part, allowed)
    pytest.param(["localhost"], "localhost", True, id="name"),
    pytest.param(["localhost"], "localhost:5433", True, id="any-port"),
    pytest.param(["LocalHost"], "LOCALHOST", True, id="case"),
    pytest.param(["localhost:5433"], "localhost:5433", True, id="port"),
    pytest.param(["localhost:5433"], "localhost:5432", False, id="other-port"),
    pytest.param(["localhost:5433"], "localhost", False, id="port-not-named"),
    pytest.param(["*.test"], "db.test", True, id="glob"),
    pytest.param(
        ["*.test"], "db.test.example.com", False, id="glob-suffix-only"
    ),
    pytest.param(["db?.local"], "db1.local:5432", True, id="glob-char"),
    pytest.param(["127.0.0.1"], "db.example", False, id="other-host"),
    pytest.param(["::1"], "[::1]:5432", True, id="ipv6"),
    pytest.param(["[::1]:5432"], "[::1]:5432", True, id="ipv6-port"),
    pytest.param(["[::1]:5432"], "[::1]:6432", False, id="ipv6-other-port"),
    pytest.param(["::1"], "[::1", True, id="ipv6-unclosed"),
    pytest.param(
        ["localhost"],
        "localhost,db.prod:5432",
        False,
        id="multi-host-one-allowed",
    ),
    pytest.param(
        ["localhost", "db.prod"],
        "localhost,db.prod:5432",
        True,
        id="multi-host-all-allowed",
    ),
    pytest.param(["localhost"], "", False, id="no-host"),
    pytest.param([], "localhost", False, id="nothing-allowed"),
    pytest.param(["my-db"], "my%2Ddb", True, id="percent-encoded"),
]


@pytest.mark.parametrize("allowed, host, expected", HOSTS)
def test_allows_hosts(allowed: list[str], host: str, expected: bool) -> None:
    settings = Settings(allow_hosts=tuple(allowed))
    assert settings.allows("0123456789abcdef", host) is expected


@pytest.mark.parametrize("allowed, host, expected", HOSTS[:8])
def test_allow_hosts_from_setup_cfg(
    repo: Path,
    allowed: list[str],
    host: str,
    expected: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (repo / "setup.cfg").write_text(
        f"[alembic-guard]\nallow-hosts = {', '.join(allowed)}\n"
    )
    (repo / "alembic.ini").write_text(
        ini(f"postgresql://app:{PASSWORD}@{host}/app")
    )
    assert findings(capsys, "alembic.ini")[0] == (0 if expected else 1)


# -- excluding paths -----------------------------------------------------


@pytest.mark.parametrize(
    "pattern, excluded",
    [
        pytest.param(
            "fixtures",
            {"fixtures/alembic.ini", "fixtures/deep/env.py"},
            id="folder",
        ),
        pytest.param(
            "./fixtures/",
            {"fixtures/alembic.ini", "fixtures/deep/env.py"},
            id="folder-dot",
        ),
        pytest.param("fixtures/*.ini", {"fixtures/alembic.ini"}, id="glob"),
        pytest.param(
            "*.py", {"fixtures/deep/env.py", "env.py"}, id="glob-any-depth"
        ),
        pytest.param(
            "alembic.ini",
            {"alembic.ini", "fixtures/alembic.ini"},
            id="name-any-depth",
        ),
        pytest.param("/alembic.ini", {"alembic.ini"}, id="anchored-file"),
    ],
)
def test_exclude(
    repo: Path,
    pattern: str,
    excluded: set[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    every = {
        "alembic.ini",
        "env.py",
        "fixtures/alembic.ini",
        "fixtures/deep/env.py",
    }
    for name in every:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(
            ini() if name.endswith(".ini") else f"create_engine({URL!r})\n"
        )
    (repo / "pyproject.toml").write_text(
        f'[tool.alembic-guard]\nexclude = ["{pattern}"]\n'
    )

    _, found = findings(capsys, ".")
    seen = {
        os.path.relpath(str(f["path"])).replace(os.sep, "/") for f in found
    }
    assert seen == every - excluded
    # From a subfolder the patterns still mean the same paths, for files
    # named one by one as pre-commit names them.
    os.chdir(repo / "fixtures")
    _, found = findings(capsys, "alembic.ini", "deep/env.py")
    seen = {
        os.path.relpath(str(f["path"]), repo).replace(os.sep, "/")
        for f in found
    }
    assert seen == {p for p in every - excluded if p.startswith("fixtures/")}


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        pytest.param("fixtures/*", "fixtures/demo/a.ini", True, id="tree"),
        pytest.param(
            "fixtures/*.ini",
            "fixtures/a/b.ini",
            False,
            id="star-stays-in-segment",
        ),
        pytest.param(
            "fixtures/**/*.ini", "fixtures/a/b/c.ini", True, id="double-star"
        ),
        pytest.param("**/env.py", "env.py", True, id="double-star-top"),
        pytest.param("docs**", "docs/a/b.ini", True, id="double-star-end"),
        pytest.param("**/env.py", "a/b/env.py", True, id="double-star-deep"),
        pytest.param("env.py", "a/b/env.py", True, id="name-any-depth"),
        pytest.param("/env.py", "env.py", True, id="leading-slash"),
        pytest.param("/env.py", "a/env.py", False, id="leading-slash-top"),
        pytest.param("a/env.py", "b/a/env.py", False, id="anchored"),
        pytest.param("?.ini", "ab.ini", False, id="question"),
        pytest.param("[ab].ini", "b.ini", True, id="class"),
        pytest.param("[!ab].ini", "b.ini", False, id="negated-class"),
        pytest.param("[.ini", "[.ini", True, id="unclosed-bracket"),
        pytest.param("a+b(1).ini", "a+b(1).ini", True, id="regex-chars"),
        pytest.param("Tests", "tests/a.ini", False, id="case-sensitive"),
    ],
)
def test_exclude_patterns(pattern: str, path: str, expected: bool) -> None:
    assert Settings(exclude=(pattern,)).excludes(path) is expected


def test_named_folder_is_scanned_although_excluded(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "setup.cfg").write_text(
        "[alembic-guard]\nexclude = fixtures/* *.example\n"
    )
    demo = repo / "fixtures" / "demo"
    demo.mkdir(parents=True)
    (demo / "alembic.ini").write_text(ini())
    (demo / "alembic.ini.example").write_text(ini())
    assert findings(capsys, ".") == (0, [])
    assert findings(capsys, "fixtures/alembic.ini") == (0, [])
    status, found = findings(capsys, "fixtures/demo")
    # Patterns still apply below the named folder.
    assert status == 1
    assert [f["path"] for f in found] == [
        os.path.join("fixtures", "demo", "alembic.ini")
    ]
    # Naming "fixtures" lifts only patterns that match it or above it;
    # "fixtures/*" matches fixtures/demo, below it.
    assert findings(capsys, "fixtures") == (0, [])


def test_exclude_applies_to_explicit_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pre-commit passes every staged file by name.
    (repo / "setup.cfg").write_text("[alembic-guard]\nexclude = tests\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "alembic.ini").write_text(ini())
    assert findings(capsys, "tests/alembic.ini") == (0, [])
    assert findings(capsys, str(repo / "tests" / "alembic.ini")) == (0, [])


# -- max-bytes -----------------------------------------------------------


def test_max_bytes_setting(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "setup.cfg").write_text("[alembic-guard]\nmax-bytes = 20\n")
    (repo / "alembic.ini").write_text(ini())
    assert main(["scan", "alembic.ini"]) == 2
    assert "over the 20 byte limit" in capsys.readouterr().err
    # The command line wins over the settings file.
    assert main(["scan", "--max-bytes", "4096", "alembic.ini"]) == 1


# -- where settings come from ----------------------------------------------


def test_found_from_subfolder_up_to_repository_top(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "setup.cfg").write_text("[alembic-guard]\nallow-hosts = db.*\n")
    (repo / "app").mkdir()
    (repo / "app" / "alembic.ini").write_text(ini())
    os.chdir(repo / "app")
    assert findings(capsys, "alembic.ini") == (0, [])


def test_walk_stops_at_repository_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "setup.cfg").write_text("[alembic-guard]\nexclude = x\n")
    inner = init_repo(tmp_path / "inner")
    assert load(None, str(inner)) == Settings()
    assert load(None, str(tmp_path)).exclude == ("x",)


def test_files_without_our_section_are_skipped(tmp_path: Path) -> None:
    init_repo(tmp_path)
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")
    (tmp_path / "pyproject.toml").write_text("not [ toml at all\n")
    assert load(None, str(tmp_path)) == Settings()


@pytest.mark.parametrize(
    "name, text",
    [
        pytest.param(
            "guard.cfg",
            "[alembic-guard]\nallow-hosts = db.example\n",
            id="cfg",
        ),
        pytest.param(
            "guard.toml",
            '[tool.alembic-guard]\nallow-hosts = ["db.example"]\n',
            id="toml",
        ),
    ],
)
def test_explicit_config(
    repo: Path, name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "alembic.ini").write_text(ini())
    (repo / "elsewhere").mkdir()
    (repo / "elsewhere" / name).write_text(text)
    # A repository setting that would not allow it is not read.
    (repo / "setup.cfg").write_text("[alembic-guard]\nallow-hosts = x\n")
    assert findings(capsys, "alembic.ini")[0] == 1
    assert findings(
        capsys, "--config", f"elsewhere/{name}", "alembic.ini"
    ) == (0, [])


BAD = [
    pytest.param(
        "pyproject.toml",
        "[tool.alembic-guard\n",
        "not valid TOML",
        id="bad-toml",
    ),
    pytest.param(
        "pyproject.toml",
        "[tool.alembic-guard]\nallow-hosts = 5\n",
        "allow-hosts must be a list of strings",
        id="wrong-type",
    ),
    pytest.param(
        "pyproject.toml",
        "[tool.alembic-guard]\nexclude = [1, 2]\n",
        "exclude must be a list of strings",
        id="wrong-item-type",
    ),
    pytest.param(
        "pyproject.toml",
        "[tool.alembic-guard]\nmax-bytes = true\n",
        "max-bytes must be a positive whole number",
        id="bool",
    ),
    pytest.param(
        "pyproject.toml",
        "[tool.alembic-guard]\nmax-bytes = 0\n",
        "max-bytes must be a positive whole number",
        id="zero",
    ),
    pytest.param(
        "setup.cfg",
        "[alembic-guard]\nmax-bytes = lots\n",
        "max-bytes must be a positive whole number",
        id="words",
    ),
    pytest.param(
        "setup.cfg",
        "[alembic-guard]\nallow-host = x\n",
        "unknown setting 'allow-host'",
        id="unknown-key",
    ),
    pytest.param(
        "pyproject.toml",
        '[tool.alembic-guard]\nallow_fingerprints = ["a"]\n',
        "unknown setting 'allow_fingerprints'",
        id="underscore",
    ),
    pytest.param(
        "pyproject.toml",
        b"[tool.alembic-guard]\nx = '\xff'\n",
        "not valid TOML",
        id="not-utf8",
    ),
]


@pytest.mark.parametrize("name, text, reason", BAD)
def test_bad_settings(
    repo: Path,
    name: str,
    text: str | bytes,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = text.encode() if isinstance(text, str) else text
    (repo / name).write_bytes(data)
    (repo / "alembic.ini").write_text(ini())
    assert main(["scan", "alembic.ini"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"alembic-guard: {repo / name}: ")
    assert reason in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "name, text, reason",
    [
        pytest.param("missing.cfg", None, "No such file", id="missing"),
        pytest.param(
            "empty.cfg",
            "[other]\n",
            "no [alembic-guard] section",
            id="no-section",
        ),
        pytest.param("folder", "dir", "Is a directory", id="directory"),
    ],
)
def test_bad_explicit_config(
    tmp_path: Path,
    name: str,
    text: str | None,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / name
    if text == "dir":
        path.mkdir()
    elif text is not None:
        path.write_text(text)
    assert main(["scan", "--config", str(path), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and reason in err


def test_load_rejects_bad_file(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("[tool.alembic-guard]\nexclude = 3\n")
    with pytest.raises(BadSettings, match="exclude must be"):
        load(str(tmp_path / "x.toml"))


# -- the fingerprint -------------------------------------------------------


def fingerprint_in_new_process(tmp_path: Path, url: str) -> str:
    folder = tmp_path / str(len(list(tmp_path.iterdir())))
    folder.mkdir()
    (folder / "alembic.ini").write_text(ini(url))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic_guard",
            "scan",
            "--format",
            "json",
            "alembic.ini",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    return str(json.loads(proc.stdout)["findings"][0]["fingerprint"])


def test_fingerprint_stable_and_distinct(tmp_path: Path) -> None:
    first = fingerprint_in_new_process(tmp_path, URL)
    again = fingerprint_in_new_process(tmp_path, URL)
    other = fingerprint_in_new_process(
        tmp_path, URL.replace(PASSWORD, PASSWORD + "x")
    )
    elsewhere = fingerprint_in_new_process(
        tmp_path, URL.replace("db.example", "db2.example")
    )
    assert first == again
    assert len({first, other, elsewhere}) == 3


def test_fingerprint_reveals_nothing(tmp_path: Path) -> None:
    mark = fingerprint_in_new_process(tmp_path, URL)
    assert PASSWORD not in mark
    # Not a plain digest that a dictionary could invert at hash speed.
    for text in (PASSWORD, f"app:{PASSWORD}", f"app:{PASSWORD}@db.example"):
        for name in ("md5", "sha1", "sha256"):
            digest = hashlib.new(name, text.encode()).hexdigest()
            assert mark not in digest


@pytest.mark.parametrize(
    "name, text, where",
    [
        pytest.param(None, None, "[alembic-guard] of setup.cfg", id="none"),
        pytest.param(
            "setup.cfg",
            "[alembic-guard]\nexclude = x\n",
            "[alembic-guard] of setup.cfg",
            id="setup.cfg",
        ),
        pytest.param(
            "pyproject.toml",
            '[tool.alembic-guard]\nexclude = ["x"]\n',
            "[tool.alembic-guard] of pyproject.toml",
            id="pyproject",
        ),
    ],
)
def test_summary_names_the_settings_file(
    repo: Path,
    name: str | None,
    text: str | None,
    where: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if name is not None and text is not None:
        (repo / name).write_text(text)
    (repo / "alembic.ini").write_text(ini())
    assert main(["scan", "alembic.ini"]) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        f"add its fingerprint to allow-fingerprints in {where}.\n"
    )
