"""How long the commit hook takes, against a bare interpreter start.

Run from anywhere::

    python benchmarks/bench_hook.py [--runs 15] [--cold] [--venv]

Every figure is the median wall time of a whole process, started with
this interpreter (``python -m alembic_guard scan`` on this checkout's
source), after a warm-up run.
The files are synthetic and built in a temporary folder; the one with a
credential holds a made-up password and the scan's output is discarded.

Python compiles our modules on every start when it may not write
bytecode (``PYTHONDONTWRITEBYTECODE``), which an installed package never
does; so by default the runs keep their bytecode in a temporary
``PYTHONPYCACHEPREFIX`` instead of the checkout. ``--cold`` measures
without any bytecode cache. ``--venv`` runs everything in a new, empty
virtual environment, like the one pre-commit builds for the hook: where
this interpreter's site-packages holds ``.pth`` files that import modules
at start-up, its bare start is slower and flatters every ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

# The targets, as multiples of a bare interpreter start.
ONE_FILE_TARGET = 2.0
MANY_FILES_TARGET = 3.0
MANY_FILES = 200

CLEAN_INI = """\
[alembic]
script_location = %(here)s/alembic
prepend_sys_path = .
version_path_separator = os
sqlalchemy.url = postgresql+psycopg://app@db.internal.example/app

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

# A made-up password: the benchmark never shows the scan's output.
FOUND_INI = CLEAN_INI.replace(
    "app@db.internal.example",
    "app:bench-not-a-real-password@db.internal.example",
)

ENV_PY = """\
import os

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
config.set_main_option("sqlalchemy.url", os.environ["DB_URL"])


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""

SETUP_CFG = """\
[metadata]
name = service
version = 1.0

[options]
packages = find:
install_requires =
    alembic
    sqlalchemy

[flake8]
max-line-length = 79
"""

CHECKOUT = Path(__file__).resolve().parents[1]

WORKLOAD = (
    ("alembic.ini", CLEAN_INI),
    ("migrations/env.py", ENV_PY),
    ("setup.cfg", SETUP_CFG),
)


class Case(NamedTuple):
    name: str
    command: list[str]
    expected: int


def build(root: Path) -> tuple[Path, Path, list[str]]:
    """The clean file, the file with a finding, and the many files."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    clean = root / "one" / "alembic.ini"
    found = root / "found" / "alembic.ini"
    for path, text in ((clean, CLEAN_INI), (found, FOUND_INI)):
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    many = []
    for index in range(MANY_FILES):
        name, text = WORKLOAD[index % len(WORKLOAD)]
        path = root / "services" / f"svc{index:03d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        many.append(str(path.relative_to(root)))
    return clean, found, many


def cases(python: str, many: list[str]) -> list[Case]:
    scan = [python, "-m", "alembic_guard", "scan"]
    found = [
        Case("bare interpreter (python -c pass)", [python, "-c", "pass"], 0),
        Case("scan, 1 clean alembic.ini", [*scan, "one/alembic.ini"], 0),
        Case(
            "scan, 1 alembic.ini with a finding",
            [*scan, "found/alembic.ini"],
            1,
        ),
        Case(f"scan, {len(many)} clean files", [*scan, *many], 0),
    ]
    script = shutil.which("alembic-guard", path=os.path.dirname(python))
    if script is not None:
        found.append(
            Case(
                "console script, 1 clean alembic.ini",
                [script, "scan", "one/alembic.ini"],
                0,
            )
        )
    return found


def environment(cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    # This checkout's source, whichever interpreter runs it.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(CHECKOUT), env.get("PYTHONPATH")))
    )
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def once(case: Case, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        case.command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != case.expected:
        # A scan that fails is fast; its time would mean nothing.
        raise SystemExit(
            f"bench_hook: {case.name}: exit "
            f"{proc.returncode}, expected {case.expected}"
        )
    return elapsed


def medians(
    table: list[Case], cwd: Path, env: dict[str, str], runs: int
) -> list[float]:
    """Rounds run every case once, so drift hits each case alike."""
    for case in table:
        once(case, cwd, env)
    times: list[list[float]] = [[] for _ in table]
    for _ in range(runs):
        for index, case in enumerate(table):
            times[index].append(once(case, cwd, env))
    return [statistics.median(t) for t in times]


class Imported(NamedTuple):
    own_us: int
    total_us: int
    top_level: bool


def import_times(
    command: list[str], cwd: Path, env: dict[str, str]
) -> dict[str, Imported]:
    """What ``python -X importtime`` reports for ``command``."""
    proc = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    found: dict[str, Imported] = {}
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, total, name = line[len("import time:") :].split("|", 2)
        # Nested imports are indented past the one space after the bar.
        found[name.strip()] = Imported(
            int(own), int(total), not name.startswith("  ")
        )
    return found


def import_summary(
    table: list[Case], cwd: Path, env: dict[str, str]
) -> list[str]:
    bare = import_times(table[0].command, cwd, env)
    scan = import_times(table[1].command, cwd, env)
    new = {k: v for k, v in scan.items() if k not in bare}
    spent = sum(v.total_us for v in new.values() if v.top_level)
    lines = [
        f"imports beyond the bare interpreter: {len(new)} modules, "
        f"{spent / 1000:.1f} ms (python -X importtime, one run)"
    ]
    heaviest = sorted(new.items(), key=lambda kv: -kv[1].own_us)[:12]
    for name, item in heaviest:
        lines.append(
            f"  {item.own_us / 1000:6.2f} ms self "
            f"{item.total_us / 1000:6.2f} ms total  {name}"
        )
    return lines


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=15, help="timed runs per case (default 15)"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no bytecode cache: compile on every start",
    )
    parser.add_argument(
        "--venv",
        action="store_true",
        help="run in a new empty virtual environment (no site-packages "
        "start-up hooks), as pre-commit runs the hook",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def venv(path: Path) -> str:
    """The interpreter of a new virtual environment with nothing in it."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True
    )
    return str(path / ("Scripts" if os.name == "nt" else "bin") / "python")


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    with tempfile.TemporaryDirectory(prefix="bench-hook-") as tmp:
        root = Path(tmp) / "work"
        _, _, many = build(root)
        python = venv(Path(tmp) / "venv") if args.venv else sys.executable
        env = environment(None if args.cold else str(Path(tmp) / "pyc"))
        table = cases(python, many)
        results = medians(table, root, env, args.runs)
        summary = import_summary(table, root, env)
    report(table, results, args)
    print("\n".join(summary))
    return 0


def report(
    table: list[Case], results: list[float], args: argparse.Namespace
) -> None:
    bare = results[0]
    print(
        f"{'a new virtual environment of ' if args.venv else ''}"
        f"{sys.executable} ({sys.version.split()[0]}), "
        f"median of {args.runs} runs after a warm-up, "
        f"{'no bytecode cache' if args.cold else 'bytecode cached'}"
    )
    for case, median in zip(table, results, strict=True):
        print(f"{median * 1000:8.1f} ms  {median / bare:5.2f}x  {case.name}")
    verdicts = ((1, ONE_FILE_TARGET), (3, MANY_FILES_TARGET))
    for index, target in verdicts:
        ratio = results[index] / bare
        state = (
            "met"
            if ratio <= target
            else (
                f"MISSED by {(results[index] - target * bare) * 1000:.1f} ms"
            )
        )
        print(f"target {target:.0f}x for '{table[index].name}': {state}")


if __name__ == "__main__":
    sys.exit(main())
