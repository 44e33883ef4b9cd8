"""How the dashboard writes money, prices, rates, amounts and times: every sum with its currency.

Rules (``docs/decisions/0001-currency-in-the-ledger.md``): money always shows its currency; a
pending commission shows :data:`PENDING`, never ``0.00``; a conversion into the base currency shows
the rate used (``1 USD = 1.5230 AUD``); a value the ledger does not hold shows :data:`MISSING`.
Rounding is half-up on :class:`~decimal.Decimal`, never through floats.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "MISSING",
    "PENDING",
    "amount",
    "duration",
    "duration_ms",
    "home_tz",
    "money",
    "pct",
    "price",
    "rate",
    "signed_money",
    "timestamp",
    "to_decimal",
]

#: A commission (or a conversion of one) the venue has not reported yet.
PENDING = "pending"
#: A value the ledger does not hold.
MISSING = "—"

#: The time zone the dashboard shows times and trading days in, by the account's base currency
#: (the home market of an AUD account is the ASX in Sydney). Others fall back to UTC.
HOME_TZ = {"AUD": "Australia/Sydney", "USD": "America/New_York", "NZD": "Pacific/Auckland", "GBP": "Europe/London"}


def home_tz(base_currency: str | None) -> str:
    """The IANA time zone for an account with ``base_currency`` (``AUD`` -> ``Australia/Sydney``; else UTC)."""
    return HOME_TZ.get(base_currency or "", "UTC")


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal (floats through their shortest repr), None for None, NaN or text that is no number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _grouped(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = abs(rounded)  # -0.003 shows as 0.00, not -0.00
    return f"{rounded:,.{places}f}"


def money(value: Any, currency: str | None, places: int = 2) -> str:
    """``1,234.56 AUD``; :data:`MISSING` when ``value`` is None. A negative value keeps its sign."""
    number = to_decimal(value)
    if number is None:
        return MISSING
    text = _grouped(number, places)
    return f"{text} {currency}" if currency else text


def signed_money(value: Any, currency: str | None, places: int = 2) -> str:
    """Like :func:`money` with an explicit ``+`` on gains: ``+1,234.56 AUD``, ``-12.00 AUD``."""
    number = to_decimal(value)
    text = money(number, currency, places)
    return f"+{text}" if number is not None and number > 0 else text


def price(value: Any, currency: str | None, min_places: int = 2, max_places: int = 8) -> str:
    """A price in its quote currency with the decimals it has (2 to 8): ``45.12 AUD``, ``0.65432 USD``."""
    number = to_decimal(value)
    if number is None:
        return MISSING
    exponent = number.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    text = _grouped(number, min(max(places, min_places), max_places))
    return f"{text} {currency}" if currency else text


def amount(value: Any) -> str:
    """A quantity in base units (shares, units of an FX base currency) without trailing zeros: ``100``, ``0.5``."""
    number = to_decimal(value)
    if number is None:
        return MISSING
    normal = number.normalize()
    if normal == normal.to_integral_value():
        return f"{normal:,.0f}"
    return f"{normal:,f}"


def rate(value: Any, currency: str | None, base_currency: str | None, places: int = 4) -> str:
    """The FX rate used for a conversion: ``1 USD = 1.5230 AUD`` (units of ``base_currency`` per unit).

    ``same currency`` when no conversion was needed; :data:`MISSING` when no rate was recorded.
    """
    number = to_decimal(value)
    if currency is not None and currency == base_currency:
        return "same currency"
    if number is None or currency is None or base_currency is None:
        return MISSING
    return f"1 {currency} = {_grouped(number, places)} {base_currency}"


def pct(fraction: Any, places: int = 2) -> str:
    """A fraction as a percentage: ``-0.0123`` -> ``-1.23%``."""
    number = to_decimal(fraction)
    if number is None:
        return MISSING
    return f"{_grouped(number * 100, places)}%"


def timestamp(ms: int | None, tz: str = "UTC", *, seconds: bool = True) -> str:
    """Milliseconds UTC as local time in ``tz``: ``2025-11-21 10:15:03 AEDT``."""
    if ms is None:
        return MISSING
    local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def duration_ms(ms: int) -> str:
    """A span given in milliseconds, as :func:`duration` writes it (``1 h``)."""
    return duration(timedelta(milliseconds=ms))


def duration(delta: timedelta) -> str:
    """A span for people: ``2 d 3 h``, ``3 h 20 min``, ``45 min``, ``under a minute``."""
    total_minutes = int(delta.total_seconds() // 60)
    if total_minutes < 1:
        return "under a minute"
    days, rest = divmod(total_minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
