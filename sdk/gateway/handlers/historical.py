"""Historical requests: reqHistoricalData (with keepUpToDate), cancelHistoricalData, reqHeadTimeStamp.

Order of checks: the contract (200), the bar size, whatToShow, end time and duration (162, the
Historical Market Data Service's code, which ends the client's request: ib_async takes TWS's 321
for a warning and would wait for its timeout), the duration against IB's maximum (162), pacing on
the simulated clock (162), then the data (162 "HMDS query returned no data" when the window holds
none). Rules: :mod:`sdk.gateway.historical`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sdk.calendars import get_calendar
from sdk.data.barsizes import BarSize, parse_bar_size
from sdk.gateway import historical as hist
from sdk.gateway.handlers.common import resolve
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.requests import read_contract, read_historical
from sdk.gateway.session import LiveBars

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.instruments import GatewayContract
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS"]

log = logging.getLogger(__name__)


def _check_what(inst: GatewayContract, what: str) -> None:
    if what not in hist.WHAT_TO_SHOW:
        served = ", ".join(hist.WHAT_TO_SHOW)
        raise hist.HistoricalError(
            162, f"Historical Market Data Service error message:whatToShow {what!r} is not served; use one of {served}"
        )
    if inst.is_fx and what == "TRADES":
        raise hist.HistoricalError(
            162, f"Historical Market Data Service error message:No historical market data for {inst.local_symbol} "
            "TRADES (IDEALPRO publishes no trades); use MIDPOINT, BID, ASK or BID_ASK",
        )  # fmt: skip
    if inst.sec_type == "IND" and what != "TRADES":
        raise hist.HistoricalError(
            162, f"Historical Market Data Service error message:index {inst.ib_symbol} has only TRADES"
        )


def req_historical_data(session: ClientSession, fields: Fields) -> None:
    request = read_historical(fields)
    gw = session.gw
    inst = resolve(session, request.req_id, request.contract)
    if inst is None:
        return
    now = gw.clock.timestamp()
    try:
        try:
            size = parse_bar_size(request.bar_size)
        except ValueError as exc:
            raise hist.HistoricalError(162, f"Historical Market Data Service error message:{exc}") from None
        what = request.what_to_show.upper()
        _check_what(inst, what)
        if request.keep_up_to_date and request.end.strip():
            raise hist.HistoricalError(
                162,
                "Historical Market Data Service error message:End date not supported with live updates "
                "(keepUpToDate needs endDateTime '')",
            )
        end = hist.parse_end(request.end, now)
        count, unit = hist.parse_duration(request.duration)
        hist.check_duration(size, count, unit)
        decision = gw.pacer.check(
            now,
            series=(inst.con_id, inst.exchange, what),
            identity=(inst.con_id, request.end, request.duration, size.label, what, request.use_rth),
            what_to_show=what,
        )
        if not decision.allowed:
            raise hist.HistoricalError(
                162, f"Historical Market Data Service error message:Pacing violation ({decision.reason})"
            )
        start = hist.window_start(end, count, unit, inst)
        frame = hist.build_bars(gw.market, inst, size, start, end, now, use_rth=request.use_rth)
    except hist.HistoricalError as exc:
        session.error(request.req_id, exc.code, exc.detail, exact=True)
        return
    if len(frame) == 0:
        session.error(
            request.req_id, 162,
            f"Historical Market Data Service error message:HMDS query returned no data: "
            f"{inst.local_symbol}@{inst.exchange} {what.title()}",
            exact=True,
        )  # fmt: skip
        return
    bars = hist.transform(frame, what, inst)
    dates = hist.format_dates(bars, size, inst, request.format_date)
    session.send_frame(
        hist.historical_data_frame(
            request.req_id, bars, dates, hist.window_text(start, inst), hist.window_text(end, inst)
        )
    )
    if request.keep_up_to_date:
        session.live_bars[request.req_id] = LiveBars(
            request.req_id, inst.symbol, size.label, what, request.use_rth, request.format_date,
            last_label=float(bars.times[-1]), bar_end=hist.bar_end(float(bars.times[-1]), size, inst),
        )  # fmt: skip


def live_bar_messages(session: ClientSession, live: LiveBars, now: float) -> list[list[object]]:
    """``historicalDataUpdate`` s for a keepUpToDate subscription: bars completed since the last one
    sent (each once, final) and the bar in progress (when it changed)."""
    gw = session.gw
    inst = gw.instruments.get(live.symbol)
    if inst is None:
        return []
    size: BarSize = parse_bar_size(live.bar_label)
    if live.idle_until is not None and now < live.idle_until:  # the market is closed: no bar can change
        return []
    if live.bar_end is not None and now < live.bar_end:  # still inside the bar: only it changes
        frame = hist.in_progress(gw.market, inst, size, live.last_label, now)
    else:
        frame = hist.build_bars(gw.market, inst, size, live.last_label, now + 1e-6, now, use_rth=live.use_rth)
    if len(frame) == 0:
        return []
    bars = hist.transform(frame, live.what_to_show, inst)
    dates = hist.format_dates(bars, size, inst, live.format_date)
    out: list[list[object]] = []
    for i in range(len(bars)):
        values = (float(bars.times[i]), float(bars.open[i]), float(bars.high[i]), float(bars.low[i]),
                  float(bars.close[i]), float(bars.volume[i]))  # fmt: skip
        if float(bars.times[i]) == live.last_label and values == live.last_values:
            continue
        out.append(hist.historical_update(live.req_id, bars, i, dates[i]))
        live.last_label, live.last_values = float(bars.times[i]), values
    live.bar_end = hist.bar_end(live.last_label, size, inst)
    live.idle_until = None
    if live.bar_end is not None and now >= live.bar_end:
        calendar = get_calendar(inst.market)
        when = datetime.fromtimestamp(now, UTC)
        if calendar.session_at(when) is None:
            live.idle_until = calendar.next_session(when).open.timestamp()
    return out


def cancel_historical_data(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    session.live_bars.pop(req_id, None)


def req_head_timestamp(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    query = read_contract(fields)
    fields.flag("includeExpired")
    use_rth, what, format_date = fields.flag("useRTH"), fields.text("whatToShow").upper(), fields.integer("formatDate")
    inst = resolve(session, req_id, query)
    if inst is None:
        return
    try:
        _check_what(inst, what)
    except hist.HistoricalError as exc:
        session.error(req_id, exc.code, exc.detail, exact=True)
        return
    info = session.gw.market.catalog.instruments[inst.symbol]
    first: datetime = info.first.astimezone(UTC)
    del use_rth
    text = str(int(first.timestamp())) if format_date == 2 else first.strftime("%Y%m%d %H:%M:%S UTC")
    session.send([Out.HEAD_TIMESTAMP, req_id, text])


def cancel_head_timestamp(session: ClientSession, fields: Fields) -> None:
    """ib_async cancels every head-timestamp request after its answer: nothing to do."""


HANDLERS: dict[int, Handler] = {
    In.REQ_HISTORICAL_DATA: req_historical_data,
    In.CANCEL_HISTORICAL_DATA: cancel_historical_data,
    In.REQ_HEAD_TIMESTAMP: req_head_timestamp,
    In.CANCEL_HEAD_TIMESTAMP: cancel_head_timestamp,
}
