"""Wire an Alembic ``env.py`` to read the placeholders from the
environment.

After ``fix`` an INI value reads ``%(DB_URL)s``. configparser looks that
name up in the same section, so env.py only has to set it there before
anything reads ``sqlalchemy.url``: the block below does, right after
``config = context.config``, for every placeholder the INI uses.
"""

from __future__ import annotations

import os
import re
import sys
from typing import NamedTuple

from alembic_guard import ini

BEGIN = "# >>> alembic-guard: database URLs from the environment >>>"
END = "# <<< alembic-guard <<<"
ANCHOR = re.compile(r"config\s*=\s*context\.config\s*")
PAIR = re.compile(r"\(\s*'([^'\n]*)',\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\)")
# Signs that env.py already gets its URL from elsewhere: writing the
# block as well would hide that code or fight with it.
OTHER_WAYS = (
    (
        re.compile(r"set_(?:main|section)_option\([^)]*sqlalchemy\.url"),
        "it sets sqlalchemy.url itself",
    ),
    (
        re.compile(r"(?i)(?:environ|getenv)\b.*url|url.*(?:environ|getenv)"),
        "it reads a URL from the environment",
    ),
    (
        re.compile(r"\bcreate_(?:async_)?engine\("),
        "it builds its engine without the config",
    ),
)

Pair = tuple[str, str]


class Wiring(NamedTuple):
    # The new text, or None when the file is left as it is.
    text: str | None
    # Why the block could not be written, or None.
    problem: str | None


def block(pairs: list[Pair], newline: str = "\n") -> str:
    """The marked block that sets each ``(section, NAME)`` from the
    environment variable ``NAME``."""
    rows = "".join(f"    ({s!r}, {n!r}),\n" for s, n in pairs)
    text = (
        f"{BEGIN}\n"
        "# alembic.ini holds %(NAME)s placeholders instead of database\n"
        "# URLs; each comes from the environment variable NAME.\n"
        "import os as _guard_os\n"
        "\n"
        "for _guard_section, _guard_name in (\n"
        f"{rows}"
        "):\n"
        "    _guard_value = _guard_os.environ.get(_guard_name)\n"
        "    if not _guard_value:\n"
        "        raise SystemExit(\n"
        '            f"alembic-guard: set the environment variable "\n'
        '            f"{_guard_name} to the database URL of "\n'
        '            f"[{_guard_section}] (see the .env file that "\n'
        '            "alembic-guard fix wrote)"\n'
        "        )\n"
        "    # configparser treats % as interpolation: doubling it keeps\n"
        "    # a URL-encoded password (%40 for @) intact.\n"
        "    config.set_section_option(\n"
        "        _guard_section, _guard_name,\n"
        '        _guard_value.replace("%", "%%"),\n'
        "    )\n"
        f"{END}\n"
    )
    return text.replace("\n", newline)


def wire(text: str, pairs: list[Pair]) -> Wiring:
    """``text`` with the block holding ``pairs`` (and any it held)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    begin, end = _marked(lines)
    if begin is not None and end is not None:
        known = PAIR.findall("".join(lines[begin : end + 1]))
        wanted = known + [p for p in pairs if p not in known]
        if wanted == known:
            return Wiring(None, None)
        new = block(wanted, newline)
        return Wiring(
            "".join(lines[:begin]) + new + "".join(lines[end + 1 :]), None
        )
    problem = _other_way(lines)
    if problem is not None:
        return Wiring(None, problem)
    for index, line in enumerate(lines):
        if ANCHOR.fullmatch(line):
            if not line.endswith(("\n", "\r")):
                lines[index] = line + newline
            lines.insert(index + 1, block(pairs, newline))
            return Wiring("".join(lines), None)
    return Wiring(None, "it has no line 'config = context.config'")


def _marked(lines: list[str]) -> tuple[int | None, int | None]:
    begin = end = None
    for index, line in enumerate(lines):
        if line.strip() == BEGIN and begin is None:
            begin = index
        elif line.strip() == END and begin is not None:
            end = index
            break
    return begin, end


def _other_way(lines: list[str]) -> str | None:
    code = "".join(line for line in lines if not line.lstrip().startswith("#"))
    for pattern, reason in OTHER_WAYS:
        if pattern.search(code):
            return reason
    return None


def locate(
    ini_path: str, doc: ini.Document, main: str
) -> tuple[str | None, str]:
    """The env.py that ``ini_path`` points Alembic at, or None and why
    it was not found."""
    folder = os.path.dirname(os.path.abspath(ini_path))
    location = _from_ini(doc, main, folder)
    if location is None:
        location = _from_pyproject(folder)
    if location is None:
        return None, "no script_location in the INI or pyproject.toml"
    scripts = _resolve(location, folder)
    if scripts is None:
        return None, f"script_location {location!r} was not found"
    env = os.path.join(scripts, "env.py")
    if not os.path.isfile(env):
        return None, f"{env} does not exist"
    return env, ""


def _from_ini(doc: ini.Document, main: str, here: str) -> str | None:
    option = doc.sections.get(main, {}).get("script_location")
    if option is None:
        option = doc.defaults.get("script_location")
    if option is None:
        return None
    value, problems = ini.interpolate(
        option.raw, ini.lookup_for(doc, main, here)
    )
    return None if problems else value.text.strip()


def _from_pyproject(folder: str) -> str | None:
    path = os.path.join(folder, "pyproject.toml")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover (CI runs 3.11; 3.10 has no tomllib)
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return None
    tool = data.get("tool")
    alembic = tool.get("alembic") if isinstance(tool, dict) else None
    value = (
        alembic.get("script_location") if isinstance(alembic, dict) else None
    )
    if not isinstance(value, str):
        return None
    return value.replace("%(here)s", folder)


def _resolve(location: str, folder: str) -> str | None:
    if (
        ":" in location
        and not os.path.isabs(location)
        and not (len(location) > 1 and location[1] == ":")
    ):
        package, _, sub = location.partition(":")
        base = _package_dir(package, [folder] + sys.path)
        return None if base is None else os.path.join(base, sub)
    # Alembic resolves a relative path against the working directory;
    # the INI's folder is where it is usually run from, so try it first.
    for candidate in (os.path.join(folder, location), location):
        if os.path.isdir(candidate):
            return os.path.abspath(candidate)
    return None


def _package_dir(name: str, search: list[str]) -> str | None:
    """Where package ``name`` lives, found without importing it."""
    from importlib.machinery import PathFinder

    path: list[str] | None = search
    parts = name.split(".")
    for depth in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: depth + 1]), path)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = list(spec.submodule_search_locations)
    return path[0] if path else None
