"""Client order ids: new ones carry ``CLIENT_ORDER_PREFIX``; :class:`ClientOrderRegistry` makes
``create_order`` idempotent per client order id within the process.

One id, one order:

* a call with an id already accepted returns the accepted order, and nothing is sent again;
* concurrent calls with one id share a single request;
* a failure where the venue answered (``InvalidOrder``, ``InsufficientFunds``, a rate-limit refusal ...)
  means nothing was placed: the id may be used again;
* a failure whose outcome is unknown (a timeout, a connection dropped after the request left) marks
  the id *uncertain*: a retry first looks for the order at the venue and, when it cannot find it,
  refuses rather than risk a second order (:class:`ccxt.DuplicateOrderId` with what to do).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

import aiohttp
from ccxt.base.errors import (
    BaseError,
    DDoSProtection,
    DuplicateOrderId,
    InvalidNonce,
    NetworkError,
    OnMaintenance,
)
from ccxt.base.types import Order

__all__ = ["ClientOrderRegistry", "new_client_order_id", "outcome_unknown"]

#: Network failures where the venue refused the request: nothing was placed.
_REFUSED = (DDoSProtection, InvalidNonce, OnMaintenance)  # DDoSProtection includes RateLimitExceeded


def new_client_order_id(prefix: str) -> str:
    """A fresh client order id: ``prefix`` + 16 hex characters (``trd-3f9c2a1e0b7d4c55``)."""
    return f"{prefix}{secrets.token_hex(8)}"


def outcome_unknown(exc: BaseException) -> bool:
    """True when a failed ``create_order`` may still have placed the order.

    Not unknown: any answer from the venue (ccxt errors other than ``NetworkError``), a refusal
    (rate limit, bad nonce, maintenance), and a connection that never opened. Unknown: timeouts,
    dropped connections, cancellation mid-request, anything unexpected.
    """
    if isinstance(exc, NetworkError):
        if isinstance(exc, _REFUSED):
            return False
        return not isinstance(exc.__cause__, aiohttp.ClientConnectorError)
    return not isinstance(exc, BaseError)


Lookup = Callable[[str], Awaitable[Order | None]]


class ClientOrderRegistry:
    """Orders by client order id, for the life of one trader."""

    def __init__(self) -> None:
        self._accepted: dict[str, Order] = {}
        self._inflight: dict[str, asyncio.Future[Order]] = {}
        self._uncertain: dict[str, str] = {}

    def accepted(self, client_order_id: str) -> Order | None:
        """The order the venue accepted under ``client_order_id``, if any."""
        return self._accepted.get(client_order_id)

    async def submit(self, client_order_id: str, send: Callable[[], Awaitable[Order]], find: Lookup) -> Order:
        """Send at most one order per ``client_order_id``.

        Args:
            client_order_id: the id.
            send: places the order (called at most once per success).
            find: looks the id up at the venue (open orders, fills); None when not found.

        Raises:
            DuplicateOrderId: an earlier attempt's outcome is unknown and the venue does not show it.
            Whatever ``send`` raises (ccxt errors unchanged).
        """
        if client_order_id in self._accepted:
            return self._accepted[client_order_id]
        pending = self._inflight.get(client_order_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._inflight[client_order_id] = future
        try:
            order = await self._resolve(client_order_id, send, find)
        except BaseException as exc:
            if outcome_unknown(exc):
                self._uncertain[client_order_id] = type(exc).__name__
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # mark retrieved: concurrent waiters re-raise it; nobody else must
            raise
        else:
            self._accepted[client_order_id] = order
            self._uncertain.pop(client_order_id, None)
            future.set_result(order)
            return order
        finally:
            self._inflight.pop(client_order_id, None)

    async def _resolve(self, client_order_id: str, send: Callable[[], Awaitable[Order]], find: Lookup) -> Order:
        reason = self._uncertain.get(client_order_id)
        if reason is None:
            return await send()
        found = await find(client_order_id)
        if found is not None:
            return found
        raise DuplicateOrderId(
            f"an earlier attempt with clientOrderId {client_order_id} ended in {reason}, so it may have been "
            "placed, and the venue shows no open order or fill for it; check the venue's order history, then "
            "retry with a new client order id"
        )
