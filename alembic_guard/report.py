"""Writing scan results for people (text) and for programs (JSON)."""
from __future__ import annotations

import json
from typing import Iterable, TextIO

from alembic_guard.finding import Advice, Finding, Scrubber

RULE_TEXT = {
    "userinfo-password": "password in URL",
    "query-password": "password= in URL query",
    "odbc-password": "PWD= in odbc_connect",
}


def hint(finding: Finding) -> str:
    """The next step for one finding."""
    if finding.context == "comment":
        return "delete the comment or mask its password"
    if finding.context in ("python", "text"):
        return "read the URL from the environment instead"
    if finding.key and finding.key.endswith("url") and not finding.used_by:
        return "replace the value with %(DB_URL)s: alembic-guard fix"
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
    return " ".join(parts)


def text_line(finding: Finding) -> str:
    place = where(finding)
    return (f"{finding.path}:{finding.line}:{finding.column}: "
            f"{place + ': ' if place else ''}"
            f"{RULE_TEXT.get(finding.rule, finding.rule)}: "
            f"{finding.redacted} ({hint(finding)}; "
            f"fingerprint {finding.fingerprint})")


def scrubbed(finding: Finding, scrub: Scrubber) -> Finding:
    return finding._replace(
        path=scrub(finding.path), redacted=scrub(finding.redacted),
        section=None if finding.section is None else scrub(finding.section),
        key=None if finding.key is None else scrub(finding.key),
        host=scrub(finding.host),
        used_by=tuple(scrub(u) for u in finding.used_by))


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


def write(out: TextIO, err: TextIO, fmt: str, findings: Iterable[Finding],
          advice: Iterable[Advice], notices: Iterable[str],
          scrub: Scrubber) -> None:
    """Findings go to ``out``; advice and notices to ``err`` (in JSON
    the advice is part of the document)."""
    clean = [scrubbed(f, scrub) for f in findings]
    advice = [a._replace(message=scrub(a.message), path=scrub(a.path))
              for a in advice]
    for notice in notices:
        err.write(scrub(notice) + "\n")
    if fmt == "json":
        document = {
            "findings": [as_dict(f) for f in clean],
            "advice": [a._asdict() for a in advice],
        }
        out.write(scrub(json.dumps(document, indent=2)) + "\n")
        return
    for finding in clean:
        out.write(text_line(finding) + "\n")
    for item in advice:
        err.write(f"{item.path}:{item.line}:{item.column}: advice: "
                  f"{item.message}\n")
