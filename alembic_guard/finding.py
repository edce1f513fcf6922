"""What a scan reports, and the ways a password is kept out of it."""

from __future__ import annotations

from typing import NamedTuple

MASK = "***"
REDACTED_WIDTH = 200
# Scrubbing every occurrence of a password in output protects against a
# user equal to the password (postgres:postgres); below this length it
# would mangle ordinary words, and the password span is masked anyway.
SCRUB_MIN = 3
# PBKDF2 rounds for fingerprints: a plain hash of "postgres" is reversed
# by a dictionary in microseconds; this costs an attacker about 20 ms a
# guess while a scan pays it once per finding.
FINGERPRINT_ROUNDS = 50_000


class Finding(NamedTuple):
    path: str
    line: int
    column: int
    section: str | None
    key: str | None
    rule: str
    context: str
    redacted: str
    fingerprint: str
    host: str
    used_by: tuple[str, ...] = ()


class Advice(NamedTuple):
    path: str
    line: int
    column: int
    message: str


_fingerprints: dict[tuple[str, str, str], str] = {}


def fingerprint(user: str, host: str, password: str) -> str:
    """A stable name for one credential that does not reveal it."""
    slot = (user, host.lower(), password)
    if slot not in _fingerprints:
        _fingerprints[slot] = _derive(*slot)
    return _fingerprints[slot]


def _derive(user: str, host: str, password: str) -> str:
    import hashlib

    salt = "\0".join(("alembic-guard/1", user, host)).encode(
        "utf-8", "surrogatepass"
    )
    digest = hashlib.pbkdf2_hmac(
        "sha256",
        password.encode("utf-8", "surrogatepass"),
        salt,
        FINGERPRINT_ROUNDS,
    )
    return digest[:8].hex()


def printable(text: str) -> str:
    """One line of text that any terminal and encoder accepts."""
    out = []
    for char in text:
        if char in "\r\n":
            out.append("\\n" if char == "\n" else "\\r")
        elif "\ud800" <= char <= "\udfff":
            out.append("\ufffd")
        elif not char.isprintable() and char != " ":
            out.append(f"\\x{ord(char):02x}" if ord(char) < 256 else "?")
        else:
            out.append(char)
    return "".join(out)


def mask(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` with each span replaced by the mask."""
    out = []
    pos = start
    # Enough to fill the width even after printable() and strip(); a
    # URL of a million spans is not masked in full to show 200 chars.
    room = 4 * REDACTED_WIDTH
    for lo, hi in sorted(spans):
        if hi <= pos or lo >= end:
            continue
        if room <= 0:
            break
        out.append(text[pos : max(lo, pos)][:room])
        out.append(MASK)
        room -= len(out[-2]) + len(MASK)
        pos = max(pos, hi)
    if room > 0:
        out.append(text[pos:end][:room])
    shown = printable("".join(out).strip())
    if len(shown) > REDACTED_WIDTH:
        shown = shown[: REDACTED_WIDTH - 3] + "..."
    return shown


def _alone(text: str, start: int, secret: str) -> bool:
    """No letter or digit runs on from ``secret`` at ``text[start:]``.

    Masking inside a word would point at the password instead of hiding
    it: "post***ql" shows that the password is "gres", where
    "postgresql" shows nothing.
    """
    end = start + len(secret)
    return (
        start == 0 or not (secret[0].isalnum() and text[start - 1].isalnum())
    ) and (
        end == len(text) or not (secret[-1].isalnum() and text[end].isalnum())
    )


class Scrubber:
    """Removes every known password, in each spelling, from a text: a
    net for free text such as notices, advice and commit subjects. It
    masks a password only where no letter or digit touches it; in a
    URL the password's own span is masked by ``mask`` beforehand.

    Secrets are indexed by their first ``SCRUB_MIN`` characters, so a
    text is scanned once however many passwords a hostile file held;
    every stretch covered by any occurrence of any secret is masked,
    overlapping ones as a whole. ``secrets`` may be added to directly.
    """

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self._by_head: dict[str, list[str]] = {}
        self._indexed = 0

    def add(self, *forms: str) -> None:
        for form in forms:
            form = form.strip()
            if len(form) >= SCRUB_MIN:
                self.secrets.add(form)
                self.secrets.add(printable(form))

    def _index(self) -> dict[str, list[str]]:
        if self._indexed != len(self.secrets):
            self._by_head = {}
            for secret in self.secrets:
                self._by_head.setdefault(secret[:SCRUB_MIN], []).append(secret)
            self._indexed = len(self.secrets)
        return self._by_head

    def name(self, text: str) -> str:
        """Scrub a section or key name. A name is shown as written even
        when a password is part of it ("[prod]", "app_password" for the
        password "app"): masking part of it would point at the password.
        Only a name that holds a URL (a malformed line read as a section
        header) is scrubbed."""
        return self(text) if "://" in text else text

    def __call__(self, text: str) -> str:
        by_head = self._index()
        out = []
        shown = 0
        covered = -1
        for i in range(len(text) - SCRUB_MIN + 1):
            for secret in by_head.get(text[i : i + SCRUB_MIN], ()):
                if text.startswith(secret, i) and _alone(text, i, secret):
                    if i > covered:
                        out.append(text[shown:i])
                        out.append(MASK)
                    covered = max(covered, i + len(secret) - 1)
                    shown = covered + 1
        out.append(text[shown:])
        return "".join(out)
