"""Market data streams: the ticks of a ``reqMktData`` subscription, sent when a value changes.

Tick types (IB "Available Tick Types"): 1 bid / 0 bid size, 2 ask / 3 ask size, 4 last / 5 last size,
8 volume, 6 high, 7 low, 9 close (the previous session's), 14 open, 45 last timestamp (epoch
seconds, a string tick). Stocks and ETFs get all of them, IDEALPRO FX only bid, ask, high, low and
close (IB publishes no FX trades), indexes last, high, low, close and open. Outside sessions the
stream is frozen (``marketDataType`` 2): the last close, with a quote one step around it.
Sizes and volume are in shares (FX sizes in units of the base currency).
"""

from __future__ import annotations

import math
from typing import Any

from sdk.gateway import answers
from sdk.gateway.instruments import GatewayContract
from sdk.gateway.market import QuoteState
from sdk.gateway.messages import Out
from sdk.gateway.session import MarketSubscription

__all__ = ["tick_messages"]

BID, ASK, LAST = 1, 2, 4
BID_SIZE, ASK_SIZE, LAST_SIZE, VOLUME = 0, 3, 5, 8
HIGH, LOW, CLOSE, OPEN = 6, 7, 9, 14
LAST_TIMESTAMP = 45


def _ok(value: float) -> bool:
    return not math.isnan(value)


def tick_messages(
    sub: MarketSubscription, inst: GatewayContract, quote: QuoteState | None, *, full: bool = False
) -> list[list[Any]]:
    """The messages that bring ``sub`` up to ``quote`` (every field when ``full``), remembering them."""
    if quote is None:
        return []
    out: list[list[Any]] = []
    rid = sub.req_id
    frozen = not quote.in_session
    if full or sub.frozen is None or sub.frozen != frozen:
        out.append([Out.MARKET_DATA_TYPE, 1, rid, 2 if frozen else 1])
        sub.frozen = frozen
        full = True
    sent = sub.sent
    lot = 1_000_000.0 if inst.is_fx else 100.0
    has_quote = inst.sec_type != "IND"
    has_trades = inst.sec_type != "CASH"
    auto = 0 if frozen else 1
    if has_quote:
        bid_size = quote.bid_size if _ok(quote.bid_size) else lot
        ask_size = quote.ask_size if _ok(quote.ask_size) else lot
        if full or sent.get(BID) != (quote.bid, bid_size):
            out.append(answers.tick_price(rid, BID, quote.bid, bid_size, auto))
            sent[BID] = (quote.bid, bid_size)
        if full or sent.get(ASK) != (quote.ask, ask_size):
            out.append(answers.tick_price(rid, ASK, quote.ask, ask_size, auto))
            sent[ASK] = (quote.ask, ask_size)
    if has_trades:
        traded = (quote.last, quote.volume if _ok(quote.volume) else None)
        if full or sent.get(LAST) != traded:
            size = quote.last_size if _ok(quote.last_size) and inst.sec_type == "STK" else 0
            out.append(answers.tick_price(rid, LAST, quote.last, size))
            if inst.sec_type == "STK":
                out.append(answers.tick_string(rid, LAST_TIMESTAMP, str(int(quote.point_time))))
                if _ok(quote.volume):
                    out.append(answers.tick_size(rid, VOLUME, quote.volume))
            sent[LAST] = traded
    for tick, value in ((HIGH, quote.high), (LOW, quote.low), (OPEN, quote.open), (CLOSE, quote.prev_close)):
        if tick == OPEN and not has_trades:
            continue
        if _ok(value) and (full or sent.get(tick) != value):
            out.append(answers.tick_price(rid, tick, value, 0))
            sent[tick] = value
    return out
