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

from collections.abc import Mapping
from typing import Any

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
    "RiskFxUnavailable",
    "RiskRefusal",
    "RiskRejected",
    "SymbolNotAllowed",
]


class FxRateUnavailable(ExchangeError):
    """No usable quote to convert between two currencies; never replaced by a silent 1.0."""


class LiveTradingNotAllowed(PermissionDenied):
    """A live account or live port was configured without ``IB_ALLOW_LIVE=true``."""


class RiskRefusal(Exception):
    """The RiskManager refused an order of the guarded trader (``create_trader``); nothing was sent.

    Catch this to handle every risk refusal at once; each concrete refusal is also the ccxt error a ccxt user
    expects (:class:`SymbolNotAllowed` is a ``BadSymbol``, :class:`RiskRejected` an ``InvalidOrder``).

    Attributes:
        rejection: the decision as JSON (``sdk.risk.Rejected.to_dict()``): ``code`` (``sdk.risk.RejectCode``),
            ``reason`` (what was wrong and what to do instead), ``limit``, ``value``, ``currency``, ``symbol``.
    """

    def __init__(self, message: str, rejection: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.rejection: dict[str, Any] = dict(rejection or {})

    @property
    def code(self) -> str | None:
        """The rejection code (``max_order_value``, ``symbol_not_allowed`` ...)."""
        return self.rejection.get("code")


class SymbolNotAllowed(RiskRefusal, BadSymbol):
    """The symbol is outside ``ALLOWED_SYMBOLS`` (or its type outside ``ALLOWED_INSTRUMENT_TYPES``)."""


class RiskRejected(RiskRefusal, InvalidOrder):
    """A RiskManager limit refused the order (``MAX_ORDER_VALUE``, ``MAX_PRICE_OFF_MARKET_PCT``, market hours ...)."""


class RiskFxUnavailable(RiskRefusal, FxRateUnavailable):
    """The order cannot be valued in the base currency: no FX rate (never replaced by 1.0)."""
