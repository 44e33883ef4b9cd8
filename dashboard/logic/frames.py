"""Ledger rows -> the tables the pages show (pandas DataFrames of display text).

Each function takes rows as :mod:`sdk.ledger.queries` / :mod:`dashboard.logic.reads` return them
and a time zone for times. Money is text with its currency (``45.12 AUD``), so a table can never
show a sum without saying in what; a pending commission is ``pending``; a conversion into the base
currency sits beside the rate used (``1 USD = 1.5230 AUD``); a value the ledger lacks is ``—``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from dashboard.logic import formatting as fmt

__all__ = [
    "NO_RATE",
    "BaseTotal",
    "balances_frame",
    "base_label",
    "events_frame",
    "fills_frame",
    "order_commission",
    "orders_frame",
    "pnl_in_base_total",
    "positions_frame",
    "rejections_frame",
    "sessions_frame",
    "tool_calls_frame",
    "tool_summary_frame",
]

Row = Mapping[str, Any]

#: A conversion into the base currency that could not be made: no rate was recorded.
NO_RATE = "no rate recorded"


def _frame(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=list(columns))


def base_label(rows: Iterable[Row], key: str = "base_currency") -> str:
    """The base currency the rows share (``AUD``), or ``base currency`` when they differ or lack one."""
    bases = {str(row[key]) for row in rows if row.get(key)}
    return bases.pop() if len(bases) == 1 else "base currency"


def _in_base(value: Any, rate: Any, currency: str | None, base: str | None) -> str:
    """``value`` (in ``currency``) in ``base`` at the recorded ``rate``: never converted without one."""
    number = fmt.to_decimal(value)
    if number is None:
        return fmt.MISSING
    if currency is not None and currency == base:
        return fmt.money(number, base)
    factor = fmt.to_decimal(rate)
    if factor is None or base is None:
        return NO_RATE
    return fmt.money(number * factor, base)


def positions_frame(rows: Sequence[Row], tz: str) -> pd.DataFrame:
    """Open positions: prices, notional and unrealized PnL in the symbol's quote currency, and the PnL
    in the base currency at the rate recorded with the snapshot."""
    base = base_label(rows)
    pnl_in_base = f"Unrealized PnL in {base}"
    columns = [
        "Venue", "Account", "Symbol", "Side", "Contracts", "Entry", "Mark", "Notional", "Unrealized PnL",
        pnl_in_base, "Rate used", "As of",
    ]  # fmt: skip
    records = []
    for row in rows:
        quote, row_base = row["quote_currency"], row.get("base_currency")
        records.append(
            {
                "Venue": row["venue"],
                "Account": row["account"] or fmt.MISSING,
                "Symbol": row["symbol"],
                "Side": row.get("side") or fmt.MISSING,
                "Contracts": fmt.amount(row["contracts"]),
                "Entry": fmt.price(row.get("entry_price"), quote),
                "Mark": fmt.price(row.get("mark_price"), quote),
                "Notional": fmt.money(row.get("notional"), quote),
                "Unrealized PnL": fmt.money(row.get("unrealized_pnl"), quote),
                pnl_in_base: _in_base(row.get("unrealized_pnl"), row.get("fx_rate"), quote, row_base),
                "Rate used": fmt.rate(row.get("fx_rate"), quote, row_base),
                "As of": fmt.timestamp(row["timestamp"], tz),
            }
        )
    return _frame(records, columns)


@dataclass(frozen=True, slots=True)
class BaseTotal:
    """A sum in the base currency over the rows that could be converted; ``unconverted`` names the others."""

    amount: Decimal
    currency: str
    unconverted: list[str]


def pnl_in_base_total(rows: Sequence[Row]) -> BaseTotal:
    """Unrealized PnL of positions summed in the base currency at each row's recorded rate.

    Rows without a recorded rate (or without a PnL) are listed in ``unconverted``, never counted at 1.0.
    """
    total = Decimal(0)
    unconverted: list[str] = []
    for row in rows:
        pnl, quote, base = fmt.to_decimal(row.get("unrealized_pnl")), row["quote_currency"], row.get("base_currency")
        factor = Decimal(1) if quote == base else fmt.to_decimal(row.get("fx_rate"))
        if pnl is None or factor is None or base is None:
            unconverted.append(row["symbol"])
            continue
        total += pnl * factor
    return BaseTotal(total, base_label(rows), unconverted)


def balances_frame(rows: Sequence[Row], tz: str) -> pd.DataFrame:
    """Cash per currency (IB ``CashBalance``; a negative total is a loan in that currency), and in base."""
    base = base_label(rows)
    in_base = f"Total in {base}"
    columns = ["Venue", "Account", "Currency", "Total", "Free", "Used", in_base, "Rate used", "As of"]
    records = []
    for row in rows:
        ccy, row_base = row["currency"], row.get("base_currency")
        records.append(
            {
                "Venue": row["venue"],
                "Account": row["account"] or fmt.MISSING,
                "Currency": ccy,
                "Total": fmt.money(row.get("total"), ccy),
                "Free": fmt.money(row.get("free"), ccy),
                "Used": fmt.money(row.get("used"), ccy),
                in_base: _in_base(row.get("total"), row.get("fx_rate"), ccy, row_base),
                "Rate used": fmt.rate(row.get("fx_rate"), ccy, row_base),
                "As of": fmt.timestamp(row["timestamp"], tz),
            }
        )
    return _frame(records, columns)


def _fee(cost: Any, currency: str | None) -> str:
    return fmt.PENDING if cost is None else fmt.money(cost, currency)


def order_commission(order: Row, fills: Sequence[Row]) -> tuple[str, str]:
    """An order's commission and its source, from its fills (sum per currency).

    ``pending`` while any fill's commission is unreported, or when the order filled but the ledger
    has none of its fills yet; ``none (no fills)`` for an order that never filled.

    Returns:
        ``(commission text, source text)``.
    """
    sources = sorted({f["commission_source"] for f in fills if f.get("commission_source")})
    source = ", ".join(sources) or order.get("commission_source") or fmt.MISSING  # the fills know best
    if not fills:
        if order.get("fee_cost") is not None:
            return fmt.money(order["fee_cost"], order.get("fee_currency")), source
        filled = fmt.to_decimal(order.get("filled"))
        return ("none (no fills)" if not filled else fmt.PENDING), source
    if any(f.get("fee_cost") is None for f in fills):
        return fmt.PENDING, source
    totals: dict[str, Decimal] = {}
    for fill in fills:
        cost = fmt.to_decimal(fill["fee_cost"]) or Decimal(0)
        totals[fill["fee_currency"]] = totals.get(fill["fee_currency"], Decimal(0)) + cost
    return " + ".join(fmt.money(v, k) for k, v in sorted(totals.items())), source


def orders_frame(orders: Sequence[Row], fills: Sequence[Row], tz: str) -> pd.DataFrame:
    """Orders with status, the shadow flag (simulated, never sent), and the commission of their fills."""
    by_order: dict[str, list[Row]] = {}
    for fill in fills:
        if fill.get("client_order_id"):
            by_order.setdefault(fill["client_order_id"], []).append(fill)
    columns = [
        "Time", "Venue", "Symbol", "Side", "Type", "Amount", "Filled", "Price", "Average", "Status", "Shadow",
        "Commission", "Commission source", "Strategy", "Agent", "Client order id",
    ]  # fmt: skip
    records = []
    for order in orders:
        quote = order["quote_currency"]
        commission, source = order_commission(order, by_order.get(order.get("client_order_id") or "", []))
        records.append(
            {
                "Time": fmt.timestamp(order["timestamp"], tz),
                "Venue": order["venue"],
                "Symbol": order["symbol"],
                "Side": order["side"],
                "Type": order.get("type") or fmt.MISSING,
                "Amount": fmt.amount(order.get("amount")),
                "Filled": fmt.amount(order.get("filled")),
                "Price": fmt.price(order.get("price"), quote),
                "Average": fmt.price(order.get("average"), quote),
                "Status": order["status"],
                "Shadow": bool(order["shadow"]),
                "Commission": commission,
                "Commission source": source,
                "Strategy": order.get("strategy") or fmt.MISSING,
                "Agent": order.get("agent") or fmt.MISSING,
                "Client order id": order.get("client_order_id") or fmt.MISSING,
            }
        )
    return _frame(records, columns)


def fills_frame(fills: Sequence[Row], tz: str) -> pd.DataFrame:
    """Fills with their commission (``pending`` until reported), in base at the recorded rate, and its source."""
    base = base_label(fills)
    in_base = f"Commission in {base}"
    columns = [
        "Time", "Venue", "Symbol", "Side", "Amount", "Price", "Liquidity", "Commission", in_base, "Rate used",
        "Commission source", "Shadow", "Execution id", "Client order id",
    ]  # fmt: skip
    records = []
    for fill in fills:
        fee_ccy, row_base = fill.get("fee_currency"), fill.get("base_currency")
        if fill.get("fee_cost") is None:
            converted = fmt.PENDING
        elif fill.get("fee_in_base") is None:
            converted = NO_RATE
        else:
            converted = fmt.money(fill["fee_in_base"], row_base)
        records.append(
            {
                "Time": fmt.timestamp(fill["timestamp"], tz),
                "Venue": fill["venue"],
                "Symbol": fill["symbol"],
                "Side": fill["side"],
                "Amount": fmt.amount(fill["amount"]),
                "Price": fmt.price(fill["price"], fill["quote_currency"]),
                "Liquidity": fill.get("taker_or_maker") or fmt.MISSING,
                "Commission": _fee(fill.get("fee_cost"), fee_ccy),
                in_base: converted,
                "Rate used": fmt.rate(fill.get("fx_rate"), fee_ccy, row_base) if fee_ccy else fmt.MISSING,
                "Commission source": fill.get("commission_source") or fmt.MISSING,
                "Shadow": bool(fill["shadow"]),
                "Execution id": fill["trade_id"],
                "Client order id": fill.get("client_order_id") or fmt.MISSING,
            }
        )
    return _frame(records, columns)


def _json(value: Any) -> str:
    if value is None:
        return fmt.MISSING
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def events_frame(events: Sequence[Row], tz: str) -> pd.DataFrame:
    """Audit and telemetry events, as recorded (payloads were masked by the ledger's writer)."""
    columns = ["Time", "Kind", "Source", "Symbol", "Message", "Payload"]
    records = [
        {
            "Time": fmt.timestamp(e["timestamp"], tz),
            "Kind": e["kind"],
            "Source": e.get("source") or fmt.MISSING,
            "Symbol": e.get("symbol") or fmt.MISSING,
            "Message": e.get("message") or fmt.MISSING,
            "Payload": _json(e.get("payload")),
        }
        for e in events
    ]
    return _frame(records, columns)


def rejections_frame(events: Sequence[Row], tz: str) -> pd.DataFrame:
    """The RiskManager's rejections (``sdk.risk.Rejected.to_dict`` payloads): code, reason, limit and value."""
    columns = ["Time", "Symbol", "Code", "Reason", "Limit", "Value", "Origin"]
    records = []
    for event in events:
        payload = event.get("payload") or {}
        currency = payload.get("currency")
        records.append(
            {
                "Time": fmt.timestamp(event["timestamp"], tz),
                "Symbol": event.get("symbol") or payload.get("symbol") or fmt.MISSING,
                "Code": payload.get("code") or fmt.MISSING,
                "Reason": payload.get("reason") or event.get("message") or fmt.MISSING,
                "Limit": fmt.money(payload.get("limit"), currency) if currency else fmt.amount(payload.get("limit")),
                "Value": fmt.money(payload.get("value"), currency) if currency else fmt.amount(payload.get("value")),
                "Origin": payload.get("origin") or fmt.MISSING,
            }
        )
    return _frame(records, columns)


def tool_calls_frame(events: Sequence[Row], tz: str) -> pd.DataFrame:
    """MCP tool calls (``tool_call`` events): tool, outcome, latency, arguments (masked) and error."""
    columns = ["Time", "Tool", "Outcome", "Latency (ms)", "Arguments", "Error", "Source"]
    records = []
    for event in events:
        payload = event.get("payload") or {}
        latency = fmt.to_decimal(payload.get("latency_ms"))
        records.append(
            {
                "Time": fmt.timestamp(event["timestamp"], tz),
                "Tool": payload.get("tool") or fmt.MISSING,
                "Outcome": payload.get("outcome") or fmt.MISSING,
                "Latency (ms)": float(latency) if latency is not None else None,
                "Arguments": _json(payload.get("arguments")),
                "Error": payload.get("error") or fmt.MISSING,
                "Source": event.get("source") or fmt.MISSING,
            }
        )
    return _frame(records, columns)


def tool_summary_frame(events: Sequence[Row]) -> pd.DataFrame:
    """Per tool: calls, how many ended ``ok``, ``error``, ``refused`` or otherwise, and the median latency."""
    columns = ["Tool", "Calls", "ok", "error", "refused", "other", "Median latency (ms)"]
    per_tool: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        payload = event.get("payload") or {}
        per_tool.setdefault(str(payload.get("tool") or fmt.MISSING), []).append(payload)
    records = []
    for tool, calls in sorted(per_tool.items()):
        outcomes = [str(c.get("outcome")) for c in calls]
        latencies = [float(v) for c in calls if (v := fmt.to_decimal(c.get("latency_ms"))) is not None]
        records.append(
            {
                "Tool": tool,
                "Calls": len(calls),
                "ok": outcomes.count("ok"),
                "error": outcomes.count("error"),
                "refused": outcomes.count("refused"),
                "other": sum(o not in ("ok", "error", "refused") for o in outcomes),
                "Median latency (ms)": float(pd.Series(latencies).median()) if latencies else None,
            }
        )
    return _frame(records, columns)


def sessions_frame(runs: Sequence[Row], tz: str) -> pd.DataFrame:
    """Runs of the runner, the MCP server and other programs, newest first."""
    columns = ["Started", "Ended", "Program", "Venue", "Account", "Mode", "Base currency", "Run id", "End reason"]
    records = [
        {
            "Started": fmt.timestamp(run["started_at"], tz),
            "Ended": fmt.timestamp(run.get("ended_at"), tz) if run.get("ended_at") else "no end recorded",
            "Program": run.get("program") or fmt.MISSING,
            "Venue": run["venue"],
            "Account": run["account"] or fmt.MISSING,
            "Mode": run["mode"],
            "Base currency": run["base_currency"],
            "Run id": run["run_id"],
            "End reason": run.get("end_reason") or fmt.MISSING,
        }
        for run in runs
    ]
    return _frame(records, columns)
