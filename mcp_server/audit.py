"""Every tool call audited in the ledger's ``events``: tool, arguments (secrets masked), outcome, latency.

:class:`AuditMiddleware` wraps every ``tools/call`` request (argument validation, unknown tools and
tool errors included), times it, and writes one ``tool_call`` event, at the time the call came on the
server's venue clock (the time the orders it places carry), through
:meth:`sdk.ledger.LedgerWriter.record_tool_call`, which masks keys naming secrets (``token``,
``api_key`` ...) and account numbers. A tool adds detail with :func:`note` (``outcome="refused"`` for
the kill switch, ``outcome="rejected"`` for a risk rejection, the client order id it resolved, which
is stored in the arguments under ``_resolved``).

Outcomes: ``ok``; ``error`` (bad arguments, venue errors); ``rejected`` (the RiskManager refused);
``refused`` (kill switch, spent or expired token).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

__all__ = ["AuditMiddleware", "note"]

log = logging.getLogger(__name__)

_NOTE: ContextVar[dict[str, Any] | None] = ContextVar("mcp_audit_note", default=None)
_MAX_TEXT = 1_000
_MAX_ITEMS = 50


def note(**fields: Any) -> None:
    """Add ``fields`` to the audit record of the tool call in progress (no-op outside one).

    ``outcome`` and ``reason`` replace the defaults; anything else is stored under ``resolved`` beside
    the arguments (for example the client order id a token resolved to).
    """
    current = _NOTE.get()
    if current is not None:
        current.update(fields)


def _compact(value: Any, depth: int = 0) -> Any:
    """Arguments as given, bounded: long strings cut, long lists and deep nesting summarised."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + f"…(+{len(value) - _MAX_TEXT} chars)"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= 4:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_ITEMS]
        return {str(k)[:64]: _compact(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [_compact(v, depth + 1) for v in value[:_MAX_ITEMS]]
    return _compact(str(value), depth + 1)


def _is_error(result: HandlerResult) -> bool:
    if isinstance(result, dict):
        return bool(result.get("isError") or result.get("is_error"))
    return bool(getattr(result, "is_error", False))


def _error_text(result: HandlerResult) -> str | None:
    content = result.get("content") if isinstance(result, dict) else getattr(result, "content", None)
    for block in content or []:
        text = block.get("text") if isinstance(block, dict) else getattr(block, "text", None)
        if text:
            return str(text)[:_MAX_TEXT]
    return None


def _venue_ms(ctx: ServerRequestContext[Any, Any]) -> int | None:
    """The server's venue clock now, ms UTC (None before the lifespan has one: the ledger's time then)."""
    clock = getattr(ctx.lifespan_context, "clock", None)
    return int(clock.now() * 1000) if clock is not None else None


class AuditMiddleware:
    """Server middleware (``MCPServer(middleware=[...])``) auditing every ``tools/call``."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        tool = str(params.get("name") or "?")[:64]
        arguments = params.get("arguments")
        record: dict[str, Any] = {}
        token = _NOTE.set(record)
        called_at = _venue_ms(ctx)
        started = time.perf_counter()
        outcome, error = "ok", None
        try:
            result = await call_next(ctx)
            if _is_error(result):
                outcome, error = "error", _error_text(result)
            return result
        except BaseException as exc:
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:_MAX_TEXT]
            raise
        finally:
            _NOTE.reset(token)
            latency_ms = (time.perf_counter() - started) * 1000
            outcome = str(record.pop("outcome", outcome))
            if record.get("reason"):
                error = f"{record.pop('reason')}: {error}" if error else str(record.pop("reason"))
            audited: dict[str, Any] = _compact(arguments) if isinstance(arguments, dict) else {}
            if record:
                audited["_resolved"] = _compact(record)
            await self._record(ctx, tool, audited, outcome, latency_ms, error, called_at)

    @staticmethod
    async def _record(
        ctx: ServerRequestContext[Any, Any],
        tool: str,
        audited: dict[str, Any],
        outcome: str,
        latency_ms: float,
        error: str | None,
        called_at: int | None,
    ) -> None:
        writer = getattr(ctx.lifespan_context, "writer", None)
        if writer is None:
            return
        try:
            call = functools.partial(
                writer.record_tool_call, tool, audited, outcome=outcome, latency_ms=latency_ms, error=error
            )
            await asyncio.shield(asyncio.to_thread(call, timestamp=called_at))
        except Exception as exc:  # the call has happened; losing its audit line must be loud, not fatal
            log.error("tool call not audited", extra={"tool": tool, "error": repr(exc)})
