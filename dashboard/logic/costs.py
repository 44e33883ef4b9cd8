"""The Costs page: commissions paid to date, and the CostTracker's estimates per venue beside the actuals.

* Commissions to date come from fills (``trades``): each fee in its own currency (IB charges ASX
  trades in AUD, US trades in USD), and in the base currency where the ledger recorded the rate
  used (``fee_in_base``). Pending fees (not yet reported by the venue) are counted, never summed as 0.
* Estimates come from the RiskManager's decision stored with each order (``risk_decision["cost"]``,
  :meth:`sdk.costs.model.Cost.to_dict`, ``kind == "estimate"``), in the base currency
  (``amount_base``). For filled orders the estimate is set against the actual commissions of their fills.

Shadow (simulated) fills are kept apart from real ones: they cost nothing real.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from dashboard.logic import formatting as fmt

__all__ = ["CommissionOverview", "commission_overview", "commission_table", "estimate_of", "estimates_table"]

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CommissionOverview:
    """Commissions of real (not shadow) fills: totals per fee currency, the total in the base currency
    over fills with a recorded rate, and how many fills are pending or lack a rate."""

    by_currency: dict[str, Decimal] = field(default_factory=dict)
    in_base: Decimal = Decimal(0)
    base_currency: str | None = None
    fills: int = 0
    pending: int = 0
    unconverted: int = 0


def commission_overview(totals: Sequence[Row], *, shadow: bool = False) -> CommissionOverview:
    """Sum :func:`dashboard.logic.reads.commission_totals` rows of real fills (or shadow ones with ``shadow``).

    Raises:
        ValueError: fees converted into more than one base currency (the ledger's runs disagree).
    """
    by_currency: dict[str, Decimal] = {}
    in_base = Decimal(0)
    bases: set[str] = set()
    fills = pending = unconverted = 0
    for row in totals:
        if bool(row["shadow"]) != shadow:
            continue
        fills += int(row["fills"])
        pending += int(row["fills"]) - int(row["reported"])
        unconverted += int(row["reported"]) - int(row["converted"])
        if row["fee_currency"] is not None and row["fee_total"] is not None:
            amount = fmt.to_decimal(row["fee_total"]) or Decimal(0)
            by_currency[row["fee_currency"]] = by_currency.get(row["fee_currency"], Decimal(0)) + amount
        if int(row["converted"]) and row["base_currency"]:
            bases.add(row["base_currency"])
            in_base += fmt.to_decimal(row["fee_in_base_total"]) or Decimal(0)
    if len(bases) > 1:
        raise ValueError(f"commissions converted into several base currencies {sorted(bases)}; show them per run")
    base = next(iter(bases), None)
    return CommissionOverview(dict(sorted(by_currency.items())), in_base, base, fills, pending, unconverted)


def commission_table(totals: Sequence[Row]) -> pd.DataFrame:
    """One row per venue, shadow flag, commission source and fee currency: fills, pending, sum and sum in base."""
    columns = ["Venue", "Shadow", "Commission source", "Fills", "Pending", "Commissions", "In base", "Without a rate"]
    records = []
    for row in totals:
        pending = int(row["fills"]) - int(row["reported"])
        reported = int(row["reported"])
        records.append(
            {
                "Venue": row["venue"],
                "Shadow": bool(row["shadow"]),
                "Commission source": row["commission_source"] or fmt.MISSING,
                "Fills": int(row["fills"]),
                "Pending": pending,
                "Commissions": fmt.money(row["fee_total"], row["fee_currency"]) if reported else fmt.PENDING,
                "In base": fmt.money(row["fee_in_base_total"], row["base_currency"])
                if int(row["converted"])
                else (fmt.PENDING if not reported else fmt.MISSING),
                "Without a rate": reported - int(row["converted"]),
            }
        )
    return pd.DataFrame.from_records(records, columns=columns)


def estimate_of(order: Row) -> tuple[Decimal | None, str | None]:
    """The commission estimate the RiskManager recorded with an order: ``(amount_base, base_currency)``.

    ``(None, None)`` when the order carries no estimate (a rejection, or no cost in the decision).
    """
    decision = order.get("risk_decision")
    cost = decision.get("cost") if isinstance(decision, Mapping) else None
    if not isinstance(cost, Mapping) or cost.get("kind", "estimate") != "estimate":
        return None, None
    return fmt.to_decimal(cost.get("amount_base")), cost.get("base_currency")


def estimates_table(orders: Sequence[Row], fills: Sequence[Row]) -> pd.DataFrame:
    """Per venue (and shadow flag): estimated commissions in the base currency, and for filled orders
    the estimate beside the actual commissions of their fills (``fee_in_base``).

    Args:
        orders: :func:`dashboard.logic.reads.orders_with_estimates` rows.
        fills: the fills of those orders (:func:`dashboard.logic.reads.trades_for_orders`).
    """
    fills_of: dict[str, list[Row]] = {}
    for fill in fills:
        if fill.get("client_order_id"):
            fills_of.setdefault(fill["client_order_id"], []).append(fill)
    groups: dict[tuple[str, bool], dict[str, Any]] = {}
    for order in orders:
        estimate, base = estimate_of(order)
        if estimate is None and base is None:
            continue
        group = groups.setdefault(
            (order["venue"], bool(order["shadow"])),
            {"orders": 0, "estimated": Decimal(0), "no_amount": 0, "filled": 0, "est_filled": Decimal(0),
             "actual": Decimal(0), "pending": 0, "bases": set()},
        )  # fmt: skip
        group["orders"] += 1
        group["bases"].add(base)
        if estimate is None:
            group["no_amount"] += 1
            continue
        group["estimated"] += estimate
        order_fills = fills_of.get(order.get("client_order_id") or "", [])
        if not order_fills:
            continue
        group["filled"] += 1
        group["est_filled"] += estimate
        for fill in order_fills:
            if fill.get("fee_in_base") is None:
                group["pending"] += 1
            else:
                group["actual"] += fmt.to_decimal(fill["fee_in_base"]) or Decimal(0)
    columns = [
        "Venue", "Shadow", "Orders with an estimate", "Estimated", "Filled orders", "Estimated for filled",
        "Actual for filled", "Actual − estimate",
    ]  # fmt: skip
    records = []
    for (venue, shadow), g in sorted(groups.items()):
        bases = g["bases"] - {None}
        base = next(iter(bases)) if len(bases) == 1 else None
        actual = fmt.money(g["actual"], base)
        difference = fmt.signed_money(g["actual"] - g["est_filled"], base)
        if g["pending"]:
            actual = f"{actual} + {g['pending']} pending"
            difference = fmt.PENDING
        records.append(
            {
                "Venue": venue,
                "Shadow": shadow,
                "Orders with an estimate": g["orders"],
                "Estimated": fmt.money(g["estimated"], base),
                "Filled orders": g["filled"],
                "Estimated for filled": fmt.money(g["est_filled"], base),
                "Actual for filled": actual,
                "Actual − estimate": difference,
            }
        )
    return pd.DataFrame.from_records(records, columns=columns)
