"""Pure tables for the IB venue: order statuses, error codes, liquidity flags, unset values.

Nothing here talks to IB; every function is a lookup or a small pure conversion, so the
translation rules are testable on their own and read in one place.

Sources: IB TWS API "Message Codes" (https://interactivebrokers.github.io/tws-api/message_codes.html),
"Order Status" (https://interactivebrokers.github.io/tws-api/order_submission.html#order_status),
``Execution.lastLiquidity`` (https://interactivebrokers.github.io/tws-api/classIBApi_1_1Execution.html)
and ib_async 2.1.0's ``wrapper.py`` (which statuses and codes it treats as warnings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, get_args

from ccxt.base.errors import (
    BadRequest,
    BadSymbol,
    BaseError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

__all__ = [
    "BRACKET_SUFFIXES",
    "CCXT_ORDER_STATUSES",
    "CCXT_TIME_IN_FORCE",
    "CONNECTIVITY_LOST",
    "CONNECTIVITY_RESTORED_DATA_KEPT",
    "CONNECTIVITY_RESTORED_DATA_LOST",
    "ERROR_CLASSES",
    "FARM_DOWN",
    "FARM_OK",
    "INFORMATIONAL_CODES",
    "MAX_AMOUNT",
    "MAX_PRICE",
    "ORDER_STATUS",
    "ORDER_TYPES",
    "TIME_IN_FORCE",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "CcxtStatus",
    "clean_number",
    "commission_or_pending",
    "error_for",
    "is_informational",
    "is_no_data",
    "is_pacing_violation",
    "sane_price",
    "taker_or_maker",
    "to_ccxt_status",
    "to_ccxt_time_in_force",
]

#: IB's "no value" markers on the wire (``Double.MAX_VALUE`` and ``Integer.MAX_VALUE``).
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1

CcxtStatus = Literal["open", "closed", "canceled", "rejected", "expired"]
#: Every ccxt order status (ccxt Manual, "Order structure": open, closed, canceled, expired, rejected).
CCXT_ORDER_STATUSES: frozenset[str] = frozenset(get_args(CcxtStatus))

#: IB order status -> ccxt order status. IB's raw status is kept in ``info["status"]``.
#: ``Inactive`` is IB's "rejected or not accepted by the exchange" (IB: Order Status page);
#: ``ValidationError`` is ib_async's mark for a warning on a live order (the order stays live).
ORDER_STATUS: Mapping[str, CcxtStatus] = {
    "ApiPending": "open",
    "PendingSubmit": "open",
    "PreSubmitted": "open",
    "Submitted": "open",
    "PendingCancel": "open",
    "ValidationError": "open",
    "ApiCancelled": "canceled",
    "Cancelled": "canceled",
    "Filled": "closed",
    "Inactive": "rejected",
}

#: Error codes that mean an order never became live (IB rejects it): its status becomes ``rejected``.
ORDER_REJECTION_CODES: frozenset[int] = frozenset({103, 110, 200, 201, 203, 321, 382, 383, 387, 388, 463, 10147})

#: IB error code -> the ccxt error class a caller sees (``raise cls(message) from exc``).
ERROR_CLASSES: Mapping[int, type[BaseError]] = {
    100: RateLimitExceeded,  # max rate of messages per second exceeded
    103: InvalidOrder,  # duplicate order id
    104: InvalidOrder,  # can't modify a filled order
    105: InvalidOrder,  # order being modified does not match the original
    110: InvalidOrder,  # price does not conform to the minimum price variation
    135: OrderNotFound,  # can't find order with id
    161: InvalidOrder,  # cancel attempted when order is not in a cancellable state
    162: ExchangeError,  # historical market data service error (pacing: see is_pacing_violation)
    200: BadSymbol,  # no security definition has been found / ambiguous contract
    201: InvalidOrder,  # order rejected
    203: PermissionDenied,  # the security is not available or allowed for this account
    300: BadRequest,  # can't find EId with ticker id
    321: BadRequest,  # error validating request
    322: ExchangeError,  # error processing request (e.g. duplicate ticker id)
    326: ExchangeNotAvailable,  # client id already in use (the lease takes the next id)
    354: PermissionDenied,  # requested market data is not subscribed
    366: BadRequest,  # no historical data query found for ticker id
    382: InvalidOrder,  # size exceeds the limit
    383: InvalidOrder,  # size exceeds the limit (shares)
    387: InvalidOrder,  # unsupported order type for this exchange and security type
    388: InvalidOrder,  # order size is smaller than the minimum
    420: BadRequest,  # invalid real-time query
    463: InvalidOrder,  # you must enter a valid price
    502: NetworkError,  # couldn't connect to TWS
    504: NetworkError,  # not connected
    1100: NetworkError,  # connectivity between IB and TWS has been lost
    1300: NetworkError,  # socket port has been reset
    10147: OrderNotFound,  # order id that needs to be cancelled is not found
    10148: InvalidOrder,  # order can't be cancelled (already filled or cancelled)
    10167: PermissionDenied,  # requested market data is not subscribed; delayed data displayed
}

#: Farm and status notices that carry no error: logged at INFO, never raised (IB message codes 21xx).
FARM_OK: frozenset[int] = frozenset({2104, 2106, 2158})
#: Farm connection broken (data may stall): the health state degrades, nothing is raised.
FARM_DOWN: frozenset[int] = frozenset({2103, 2105, 2157})
INFORMATIONAL_CODES: frozenset[int] = FARM_OK | frozenset({2100, 2107, 2108, 2119, 2150, 2168, 2169, 165, 10197})

CONNECTIVITY_LOST: frozenset[int] = frozenset({1100, 1300, 504})
#: 1101: restored, market data lost: every stream must be requested again.
CONNECTIVITY_RESTORED_DATA_LOST: frozenset[int] = frozenset({1101})
#: 1102: restored, market data kept.
CONNECTIVITY_RESTORED_DATA_KEPT: frozenset[int] = frozenset({1102})

#: ccxt order type -> IB orderType (IB "Order Types": LMT, MKT, STP, STP LMT).
ORDER_TYPES: Mapping[str, str] = {"limit": "LMT", "market": "MKT", "stop": "STP", "stop_limit": "STP LMT"}

#: Bounds far beyond any real order; they keep absurd input (1e308) out of decimal arithmetic.
MAX_AMOUNT = 1e12
MAX_PRICE = 1e9

#: ``create_order`` params IBTrader honours: ccxt's unified ``clientOrderId`` (IB ``orderRef``), ``timeInForce``,
#: ``stopPrice``/``triggerPrice`` (IB ``auxPrice``), ``reduceOnly`` (checked against the position), the attached
#: exits ``stopLossPrice``/``takeProfitPrice`` (or ccxt's ``stopLoss``/``takeProfit`` dicts; sent as IB's bracket,
#: :mod:`sdk.venues.ib.brackets`), and IB's own ``outsideRth``.
ORDER_PARAMS: frozenset[str] = frozenset(
    {
        "clientOrderId",
        "timeInForce",
        "stopPrice",
        "triggerPrice",
        "reduceOnly",
        "outsideRth",
        "stopLossPrice",
        "takeProfitPrice",
        "stopLoss",
        "takeProfit",
    }
)
#: A bracket child's client order id is its parent's plus this suffix (IB ``orderRef``; found again by it).
BRACKET_SUFFIXES: Mapping[str, str] = {"stopLoss": "-sl", "takeProfit": "-tp"}
#: ccxt unified ``create_order`` params IBTrader does not honour, and what to do instead (refused with
#: ``NotSupported``: never silently dropped, so a stop-loss the caller asked for is never missing unnoticed).
REFUSED_ORDER_PARAMS: Mapping[str, str] = {
    "postOnly": "IB has no post-only flag for stocks and FX; send a limit order that does not cross the spread",
    "trailingAmount": "trailing stops are not sent yet; use a stop order and move it",
    "trailingPercent": "trailing stops are not sent yet; use a stop order and move it",
    "trailingTriggerPrice": "trailing stops are not sent yet; use a stop order and move it",
    "cost": "IB orders are sized in base units (shares, base currency); pass amount, not cost",
    "leverage": "IB stock and FX orders take no leverage parameter; margin follows the account type",
    "marginMode": "IB stock and FX orders take no margin mode; margin follows the account type",
    "hedged": "IB keeps one net position per contract; there is no hedged mode",
}
#: ccxt / IB time in force accepted from callers -> IB tif. ``PO`` (post-only) has no IB tif.
TIME_IN_FORCE: Mapping[str, str] = {"GTC": "GTC", "DAY": "DAY", "IOC": "IOC", "FOK": "FOK", "OPG": "OPG", "GTD": "GTD"}
#: IB tif -> ccxt's unified ``timeInForce`` (ccxt Manual: GTC, IOC, FOK, PO; its order validator
#: also knows GTK). IB's DAY, OPG (at the open) and GTD have no ccxt value: ``timeInForce`` is None
#: for them and IB's tif stays in ``info["tif"]``.
CCXT_TIME_IN_FORCE: Mapping[str, str] = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK"}

_LIQUIDITY: Mapping[int, Literal["maker", "taker"]] = {1: "maker", 2: "taker"}


def clean_number(value: float | int | Decimal | None) -> float | None:
    """``value`` as a float, or None for IB's unset markers, NaN and infinities."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number) or abs(number) >= UNSET_DOUBLE / 2 or number == UNSET_INTEGER:
        return None
    return number


def sane_price(value: object) -> bool:
    """A positive, finite price of at most :data:`MAX_PRICE` (a bool is not a price)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= MAX_PRICE
    )


def commission_or_pending(commission: float | None, currency: str | None, exec_id: str | None) -> float | None:
    """IB's commission for one execution, or None while it is pending.

    Pending (None) when no commission report has arrived yet (``execId`` empty, as in ib_async's
    placeholder ``CommissionReport()``), when the value is IB's unset double or not finite, or when it
    is 0.0 or negative: IB sends those before the real report, and a cost is never guessed.
    """
    if not exec_id or not currency:
        return None
    value = clean_number(commission)
    if value is None or value <= 0:
        return None
    return value


def to_ccxt_status(ib_status: str, *, error_code: int | None = None, message: str = "") -> CcxtStatus:
    """ccxt status of an IB order status.

    ``error_code``/``message`` refine a terminal ``Cancelled``: cancelled by a rejection code
    (:data:`ORDER_REJECTION_CODES`) -> ``rejected``; cancelled because its time in force ran out
    (IB's message says "expired") -> ``expired``. An unknown status is treated as ``open`` (never as
    done: a live order must not be forgotten).
    """
    status = ORDER_STATUS.get(ib_status, "open")
    if status == "canceled":
        if error_code in ORDER_REJECTION_CODES:
            return "rejected"
        if "expire" in message.lower():
            return "expired"
    return status


def to_ccxt_time_in_force(ib_tif: str | None) -> str | None:
    """ccxt ``timeInForce`` of an IB tif (:data:`CCXT_TIME_IN_FORCE`); None when ccxt has no equivalent."""
    return CCXT_TIME_IN_FORCE.get((ib_tif or "").upper())


def is_pacing_violation(code: int, message: str) -> bool:
    """Error 162 that is a historical-data pacing violation (IB's text: "pacing violation")."""
    return code == 162 and "pacing" in message.lower()


def is_no_data(code: int, message: str) -> bool:
    """Error 162 that means "HMDS query returned no data": an empty answer, not a failure."""
    return code == 162 and "no data" in message.lower()


def is_informational(code: int) -> bool:
    """A notice that is only logged (farm status 2104/2106/2158 and other 21xx notices)."""
    return code in INFORMATIONAL_CODES or code in FARM_DOWN or 2100 <= code < 2200


def error_for(code: int, message: str) -> BaseError:
    """The ccxt error for an IB error code, its message prefixed with the code.

    162 is ``RateLimitExceeded`` when it is a pacing violation; a rejection (201) that mentions
    funds or margin is ``InsufficientFunds``; an unknown code is ``ExchangeError``.
    """
    text = f"IB error {code}: {message}"
    if is_pacing_violation(code, message):
        return RateLimitExceeded(text)
    lowered = message.lower()
    if code in (201, 202) and ("insufficient" in lowered or "margin" in lowered or "funds" in lowered):
        return InsufficientFunds(text)
    return ERROR_CLASSES.get(code, ExchangeError)(text)


def taker_or_maker(last_liquidity: int | None) -> Literal["maker", "taker"] | None:
    """ccxt ``takerOrMaker`` from IB's ``Execution.lastLiquidity``: 1 added (maker), 2 removed (taker).

    Anything else (3 "liquidity routed out", 0 unknown) is None: not guessed.
    """
    return _LIQUIDITY.get(last_liquidity or 0)
