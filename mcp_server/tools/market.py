"""Read tools about markets: the trading context, quotes, candles, the order book and cost estimates.

Tickers, books and candles come through the server's :class:`sdk.services.data.DataFetchCoordinator`
(``state.data``), the one way strategies and tools get market data: its IB guardrails on timeframe and
limit, its quote cache (``quote_ttl`` seconds of the server's clock), one venue call for identical
requests in flight and a bound on concurrent requests. Cost estimates read the venue through
:func:`sdk.risk.build_risk_context`, as the RiskManager does.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from mcp_server.ohlcv import DEFAULT_OHLCV_LIMIT, MAX_OHLCV_LIMIT, columnar, timeframe_ms
from mcp_server.schemas import (
    CostEstimateOut,
    Limits,
    MarketDataOut,
    MarketHours,
    OhlcvOut,
    OrderBookOut,
    TickerOut,
    TradingContextOut,
)
from mcp_server.tools.common import SideArg, SymbolArg, as_float, now_dt, now_ms, symbol_of
from mcp_server.untrusted import untrusted
from sdk.base import MarketData, market_data_from
from sdk.calendars import MARKETS, Session, market_status
from sdk.costs import CostTracker
from sdk.errors import InvalidOrder
from sdk.redaction import mask_account
from sdk.risk import build_risk_context
from sdk.services.killswitch import kill_switch_reason
from sdk.services.live_gate import is_live, live_checklist
from sdk.symbols import InstrumentType
from sdk.venues.mode import venue_mode

if TYPE_CHECKING:
    from mcp_server.state import AppState

__all__ = [
    "MAX_BOOK_DEPTH",
    "estimate_costs",
    "get_market_data",
    "get_ohlcv",
    "get_order_book",
    "get_ticker",
    "get_trading_context",
]

#: The most price levels per side ``get_order_book`` answers.
MAX_BOOK_DEPTH = 50
_CONVENTION = (
    "Symbols are canonical BASE/QUOTE (BHP/AUD, AAPL/USD, AUD/USD). amount is in base units (shares; for FX the "
    "base currency); prices are in the quote currency; timestamps are ms since the epoch UTC; money limits and "
    "equity are in the base currency."
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _hours(market: str, status: dict[str, Any]) -> MarketHours:
    session, upcoming = status["session"], status["next_session"]
    assert isinstance(upcoming, Session)
    current = session if isinstance(session, Session) else None
    return MarketHours(
        market=market,
        timezone=MARKETS[market][1],
        open_now=bool(status["open"]),
        session_open_utc=_iso(current.open) if current else None,
        session_close_utc=_iso(current.close) if current else None,
        next_open_utc=_iso(upcoming.open) or "",
        next_close_utc=_iso(upcoming.close) or "",
    )


def _account(state: AppState) -> str | None:
    account = state.trader.account_id
    return mask_account(account) if account else None


async def get_trading_context(state: AppState) -> TradingContextOut:
    """Call first: the venue, the (masked) account, the base currency, the mode (shadow/paper/live) and the facts
    it was decided on (live: the live checklist items still missing), whether
    trading is enabled or frozen, the symbols and instrument types allowed, ASX, NYSE and FX hours now and next,
    and the risk limits in the base currency."""
    settings = state.settings
    now = now_dt(state)
    status = market_status(now)
    limits = Limits(
        currency=settings.base_currency,
        max_order_value=float(settings.max_order_value),
        max_position_value=float(settings.max_position_value),
        symbol_max_position_value={k: float(v) for k, v in settings.symbol_max_position_value.items()},
        max_total_exposure=float(settings.max_total_exposure),
        min_trade_size=float(settings.min_trade_size),
        min_top_of_book_notional=float(settings.min_top_of_book_notional),
        daily_loss_limit=float(settings.daily_loss_limit),
        max_spread_pct=float(settings.max_spread_pct),
        market_order_buffer_pct=float(settings.market_order_buffer_pct),
    )
    mode = venue_mode(state.trader, settings)
    shadow = state.services.shadow if state.services is not None else not settings.execute_orders
    switch = await asyncio.to_thread(kill_switch_reason, state.ledger, settings.kill_switch_file)
    missing: list[str] = []
    if is_live(mode, execute=not shadow):
        checks = await asyncio.to_thread(live_checklist, settings, state.ledger, {}, mode=mode, program="mcp")
        missing = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    return TradingContextOut(
        venue=state.trader.id,
        account=_account(state),
        base_currency=settings.base_currency,
        mode="shadow" if shadow else mode.mode,
        mode_facts=[str(f) for f in mode.facts],
        simulated_venue=mode.simulated,
        live_gate_missing=missing,
        trading_enabled=settings.mcp_trading_enabled,
        kill_switch_engaged=switch is not None,
        now_utc=_iso(now) or "",
        allowed_symbols=[s for s in settings.allowed_symbols if s != "*"],
        all_symbols_allowed=settings.all_symbols_allowed,
        allowed_instrument_types=[InstrumentType(t).value for t in settings.allowed_instrument_types],
        markets=[_hours(market, status[market]) for market in ("ASX", "NYSE", "FX")],
        limits=limits,
        symbol_convention=_CONVENTION,
    )


async def _instrument_name(state: AppState, symbol: str) -> Any:
    markets = await state.trader.load_markets()
    market = markets.get(symbol) or {}
    info = market.get("info") or {}
    return info.get("longName") if isinstance(info, dict) else None


async def get_ticker(state: AppState, symbol: SymbolArg) -> TickerOut:
    """The latest quote of one symbol: last, bid/ask with sizes (base units), today's open/high/low, the previous
    close and today's volume; prices in the symbol's quote currency."""
    quote = symbol_of(state, symbol).quote
    ticker = await state.data.fetch_ticker(symbol)
    return TickerOut(
        symbol=symbol,
        price_currency=quote,
        timestamp_ms=ticker.get("timestamp"),
        last=as_float(ticker.get("last")),
        bid=as_float(ticker.get("bid")),
        ask=as_float(ticker.get("ask")),
        bid_size=as_float(ticker.get("bidVolume")),
        ask_size=as_float(ticker.get("askVolume")),
        open=as_float(ticker.get("open")),
        high=as_float(ticker.get("high")),
        low=as_float(ticker.get("low")),
        previous_close=as_float(ticker.get("previousClose") or ticker.get("close")),
        base_volume=as_float(ticker.get("baseVolume")),
        name=untrusted(await _instrument_name(state, symbol)),
    )


async def top_of_book(state: AppState, symbol: str) -> MarketData:
    """:meth:`sdk.base.BaseTrader.get_market_data`'s figures (:func:`sdk.base.market_data_from`), with the ticker
    (and, when the ticker lacks sizes, the book's top level) read through ``state.data``: the same numbers, the
    coordinator's guardrails."""
    ticker = await state.data.fetch_ticker(symbol)
    book = None
    if (ticker.get("bidVolume") is None or ticker.get("askVolume") is None) and state.trader.has.get("fetchOrderBook"):
        book = await state.data.fetch_order_book(symbol, 1)
    return market_data_from(symbol, ticker, book)


async def get_market_data(state: AppState, symbol: SymbolArg) -> MarketDataOut:
    """Top of book of one symbol with derived figures: price (last, else mid), bid/ask and sizes (base units),
    spread in percent of mid and order-book imbalance in [-1, 1]."""
    quote = symbol_of(state, symbol).quote
    data = await top_of_book(state, symbol)
    return MarketDataOut(
        symbol=symbol,
        price_currency=quote,
        timestamp_ms=data["timestamp"],
        price=as_float(data["price"]),
        bid=as_float(data["bid"]),
        ask=as_float(data["ask"]),
        bid_size=as_float(data["bid_size"]),
        ask_size=as_float(data["ask_size"]),
        base_volume=as_float(data["volume"]),
        spread_pct=as_float(data["spread_pct"]),
        ob_imbalance=as_float(data["ob_imbalance"]),
    )


async def get_ohlcv(
    state: AppState,
    symbol: SymbolArg,
    timeframe: Annotated[
        str, Field(description="ccxt timeframe: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w", min_length=2, max_length=4)
    ] = "1m",
    since_ms: Annotated[
        int | None,
        Field(description="open time of the first bar, ms since the epoch UTC; omit for the most recent bars", ge=0),
    ] = None,
    limit: Annotated[int, Field(description=f"bars to return, 1 to {MAX_OHLCV_LIMIT}", ge=1)] = DEFAULT_OHLCV_LIMIT,
) -> OhlcvOut:
    """Completed candles, oldest first, in columns: bar i opens at t0_ms + t_offset_s[i] x 1000 (UTC); o, h, l, c
    in the quote currency; v in base units. The bar still forming is left out. limit is capped at 1000."""
    quote = symbol_of(state, symbol).quote
    step = timeframe_ms(timeframe)
    capped = limit > MAX_OHLCV_LIMIT
    limit = min(limit, MAX_OHLCV_LIMIT)
    boundary = now_ms(state) // step * step  # open of the bar now forming: everything before it is complete
    if since_ms is not None and since_ms >= boundary:
        raise ValueError(
            f"since_ms {since_ms} is not before the bar now forming (opens at {boundary} ms); "
            "give an earlier since_ms or omit it for the most recent bars"
        )
    key = (symbol, timeframe, since_ms, limit, boundary)
    rows = state.ohlcv.get(key)
    if rows is None:
        # one bar more than asked: the answer may end with the bar now forming, which is left out below
        fetched = await state.data.fetch_ohlcv(symbol, timeframe, since=since_ms, limit=limit + 1)
        rows = [row for row in fetched if int(row[0]) < boundary and (since_ms is None or int(row[0]) >= since_ms)]
        rows = rows[-limit:] if since_ms is None else rows[:limit]
        state.ohlcv.put(key, rows)
    return OhlcvOut(
        symbol=symbol,
        timeframe=timeframe,
        timezone="UTC",
        price_currency=quote,
        volume_unit="base units (shares; FX: base currency)",
        limit_capped=capped,
        **columnar(rows),
    )


async def get_order_book(
    state: AppState,
    symbol: SymbolArg,
    depth: Annotated[int, Field(description=f"price levels per side, 1 to {MAX_BOOK_DEPTH}", ge=1)] = 10,
) -> OrderBookOut:
    """Bids (descending) and asks (ascending) as [price, amount] rows; prices in the quote currency, amounts in
    base units. Depth is capped at 50; venues without depth answer the top of book."""
    quote = symbol_of(state, symbol).quote
    depth = min(depth, MAX_BOOK_DEPTH)
    book = await state.data.fetch_order_book(symbol, depth)
    info = book.get("info") or {}
    source = str(info.get("source") or "depth") if isinstance(info, dict) else "depth"
    return OrderBookOut(
        symbol=symbol,
        price_currency=quote,
        amount_unit="base units",
        timestamp_ms=book.get("timestamp"),
        bids=[(float(p), float(a)) for p, a, *_ in book["bids"][:depth]],
        asks=[(float(p), float(a)) for p, a, *_ in book["asks"][:depth]],
        depth_source=source,
    )


async def estimate_costs(
    state: AppState,
    symbol: SymbolArg,
    side: SideArg,
    amount: Annotated[float, Field(description="quantity in base units (shares; FX: base currency)", gt=0)],
    price: Annotated[
        float | None, Field(description="price in the quote currency; omit to use the far touch (ask/bid)", gt=0)
    ] = None,
) -> CostEstimateOut:
    """What an order would cost (commission and fees, taker, conservative) by the CostTracker the RiskManager
    uses: in the venue's currency and in the base currency, with the FX rate and the schedule's source.
    Nothing is sent; use preview_order for a full risk check."""
    symbol_of(state, symbol)
    context = await build_risk_context(state.trader, symbol, pnl_today=0, now=now_dt(state))
    quote = context.quote
    px: Decimal | None = Decimal(repr(price)) if price is not None else None
    if px is None and quote is not None:
        px = (quote.ask if side == "buy" else quote.bid) or quote.last
    if px is None:
        raise InvalidOrder(f"no quote for {symbol} now; give price (in {context.instrument.quote}) to estimate at")
    qty = Decimal(repr(amount))
    cost = CostTracker(state.settings).estimate(
        context.instrument,
        side,
        qty,
        px,
        context.fx,
        fee_rates=context.fee_rates,
        monthly=context.monthly_volume,
    )
    notional = qty * px
    fx = context.fx.rate(context.instrument.quote)
    assert cost.amount is not None and cost.amount_base is not None and cost.currency is not None  # estimates are
    return CostEstimateOut(
        symbol=symbol,
        side=side,
        amount=float(qty),
        price=float(px),
        price_currency=context.instrument.quote,
        notional=float(notional),
        notional_base=float(fx.convert(notional)),
        cost=float(cost.amount),
        cost_currency=cost.currency,
        cost_base=float(cost.amount_base),
        base_currency=cost.base_currency,
        fx_rate=float(fx.rate),
        schedule=cost.schedule,
        source=cost.source,
        parts={k: float(v) for k, v in cost.parts.items()},
    )
