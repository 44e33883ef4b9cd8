"""The data API's own IB session: made lazily (on the first ``POST /data/ib/test``), through the registry.

The session is the venue :func:`sdk.registry.create_trader` builds (``raw=True``: this process sends no orders),
followed through :meth:`sdk.base.BaseTrader.add_connectivity_listener`. ``GET /data/ib/status`` reports it without
connecting; ``POST /data/ib/test`` connects when needed and asks the venue's time (IB ``reqCurrentTime``, the
venue's ``fetch_time``). A failure is kept as ``last_error`` (exception class and message; settings carry no
secret into it) and the session is dropped, so the next test tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dashboard.api.models import IbStatusOut, IbTestOut
from sdk.data.status import iso_utc

if TYPE_CHECKING:
    from sdk.base import BaseTrader
    from sdk.settings import Settings

__all__ = ["IbSession", "TraderFactory"]

#: Builds the (unconnected) venue from the settings.
TraderFactory = Callable[["Settings"], "BaseTrader"]


def _registry_trader(settings: Settings) -> BaseTrader:
    from sdk.registry import create_trader

    return create_trader("IB", settings, raw=True)


class IbSession:
    """One lazily made IB session and what is known about it."""

    def __init__(self, settings: Settings, factory: TraderFactory | None = None) -> None:
        self.settings = settings
        self.factory = factory or _registry_trader
        self.trader: BaseTrader | None = None
        self.connected = False
        self.last_event: str | None = None
        self.last_fetch_ms: int | None = None
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._unlisten: Callable[[], None] | None = None

    def _on_event(self, event: Any) -> None:
        self.last_event = str(event.kind)
        if event.kind in ("connected", "reconnected", "resynced"):
            self.connected = True
        elif event.kind in ("disconnected", "closed", "data_lost"):
            self.connected = False

    async def _session(self) -> BaseTrader:
        async with self._lock:
            if self.trader is None:
                trader = self.factory(self.settings)
                self._unlisten = trader.add_connectivity_listener(self._on_event)
                try:
                    await trader.connect()
                except BaseException:
                    self._unlisten()
                    await trader.close()
                    raise
                self.trader = trader
                self.connected = True
            return self.trader

    async def test(self) -> IbTestOut:
        """Connect if needed and ask the venue's time; never raises for a venue failure (``ok`` False)."""
        started = time.perf_counter()
        try:
            trader = await self._session()
            venue_ms = await trader.fetch_time()
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            await self.close()
            return IbTestOut(ok=False, venue_time_ms=None, venue_time=None, round_trip_ms=None, error=self.last_error)
        self.last_fetch_ms = int(time.time() * 1000)
        self.last_error = None
        took = round((time.perf_counter() - started) * 1000, 3)
        return IbTestOut(ok=True, venue_time_ms=venue_ms, venue_time=iso_utc(venue_ms), round_trip_ms=took, error=None)

    def status(self) -> IbStatusOut:
        """What is known now; makes no request."""
        trader = self.trader
        facts = trader.mode_facts() if trader is not None else {}
        return IbStatusOut(
            venue=trader.id if trader is not None else "IB",
            connected=self.connected and trader is not None,
            attempted=self.last_event is not None or self.last_error is not None or trader is not None,
            host=self.settings.ib_host,
            port=int(facts.get("port") or self.settings.ib_port),
            client_id=trader.client_id if trader is not None else None,
            server_version=facts.get("server_version"),
            simulated=facts.get("simulated"),
            last_event=self.last_event,
            last_fetch_ms=self.last_fetch_ms,
            last_error=self.last_error,
        )

    async def close(self) -> None:
        """Close the session (idempotent)."""
        trader, self.trader = self.trader, None
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self.connected = False
        if trader is not None:
            await trader.close()
