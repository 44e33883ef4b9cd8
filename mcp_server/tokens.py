"""Single-use confirmation tokens: ``preview_order`` issues one, ``place_order(token)`` redeems it.

A token is a random opaque string (``secrets.token_urlsafe``) that names a server-side record of the
exact normalised order the RiskManager approved and the client order id it will be sent with. The
agent never sends the order again, so what is placed is what was previewed. A token:

* is valid for :data:`TOKEN_TTL_SECONDS` (60 s) on the store's clock (injectable in tests) until it
  is first submitted;
* is redeemed once: a second ``place_order`` with it is refused, naming the order it placed;
* stays redeemable after a retryable failure (the venue did not answer), because the order keeps
  its client order id and the execution service is idempotent by it: a retry never sends twice.
  Once submitted, its client order id is bound to the venue's outcome, so the 60 s expiry no longer
  applies: a retry at any later time resubmits the same id, which the execution service answers from
  the ledger or the venue (a new preview would mint a new id, hence a second order). Such a token is
  also kept when other tokens are forgotten.

Tokens live in this process's memory: a restarted server knows none of them (preview again).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sdk.risk import Approved, OrderIntent

__all__ = ["TOKEN_TTL_SECONDS", "Confirmation", "TokenRefused", "TokenState", "TokenStore"]

#: Seconds a confirmation token stays valid after ``preview_order`` issued it.
TOKEN_TTL_SECONDS = 60.0
_MAX_LIVE_TOKENS = 1_000


class TokenState(StrEnum):
    """Where a confirmation is in its life."""

    ISSUED = "issued"  # previewed, not yet placed
    PLACING = "placing"  # place_order is sending it now
    PLACED = "placed"  # placed (or shadow-filled): the token is spent


class TokenRefused(Exception):
    """The token cannot be redeemed; the message says why and to call ``preview_order`` again."""


@dataclass(slots=True)
class Confirmation:
    """What a token stands for: the approved decision, the intent to send and when it expires.

    Attributes:
        token: the opaque token given to the agent.
        intent: the order to submit, exactly the RiskManager's normalised order with its client order id.
        decision: the preview's :class:`~sdk.risk.Approved` decision (for the audit trail).
        client_order_id: the id the order is sent with (``CLIENT_ORDER_PREFIX`` + suffix).
        expires_at: the store clock's time (seconds) after which the token is refused, unless submitted.
        state: issued, placing or placed.
        submitted: ``place_order`` has sent it to the execution service at least once (the outcome may be
            unknown): from then on it never expires, so a retry keeps its client order id.
        result: what ``place_order`` answered once placed (returned again to nobody: a reuse is refused).
    """

    token: str
    intent: OrderIntent
    decision: Approved
    client_order_id: str
    expires_at: float
    state: TokenState = TokenState.ISSUED
    submitted: bool = False
    result: dict[str, Any] | None = field(default=None)


class TokenStore:
    """Issues and redeems confirmation tokens (one store per server process).

    Args:
        now: seconds on a monotonic clock (default ``time.monotonic``; tests pass a fake to expire tokens).
        ttl: seconds a token is valid.
    """

    def __init__(self, now: Callable[[], float] | None = None, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._now = now or time.monotonic
        self.ttl = ttl
        self._records: dict[str, Confirmation] = {}
        self._lock = asyncio.Lock()

    def issue(self, intent: OrderIntent, decision: Approved) -> Confirmation:
        """A fresh token bound to ``intent`` (which carries its client order id) and its approval."""
        if intent.client_order_id is None:
            raise ValueError("a confirmed order needs its client order id before a token is issued")
        self._forget_expired()
        token = secrets.token_urlsafe(24)
        record = Confirmation(
            token=token,
            intent=intent,
            decision=decision,
            client_order_id=intent.client_order_id,
            expires_at=self._now() + self.ttl,
        )
        self._records[token] = record
        return record

    def expires_in(self, record: Confirmation) -> float:
        """Seconds left before ``record`` expires (0 when it has)."""
        return max(0.0, record.expires_at - self._now())

    async def begin(self, token: str) -> Confirmation:
        """Claim ``token`` for placing; exactly one concurrent caller wins.

        A token never submitted expires :attr:`ttl` seconds after it was issued; one already submitted
        (whose earlier attempt ended with an unknown outcome) stays redeemable: the caller resubmits the
        same client order id, and the execution service, idempotent by it, sends nothing twice.

        Raises:
            TokenRefused: unknown (never issued, or issued before a restart), expired before it was ever
                submitted, being placed by another call right now, or already placed.
        """
        async with self._lock:
            record = self._records.get(token) if isinstance(token, str) else None
            if record is None:
                raise TokenRefused(
                    "this confirmation token is unknown (mistyped, or issued before the server restarted); "
                    "call preview_order again and pass the new token to place_order"
                )
            if record.state is TokenState.PLACED:
                raise TokenRefused(
                    f"this confirmation token was already used: order {record.client_order_id} was placed with it; "
                    "check it with get_open_orders or get_trades, and call preview_order again for a new order"
                )
            if record.state is TokenState.PLACING:
                raise TokenRefused(
                    f"order {record.client_order_id} is being placed with this token by another call right now; "
                    "wait for it and check get_open_orders instead of retrying"
                )
            if not record.submitted and self._now() >= record.expires_at:
                raise TokenRefused(
                    f"this confirmation token expired (tokens are valid {self.ttl:g} s); "
                    "call preview_order again to re-check the order at current prices, then place_order"
                )
            record.state = TokenState.PLACING
            record.submitted = True  # the caller submits it now: its client order id is bound from here on
            return record

    def finish(self, record: Confirmation, result: dict[str, Any]) -> None:
        """Mark ``record`` placed: its token is spent."""
        record.state = TokenState.PLACED
        record.result = result

    def release(self, record: Confirmation) -> None:
        """The attempt failed before the outcome was final (retryable): the token may be redeemed again."""
        if record.state is TokenState.PLACING:
            record.state = TokenState.ISSUED

    def spend(self, record: Confirmation) -> None:
        """The attempt failed for good (refused by risk or the venue): the token may not be used again."""
        record.state = TokenState.PLACED

    def _forget_expired(self) -> None:
        now = self._now()
        grace = self.ttl * 10  # keep spent tokens a while, so a late retry is told what happened
        for token, record in list(self._records.items()):
            if now >= record.expires_at + grace and not _unresolved(record):
                del self._records[token]
        while len(self._records) >= _MAX_LIVE_TOKENS:
            # forget the oldest token whose outcome is settled (or never submitted) before any unresolved one
            oldest = min(self._records.values(), key=lambda r: (_unresolved(r), r.expires_at))
            del self._records[oldest.token]


def _unresolved(record: Confirmation) -> bool:
    """Submitted with an outcome not yet known (being placed, or released after an unconfirmed attempt)."""
    return record.state is TokenState.PLACING or (record.submitted and record.state is TokenState.ISSUED)
