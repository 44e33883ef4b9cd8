"""Errors an agent reads: one sentence of what went wrong and what to do instead, as MCP tool errors.

Venue and SDK errors (ccxt's hierarchy, :mod:`sdk.errors`) are translated by class; the venue's own
words are quoted as untrusted text (:func:`mcp_server.untrusted.quote_venue_text`). Anything
unexpected becomes a generic tool error with a reference the server log carries with the traceback.
"""

from __future__ import annotations

import logging
import uuid

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server.untrusted import quote_venue_text
from sdk.errors import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    ExchangeError,
    FxRateUnavailable,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    NotSupported,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)
from sdk.ledger import LedgerError

__all__ = ["ToolError", "tool_error_for"]

log = logging.getLogger(__name__)

# (class, what to do instead); the first matching class answers, so subclasses come first.
_ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (BadSymbol, "use a canonical BASE/QUOTE symbol from get_trading_context's allowed_symbols (e.g. BHP/AUD)"),
    (FxRateUnavailable, "no FX rate into the base currency is available now; retry later, never assume 1.0"),
    (OrderNotFound, "call get_open_orders for the ids of orders this server can see"),
    (InsufficientFunds, "reduce the amount; get_balance shows the cash available"),
    (InvalidOrder, "fix the order as the message says and call preview_order again"),
    (RateLimitExceeded, "the venue is pacing requests; wait a minute and retry"),
    (AuthenticationError, "the venue refused the credentials; the account's owner must fix the settings"),
    (PermissionDenied, "the venue does not permit this; do not retry"),
    (NotSupported, "the venue does not offer this; use another tool or parameters"),
    (BadRequest, "fix the arguments as the message says and retry"),
    (NetworkError, "the venue did not answer in time or the connection dropped; retry in a few seconds"),
    (ExchangeError, "the venue refused the request; check the arguments and do not retry it unchanged"),
    (LedgerError, "the ledger is unavailable; retry shortly, and tell the account's owner if it persists"),
)


def tool_error_for(exc: BaseException, tool: str) -> ToolError:
    """A :class:`ToolError` for ``exc`` raised while running ``tool``.

    Known errors keep their message (quoted as untrusted venue text) followed by what to do instead.
    Unknown ones are logged with their traceback under a short reference given to the agent instead
    of the message.
    """
    if isinstance(exc, ToolError):
        return exc
    for cls, advice in _ADVICE:
        if isinstance(exc, cls):
            return ToolError(f"{type(exc).__name__}: {quote_venue_text(exc)}; {advice}.")
    if isinstance(exc, ValueError):  # our own input checks (bad limit, bad range): the message is ours
        return ToolError(f"{exc}.")
    reference = uuid.uuid4().hex[:8]
    log.error("tool failed unexpectedly", exc_info=exc, extra={"tool": tool, "reference": reference})
    return ToolError(
        f"{tool} failed unexpectedly (server log reference {reference}); retry once, and if it fails again "
        "call get_trading_context to check the venue connection"
    )
