"""Account values as IB reports them: per currency and ``BASE``, and the account summary tags.

Names and layout follow IB's ``updateAccountValue`` keys and ``reqAccountSummary`` tags (IB
"Account Summary" reference, and the real TWS answers in ``../shared/data/ib_captures``):

* per currency (and ``BASE``, in the base currency): ``CashBalance``, ``TotalCashBalance``,
  ``ExchangeRate`` (base currency per unit), ``StockMarketValue``, ``NetLiquidationByCurrency``,
  ``UnrealizedPnL``, ``RealizedPnL``;
* account-wide, in the base currency: ``NetLiquidation`` (cash + stock positions at market),
  ``TotalCashValue``, ``GrossPositionValue``, ``EquityWithLoanValue`` (= NetLiquidation),
  ``InitMarginReq``/``MaintMarginReq`` (25% of gross stock value), ``AvailableFunds`` (equity
  minus initial margin), ``ExcessLiquidity``, ``BuyingPower`` (4 x available funds, IB's intraday
  margin), ``Cushion``.

FX positions (``CASH``) are carried in the cash balances, so they are not counted twice. A currency
without a rate to the base currency is left out of the base totals and logged, never valued at 1.
Values are text with two decimals, as TWS sends them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sdk.errors import FxRateUnavailable
from sdk.gateway.broker import INITIAL_MARGIN_RATE, Broker

__all__ = ["SUMMARY_TAGS", "AccountSnapshot", "snapshot"]

log = logging.getLogger(__name__)

#: Tags ``reqAccountSummary`` answers (IB's AccountSummaryTags); ``$LEDGER`` adds the ledger tags.
SUMMARY_TAGS = (
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash", "BuyingPower",
    "EquityWithLoanValue", "PreviousDayEquityWithLoanValue", "GrossPositionValue", "RegTEquity", "RegTMargin",
    "SMA", "InitMarginReq", "MaintMarginReq", "AvailableFunds", "ExcessLiquidity", "Cushion",
    "FullInitMarginReq", "FullMaintMarginReq", "FullAvailableFunds", "FullExcessLiquidity",
    "LookAheadNextChange", "LookAheadInitMarginReq", "LookAheadMaintMarginReq", "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity", "HighestSeverity", "DayTradesRemaining", "Leverage",
)  # fmt: skip
LEDGER_TAGS = (
    "CashBalance", "TotalCashBalance", "AccruedCash", "StockMarketValue", "NetLiquidationByCurrency",
    "UnrealizedPnL", "RealizedPnL", "ExchangeRate", "FxCashBalance", "Currency", "RealCurrency",
)  # fmt: skip


def _fmt(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Every account value at one time: ``values`` as ``(key, value, currency)``; totals in base."""

    values: list[tuple[str, str, str]]
    ledger: dict[str, list[tuple[str, str]]]
    summary: dict[str, tuple[str, str]]
    net_liquidation: Decimal
    cash: dict[str, Decimal]


def snapshot(broker: Broker, now: float) -> AccountSnapshot:
    """Compute the account values of ``broker`` at simulated time ``now``."""
    base = broker.base_currency
    market = broker.market
    rates: dict[str, Decimal] = {}
    for ccy in broker.cash:
        try:
            rates[ccy] = market.fx_rate(ccy, base, now)
        except FxRateUnavailable as exc:
            log.warning("account: %s left out of %s totals: %s", ccy, base, exc)
    stock_value: dict[str, Decimal] = {}
    unrealized: dict[str, Decimal] = {}
    realized: dict[str, Decimal] = {}
    gross = Decimal(0)
    for symbol, pos in broker.positions.items():
        inst = broker.instruments.get(symbol)
        if inst is None:
            continue
        realized[inst.currency] = realized.get(inst.currency, Decimal(0)) + pos.realized_pnl
        if pos.quantity == 0:
            continue
        mark = market.mark(symbol, now)
        if mark is None:
            continue
        unrealized[inst.currency] = unrealized.get(inst.currency, Decimal(0)) + (mark - pos.avg_cost) * pos.quantity
        if inst.sec_type == "STK":
            stock_value[inst.currency] = stock_value.get(inst.currency, Decimal(0)) + mark * pos.quantity
            if inst.currency not in rates:
                try:
                    rates[inst.currency] = market.fx_rate(inst.currency, base, now)
                except FxRateUnavailable as exc:
                    log.warning("account: %s positions left out of %s totals: %s", inst.currency, base, exc)
                    continue
            gross += abs(mark * pos.quantity) * rates[inst.currency]
    currencies = sorted(set(broker.cash) | set(stock_value) | set(realized))
    ledger: dict[str, list[tuple[str, str]]] = {}
    totals = {k: Decimal(0) for k in ("cash", "stock", "unrealized", "realized")}
    for ccy in currencies:
        cash = broker.cash.get(ccy, Decimal(0))
        stock = stock_value.get(ccy, Decimal(0))
        rate = rates.get(ccy)
        rows = [
            ("Currency", ccy), ("CashBalance", _fmt(cash)), ("TotalCashBalance", _fmt(cash)),
            ("AccruedCash", "0.00"), ("StockMarketValue", _fmt(stock)), ("FxCashBalance", "0.00"),
            ("NetLiquidationByCurrency", _fmt(cash + stock)),
            ("UnrealizedPnL", _fmt(unrealized.get(ccy, Decimal(0)))),
            ("RealizedPnL", _fmt(realized.get(ccy, Decimal(0)))), ("RealCurrency", ccy),
        ]  # fmt: skip
        if rate is not None:
            rows.append(("ExchangeRate", f"{rate:.6f}".rstrip("0").rstrip(".") if rate != 1 else "1.00"))
            totals["cash"] += cash * rate
            totals["stock"] += stock * rate
            totals["unrealized"] += unrealized.get(ccy, Decimal(0)) * rate
            totals["realized"] += realized.get(ccy, Decimal(0)) * rate
        ledger[ccy] = rows
    ledger["BASE"] = [
        ("Currency", "BASE"), ("CashBalance", _fmt(totals["cash"])), ("TotalCashBalance", _fmt(totals["cash"])),
        ("AccruedCash", "0.00"), ("StockMarketValue", _fmt(totals["stock"])), ("FxCashBalance", "0.00"),
        ("NetLiquidationByCurrency", _fmt(totals["cash"] + totals["stock"])),
        ("UnrealizedPnL", _fmt(totals["unrealized"])), ("RealizedPnL", _fmt(totals["realized"])),
        ("ExchangeRate", "1.00"), ("RealCurrency", base),
    ]  # fmt: skip
    cent = Decimal("0.01")
    net = (totals["cash"] + totals["stock"]).quantize(cent)
    margin = (gross * INITIAL_MARGIN_RATE).quantize(cent)
    available = net - margin
    summary: dict[str, tuple[str, str]] = {
        "AccountType": ("INDIVIDUAL", ""),
        "NetLiquidation": (_fmt(net), base),
        "TotalCashValue": (_fmt(totals["cash"]), base),
        "SettledCash": (_fmt(totals["cash"]), base),
        "AccruedCash": ("0.00", base),
        "BuyingPower": (_fmt(max(available, Decimal(0)) * 4), base),
        "EquityWithLoanValue": (_fmt(net), base),
        "PreviousDayEquityWithLoanValue": (_fmt(net), base),
        "GrossPositionValue": (_fmt(gross), base),
        "RegTEquity": (_fmt(net), base),
        "RegTMargin": (_fmt(margin), base),
        "SMA": (_fmt(available), base),
        "InitMarginReq": (_fmt(margin), base),
        "MaintMarginReq": (_fmt(margin), base),
        "AvailableFunds": (_fmt(available), base),
        "ExcessLiquidity": (_fmt(available), base),
        "Cushion": (f"{(available / net) if net else Decimal(0):.6f}", ""),
        "FullInitMarginReq": (_fmt(margin), base),
        "FullMaintMarginReq": (_fmt(margin), base),
        "FullAvailableFunds": (_fmt(available), base),
        "FullExcessLiquidity": (_fmt(available), base),
        "LookAheadNextChange": ("0", ""),
        "LookAheadInitMarginReq": (_fmt(margin), base),
        "LookAheadMaintMarginReq": (_fmt(margin), base),
        "LookAheadAvailableFunds": (_fmt(available), base),
        "LookAheadExcessLiquidity": (_fmt(available), base),
        "HighestSeverity": ("0", ""),
        "DayTradesRemaining": ("-1", ""),
        "Leverage": (f"{(gross / net) if net else Decimal(0):.2f}", ""),
    }
    values: list[tuple[str, str, str]] = [
        ("AccountCode", broker.account, ""),
        ("AccountReady", "true", ""),
        ("AccountType", "INDIVIDUAL", ""),
    ]
    for tag in SUMMARY_TAGS:
        if tag in ("AccountType",):
            continue
        value, ccy = summary[tag]
        values.append((tag, value, ccy))
    for ccy, rows in ledger.items():
        values += [(key, value, ccy) for key, value in rows]
    return AccountSnapshot(values, ledger, summary, net, dict(broker.cash))
