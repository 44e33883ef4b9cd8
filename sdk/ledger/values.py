"""Checking and converting the values handed to the ledger: numbers, times, symbols, JSON payloads.

Every function raises :class:`~sdk.ledger.errors.LedgerInputError` naming the field, what was wrong
and what to pass instead; nothing is rounded to fit, nothing missing is guessed (a missing fee stays
None, a missing FX rate stays None).
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from ccxt.base.errors import BadSymbol
from pydantic import BaseModel

from sdk.ledger.errors import LedgerInputError
from sdk.redaction import SECRET_KEY_PATTERN, mask_account, redact
from sdk.symbols import parse_symbol

__all__ = [
    "SECRET_KEY",
    "Number",
    "mask_payload",
    "masked_account",
    "now_ms",
    "optional_text",
    "quote_currency",
    "require_text",
    "to_currency",
    "to_decimal",
    "to_ms",
    "to_whole",
]

#: What the ledger accepts for a price, amount, money value or rate (floats via their shortest repr).
Number = Decimal | float | int | str

#: Keys whose values are secrets in any payload (``api_key``, ``token``, ``Authorization``, ...): the
#: log redaction's rule (:data:`sdk.redaction.SECRET_KEY_PATTERN`), so the ledger and the logs agree.
SECRET_KEY = SECRET_KEY_PATTERN
_CURRENCY = re.compile(r"[A-Z0-9]{2,10}")
_MAX_DIGITS = 28
_SCALE = 10


def now_ms() -> int:
    """Milliseconds since the epoch, UTC: the ledger's clock for ``created_at``/``updated_at``."""
    return time.time_ns() // 1_000_000


def to_decimal(value: object, field: str, *, required: bool = False) -> Decimal | None:
    """A price, amount, money value or FX rate as a :class:`~decimal.Decimal` (None stays None).

    Floats go through their shortest ``repr`` (``45.12`` -> ``Decimal("45.12")``, not the binary
    expansion). Accepts int, float, Decimal and numeric strings.

    Raises:
        LedgerInputError: a bool, NaN, infinity, a non-numeric string, more than 18 integer digits,
            or None where ``required``.
    """
    if value is None:
        if required:
            raise LedgerInputError(f"{field} is required (got None)")
        return None
    if isinstance(value, bool):
        raise LedgerInputError(f"{field} must be a number, not {value!r}")
    try:
        if isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise LedgerInputError(f"{field} must be a number (int, float, Decimal or numeric str), not {value!r}")
    except InvalidOperation:
        raise LedgerInputError(f"{field} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise LedgerInputError(f"{field} must be a finite number, not {value!r}; pass None when it is unknown")
    if number.adjusted() >= _MAX_DIGITS - _SCALE:
        raise LedgerInputError(f"{field} = {value!r} is too large for the ledger (at most 18 integer digits)")
    return number


def to_whole(value: object, field: str) -> int | None:
    """A whole number (a size in shares or units): int, or a float/Decimal with no fraction.

    Raises:
        LedgerInputError: a fractional value (the ledger stores whole units; pass None when the venue's
            sizes are fractional) or anything that is not a number.
    """
    number = to_decimal(value, field)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise LedgerInputError(
            f"{field} = {value!r} is not a whole number; market data sizes are stored in whole units "
            "(shares, FX units). Pass None for a venue whose sizes are fractional."
        )
    return int(number)


def to_ms(value: object, field: str, *, required: bool = False) -> int | None:
    """A timestamp as integer milliseconds UTC: an int (ms), an integral float, or an aware datetime.

    Raises:
        LedgerInputError: a naive datetime (which time zone?), seconds instead of milliseconds
            (before 2001-09-09), a fractional float, or None where ``required``.
    """
    if value is None:
        if required:
            raise LedgerInputError(f"{field} is required: integer milliseconds UTC (got None)")
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise LedgerInputError(f"{field}: {value!r} has no time zone; pass an aware datetime or milliseconds UTC")
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LedgerInputError(f"{field} must be integer milliseconds UTC, not {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise LedgerInputError(f"{field} = {value!r} must be whole milliseconds UTC")
    ms = int(value)
    if ms < 1_000_000_000_000:
        raise LedgerInputError(
            f"{field} = {value!r} looks like seconds, not milliseconds (it is before 2001-09-09 in ms); "
            "multiply by 1000"
        )
    return ms


def to_currency(value: object, field: str, *, required: bool = False) -> str | None:
    """A currency code in upper case (``AUD``, ``USD``, ``BTC``, ``USDT``)."""
    if value is None:
        if required:
            raise LedgerInputError(f"{field} is required: a currency code such as AUD")
        return None
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise LedgerInputError(f"{field} must be an upper-case currency code such as AUD or USD, not {value!r}")
    return value


def require_text(value: object, field: str, *, max_length: int, choices: frozenset[str] | None = None) -> str:
    """A non-empty string of at most ``max_length`` characters (one of ``choices`` when given)."""
    if not isinstance(value, str) or not value:
        raise LedgerInputError(f"{field} is required: a non-empty string (got {value!r})")
    if len(value) > max_length:
        raise LedgerInputError(f"{field} is longer than {max_length} characters: {value[:max_length]!r}...")
    if choices is not None and value not in choices:
        raise LedgerInputError(f"{field} must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value


def optional_text(value: object, field: str, *, max_length: int) -> str | None:
    """Like :func:`require_text`, but None (or an empty string) is None."""
    if value is None or value == "":
        return None
    return require_text(value, field, max_length=max_length)


def quote_currency(symbol: object, field: str = "symbol") -> str:
    """The quote currency of a canonical ``BASE/QUOTE`` symbol (``BHP/AUD`` -> ``AUD``).

    Raises:
        LedgerInputError: ``symbol`` is not canonical; the message names the likely intended form.
    """
    if not isinstance(symbol, str):
        raise LedgerInputError(f"{field} is required: a canonical symbol such as BHP/AUD (got {symbol!r})")
    try:
        return parse_symbol(symbol).quote
    except BadSymbol as exc:
        raise LedgerInputError(f"{field}: {exc}") from None


def masked_account(account: str | None) -> str:
    """The account as the ledger stores it: masked (``DU****567``), ``""`` for none; already-masked kept."""
    if not account:
        return ""
    if "*" in account:
        return account
    return mask_account(account) or ""


def mask_payload(value: Any, *, _key: str | None = None) -> Any:
    """A JSON-safe copy of ``value`` with secrets and account numbers masked.

    Values under a key that names a secret (:data:`SECRET_KEY`) become ``"***"``; strings pass
    through :func:`sdk.redaction.redact` (registered secrets, IB account numbers); Decimals become
    strings (exact); pydantic models and dataclasses their fields; dates ISO 8601; NaN and
    infinities (IB's "unset") become None; other objects their ``str``.
    """
    if _key is not None and SECRET_KEY.search(_key) and value not in (None, ""):
        return "***"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, Enum):
        return mask_payload(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return mask_payload(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return mask_payload(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): mask_payload(v, _key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_payload(v) for v in value]
    return redact(str(value))
