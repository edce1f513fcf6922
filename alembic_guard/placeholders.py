"""Tell a password from something that only stands for one.

A literal password is a finding however weak it is (``postgres``,
``admin``). What stands for a password is not: template and shell
syntax, upper-case marker words, masks, and the documentation examples
whose user and password are both generic words, such as Alembic's own
``driver://user:pass@localhost/dbname``.
"""

from __future__ import annotations

import re

# Template syntaxes whose whole text is a stand-in. No pattern's inner
# run may hold its own opener, so a failed match stops at the next
# opener: "{{" or "%(" repeated a million times stays linear.
TEMPLATE = re.compile(
    r"%\([^()%]*\)[sdr]"  # configparser / printf names
    r"|%[sd]"  # printf positional
    r"|\$\{[^${}]*\}"  # shell ${X} and ${X:-default}
    r"|\{\{[^{}]*\}\}"  # Jinja, Helm, Mustache {{ x }}
    r"|\{%[^{%]*%\}"  # Jinja statements
    r"|<%=?[^<%]*%>"  # ERB <%= x %>
    r"|\$\([^()]*\)"  # shell $(command)
    r"|\{[^{}]*\}"  # str.format {x}, f-string {a.b}
    r"|<[^<>]*>"  # <password>
    r"|\[\[[^\[\]]*\]\]"  # [[ x ]]
)
SHELL_NAME = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
MARKER = re.compile(r"[A-Z]+(?:_[A-Z]+)*")
MARKER_WORDS = frozenset(
    (
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "PW",
        "SECRET",
        "CHANGEME",
        "REDACTED",
        "MASKED",
        "HIDDEN",
        "PLACEHOLDER",
        "TODO",
        "FIXME",
        "TBD",
        "XXX",
        "NONE",
        "NULL",
        "EMPTY",
    )
)
MASK = re.compile(r"[*xX•#.\-_?]+")
GENERIC_USERS = frozenset(
    (
        "user",
        "username",
        "usr",
        "login",
        "name",
        "dbuser",
        "db_user",
        "your_user",
        "youruser",
        "myuser",
        "your_username",
        "user_name",
    )
)
GENERIC_PASSWORDS = frozenset(
    (
        "pass",
        "password",
        "passwd",
        "pwd",
        "pw",
        "secret",
        "your_password",
        "yourpassword",
        "mypassword",
        "my_password",
    )
)


def is_placeholder(password: str, user: str = "") -> bool:
    """True when ``password`` (as written, decoded) holds no secret."""
    text = password.strip()
    if not text or text.lower() == "redacted":
        return True
    if SHELL_NAME.fullmatch(text) or MASK.fullmatch(text):
        return True
    rest = TEMPLATE.sub("", text).strip()
    if rest != text and not any(c.isalnum() for c in rest):
        # Only template syntax and separators: "${A}:${B}".
        return True
    if MARKER.fullmatch(text) and ("_" in text or text in MARKER_WORDS):
        return True
    return (
        text.lower() in GENERIC_PASSWORDS
        and user.strip().lower() in GENERIC_USERS
    )


# The stand-in that alembic-guard fix writes, and that scan and advice
# recommend: the same name everywhere.
URL_KEY = "sqlalchemy.url"
MAIN_SECTION = "alembic"


def placeholder_name(section: str, key: str, main: str) -> str:
    """``DB_URL`` for the main section's URL; ``DB_URL_<SECTION>`` for
    another section's; ``_<KEY>`` added for a key other than the URL."""
    name = "DB_URL"
    if section == "DEFAULT":
        name += "_DEFAULT"
    elif section != main:
        name += "_" + _upper(section)
    if key != URL_KEY:
        name += "_" + _upper(key)
    return name


def _upper(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()
