"""The PortfolioTracker: positions, cash per currency, realised and unrealised PnL and equity in the base currency.

It reads the account from the venue the orders go to (the real venue, or the shadow account in
shadow mode), values everything in the base currency (``IB_BASE_CURRENCY``, AUD) at the venue's FX
rates (a missing rate is an error, never 1.0), and records snapshots in the ledger: positions,
balances and an equity row carrying every rate used.

* ``equity``: the venue's (IB's NetLiquidation); in shadow mode the shadow account's cash plus its stock
  positions at the marks of the same snapshot.
* ``realized``: PnL this run's fills realised, at average cost, gross of commissions (``commissions``
  is what its fills cost, in the base currency).
* ``unrealized``: the open positions' PnL at mark, as the venue reports it.
* :meth:`PortfolioTracker.pnl_today`: equity now minus equity at the first snapshot of the trading
  day (``day_tz``, Sydney for an AUD account): what the RiskManager's daily-loss switch reads. The day's
  opening equity is the **ledger's** first equity snapshot of that day for the account (any run, any
  process: :func:`sdk.ledger.queries.day_open_equity`), so a process restarted at noon still sees the
  morning's loss; when the ledger has none yet, this tracker records the first one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ccxt.base.types import Position

from sdk.base import BaseTrader
from sdk.costs.fx import to_decimal
from sdk.ledger import LedgerWriter
from sdk.ledger import queries as q
from sdk.services.shadow import ShadowVenue
from sdk.sim.account import Holding
from sdk.symbols import parse_symbol

__all__ = ["PortfolioSnapshot", "PortfolioTracker"]

log = logging.getLogger(__name__)
_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    """The account at one time; every ``*_base`` figure is in ``base_currency``.

    Attributes:
        timestamp: venue time, ms UTC.
        equity: the account's equity (net liquidation) in the base currency.
        cash: cash per currency, in that currency.
        cash_base: all cash in the base currency.
        positions: ccxt positions (money in each position's quote currency).
        positions_value: signed stock/ETF positions at mark, in the base currency.
        realized: PnL realised by this run's fills, base currency (gross of commissions).
        unrealized: open positions' PnL at mark, base currency.
        commissions: what this run's fills cost, base currency (estimates in shadow mode; pending fees
            are not in it, ``pending_fees`` counts them).
        fx_rates: base currency per unit of each currency used.
    """

    timestamp: int
    base_currency: str
    equity: Decimal
    cash: Mapping[str, Decimal]
    cash_base: Decimal
    positions: tuple[Position, ...]
    positions_value: Decimal
    realized: Decimal
    unrealized: Decimal
    commissions: Decimal
    pending_fees: int
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {
            "timestamp": self.timestamp,
            "base_currency": self.base_currency,
            "equity": str(self.equity),
            "cash": {k: str(v) for k, v in self.cash.items()},
            "cash_base": str(self.cash_base),
            "positions": [
                {k: p.get(k) for k in ("symbol", "side", "contracts", "entryPrice", "markPrice", "unrealizedPnl")}
                for p in self.positions
            ],
            "positions_value": str(self.positions_value),
            "realized": str(self.realized),
            "unrealized": str(self.unrealized),
            "commissions": str(self.commissions),
            "pending_fees": self.pending_fees,
            "fx_rates": {k: str(v) for k, v in self.fx_rates.items()},
        }


class PortfolioTracker:
    """Values the account in the base currency and records snapshots (see the module docstring).

    Args:
        venue: the venue orders go to (the shadow view in shadow mode).
        writer: the ledger writer; snapshots belong to ``session_id``.
        session_id: the run id.
        base_currency: ``IB_BASE_CURRENCY``.
        clock: the venue's time in epoch seconds.
        day_tz: the time zone whose calendar day "today" is (Sydney for an AUD account).
    """

    def __init__(
        self,
        venue: BaseTrader,
        writer: LedgerWriter,
        *,
        session_id: str,
        base_currency: str,
        clock: Callable[[], float] | None = None,
        day_tz: str = "Australia/Sydney",
    ) -> None:
        self.venue = venue
        self.writer = writer
        self.session_id = session_id
        self.base_currency = base_currency
        self.clock = clock or time.time
        self.day_tz = ZoneInfo(day_tz)
        self._holdings: dict[str, Holding] = {}
        self._fill_ids: set[str] = set()
        self._fees: list[tuple[str, Decimal]] = []
        self._pending_fees: set[str] = set()
        self._day: date | None = None
        self._day_open_equity: Decimal | None = None
        self.last: PortfolioSnapshot | None = None

    # --- fills ----------------------------------------------------------------------------------
    def on_fills(self, trades: Iterable[Mapping[str, Any]]) -> int:
        """Account for fills of this run (each once; a fee that arrives later is taken then)."""
        new = 0
        for trade in trades:
            trade_id = str(trade["id"])
            fee = trade.get("fee")
            if trade_id not in self._fill_ids:
                self._fill_ids.add(trade_id)
                holding = self._holdings.setdefault(str(trade["symbol"]), Holding(str(trade["symbol"])))
                holding.apply(str(trade["side"]), to_decimal(trade["amount"]), to_decimal(trade["price"]))
                new += 1
                if not fee or fee.get("cost") is None:
                    self._pending_fees.add(trade_id)
                    continue
            elif trade_id not in self._pending_fees or not fee or fee.get("cost") is None:
                continue
            self._pending_fees.discard(trade_id)
            self._fees.append((str(fee["currency"]), to_decimal(fee["cost"])))
        return new

    # --- valuation ------------------------------------------------------------------------------
    async def _rate(self, currency: str, rates: dict[str, Decimal]) -> Decimal:
        if currency == self.base_currency:
            return Decimal(1)
        if currency not in rates:
            rates[currency] = to_decimal(await self.venue.fetch_fx_rate(currency, self.base_currency))
        return rates[currency]

    async def snapshot(self) -> PortfolioSnapshot:
        """Read and value the account now.

        Raises:
            FxRateUnavailable: a currency held has no rate into the base currency.
            ccxt errors from the venue.
        """
        balance, positions = await asyncio.gather(self.venue.fetch_balance(), self.venue.fetch_positions())
        rates: dict[str, Decimal] = {}
        cash = {str(k): to_decimal(v) for k, v in (balance.get("total") or {}).items() if v is not None}
        cash_base = sum([v * await self._rate(k, rates) for k, v in cash.items() if v], Decimal(0))
        positions_value = unrealized = Decimal(0)
        for position in positions:
            quote = parse_symbol(str(position["symbol"])).quote
            rate = await self._rate(quote, rates)
            if position.get("unrealizedPnl") is not None:
                unrealized += to_decimal(position["unrealizedPnl"]) * rate
            mark = position.get("markPrice")
            if mark is not None and not parse_symbol(str(position["symbol"])).is_fx:
                signed = to_decimal(position.get("contracts") or 0) * (-1 if position.get("side") == "short" else 1)
                positions_value += signed * to_decimal(mark) * rate
        if isinstance(self.venue, ShadowVenue):  # valued from the same positions and marks as above
            equity = cash_base + positions_value
        else:
            equity = to_decimal(await self.venue.get_equity())
        realized = Decimal(0)
        for holding in self._holdings.values():
            realized += holding.realized * await self._rate(holding.quote, rates)
        commissions = sum([amount * await self._rate(ccy, rates) for ccy, amount in self._fees], Decimal(0))
        snap = PortfolioSnapshot(
            timestamp=int(self.clock() * 1000),
            base_currency=self.base_currency,
            equity=equity.quantize(_PLACES),
            cash=cash,
            cash_base=cash_base.quantize(_PLACES),
            positions=tuple(positions),
            positions_value=positions_value.quantize(_PLACES),
            realized=realized.quantize(_PLACES),
            unrealized=unrealized.quantize(_PLACES),
            commissions=commissions.quantize(_PLACES),
            pending_fees=len(self._pending_fees),
            fx_rates=dict(rates),
        )
        await self._roll_day(snap)
        self.last = snap
        return snap

    async def _roll_day(self, snap: PortfolioSnapshot) -> None:
        day = datetime.fromtimestamp(snap.timestamp / 1000, UTC).astimezone(self.day_tz).date()
        if day != self._day:
            self._day_open_equity = await asyncio.to_thread(self._ledger_day_open, day, snap)
            self._day = day

    def _ledger_day_open(self, day: date, snap: PortfolioSnapshot) -> Decimal:
        """The day's opening equity from the ledger (any process's first snapshot today), else ``snap``'s,
        recorded now so the next process reads it.

        Raises:
            LedgerError: the ledger cannot be read or written (the daily-loss check then refuses: never a guess).
        """
        context = self.writer.session(self.session_id)
        if context is None:
            raise ValueError(f"run {self.session_id} is not in the ledger; start its session first")
        since, until = q.day_range_ms(day, str(self.day_tz))
        row = q.day_open_equity(
            self.writer.ledger, venue=context.venue, account=context.account, currency=self.base_currency,
            since=since, until=until, shadow=context.mode == "shadow",
        )  # fmt: skip
        if row is not None and int(row["timestamp"]) <= snap.timestamp:
            return Decimal(row["equity"]).quantize(_PLACES)
        self.writer.record_equity(
            snap.equity, timestamp=snap.timestamp, cash=snap.cash_base, positions_value=snap.positions_value,
            realized_pnl=snap.realized, unrealized_pnl=snap.unrealized,
            fx_rates={k: str(v) for k, v in snap.fx_rates.items()}, run_id=self.session_id,
        )  # fmt: skip
        return snap.equity

    async def record(self) -> PortfolioSnapshot:
        """Take a snapshot and write positions, balances and equity to the ledger (one timestamp)."""
        snap = await self.snapshot()
        rates = {k: str(v) for k, v in snap.fx_rates.items()}
        balances: dict[str, Any] = {c: {"total": float(v), "free": None, "used": None} for c, v in snap.cash.items()}
        ts = snap.timestamp
        w, rid = self.writer, self.session_id
        await asyncio.to_thread(w.record_positions, list(snap.positions), timestamp=ts, fx_rates=rates, run_id=rid)
        await asyncio.to_thread(w.record_balances, balances, timestamp=ts, fx_rates=rates, run_id=rid)
        await asyncio.to_thread(
            w.record_equity,
            snap.equity,
            timestamp=ts,
            cash=snap.cash_base,
            positions_value=snap.positions_value,
            realized_pnl=snap.realized,
            unrealized_pnl=snap.unrealized,
            fx_rates=rates,
            run_id=rid,
        )
        return snap

    async def pnl_today(self) -> Decimal:
        """Equity now minus equity at the first snapshot of today (``day_tz``), in the base currency."""
        snap = await self.snapshot()
        opening = self._day_open_equity if self._day_open_equity is not None else snap.equity
        return snap.equity - opening
