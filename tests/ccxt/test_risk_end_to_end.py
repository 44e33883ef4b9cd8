"""End to end on the ccxt side: an AUD account trades BTC/USD on (fake) Gemini through the one risk path.

The context is gathered from CcxtTrader over loopback (ccxt's static ticker, the documented book and
balances), USD is converted to AUD at a real AUD/USD close (``sdk.data`` over ``../shared/data/fx``)
through the trader's FX fallback venue, the market order becomes Gemini's marketable IOC limit, and the
fill's fee becomes an actual cost in AUD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, ClassVar

from ccxt.base.types import Market, Ticker

from sdk.base import BaseTrader
from sdk.costs import CostTracker
from sdk.data import load_catalog
from sdk.errors import NotSupported
from sdk.risk import Approved, OrderIntent, RejectCode, Rejected, RiskManager, build_risk_context
from sdk.settings import load_settings

DAY = "2025-06-03"


class AudUsdVenue(BaseTrader):
    """Quotes AUD/USD at one real close; the FX fallback of a venue that lists no AUD market."""

    id = "real-fx"
    has: ClassVar[dict[str, bool]] = {"fetchTicker": True}

    def __init__(self, close: float) -> None:
        super().__init__(load_settings())
        self.close_price = close

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        return {"AUD/USD": {"symbol": "AUD/USD"}}  # type: ignore[dict-item]

    async def fetch_ticker(self, symbol: str, params: Any = None) -> Ticker:
        return {"symbol": symbol, "bid": self.close_price, "ask": self.close_price, "last": self.close_price}  # type: ignore[typeddict-item]

    async def _not_here(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupported(f"{self.id} only quotes AUD/USD")

    fetch_order_book = fetch_ohlcv = fetch_balance = fetch_positions = _not_here
    create_order = cancel_order = fetch_order = fetch_open_orders = fetch_my_trades = fetch_instrument = _not_here


async def test_market_buy_of_btc_checked_in_aud_sent_as_ioc_limit_and_costed(
    gemini: Any, make_trader: Any, shared_data: Path, gemini_credentials: tuple[str, str]
) -> None:
    bars = load_catalog(shared_data / "fx").bars("AUD/USD", "1D")
    audusd = float(bars[bars["session"].astype(str) == DAY]["close"].iloc[0])
    key, secret = gemini_credentials
    settings = load_settings(
        ccxt_api_key=key, ccxt_secret=secret, allowed_symbols="BTC/USD", allowed_instrument_types="crypto"
    )
    now = datetime(2025, 6, 3, 21, 0, tzinfo=UTC)
    gemini.fill_new_orders = True
    async with make_trader(gemini.url, settings) as trader:
        trader.fx_fallback = AudUsdVenue(audusd)
        ctx = await build_risk_context(trader, "BTC/USD", pnl_today=0, now=now)
        assert ctx.fx.rate("USD").rate == Decimal(str(1 / audusd))
        assert (ctx.quote.bid, ctx.quote.ask, ctx.quote.ask_size) == (
            Decimal("73367.96"),
            Decimal("73385.27"),
            Decimal("0.4"),
        )  # type: ignore[union-attr]
        assert ctx.positions["BTC/USD"].amount == Decimal("10.5"), "Gemini's BTC balance counts as exposure"
        assert ctx.fee_rates is not None and ctx.fee_rates.taker == Decimal("0.004")

        order = OrderIntent(symbol="BTC/USD", side="buy", type="market", amount="0.01", client_order_id="trd-e2e-1",
                            origin="strategy:e2e")  # fmt: skip
        too_big = RiskManager(settings).validate(order, ctx)
        assert isinstance(too_big, Rejected) and too_big.code == RejectCode.MAX_POSITION_VALUE
        assert too_big.currency == "AUD" and too_big.value is not None and too_big.value > Decimal("1000000")

        roomy = load_settings(
            **{**settings.model_dump(), "max_total_exposure": 5_000_000, "max_position_value": 5_000_000}
        )
        decision = RiskManager(roomy).validate(order, ctx)
        assert isinstance(decision, Approved), decision.to_dict()
        limit = (Decimal("73385.27") * Decimal("1.005")).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        assert (decision.order.type, decision.order.price, decision.order.tif) == ("limit", limit, "IOC")
        assert decision.notional_base == (Decimal("0.01") * limit * ctx.fx.rate("USD").rate).quantize(Decimal("0.0001"))
        assert decision.cost.currency == "USD" and decision.cost.amount == Decimal("0.01") * limit * Decimal("0.004")

        placed = await trader.create_order(**decision.order.create_order_args())
        sent = gemini.new_order_requests[-1]
        assert (sent["price"], sent["options"], sent["client_order_id"]) == (
            str(limit),
            ["immediate-or-cancel"],
            "trd-e2e-1",
        )
        assert placed["status"] == "closed" and placed["clientOrderId"] == "trd-e2e-1"

        fill = next(t for t in await trader.fetch_my_trades("BTC/USD") if t["order"] == placed["id"])
        actual = CostTracker(settings).actual_from_trade(fill, ctx.fx, venue=trader.id)
        assert (actual.amount, actual.currency, actual.kind) == (Decimal("1.0"), "USD", "actual")
        assert actual.amount_base == (Decimal(1) / Decimal(str(audusd))).quantize(Decimal("0.0001"))
