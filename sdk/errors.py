"""Errors: ccxt's hierarchy for everything a venue can raise, plus the few the SDK adds.

Code written for ccxt catches an IB failure the same way it catches a Gemini one::

    try:
        await trader.create_order("BHP/AUD", "limit", "buy", 100, 45.10)
    except InvalidOrder: ...        # off-tick price, rejected order (IB 110, 201)
    except NetworkError: ...        # connectivity lost (IB 1100, 502, 504), retry later

Venue errors are translated at the venue boundary from a table keyed by the venue's code, with
``raise ... from exc``. Errors that need a person (configuration) are not ccxt errors:
:class:`sdk.settings.SettingsError`.
"""

from __future__ import annotations

from ccxt.base.errors import (
    ArgumentsRequired,
    AuthenticationError,
    BadRequest,
    BadSymbol,
    BaseError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    NotSupported,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
    RequestTimeout,
)

__all__ = [
    "ArgumentsRequired",
    "AuthenticationError",
    "BadRequest",
    "BadSymbol",
    "BaseError",
    "ExchangeError",
    "ExchangeNotAvailable",
    "FxRateUnavailable",
    "InsufficientFunds",
    "InvalidOrder",
    "LiveTradingNotAllowed",
    "NetworkError",
    "NotSupported",
    "OrderNotFound",
    "PermissionDenied",
    "RateLimitExceeded",
    "RequestTimeout",
]


class FxRateUnavailable(ExchangeError):
    """No usable quote to convert between two currencies; never replaced by a silent 1.0."""


class LiveTradingNotAllowed(PermissionDenied):
    """A live account or live port was configured without ``IB_ALLOW_LIVE=true``."""
