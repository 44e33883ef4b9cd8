"""Order answers on the wire: openOrder, completedOrder, orderStatus, execDetails, commissionReport.

Field order follows ib_async 2.1.0 ``decoder.py`` (``openOrder``, ``completedOrder``,
``execDetails``, ``commissionReport``, and the ``orderStatus`` wrap), version by version. Default
values are those of a real TWS 176 answer (``../shared/data/ib_captures``: a ``MKT`` order's
``openOrder`` has 136 fields; ``deltaNeutralOrderType`` and ``adjustedOrderType`` are the text
``None``, which decoders follow with the delta-neutral block). From server version 177 the
``faProfile`` field is gone (135 fields), from 178 ``execDetails`` carries ``pendingPriceRevision``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sdk.gateway.instruments import GatewayContract
from sdk.gateway.messages import Out
from sdk.gateway.protocol import UNSET_DOUBLE, UNSET_INTEGER
from sdk.gateway.records import ExecutionRecord, OrderRecord

__all__ = [
    "WhatIf",
    "commission_report",
    "completed_order",
    "exec_details",
    "ib_time",
    "open_order",
    "order_status",
]

U = UNSET_DOUBLE


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A what-if answer's margin and commission figures (account currency / commission currency)."""

    init_margin_before: Decimal
    maint_margin_before: Decimal
    equity_with_loan_before: Decimal
    init_margin_change: Decimal
    maint_margin_change: Decimal
    equity_with_loan_change: Decimal
    commission: Decimal
    commission_currency: str


def ib_time(epoch_seconds: float) -> str:
    """IB's execution / completed time text, in UTC: ``20240103 23:10:05 UTC``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y%m%d %H:%M:%S UTC")


def _contract(inst: GatewayContract) -> list[Any]:
    return [
        inst.con_id, inst.ib_symbol, inst.sec_type, "", 0, "?" if inst.is_fx else "", "",
        inst.exchange, inst.currency, inst.local_symbol, inst.trading_class,
    ]  # fmt: skip


def _oca_type(order: OrderRecord) -> int:
    """The order's ocaType; 3 (TWS's answer for an order in no OCA group) outside a group."""
    return order.oca_type if order.oca_group else 3


def _price(value: Decimal | None) -> Any:
    return value if value is not None else Decimal("0.0")


def open_order(order: OrderRecord, inst: GatewayContract, version: int, what_if: WhatIf | None = None) -> list[Any]:
    """``openOrder`` (5) for an order at ``version`` (136 fields at 176, 135 from 177)."""
    f: list[Any] = [Out.OPEN_ORDER, order.order_id, *_contract(inst)]
    f += [
        order.action, order.total_quantity, order.order_type, _price(order.lmt_price), _price(order.aux_price),
        order.tif, order.oca_group, order.account, "", 0, order.order_ref, order.client_id, order.perm_id,
        order.outside_rth, False, 0, "",
        f"{order.perm_id}.0/{order.account}/{order.total_quantity}", "", "", "",
    ]  # fmt: skip
    if version < 177:
        f.append("")  # faProfile
    f += [
        "", "", "", "", "", 0, "", -1, 0, "", "", "", "", "",  # modelCode .. stockRangeUpper
        UNSET_INTEGER, False, False, False, "", _oca_type(order), False, False, "",  # displaySize .. nbboPriceCap
        order.parent_id, 0, "", 0, "None", "",  # parentId, triggerMethod, volatility, volatilityType, dnOrderType, ..
        0, "", "", "", "?", 0, 0, "",  # delta-neutral block (follows the text "None")
        0, 0, "", "", "", "", "",  # continuousUpdate .. comboLegsDescrip
        0, 0, 0,  # combo legs, order combo legs, smart combo routing params
        UNSET_INTEGER, UNSET_INTEGER, "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        False, "", "IB", False, False,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, dnc
        "",  # algoStrategy
        False, what_if is not None, order.status,
    ]  # fmt: skip
    if what_if is None:
        f += [U] * 9 + ["", "", "", "", ""]
    else:
        w = what_if
        f += [
            w.init_margin_before, w.maint_margin_before, w.equity_with_loan_before,
            w.init_margin_change, w.maint_margin_change, w.equity_with_loan_change,
            w.init_margin_before + w.init_margin_change, w.maint_margin_before + w.maint_margin_change,
            w.equity_with_loan_before + w.equity_with_loan_change,
            "", w.commission, w.commission, w.commission_currency, "",
        ]  # fmt: skip
    f += [False, False, 0, "None", U, U, U, U, U, U, 0, "", "", "", 0, True, False, False, False]
    if version >= 159:
        f.append("")  # duration
    if version >= 160:
        f.append("")  # postToAts
    if version >= 162:
        f.append(False)  # autoCancelParent
    if version >= 170:
        f += ["", "", "", "", ""]
    return f


def completed_order(order: OrderRecord, inst: GatewayContract, version: int) -> list[Any]:
    """``completedOrder`` (101) for a filled or cancelled order."""
    f: list[Any] = [Out.COMPLETED_ORDER, *_contract(inst)]
    f += [
        order.action, order.total_quantity, order.order_type, _price(order.lmt_price), _price(order.aux_price),
        order.tif, order.oca_group, order.account, "", 0, order.order_ref, order.perm_id, order.outside_rth, False,
        0, "", "", "", "",
    ]  # fmt: skip
    if version < 177:
        f.append("")  # faProfile
    f += [
        "", "", "", "", "", 0, "", -1, "", "", "", "", "",  # modelCode .. stockRangeUpper
        UNSET_INTEGER, False, False, "", _oca_type(order), 0, "", 0, "None", "",  # displaySize .. dnAuxPrice
        0, 0, 0, "",  # delta-neutral block: conId, shortSale, shortSaleSlot, designatedLocation
        0, 0, "", "", "",  # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, comboLegsDescrip
        0, 0, 0,  # combo legs
        UNSET_INTEGER, UNSET_INTEGER, "", "",  # scale sizes, increment, hedgeType
        "", "IB", False, False, "",  # clearingAccount, clearingIntent, notHeld, dnc, algoStrategy
        False, order.status, False, False,  # solicited, status, randomizeSize, randomizePrice
        0,  # conditions
        U, U, 0, True, False, "", order.filled, 0, False, "", False, False, UNSET_INTEGER,
        ib_time(order.completed_time or order.updated), order.completed_status or order.status,
    ]  # fmt: skip
    if version >= 170:
        f += ["", "", "", "", ""]
    return f


def order_status(order: OrderRecord) -> list[Any]:
    """``orderStatus`` (3): status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId."""
    return [
        Out.ORDER_STATUS, order.order_id, order.status, order.filled, order.remaining, order.avg_fill_price,
        order.perm_id, order.parent_id, order.last_fill_price, order.client_id, order.why_held, U,
    ]  # fmt: skip


def exec_details(req_id: int, ex: ExecutionRecord, inst: GatewayContract, version: int) -> list[Any]:
    """``execDetails`` (11): 31 fields, 32 from server version 178 (``pendingPriceRevision``).

    The contract is ib_async's 11 fields (conId, symbol, secType, lastTradeDateOrContractMonth, strike,
    right, multiplier, exchange, currency, localSymbol, tradingClass), as in ``openOrder``.
    """
    f: list[Any] = [Out.EXECUTION_DATA, req_id, ex.order_id, *_contract(inst)]
    f += [
        ex.exec_id, ib_time(ex.time), ex.account, ex.exchange, ex.side, ex.shares, ex.price, ex.perm_id,
        ex.client_id, 0, ex.cum_qty, ex.avg_price, ex.order_ref, "", "", "", ex.liquidity,
    ]  # fmt: skip
    if version >= 178:
        f.append(False)
    return f


def commission_report(ex: ExecutionRecord) -> list[Any]:
    """``commissionReport`` (59); a pending commission is the unset double, never 0."""
    commission: Any = ex.commission if ex.commission is not None else U
    realized: Any = ex.realized_pnl if ex.realized_pnl is not None else U
    return [Out.COMMISSION_REPORT, 1, ex.exec_id, commission, ex.commission_currency, realized, U, ""]
