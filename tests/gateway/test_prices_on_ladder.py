"""Every price the gateway streams is on the instrument's tick ladder, as real TWS sends them: no residue of
the replay's float32 storage (CBA's last once read 153.92999 for 153.93)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ib_async import Stock
from support.waiting import eventually

from sdk.gateway import OfflineGateway
from sdk.ticks import ASX_EQUITY

ASX_STOCKS = ("BHP", "CBA", "CSL", "NAB", "WBC", "ANZ", "FMG", "WES", "RIO")


async def test_streamed_asx_prices_are_on_the_ladder(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway)
    contracts = await ib.qualifyContractsAsync(*[Stock(s, "ASX", "AUD") for s in ASX_STOCKS])
    tickers = [ib.reqMktData(c) for c in contracts]
    seen: list[tuple[str, str, float]] = []
    for _ in range(6):
        await eventually(lambda: all(t.last == t.last and t.close == t.close for t in tickers))  # not NaN
        for ticker in tickers:
            for field in ("bid", "ask", "last", "open", "high", "low", "close"):
                seen.append((ticker.contract.symbol, field, getattr(ticker, field)))
        gateway.clock.advance(900)
    off = [(s, f, v) for s, f, v in seen if not ASX_EQUITY.is_on_ladder(Decimal(repr(v)))]
    assert len(seen) == 6 * len(ASX_STOCKS) * 7 and not off, off[:10]
