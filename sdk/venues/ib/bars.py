"""Live bars: ``watch_ohlcv`` over IB's ``keepUpToDate`` historical series, surviving reconnects.

IB keeps a ``reqHistoricalData(..., keepUpToDate=True)`` series current with ``historicalDataUpdate``
messages (TWS API "Keep Up To Date": https://interactivebrokers.github.io/tws-api/historical_bars.html);
a message whose bar is newer than the last one starts a new bar, which means the previous one is
complete. :class:`BarStreams` shares one series per (symbol, timeframe, whatToShow, useRTH) among
every watcher and yields each completed bar exactly once, in order.

After a reconnect the series is requested again over a window reaching back to the last bar
delivered, so the bars completed while the connection was down are delivered (in order) before
the live ones: no bar lost, none twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ib_async import BarDataList, RequestError

from sdk.base import OHLCV
from sdk.venues.ib.clock import Clock
from sdk.venues.ib.connection import IBConnection, ResyncReason
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.history import bar_row, default_what_to_show, identity_of
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.parsing import error_for
from sdk.venues.ib.timeframes import bar_size_for, duration_string, timeframe_seconds

__all__ = ["BarStreams"]

log = logging.getLogger(__name__)

_MAX_LOOKBACK_S = 86_400


@dataclass(slots=True)
class _Series:
    key: tuple[str, str, str, bool]
    resolved: ResolvedContract
    timeframe: str
    what: str
    rth: bool
    bars: BarDataList | None = None
    last_delivered: int | None = None
    queues: set[asyncio.Queue[OHLCV]] = field(default_factory=set)


class BarStreams:
    """keepUpToDate bar series shared by all watchers of one :class:`IBConnection`.

    Args:
        conn: the session; series are requested again on its ``reconnect`` and ``data_lost`` resyncs.
        resolver: canonical symbol -> contract.
        budget: the shared pacing budget (a keepUpToDate request is a historical request).
        clock: the venue's clock (the look-back of a resubscription is measured in it).
    """

    def __init__(self, conn: IBConnection, resolver: ContractResolver, budget: PacingBudget, clock: Clock) -> None:
        self.conn = conn
        self.resolver = resolver
        self.budget = budget
        self.clock = clock
        self._series: dict[tuple[str, str, str, bool], _Series] = {}
        self._lock = asyncio.Lock()
        conn.add_resync_hook("bar series", self.resubscribe, frozenset({"reconnect", "data_lost"}))

    def series(self) -> list[tuple[str, str]]:
        """(symbol, timeframe) of every live series."""
        return sorted((s.key[0], s.key[1]) for s in self._series.values())

    async def watch_ohlcv(
        self, symbol: str, timeframe: str = "1m", params: dict[str, Any] | None = None
    ) -> AsyncIterator[OHLCV]:
        """Each completed bar of ``symbol`` as ``[timestamp_ms, open, high, low, close, volume]``, in order.

        An async iterator (ccxt-pro style); it ends only when the caller stops iterating, and keeps
        going across reconnects. ``params``: ``whatToShow``, ``useRTH`` (default False).

        Raises:
            BadRequest: an unsupported timeframe.
            BadSymbol: IB does not know ``symbol``.
        """
        params = dict(params or {})
        bar_size_for(timeframe)
        resolved = await self.resolver.resolve(symbol)
        what = str(params.get("whatToShow") or default_what_to_show(resolved))
        rth = bool(params.get("useRTH", False))
        key = (symbol, timeframe, what.upper(), rth)
        queue: asyncio.Queue[OHLCV] = asyncio.Queue()
        await self.conn.ensure_ready()
        async with self._lock:
            series = self._series.get(key)
            if series is None:
                series = _Series(key, resolved, timeframe, what, rth)
                self._series[key] = series
                try:
                    await self._request(series)
                except BaseException:
                    del self._series[key]
                    raise
            series.queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            series.queues.discard(queue)
            if not series.queues:
                self._stop(series)

    def _stop(self, series: _Series) -> None:
        self._series.pop(series.key, None)
        if series.bars is not None and self.conn.ib.isConnected():
            try:
                self.conn.ib.cancelHistoricalData(series.bars)
            except ConnectionError:
                pass
        series.bars = None

    async def _request(self, series: _Series) -> None:
        contract = series.resolved.contract
        step = timeframe_seconds(series.timeframe)
        lookback = 3 * step
        if series.last_delivered is not None:
            gap = int(self.clock.now() - series.last_delivered / 1000) + 2 * step
            lookback = max(lookback, gap)
        lookback = min(max(lookback, 60), max(_MAX_LOOKBACK_S, 3 * step))
        duration = duration_string(lookback if lookback <= _MAX_LOOKBACK_S else -(-lookback // 86_400) * 86_400)
        bar_size = bar_size_for(series.timeframe)
        identity = identity_of(contract, "", duration, bar_size, series.what, series.rth)
        async with self.budget.slot(identity, (contract.conId, contract.exchange, series.what.upper()), series.what):
            try:
                bars = await self.conn.ib.reqHistoricalDataAsync(
                    contract,
                    endDateTime="",
                    durationStr=duration,
                    barSizeSetting=bar_size,
                    whatToShow=series.what,
                    useRTH=series.rth,
                    formatDate=2,
                    keepUpToDate=True,
                )
            except RequestError as exc:
                raise error_for(exc.code, exc.message) from exc
        series.bars = bars
        completed = [bar_row(b) for b in list(bars)[:-1]]
        if series.last_delivered is None:
            series.last_delivered = int(completed[-1][0]) if completed else None
        else:
            self._deliver(series, completed)

        def on_update(updated: BarDataList, has_new_bar: bool, series: _Series = series) -> None:
            if updated is not series.bars or not has_new_bar:
                return
            self._deliver(series, [bar_row(b) for b in list(updated)[-4:-1]])

        bars.updateEvent += on_update
        log.info(
            "bar series subscribed",
            extra={
                "symbol": series.key[0],
                "timeframe": series.timeframe,
                "conId": contract.conId,
                "duration": duration,
            },
        )

    def _deliver(self, series: _Series, rows: list[OHLCV]) -> None:
        for row in rows:
            ts = int(row[0])
            if series.last_delivered is not None and ts <= series.last_delivered:
                continue
            series.last_delivered = ts
            for queue in series.queues:
                queue.put_nowait(row)

    async def resubscribe(self, reason: ResyncReason = "reconnect") -> None:
        """Request every series again, delivering the bars completed while it was down."""
        for series in list(self._series.values()):
            if reason == "data_lost" and series.bars is not None:
                try:
                    self.conn.ib.cancelHistoricalData(series.bars)
                except ConnectionError:
                    pass
            series.bars = None
            await self._request(series)
        if self._series:
            log.info("bar series resubscribed", extra={"reason": reason, "series": len(self._series)})
