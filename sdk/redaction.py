"""Masking of secrets and account numbers, for logs, errors, the ledger and tool output.

Account numbers are masked to their letters and last three digits (``DU1234567`` -> ``DU****567``),
enough for a person to tell their accounts apart and not enough to identify one. Secrets (API keys,
tokens) are replaced whole by ``***``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

__all__ = ["ACCOUNT_PATTERN", "mask_account", "redact", "register_secret", "registered_secrets"]

#: IB account numbers: individual ``U…``, paper ``DU…``, advisor ``F…``/``DF…``, broker ``I…``/``DI…``.
ACCOUNT_PATTERN = re.compile(r"\b(?P<prefix>DU|DF|DI|U|F|I)(?P<digits>\d{5,9})\b")

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
