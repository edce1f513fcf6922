"""SARIF 2.1.0 for the history audit, in the shape GitHub code scanning
accepts: rule metadata with help, one result per place a credential is
written, stable partial fingerprints."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from alembic_guard import __version__
from alembic_guard.report import RULE_TEXT

if TYPE_CHECKING:
    from alembic_guard.audit import Credential, Location

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
    "schemas/sarif-schema-2.1.0.json"
)
HOME = "https://pypi.org/project/alembic-guard/"
REMEDY = (
    "Rotate the credential first: it is in every clone. Then purge it "
    "from history (alembic-guard audit --purge-file FILE, then git "
    "filter-repo --replace-text FILE), force-push, and have every "
    "collaborator clone again. Keep the password out of the file: "
    "read it from the environment (alembic-guard fix)."
)
DETAIL = {
    "userinfo-password": "A database URL carries a password in its "
    "user-info part (scheme://user:password@host).",
    "query-password": "A database URL carries a password in its query "
    "string (?password=...).",
    "odbc-password": "An odbc_connect string carries a PWD= value.",
    "password-option": "An INI option named for a password (password, "
    "db_password, db_pw...) holds a literal password.",
    "python-password": "Python code gives a literal string to a name "
    "that says password (password=..., DB_PASSWORD = ...).",
    "too-many-passwords": "A file holds more passwords than are listed "
    "one by one.",
}


def rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule,
            "name": "".join(w.title() for w in rule.split("-")),
            "shortDescription": {"text": f"Database {RULE_TEXT[rule]}"},
            "fullDescription": {"text": DETAIL[rule]},
            "help": {
                "text": REMEDY,
                "markdown": f"**{DETAIL[rule]}**\n\n{REMEDY}",
            },
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "secrets"],
                "security-severity": "8.0",
                "precision": "high",
            },
        }
        for rule in DETAIL
    ]


def uri(path: str) -> str:
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def partial(fingerprint: str, path: str) -> str:
    """Stable across runs and commits: the credential and the file."""
    where = hashlib.sha256(path.encode("utf-8", "surrogateescape"))
    return f"{fingerprint}:{where.hexdigest()[:16]}"


def result(
    cred: Credential, place: Location, index: dict[str, int]
) -> dict[str, Any]:
    state = (
        "still present at HEAD"
        if cred.at_head
        else "removed, still in history"
    )
    return {
        "ruleId": cred.rule,
        "ruleIndex": index[cred.rule],
        "level": "error",
        "message": {
            "text": f"Database {RULE_TEXT[cred.rule]}: "
            f"{cred.redacted} ({state}; fingerprint "
            f"{cred.fingerprint})"
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(place.path)},
                    "region": {
                        "startLine": place.line,
                        "startColumn": place.column,
                    },
                }
            }
        ],
        "partialFingerprints": {
            "alembicGuardCredential/v1": partial(cred.fingerprint, place.path)
        },
        "properties": {
            "commit": place.commit,
            "firstCommit": cred.first.commit,
            "removedIn": cred.removed.commit if cred.removed else None,
            "atHead": cred.at_head,
            "refs": list(cred.refs),
            "fingerprint": cred.fingerprint,
        },
    }


def document(credentials: list[Credential]) -> dict[str, Any]:
    table = rules()
    index = {rule["id"]: i for i, rule in enumerate(table)}
    results = [
        result(cred, place, index)
        for cred in credentials
        for place in cred.locations
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "alembic-guard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": HOME,
                        "rules": table,
                    }
                },
                "results": results,
            }
        ],
    }
