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

The server keeps its tokens in the ledger (:class:`LedgerTokenStore`, :mod:`sdk.ledger.tokens`): a token
expires on the database's clock and is redeemed once across every MCP server process on that ledger (a second
``place_order`` with it fails even from another process), and a restarted server still knows it.
:class:`TokenStore` keeps them in memory (tests that move a fake clock to expire them).
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sdk.ledger import Ledger
from sdk.ledger import tokens as rows
from sdk.risk import Approved, OrderIntent

__all__ = ["TOKEN_TTL_SECONDS", "Confirmation", "LedgerTokenStore", "TokenRefused", "TokenState", "TokenStore"]

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
        decision: the preview's :class:`~sdk.risk.Approved` decision (None when another process issued it).
        client_order_id: the id the order is sent with (``CLIENT_ORDER_PREFIX`` + suffix).
        expires_at: the store clock's time (seconds) after which the token is refused, unless submitted.
        state: issued, placing or placed.
        submitted: ``place_order`` has sent it to the execution service at least once (the outcome may be
            unknown): from then on it never expires, so a retry keeps its client order id.
        result: what ``place_order`` answered once placed (returned again to nobody: a reuse is refused).
    """

    token: str
    intent: OrderIntent
    decision: Approved | None
    client_order_id: str
    expires_at: float
    state: TokenState = TokenState.ISSUED
    submitted: bool = False
    result: dict[str, Any] | None = field(default=None)
    warnings: tuple[str, ...] = ()


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
            warnings=tuple(decision.warnings),
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


def _unknown() -> TokenRefused:
    return TokenRefused(
        "this confirmation token is unknown (mistyped, or never issued on this ledger); "
        "call preview_order again and pass the new token to place_order"
    )


class LedgerTokenStore:
    """:class:`TokenStore`'s contract with the tokens in the ledger, shared by every server process on it.

    Expiry is on the database's clock; claiming is one conditional update, so one token places one order
    across processes. Raises :class:`TokenRefused` also when the ledger cannot be reached (nothing is placed).
    """

    def __init__(
        self, ledger: Ledger, ttl: float = TOKEN_TTL_SECONDS, placing_timeout: float = rows.PLACING_TIMEOUT_MS / 1000
    ) -> None:
        self.ledger = ledger
        self.ttl = ttl
        #: seconds after which a claim for placing that never finished (its process died) may be taken again
        self.placing_timeout = placing_timeout
        self._issuer = f"{socket.gethostname()[:100]}:{os.getpid()}"

    def issue(self, intent: OrderIntent, decision: Approved) -> Confirmation:
        """A fresh token bound to ``intent`` (with its client order id), stored in the ledger."""
        if intent.client_order_id is None:
            raise ValueError("a confirmed order needs its client order id before a token is issued")
        token = secrets.token_urlsafe(24)
        expires = rows.issue(
            self.ledger, token, client_order_id=intent.client_order_id, intent=intent.model_dump(mode="json"),
            warnings=list(decision.warnings), ttl_ms=int(self.ttl * 1000), issued_by=self._issuer,
        )  # fmt: skip
        return Confirmation(
            token=token, intent=intent, decision=decision, client_order_id=intent.client_order_id,
            expires_at=expires / 1000, warnings=tuple(decision.warnings),
        )  # fmt: skip

    def expires_in(self, record: Confirmation) -> float:
        """Seconds left before ``record`` expires on the database's clock (0 when it has)."""
        return max(0.0, record.expires_at - rows.now_ms(self.ledger) / 1000)

    async def begin(self, token: str) -> Confirmation:
        """Claim ``token`` for placing; exactly one caller in any process wins (see :meth:`TokenStore.begin`)."""
        if not isinstance(token, str):
            raise _unknown()
        try:
            won, row = await asyncio.to_thread(
                functools.partial(rows.claim, placing_timeout_ms=int(self.placing_timeout * 1000)), self.ledger, token
            )
        except rows.TokenRowError as exc:
            raise TokenRefused(str(exc)) from None
        if row is None:
            raise _unknown()
        cid = str(row["client_order_id"])
        if not won:
            if row["state"] == TokenState.PLACED:
                raise TokenRefused(
                    f"this confirmation token was already used: order {cid} was placed with it; "
                    "check it with get_open_orders or get_trades, and call preview_order again for a new order"
                )
            if row["state"] == TokenState.PLACING:
                minutes = self.placing_timeout / 60
                raise TokenRefused(
                    f"order {cid} is being placed with this token by another call right now; wait for it and check "
                    f"get_open_orders instead of retrying. If that call's server died, this token places again "
                    f"{minutes:g} minutes after it began: the order keeps its client order id and is never sent twice"
                )
            raise TokenRefused(
                f"this confirmation token expired (tokens are valid {self.ttl:g} s); "
                "call preview_order again to re-check the order at current prices, then place_order"
            )
        return Confirmation(
            token=token, intent=OrderIntent.model_validate(row["intent"]), decision=None, client_order_id=cid,
            expires_at=int(row["expires_at"]) / 1000, state=TokenState.PLACING, submitted=True,
            warnings=tuple(row["warnings"] or ()),
        )  # fmt: skip

    def finish(self, record: Confirmation, result: dict[str, Any]) -> None:
        """Mark ``record`` placed: its token is spent in every process."""
        record.state, record.result = TokenState.PLACED, result
        rows.set_state(self.ledger, record.token, TokenState.PLACED, result=result)

    def release(self, record: Confirmation) -> None:
        """The attempt failed before the outcome was final (retryable): the token may be redeemed again."""
        if record.state is TokenState.PLACING:
            record.state = TokenState.ISSUED
            rows.set_state(self.ledger, record.token, TokenState.ISSUED, submitted=record.submitted)

    def spend(self, record: Confirmation) -> None:
        """The attempt failed for good: the token may not be used again."""
        record.state = TokenState.PLACED
        rows.set_state(self.ledger, record.token, TokenState.PLACED)


def _unresolved(record: Confirmation) -> bool:
    """Submitted with an outcome not yet known (being placed, or released after an unconfirmed attempt)."""
    return record.state is TokenState.PLACING or (record.submitted and record.state is TokenState.ISSUED)
