"""Live bars: ``watch_ohlcv`` over IB's ``keepUpToDate`` historical series, surviving reconnects.

IB keeps a ``reqHistoricalData(..., keepUpToDate=True)`` series current with ``historicalDataUpdate``
messages (TWS API "Keep Up To Date": https://interactivebrokers.github.io/tws-api/historical_bars.html);
a message whose bar is newer than the last one starts a new bar, which means the previous one is
complete. :class:`BarStreams` shares one series per (symbol, timeframe, whatToShow, useRTH) among
every watcher and yields each completed bar exactly once, in order.

After a reconnect the series is requested again over a window reaching back to the last bar
delivered, so the bars completed while the connection was down are delivered (in order) before
the live ones: no bar lost, none twice. That window is capped at IB's maximum duration for the
bar size (:data:`~sdk.venues.ib.timeframes.MAX_DURATION_SECONDS`; a longer one IB answers with 162):
after an outage longer than that, the bars before the window are not delivered (a warning is
logged; :meth:`~sdk.venues.ib.history.HistoryService.fetch_ohlcv` fetches them).

Every request goes through the shared pacing budget with IB's 162 pacing violation recorded and
retried (:func:`~sdk.venues.ib.history.paced_request`). A series whose renewal still fails is left
for the connection's retry of the resync step; the other series are renewed regardless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ib_async import BarDataList, RequestError

from sdk.base import OHLCV
from sdk.clock import Clock
from sdk.errors import ExchangeError
from sdk.venues.ib.connection import IBConnection, ResyncReason
from sdk.venues.ib.contracts import ContractResolver, ResolvedContract
from sdk.venues.ib.history import bar_row, default_what_to_show, identity_of, paced_request
from sdk.venues.ib.pacing import PacingBudget
from sdk.venues.ib.parsing import error_for
from sdk.venues.ib.timeframes import MAX_DURATION_SECONDS, bar_size_for, duration_string, timeframe_seconds

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
    epoch: int = -1  # the connection's resync epoch in which ``bars`` was requested
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

    def _duration(self, series: _Series) -> str:
        """The window of a (re)subscription, reaching back to the last bar delivered, measured now."""
        step = timeframe_seconds(series.timeframe)
        lookback = gap = 3 * step
        if series.last_delivered is not None:
            gap = int(self.clock.now() - series.last_delivered / 1000) + 2 * step
            lookback = max(lookback, gap)
        longest = MAX_DURATION_SECONDS[series.timeframe]
        lookback = min(max(lookback, 60), max(_MAX_LOOKBACK_S, 3 * step), longest)
        if lookback < gap:
            log.warning(
                "bar series was down longer than one IB request covers; older bars are not re-delivered",
                extra={"symbol": series.key[0], "timeframe": series.timeframe, "gap_s": gap, "window_s": lookback},
            )
        return duration_string(lookback if lookback <= _MAX_LOOKBACK_S else -(-lookback // 86_400) * 86_400)

    async def _request(self, series: _Series, *, wait_ready: bool = True) -> None:
        contract = series.resolved.contract
        bar_size = bar_size_for(series.timeframe)
        # Every (re)subscription of a series counts as the same request for IB's 15-second rule; its
        # window is measured when it is sent, after any pacing wait (which may last minutes).
        identity = identity_of(contract, "", "keepUpToDate", bar_size, series.what, series.rth)
        duration = ""

        async def send() -> BarDataList:
            nonlocal duration
            duration = self._duration(series)
            return await self.conn.ib.reqHistoricalDataAsync(
                contract,
                endDateTime="",
                durationStr=duration,
                barSizeSetting=bar_size,
                whatToShow=series.what,
                useRTH=series.rth,
                formatDate=2,
                keepUpToDate=True,
            )

        key = (contract.conId, contract.exchange, series.what.upper())
        label = f"{series.key[0]} {series.timeframe} live bars"
        try:
            bars = await paced_request(
                self.conn, self.budget, identity, key, series.what, send, label=label, wait_ready=wait_ready
            )
        except RequestError as exc:
            raise error_for(exc.code, exc.message) from exc
        series.epoch = self.conn.resync_epoch
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
        """Request every series again, delivering the bars completed while it was down.

        Series already renewed in this resync (:attr:`IBConnection.resync_epoch`: the step is being
        retried) are left alone. Each series is renewed on its own: one that fails does not stop
        the others.

        Raises:
            ExchangeError (or the one failure's own ccxt error): some series could not be renewed;
                they stay without a subscription until the step is retried.
        """
        epoch = self.conn.resync_epoch
        failures: list[tuple[str, Exception]] = []
        renewed = 0
        for series in list(self._series.values()):
            if series.bars is not None and series.epoch == epoch:
                continue
            if reason == "data_lost" and series.bars is not None:
                try:
                    self.conn.ib.cancelHistoricalData(series.bars)
                except ConnectionError:
                    pass
            series.bars = None
            try:
                await self._request(series, wait_ready=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                name = f"{series.key[0]} {series.timeframe}"
                failures.append((name, exc))
                log.warning("bar series not renewed", extra={"series": name, "reason": reason, "error": str(exc)})
                continue
            renewed += 1
        if renewed:
            log.info("bar series resubscribed", extra={"reason": reason, "series": renewed})
        if len(failures) == 1:
            raise failures[0][1]
        if failures:
            names = ", ".join(name for name, _ in failures)
            raise ExchangeError(f"{len(failures)} bar series could not be renewed ({names})") from failures[0][1]
