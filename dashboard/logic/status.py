"""The Status page's facts: market hours now and next, connectivity and circuit state from events.

Market hours come from :func:`sdk.calendars.market_status` (ASX and NYSE from exchange_calendars,
holidays and early closes included; FX 24/5 from Sunday 17:00 to Friday 17:00 New York).

Connectivity and circuit state are read from the newest ledger event of kind ``connectivity`` /
``circuit`` (:class:`sdk.ledger.EventKind`). The payload shapes understood (any one is enough):

* connectivity: ``{"health": "healthy"|"degraded"|"disconnected"|...}`` (``sdk.venues.ib.connection.Health``),
  ``{"kind": "connected"|"resynced"|"disconnected"|...}`` (a ``ConnectivityEvent``),
  ``{"connected": true|false}``, ``{"state": "connected"|"lost"|"restored"|...}`` or an IB code
  ``{"code": 1100}`` (1100 lost; 1101/1102 restored; 2103/2105/2157 a data farm down; 2104/2106/2158 ok —
  TWS API message codes, https://interactivebrokers.github.io/tws-api/message_codes.html).
* circuit: ``{"to": "open"|"closed"|"half_open", "from": ..., "reason": ...}`` (the runner's
  ``HealthCircuitManager``), ``{"state": ...}`` or ``{"open": true|false}``; an *open* circuit means
  no step runs and no order goes out, with the reason in ``reason``/``why``.

Anything else shows as ``unknown`` with the event's message: the page never claims a state it was not told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.logic.formatting import MISSING, duration
from sdk.calendars import MARKETS, Session, market_status

__all__ = ["LinkState", "circuit_state", "connectivity_state", "market_rows"]

_CONNECTED = "connected"
_DEGRADED = "degraded"
_DISCONNECTED = "disconnected"
_UNKNOWN = "unknown"

_HEALTH = {
    "healthy": _CONNECTED,
    "degraded": _DEGRADED,
    "connecting": _DISCONNECTED,
    "disconnected": _DISCONNECTED,
    "reconnecting": _DISCONNECTED,
    "closed": _DISCONNECTED,
}
_WORDS = {
    "connected": _CONNECTED,
    "reconnected": _CONNECTED,
    "resynced": _CONNECTED,
    "restored": _CONNECTED,
    "up": _CONNECTED,
    "ok": _CONNECTED,
    "data_lost": _DEGRADED,
    "resync_failed": _DEGRADED,
    "degraded": _DEGRADED,
    "disconnected": _DISCONNECTED,
    "reconnecting": _DISCONNECTED,
    "lost": _DISCONNECTED,
    "down": _DISCONNECTED,
    "closed": _DISCONNECTED,
}
_CIRCUIT_WORDS = {
    "open": "open",
    "opened": "open",
    "tripped": "open",
    "halted": "open",
    "closed": "closed",
    "reset": "closed",
    "half_open": "half_open",
}


def _local(ts: datetime, tz: str, fmt: str = "%a %Y-%m-%d %H:%M %Z") -> str:
    return ts.astimezone(ZoneInfo(tz)).strftime(fmt)


def market_rows(now: datetime) -> list[dict[str, Any]]:
    """One row per market (ASX, NYSE, FX) at ``now`` (timezone-aware), times in the market's own zone.

    Returns:
        Dicts with ``market``, ``open`` (bool), ``state`` (``open``/``closed``), ``local_time``,
        ``session`` (today's session while open, else :data:`MISSING`), ``closes_in``,
        ``next_session`` (the next one to open) and ``opens_in``.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError(f"market_rows needs a timezone-aware time, got naive {now.isoformat()}")
    rows = []
    for market, info in market_status(now).items():
        tz = MARKETS[market][1]
        current = info["session"]
        upcoming = info["next_session"]
        assert isinstance(upcoming, Session)
        is_open = bool(info["open"])
        session = MISSING
        closes_in = MISSING
        if isinstance(current, Session):
            session = f"{_local(current.open, tz)} – {_local(current.close, tz, '%H:%M %Z')}"
            closes_in = duration(current.close - now)
        rows.append(
            {
                "market": market,
                "open": is_open,
                "state": "open" if is_open else "closed",
                "local_time": _local(now, tz),
                "session": session,
                "closes_in": closes_in,
                "next_session": f"{_local(upcoming.open, tz)} – {_local(upcoming.close, tz, '%H:%M %Z')}",
                "opens_in": duration(upcoming.open - now),
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class LinkState:
    """What the newest event says: ``state`` (``connected``, ``degraded``, ``disconnected``,
    ``unknown``; for a circuit ``open``, ``closed``, ``half_open``, ``unknown``), when (ms UTC),
    a detail sentence, and ``healthy`` (True good, False bad, None unknown)."""

    state: str
    healthy: bool | None
    since_ms: int | None
    detail: str


def _detail(event: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """The event's message, with the payload's detail or reason when it adds something."""
    message = str(event.get("message") or "")
    extra = next(
        (str(payload[k]) for k in ("detail", "reason", "why") if isinstance(payload.get(k), str) and payload[k]), ""
    )
    if message and extra and extra not in message:
        return f"{message} ({extra})"
    return message or extra or MISSING


def connectivity_state(event: Mapping[str, Any] | None) -> LinkState:
    """The venue connection's state from the newest ``connectivity`` event (None: never recorded)."""
    if event is None:
        return LinkState(_UNKNOWN, None, None, "no connectivity event recorded yet")
    payload = event.get("payload") or {}
    if not isinstance(payload, Mapping):
        payload = {}
    state: str | None = None
    health = payload.get("health")
    if isinstance(health, str):
        state = _HEALTH.get(health.lower())
    if state is None and isinstance(payload.get("connected"), bool):
        state = _CONNECTED if payload["connected"] else _DISCONNECTED
    for key in ("kind", "state", "status"):
        if state is None and isinstance(payload.get(key), str):
            state = _WORDS.get(payload[key].lower())
    state = state or _UNKNOWN
    healthy = {_CONNECTED: True, _DEGRADED: False, _DISCONNECTED: False}.get(state)
    return LinkState(state, healthy, event.get("timestamp"), _detail(event, payload))


def circuit_state(event: Mapping[str, Any] | None) -> LinkState:
    """The circuit breaker's state from the newest ``circuit`` event (None: ``unknown``, nothing recorded)."""
    if event is None:
        return LinkState(_UNKNOWN, None, None, "no circuit event recorded yet")
    payload = event.get("payload") or {}
    if not isinstance(payload, Mapping):
        payload = {}
    state: str | None = None
    for key in ("to", "state"):
        if state is None and isinstance(payload.get(key), str):
            state = _CIRCUIT_WORDS.get(payload[key].lower())
    if state is None and isinstance(payload.get("open"), bool):
        state = "open" if payload["open"] else "closed"
    state = state or _UNKNOWN
    healthy = {"open": False, "half_open": False, "closed": True}.get(state)
    return LinkState(state, healthy, event.get("timestamp"), _detail(event, payload))


def now_utc() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
