"""Writing scan results for people (text) and for programs (JSON)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from alembic_guard.finding import Advice, Finding, Scrubber, printable
from alembic_guard.placeholders import MAIN_SECTION, placeholder_name

RULE_TEXT = {
    "userinfo-password": "password in URL",
    "query-password": "password= in URL query",
    "odbc-password": "PWD= in odbc_connect",
    "password-option": "password option",
    "python-password": "password in code",
    "too-many-passwords": "more passwords, not listed one by one",
}
BOLD, RED, YELLOW, RESET = "\033[1m", "\033[31m", "\033[33m", "\033[0m"


def hint(finding: Finding) -> str:
    """The next step for one finding."""
    if finding.rule == "too-many-passwords":
        return "this file holds too many to list: clean it by hand"
    if finding.context == "comment":
        return "delete the comment or mask its password"
    if finding.rule == "password-option":
        return "delete it, or set it from the environment in env.py"
    if finding.rule == "python-password":
        return "read the password from the environment instead"
    if finding.context in ("python", "text"):
        return "read the URL from the environment instead"
    if finding.key and finding.key.endswith("url") and not finding.used_by:
        name = placeholder_name(
            finding.section or MAIN_SECTION, finding.key, MAIN_SECTION
        )
        return f"replace the value with %({name})s: alembic-guard fix"
    return "move the password out of this file: alembic-guard fix"


def where(finding: Finding) -> str:
    parts = []
    if finding.section is not None:
        parts.append(f"[{finding.section}]")
    if finding.key:
        parts.append(finding.key)
    elif finding.context == "comment":
        parts.append("comment")
    if finding.used_by:
        parts.append(f"(used by {', '.join(finding.used_by)})")
    return printable(" ".join(parts))


def text_line(finding: Finding, colour: bool = False) -> str:
    """One finding as ``path:line:col: [section] key: rule: URL (hint;
    fingerprint F)``, one line whatever the path holds."""
    place = where(finding)
    rule = RULE_TEXT.get(finding.rule, finding.rule)
    head = f"{printable(finding.path)}:{finding.line}:{finding.column}:"
    if colour:
        head, rule = f"{BOLD}{head}{RESET}", f"{RED}{rule}{RESET}"
    return (
        f"{head} {place + ': ' if place else ''}{rule}: "
        f"{finding.redacted} ({hint(finding)}; "
        f"fingerprint {finding.fingerprint})"
    )


def advice_line(item: Advice, colour: bool = False) -> str:
    head = f"{printable(item.path)}:{item.line}:{item.column}:"
    label = f"{YELLOW}advice{RESET}" if colour else "advice"
    return f"{head} {label}: {printable(item.message)}"


def scrubbed(finding: Finding, scrub: Scrubber) -> Finding:
    # The redacted URL was masked span by span, and path and host are
    # never passwords (the host is read after the password's "@"):
    # masking a part that happens to equal a password would only point
    # at it. Section and key names may hold one in a malformed file.
    return finding._replace(
        section=None
        if finding.section is None
        else scrub.name(finding.section),
        key=None if finding.key is None else scrub.name(finding.key),
        used_by=tuple(scrub.name(u) for u in finding.used_by),
    )


def as_dict(finding: Finding) -> dict[str, object]:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "section": finding.section,
        "key": finding.key,
        "rule": finding.rule,
        "context": finding.context,
        "redacted": finding.redacted,
        "fingerprint": finding.fingerprint,
        "used_by": list(finding.used_by),
    }


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def write(
    out: TextIO,
    err: TextIO,
    fmt: str,
    findings: Iterable[Finding],
    advice: Iterable[Advice],
    notices: Iterable[str],
    scrub: Scrubber,
    colour: bool | None = None,
) -> None:
    """Findings go to ``out``; advice and notices to ``err`` (in JSON
    the advice is part of the document). ``colour`` None: decide from
    ``out``."""
    clean = [scrubbed(f, scrub) for f in findings]
    advice = [
        a._replace(message=scrub(a.message), path=scrub(a.path))
        for a in advice
    ]
    for notice in notices:
        err.write(printable(scrub(notice)) + "\n")
    if fmt == "json":
        _write_json(out, clean, advice)
        return
    paint = use_colour(out) if colour is None else colour
    for finding in clean:
        out.write(text_line(finding, paint) + "\n")
    for item in advice:
        err.write(advice_line(item, paint and use_colour(err)) + "\n")


def _write_json(
    out: TextIO, findings: list[Finding], advice: list[Advice]
) -> None:
    # json is imported here: the commit hook prints text and a clean run
    # should not pay for it.
    import json

    document = {
        "findings": [as_dict(f) for f in findings],
        "advice": [a._asdict() for a in advice],
    }
    # Every string in it was scrubbed field by field above; scrubbing the
    # serialized text would corrupt it for a password such as "null".
    out.write(json.dumps(document, indent=2) + "\n")
