"""Market scanners over the replayed instruments: MOST_ACTIVE, TOP_PERC_GAIN, TOP_PERC_LOSE.

IB's scanner parameters (``reqScannerParameters``; IB "Market Scanners"): instrument ``STK``,
location codes ``STK.AU.ASX`` (ASX), ``STK.US.MAJOR`` and ``STK.US`` (US listings), and for
completeness ``STK.NYSE``, ``STK.NASDAQ``, ``STK.ARCA`` by primary exchange. Values are those of the
simulated now: the session's volume so far and the change from the previous close (the last
session's when the market is closed). ``abovePrice``, ``belowPrice`` and ``aboveVolume`` filter;
at most 50 rows, as IB returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.gateway.market import MarketReplay
from sdk.gateway.protocol import UNSET_DOUBLE

__all__ = ["LOCATIONS", "SCAN_CODES", "ScanError", "scan", "scanner_parameters_xml"]

SCAN_CODES = ("MOST_ACTIVE", "TOP_PERC_GAIN", "TOP_PERC_LOSE")
LOCATIONS: dict[str, tuple[str, ...]] = {
    "STK.AU.ASX": ("ASX",),
    "STK.AU": ("ASX",),
    "STK.US.MAJOR": ("NYSE", "NASDAQ", "ARCA", "AMEX", "BATS", "SMART"),
    "STK.US": ("NYSE", "NASDAQ", "ARCA", "AMEX", "BATS", "SMART"),
    "STK.NYSE": ("NYSE",),
    "STK.NASDAQ": ("NASDAQ",),
    "STK.ARCA": ("ARCA",),
}
MAX_ROWS = 50


class ScanError(ValueError):
    """A scanner subscription this gateway cannot run (answered with error 322)."""


@dataclass(frozen=True, slots=True)
class _Row:
    inst: GatewayContract
    price: float
    change: float
    volume: float


def scan(
    instruments: InstrumentTable, market: MarketReplay, *, instrument: str, location: str, code: str, now: float,
    rows: int = -1, above_price: float = UNSET_DOUBLE, below_price: float = UNSET_DOUBLE, above_volume: int = -1,
) -> list[GatewayContract]:  # fmt: skip
    """Rank the instruments of ``location`` by ``code`` at ``now`` (rules in the module docstring).

    Raises:
        ScanError: an unknown instrument type, location code or scan code (the message lists them).
    """
    if instrument.upper() != "STK":
        raise ScanError(f"scanner instrument {instrument!r} is not served; use STK")
    exchanges = LOCATIONS.get(location.upper())
    if exchanges is None:
        raise ScanError(f"location code {location!r} is not served; use one of {', '.join(LOCATIONS)}")
    if code.upper() not in SCAN_CODES:
        raise ScanError(f"scan code {code!r} is not served; use one of {', '.join(SCAN_CODES)}")
    when = datetime.fromtimestamp(now, UTC)
    found: list[_Row] = []
    for inst in instruments:
        if inst.sec_type != "STK" or inst.primary_exchange not in exchanges:
            continue
        info = market.catalog.instruments.get(inst.symbol)
        if info is None or info.first > when or info.last + timedelta(days=7) < when:
            continue
        quote = market.quote(inst.symbol, now)
        if quote is None or math.isnan(quote.prev_close) or quote.prev_close <= 0:
            continue
        price = quote.last
        volume = quote.volume if quote.in_session and not math.isnan(quote.volume) else _last_volume(market, inst, now)
        if above_price != UNSET_DOUBLE and price <= above_price:
            continue
        if below_price != UNSET_DOUBLE and price >= below_price:
            continue
        if above_volume not in (-1, 2**31 - 1) and volume <= above_volume:
            continue
        change = price / quote.prev_close - 1 if quote.in_session else _last_change(market, inst, now)
        found.append(_Row(inst, price, change, volume))
    key = code.upper()
    if key == "MOST_ACTIVE":
        found.sort(key=lambda r: -r.volume)
    elif key == "TOP_PERC_GAIN":
        found = sorted((r for r in found if r.change > 0), key=lambda r: -r.change)
    else:
        found = sorted((r for r in found if r.change < 0), key=lambda r: r.change)
    limit = MAX_ROWS if rows <= 0 else min(rows, MAX_ROWS)
    return [r.inst for r in found[:limit]]


def _closed_sessions(market: MarketReplay, inst: GatewayContract, now: float) -> tuple[list[float], list[float]]:
    opens, closes, volumes = market.daily(inst.symbol)
    session = market.session_at(inst.symbol, now)
    limit = session.open.timestamp() if session is not None else now
    n = int((opens < limit).sum())
    return closes[max(0, n - 2) : n].tolist(), volumes[max(0, n - 1) : n].tolist()


def _last_volume(market: MarketReplay, inst: GatewayContract, now: float) -> float:
    _, volumes = _closed_sessions(market, inst, now)
    return volumes[-1] if volumes else 0.0


def _last_change(market: MarketReplay, inst: GatewayContract, now: float) -> float:
    closes, _ = _closed_sessions(market, inst, now)
    return closes[-1] / closes[-2] - 1 if len(closes) == 2 and closes[-2] > 0 else 0.0


def scanner_parameters_xml() -> str:
    """The ``reqScannerParameters`` answer: the instrument, locations and scan codes served."""
    locations = "".join(
        f"<Location><displayName>{code}</displayName><locationCode>{code}</locationCode>"
        f"<instruments>STK</instruments></Location>"
        for code in LOCATIONS
    )
    scans = "".join(
        f"<ScanType><displayName>{code}</displayName><scanCode>{code}</scanCode><instruments>STK</instruments></ScanType>"
        for code in SCAN_CODES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ScanParameterResponse>'
        "<InstrumentList><Instrument><name>US and AU stocks</name><type>STK</type></Instrument></InstrumentList>"
        f"<LocationTree>{locations}</LocationTree><ScanTypeList>{scans}</ScanTypeList></ScanParameterResponse>"
    )
