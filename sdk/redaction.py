"""Masking of secrets and account numbers, for logs, errors, the ledger and tool output.

Account numbers are masked to their letters and last three digits (``DU1234567`` -> ``DU****567``),
enough for a person to tell their accounts apart and not enough to identify one, wherever they stand
in a text (``account_DU1234567`` and ``acctU1234567`` too). Secrets (API keys, tokens) are replaced whole
by ``***``. :func:`redact_value` does the same through nested structures (log extras and arguments):
strings are redacted, and the value under a key that names a secret (:data:`SECRET_KEY_PATTERN`) is
replaced whole, registered or not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ACCOUNT_PATTERN",
    "SECRET_KEY_PATTERN",
    "mask_account",
    "redact",
    "redact_value",
    "register_secret",
    "registered_secrets",
]

#: IB account numbers: individual ``U…``, paper ``DU…``, advisor ``F…``/``DF…``, broker ``I…``/``DI…``.
#: Lookarounds, not ``\b``: an account glued to a word (``account_DU1234567``, ``acctDU1234567``) is still
#: one; it must not continue a number or an upper-case code (``CPU12345``), nor run on into more digits.
ACCOUNT_PATTERN = re.compile(r"(?<![0-9A-Z])(?P<prefix>DU|DF|DI|U|F|I)(?P<digits>\d{5,9})(?![0-9])")

#: A mapping key whose value is a secret (``apiKey``, ``api_key``, ``secret``, ``token``, ``password``,
#: ``Authorization``, ``private_key``, ``cookie``); the same rule as the ledger's payload masking.
SECRET_KEY_PATTERN = re.compile(
    r"pass(word|phrase)?|secret|token|api[_-]?key|authori[sz]ation|private[_-]?key|cookie", re.IGNORECASE
)
_SCALARS = (bool, int, float)

_MIN_SECRET_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()


def mask_account(account: str | None) -> str | None:
    """``DU1234567`` -> ``DU****567``; anything else of 4+ characters keeps only its last 3."""
    if account is None:
        return None
    match = ACCOUNT_PATTERN.fullmatch(account)
    if match:
        digits = match["digits"]
        return f"{match['prefix']}{'*' * (len(digits) - 3)}{digits[-3:]}"
    if len(account) <= 3:
        return "*" * len(account)
    return f"{'*' * (len(account) - 3)}{account[-3:]}"


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` (and so every log line) replaces it with ``***``.

    Values shorter than 4 characters are ignored: masking them would mangle ordinary text.
    """
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def registered_secrets() -> frozenset[str]:
    """The secrets registered so far (for tests and diagnostics; never log this)."""
    with _lock:
        return frozenset(_secrets)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Replace registered secrets, ``extra_secrets`` and account numbers in ``text``."""
    with _lock:
        secrets = sorted(_secrets.union(s for s in extra_secrets if s), key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return ACCOUNT_PATTERN.sub(lambda m: mask_account(m.group(0)) or "", text)


def redact_value(value: Any, *, keep_objects: bool = False) -> Any:
    """A copy of ``value`` with secrets and account numbers masked at every depth (the input is not changed).

    Strings (and string keys) pass through :func:`redact`; in a mapping, the value under a key matching
    :data:`SECRET_KEY_PATTERN` becomes ``"***"`` (unless None or empty); lists, tuples and sets are walked
    (a set becomes a list); None, booleans and numbers are kept. Any other object becomes its redacted
    ``str`` (what a log formatter would print), or is kept as it is when ``keep_objects`` (for ``%``
    arguments of a log message, whose formatted text is redacted afterwards).
    """
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            (redact(k) if isinstance(k, str) else k): (
                "***"
                if isinstance(k, str) and SECRET_KEY_PATTERN.search(k) and v not in (None, "")
                else redact_value(v, keep_objects=keep_objects)
            )
            for k, v in value.items()
        }
    if isinstance(value, tuple):
        return tuple(redact_value(v, keep_objects=keep_objects) for v in value)
    if isinstance(value, list | set | frozenset):
        return [redact_value(v, keep_objects=keep_objects) for v in value]
    return value if keep_objects else redact(str(value))
