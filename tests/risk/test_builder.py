"""build_risk_context gathers the facts from any BaseTrader: here a small in-memory venue quoting real
closes (BHP, CBA, SPY, AUD/USD of one day) through the BaseTrader primitives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade
from risk_helpers import AUDUSD, NYSE_AFTERNOON, RealPrices, ib_stock

from sdk.base import OHLCV, BaseTrader, OrderSide
from sdk.errors import NotSupported
from sdk.instruments import InstrumentSpec
from sdk.risk import Approved, OrderIntent, RejectCode, Rejected, RiskManager, build_risk_context
from sdk.settings import Settings, load_settings


class QuoteVenue(BaseTrader):
    """Quotes, cash and positions held in memory; orders are not its business."""

    id = "IB"
    has: ClassVar[dict[str, bool]] = {"fetchTicker": True, "fetchOrderBook": True, "fetchPositions": False}

    def __init__(self, settings: Settings, quotes: dict[str, Any], positions: list[Position]) -> None:
        super().__init__(settings)
        self.quotes, self.positions, self.ticker_calls = quotes, positions, 0

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        return {s: {"symbol": s} for s in self.quotes}  # type: ignore[misc]

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        self.ticker_calls += 1
        q = self.quotes[symbol]
        return {"symbol": symbol, "timestamp": int(NYSE_AFTERNOON.timestamp() * 1000), "bid": float(q.bid),
                "ask": float(q.ask), "last": float(q.last), "bidVolume": float(q.bid_size),
                "askVolume": float(q.ask_size), "baseVolume": None}  # type: ignore[typeddict-item]  # fmt: skip

    async def fetch_order_book(self, symbol: str, limit: int | None = None, params: Any = None) -> OrderBook:
        raise NotSupported("the ticker carries sizes")

    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        return AUDUSD if symbol == "AUD/USD" else ib_stock(symbol, "ASX" if symbol.endswith("/AUD") else "NYSE")

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        return {"total": {"AUD": 100_000.0, "USD": 5_000.0}}  # type: ignore[typeddict-item]

    async def fetch_positions(self, symbols: list[str] | None = None, params: Any = None) -> list[Position]:
        return self.positions

    async def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None,
                          limit: int | None = None, params: Any = None) -> list[OHLCV]:  # fmt: skip
        return []

    async def create_order(self, symbol: str, type: str, side: OrderSide, amount: float, price: float | None = None,
                           params: Any = None) -> Order:  # fmt: skip
        raise NotSupported("no orders here")

    async def cancel_order(self, id: str, symbol: str | None = None, params: Any = None) -> Order:
        raise NotSupported("no orders here")

    async def fetch_order(self, id: str, symbol: str | None = None, params: Any = None) -> Order:
        raise NotSupported("no orders here")

    async def fetch_open_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                                params: Any = None) -> list[Order]:  # fmt: skip
        return []

    async def fetch_my_trades(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                              params: Any = None) -> list[Trade]:  # fmt: skip
        return []


def venue(real: RealPrices, *, with_fx: bool = True) -> QuoteVenue:
    quotes = {s: real.quote(s) for s in ("BHP/AUD", "CBA/AUD", "SPY/USD")}
    if with_fx:
        quotes["AUD/USD"] = real.quote("AUD/USD", tick=Decimal("0.00005"))
    positions: list[Position] = [
        {"symbol": "SPY/USD", "side": "long", "contracts": 10, "contractSize": 1, "markPrice": None},  # type: ignore[typeddict-item]
        {"symbol": "CBA/AUD", "side": "short", "contracts": 100, "contractSize": 1, "markPrice": 170.5},  # type: ignore[typeddict-item]
    ]
    return QuoteVenue(load_settings(), quotes, positions)


async def test_context_from_a_venue_with_real_prices(real: RealPrices) -> None:
    trader = venue(real)
    ctx = await build_risk_context(trader, "SPY/USD", pnl_today=Decimal("-120.50"), now=NYSE_AFTERNOON)
    spy, audusd = real.quote("SPY/USD"), real.quote("AUD/USD", tick=Decimal("0.00005"))
    assert ctx.instrument.symbol == "SPY/USD" and ctx.quote is not None
    assert (ctx.quote.bid, ctx.quote.ask, ctx.quote.ask_size) == (spy.bid, spy.ask, spy.ask_size)
    usd = ctx.fx.rate("USD")
    assert abs(usd.rate - 1 / audusd.mid) < Decimal("1e-12")  # type: ignore[operator]
    assert usd.source == "IB fetch_fx_rate(USD, AUD)" and usd.as_of == NYSE_AFTERNOON
    assert ctx.positions["SPY/USD"].mark_price == spy.last, "an unmarked position is marked from the quote"
    assert ctx.positions["CBA/AUD"].amount == -100 and ctx.positions["CBA/AUD"].mark_price == Decimal("170.5")
    assert ctx.pnl_today == Decimal("-120.50") and ctx.fee_rates is None
    assert ctx.equity is not None and abs(ctx.equity - (100_000 + 5_000 / audusd.mid)) < Decimal("0.001")  # type: ignore[operator]

    decision = RiskManager(load_settings()).validate(
        OrderIntent(symbol="SPY/USD", side="buy", amount=5, price=spy.ask, origin="plan:p1"), ctx
    )
    assert isinstance(decision, Approved)
    # the position after the order is valued at its mark (the last trade here), not at the limit paid
    assert decision.exposure_after_base == ((15 * spy.last) * usd.rate + 100 * Decimal("170.5")).quantize(
        Decimal("0.0001")
    )  # type: ignore[operator]


async def test_a_venue_without_an_fx_quote_leaves_the_rate_out_and_the_order_is_refused(real: RealPrices) -> None:
    trader = venue(real, with_fx=False)
    ctx = await build_risk_context(trader, "SPY/USD", pnl_today=0, now=NYSE_AFTERNOON)
    assert not ctx.fx.has("USD") and ctx.equity is None
    decision = RiskManager(load_settings()).validate(
        OrderIntent(symbol="SPY/USD", side="buy", amount=5, price="596.10", origin="agent:a1"), ctx
    )
    assert isinstance(decision, Rejected) and decision.code == RejectCode.FX_UNAVAILABLE
