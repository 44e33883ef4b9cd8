"""The HealthCircuitManager: stop trading while the venue is failing, probe it, and resume.

A circuit breaker over the venue (Nygard's pattern), with three states:

* ``closed`` — normal: steps run, orders go out.
* ``open`` — the venue is failing (``failure_threshold`` consecutive venue errors, or the venue said it
  disconnected): no step runs; after ``cooldown`` wall seconds the manager calls the venue's
  ``maybe_reconnect()`` (IB: reconnect now if down or silent) and, when it answers ready, half-opens.
* ``half_open`` — one trial: the next step runs; its success closes the circuit, a failure opens it again.

Venue errors are ccxt's ``NetworkError`` family (``ExchangeNotAvailable``, ``RequestTimeout``, ...);
business errors (a rejected order, a bad symbol) never trip it. Every change of state is a ``circuit``
event in the ledger (``{"from", "to", "reason"}``) and a log line; IB connectivity events
(``disconnected``, ``resynced``, ...) also open and half-open it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sdk.base import Connectivity
from sdk.errors import NetworkError
from sdk.ledger import EventKind, LedgerWriter

__all__ = ["CircuitState", "HealthCircuitManager"]

log = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class HealthCircuitManager:
    """Circuit breaker over one venue (see the module docstring).

    Args:
        venue: the venue (``maybe_reconnect``/``add_connectivity_listener`` used when it has them).
        writer: the ledger writer (``circuit`` and ``connectivity`` events).
        session_id: the run id.
        failure_threshold: consecutive venue errors that open the circuit.
        cooldown: wall seconds in ``open`` before a probe.
        clock: venue time in epoch seconds, for event timestamps.
    """

    def __init__(
        self,
        venue: Any,
        writer: LedgerWriter,
        *,
        session_id: str,
        failure_threshold: int = 3,
        cooldown: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.venue = venue
        self.writer = writer
        self.session_id = session_id
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock or time.time
        self.state = CircuitState.CLOSED
        self.failures = 0
        self.changes: list[tuple[str, str, str]] = []
        self.reconnects = 0
        self._opened_at = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._write = asyncio.Lock()  # events reach the ledger in the order they happened
        self._remove: Callable[[], object] | None = None
        #: Called (awaited) after the venue reports it is resynced following a reconnect.
        self.on_resynced: list[Callable[[str], Awaitable[object]]] = []

    def attach(self) -> None:
        """Listen to the venue's connectivity events (IB); a no-op for venues without them."""
        if self._remove is None:
            self._remove = self.venue.add_connectivity_listener(self._on_connectivity)

    def detach(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the ledger writes and resync hooks still running."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- connectivity events ------------------------------------------------------------------------
    def _on_connectivity(self, event: Connectivity) -> None:
        kind = event.kind
        payload = {"kind": kind, "health": str(event.health), "detail": event.detail}
        self._spawn(self._event(EventKind.CONNECTIVITY, payload, f"venue {kind}"))
        if kind == "disconnected":
            self._move(CircuitState.OPEN, f"venue disconnected {payload['detail']}".strip())
        elif kind == "resynced" and payload["detail"] in ("reconnect", "data_lost"):
            self.reconnects += 1
            if self.state == CircuitState.OPEN:
                self._move(CircuitState.HALF_OPEN, "venue reconnected and resynced")
            for hook in self.on_resynced:
                self._spawn(hook(str(payload["detail"])))

    # --- the breaker --------------------------------------------------------------------------------
    def _move(self, to: CircuitState, reason: str) -> None:
        if to == self.state:
            return
        before, self.state = self.state, to
        if to == CircuitState.OPEN:
            self._opened_at = time.monotonic()
        self.changes.append((before.value, to.value, reason))
        (log.warning if to == CircuitState.OPEN else log.info)(
            "circuit %s -> %s", before.value, to.value, extra={"reason": reason}
        )
        payload = {"from": before.value, "to": to.value, "reason": reason, "failures": self.failures}
        self._spawn(self._event(EventKind.CIRCUIT, payload, f"circuit {before.value} -> {to.value}: {reason}"))

    async def _event(self, kind: str, payload: dict[str, Any], message: str) -> None:
        try:
            async with self._write:
                await asyncio.to_thread(
                    self.writer.record_event, kind, payload, message=message,
                    timestamp=int(self.clock() * 1000), run_id=self.session_id,
                )  # fmt: skip
        except Exception:
            log.exception("could not record a %s event", kind)

    def record_success(self) -> None:
        """A step talked to the venue without a venue error."""
        self.failures = 0
        if self.state == CircuitState.HALF_OPEN:
            self._move(CircuitState.CLOSED, "trial step succeeded")

    def record_failure(self, exc: BaseException) -> bool:
        """Count ``exc`` if it is a venue error; returns True when it counted."""
        if not isinstance(exc, NetworkError):
            return False
        self.failures += 1
        if self.state == CircuitState.HALF_OPEN:
            self._move(CircuitState.OPEN, f"trial step failed: {exc}")
        elif self.failures >= self.failure_threshold:
            self._move(CircuitState.OPEN, f"{self.failures} consecutive venue errors, last: {exc}")
        return True

    async def allow(self) -> bool:
        """May a step run now? In ``open``, probes the venue after the cooldown (``maybe_reconnect``)."""
        if self.state != CircuitState.OPEN:
            return True
        if time.monotonic() - self._opened_at < self.cooldown:
            return False
        try:
            ready = bool(await self.venue.maybe_reconnect())
        except Exception as exc:
            log.warning("venue probe failed", extra={"error": str(exc)})
            ready = False
        if ready:
            self._move(CircuitState.HALF_OPEN, "venue answered the probe")
            return True
        self._opened_at = time.monotonic()
        return False
