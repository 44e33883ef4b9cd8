"""Shared facts of the risk tests: the trading day, IB-style instruments, real prices from ``sdk.data``.

Quotes are built around a real daily close: bid and ask one tick either side, sizes stated per test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sdk.costs import FxRate
from sdk.data import Catalog
from sdk.instruments import InstrumentSpec
from sdk.risk import Approved, OrderIntent, PositionFact, Quote, RejectCode, Rejected, RiskManager
from sdk.settings import load_settings
from sdk.symbols import InstrumentType
from sdk.ticks import ASX_EQUITY, FX_IDEALPRO, US_EQUITY

SYDNEY, NEW_YORK = ZoneInfo("Australia/Sydney"), ZoneInfo("America/New_York")
DAY = "2025-06-03"  # a Tuesday: ASX, NYSE and IDEALPRO all trade
ASX_NOON = datetime(2025, 6, 3, 12, 0, tzinfo=SYDNEY)
NYSE_AFTERNOON = datetime(2025, 6, 3, 14, 0, tzinfo=NEW_YORK)


def ib_stock(symbol: str, market: str = "ASX") -> InstrumentSpec:
    base, quote = symbol.split("/")
    kind = InstrumentType.ETF if base in ("SPY", "QQQ") else InstrumentType.STOCK
    ladder = ASX_EQUITY if market == "ASX" else US_EQUITY
    # IBTrader: ASX takes no market orders from us (exits become marketable limits); US stocks do
    return InstrumentSpec(symbol, kind, base, quote, ladder, Decimal(1), Decimal(1), market, market != "ASX", "IB",
                          exchange=market)  # fmt: skip


AUDUSD = InstrumentSpec(
    "AUD/USD", InstrumentType.FX, "AUD", "USD", FX_IDEALPRO, Decimal(1), Decimal(1), "FX", True, "IB"
)


#: The folders of ``../shared/data`` the risk tests read (scanning only these keeps the tests quick).
DATA_FOLDERS = ("asx_daily", "us_daily", "fx")


@dataclass(frozen=True)
class RealPrices:
    """Daily closes of one session from ``sdk.data`` catalogs, as Decimals."""

    catalogs: tuple[Catalog, ...]

    def close(self, symbol: str, day: str = DAY) -> Decimal:
        catalog = next(c for c in self.catalogs if symbol in c.instruments)
        frame = catalog.bars(symbol, "1D")
        row = frame[frame["session"].astype(str) == day]
        assert len(row) == 1, f"no {symbol} bar for session {day}"
        return Decimal(str(row["close"].iloc[0]))

    def usd_to_aud(self, day: str = DAY) -> FxRate:
        """USD -> AUD at that session's real AUD/USD close (IDEALPRO session named after its closing day)."""
        as_of = datetime.fromisoformat(day).replace(hour=17, tzinfo=NEW_YORK).astimezone(UTC)
        return FxRate.from_quote("AUD", "USD", self.close("AUD/USD", day), base="AUD",
                                 source=f"shared data AUD/USD close {day}", as_of=as_of)  # fmt: skip

    def quote(self, symbol: str, day: str = DAY, *, size: int = 10_000, tick: Decimal = Decimal("0.01")) -> Quote:
        """Bid and ask one tick either side of the real close (rounded to the tick), last at the close."""
        close = self.close(symbol, day).quantize(tick)
        return Quote(bid=close - tick, ask=close + tick, bid_size=Decimal(size), ask_size=Decimal(size), last=close)


def position(symbol: str, amount: int | str | Decimal, mark: Decimal | None, currency: str) -> PositionFact:
    """A position fact (short is negative)."""
    return PositionFact(symbol, Decimal(amount), mark, currency)


def intent(symbol: str, side: str, amount: Any, price: Any = None, **fields: Any) -> OrderIntent:
    """An order intent from a strategy: a limit when ``price`` is given, else a market order."""
    kind = fields.pop("type", "limit" if price is not None else "market")
    return OrderIntent(
        symbol=symbol, side=side, type=kind, amount=amount, price=price, origin="strategy:test", **fields
    )


def manager(**overrides: Any) -> RiskManager:
    """A RiskManager on the default settings with ``overrides`` (field names of :class:`sdk.settings.Settings`)."""
    return RiskManager(load_settings(**overrides))


def approved(decision: Approved | Rejected) -> Approved:
    assert isinstance(decision, Approved), decision.to_dict()
    return decision


def rejected(decision: Approved | Rejected, code: RejectCode) -> Rejected:
    assert isinstance(decision, Rejected), decision.to_dict()
    assert decision.code == code, decision.to_dict()
    return decision
