"""BaseTrader's derived helpers, on a small in-memory venue that implements only the primitives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ccxt.base.types import Balances, Market, Order, OrderBook, Position, Ticker, Trade

from sdk.base import OHLCV, BaseTrader, OrderSide
from sdk.errors import FxRateUnavailable, NotSupported
from sdk.instruments import InstrumentSpec
from sdk.registry import create_trader, register_venue, registered_venues
from sdk.settings import Settings, SettingsError, load_settings
from sdk.symbols import InstrumentType
from sdk.ticks import FX_IDEALPRO


@register_venue("memory-test")
class MemoryVenue(BaseTrader):
    """Quotes, balances, positions and fills held in dicts; enough to exercise the base class."""

    id = "memory-test"
    has: ClassVar[dict[str, bool]] = {
        "fetchTicker": True,
        "fetchOrderBook": True,
        "fetchPositions": True,
        "fetchMyTrades": True,
    }

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.quotes: dict[str, dict[str, float | None]] = {}
        self.cash: dict[str, float] = {}
        self.positions: list[Position] = []
        self.trades: list[Trade] = []
        self.trade_calls = 0

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        return {symbol: {"symbol": symbol} for symbol in self.quotes}  # type: ignore[misc]

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Ticker:
        q = self.quotes[symbol]
        return {
            "symbol": symbol,
            "timestamp": 1_700_000_000_000,
            "bid": q["bid"],
            "ask": q["ask"],
            "last": q.get("last"),
            "bidVolume": q.get("bid_size"),
            "askVolume": q.get("ask_size"),
            "baseVolume": q.get("volume"),
        }  # type: ignore[typeddict-item]

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> OrderBook:
        q = self.quotes[symbol]
        return {
            "symbol": symbol,
            "bids": [[q["bid"], q["book_bid_size"]]],
            "asks": [[q["ask"], q["book_ask_size"]]],
            "timestamp": None,
            "datetime": None,
            "nonce": None,
        }  # type: ignore[typeddict-item]

    async def fetch_instrument(self, symbol: str) -> InstrumentSpec:
        base, quote = symbol.split("/")
        return InstrumentSpec(
            symbol, InstrumentType.FX, base, quote, FX_IDEALPRO, Decimal(1), Decimal(1), "FX", True, self.id
        )

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[OHLCV]:
        return []

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Balances:
        balances: dict[str, Any] = {c: {"free": v, "used": 0.0, "total": v} for c, v in self.cash.items()}
        balances["total"] = dict(self.cash)
        return balances  # type: ignore[return-value]

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> list[Position]:
        return self.positions

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: OrderSide,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Order:
        raise NotSupported("memory venue takes no orders")

    async def cancel_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        raise NotSupported("memory venue takes no orders")

    async def fetch_order(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Order:
        raise NotSupported("memory venue takes no orders")

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Order]:
        return []

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[Trade]:
        self.trade_calls += 1
        rows = [t for t in self.trades if since is None or t["timestamp"] >= since]
        return rows[: limit or len(rows)]


@pytest.fixture
def venue() -> MemoryVenue:
    trader = create_trader("MEMORY-TEST", load_settings(), raw=True)
    assert isinstance(trader, MemoryVenue)
    return trader


async def test_market_data_from_ticker(venue: MemoryVenue) -> None:
    venue.quotes["BHP/AUD"] = {
        "bid": 45.00,
        "ask": 45.10,
        "last": 45.05,
        "bid_size": 300,
        "ask_size": 100,
        "volume": 1e6,
    }
    data = await venue.get_market_data("BHP/AUD")
    assert data["price"] == 45.05 and data["bid"] == 45.00 and data["ask"] == 45.10
    assert data["spread_pct"] == pytest.approx(0.10 / 45.05 * 100)
    assert data["ob_imbalance"] == pytest.approx(0.5)
    assert data["volume"] == 1e6


async def test_market_data_falls_back_to_the_book_for_sizes(venue: MemoryVenue) -> None:
    venue.quotes["AUD/USD"] = {"bid": 0.6500, "ask": 0.6502, "book_bid_size": 1e6, "book_ask_size": 3e6}
    data = await venue.get_market_data("AUD/USD")
    assert data["price"] == pytest.approx(0.6501), "no last trade: the mid"
    assert (data["bid_size"], data["ask_size"]) == (1e6, 3e6)
    assert data["ob_imbalance"] == pytest.approx(-0.5)


async def test_equity_converts_cash_and_positions_to_aud(venue: MemoryVenue) -> None:
    venue.quotes["AUD/USD"] = {"bid": 0.6499, "ask": 0.6501}
    venue.cash = {"AUD": 10_000.0, "USD": 650.0}
    venue.positions = [
        {"symbol": "SPY/USD", "contracts": 10, "side": "long", "markPrice": 650.0},  # type: ignore[typeddict-item]
        {"symbol": "BHP/AUD", "contracts": 100, "side": "short", "markPrice": 45.0},  # type: ignore[typeddict-item]
    ]
    equity = await venue.get_equity()
    assert equity == pytest.approx(10_000 + 650 / 0.65 + 6_500 / 0.65 - 4_500)


async def test_instrument_spec_is_part_of_the_contract(venue: MemoryVenue) -> None:
    spec = await venue.fetch_instrument("AUD/USD")
    assert (spec.base, spec.quote, spec.market) == ("AUD", "USD", "FX")
    assert spec.ladder.is_on_ladder("0.65005")


async def test_fx_rate_direct_inverse_and_bridged(venue: MemoryVenue) -> None:
    venue.quotes["AUD/USD"] = {"bid": 0.65, "ask": 0.65}
    venue.quotes["BTC/USD"] = {"bid": 100_000.0, "ask": 100_000.0}
    assert await venue.fetch_fx_rate("AUD", "USD") == pytest.approx(0.65)
    assert await venue.fetch_fx_rate("USD", "AUD") == pytest.approx(1 / 0.65)
    assert await venue.fetch_fx_rate("BTC", "AUD") == pytest.approx(100_000 / 0.65)
    assert await venue.fetch_fx_rate("AUD", "AUD") == 1.0


async def test_missing_fx_quote_is_an_error_never_one(venue: MemoryVenue) -> None:
    venue.cash = {"AUD": 1.0, "JPY": 1000.0}
    with pytest.raises(FxRateUnavailable, match="JPY to AUD"):
        await venue.get_equity()


async def test_fx_fallback_venue_is_asked_last(venue: MemoryVenue) -> None:
    other = create_trader("memory-test", load_settings(), raw=True)
    assert isinstance(other, MemoryVenue)
    other.quotes["AUD/JPY"] = {"bid": 100.0, "ask": 100.0}
    venue.fx_fallback = other
    assert await venue.fetch_fx_rate("JPY", "AUD") == pytest.approx(0.01)


async def test_trades_from_timestamp_pages_without_loss_or_duplicates(venue: MemoryVenue) -> None:
    # 250 fills, five sharing each millisecond: page boundaries fall inside a millisecond.
    venue.trades = [{"id": f"e{i:04d}", "timestamp": 1_000 + i // 5, "symbol": "BHP/AUD"} for i in range(250)]  # type: ignore[misc]
    trades = await venue.get_trades_from_timestamp(1_010, page_size=37)
    expected = [t["id"] for t in venue.trades if t["timestamp"] >= 1_010]
    assert [t["id"] for t in trades] == expected
    assert venue.trade_calls > 1


def test_unknown_venue_names_the_registered_ones() -> None:
    with pytest.raises(NotSupported, match=r"no venue registered as 'nowhere'.*memory-test"):
        create_trader("nowhere", load_settings())
    assert "memory-test" in registered_venues()


def test_create_trader_reads_dotenv_like_the_commands_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("IB_BASE_CURRENCY=USD\nMAX_ORDER_VALUE=1234\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAX_ORDER_VALUE", "999")
    trader = create_trader("memory-test", raw=True)
    assert isinstance(trader, MemoryVenue) and trader.settings.base_currency == "USD"
    assert trader.settings.max_order_value == 999, "the environment wins over ./.env"
    monkeypatch.delenv("MAX_ORDER_VALUE")
    (tmp_path / ".env").write_text("MAX_ORDER_VALUE=-5\n")
    with pytest.raises(SettingsError, match="MAX_ORDER_VALUE"):
        create_trader("memory-test")
