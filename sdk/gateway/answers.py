"""Every other answer on the wire: errors, connection, contracts, ticks, bars, scanner, account.

Field order follows ib_async 2.1.0 ``decoder.py`` (and IB's ``EDecoder``); the version field that
TWS still writes for old messages is the second field where the decoder skips it (``wrap(...,
skip=2)``). Orders are in :mod:`sdk.gateway.order_answers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sdk.gateway import codes
from sdk.gateway.hours import IB_TIME_ZONE_IDS
from sdk.gateway.instruments import GatewayContract
from sdk.gateway.messages import Out
from sdk.gateway.records import PositionRecord
from sdk.ticks import PriceLadder

__all__ = [
    "account_summary",
    "account_update_multi",
    "account_value",
    "contract_details",
    "error",
    "market_rule",
    "portfolio_value",
    "position",
    "scanner_data",
    "tick_price",
    "tick_size",
    "tick_string",
]


def error(req_id: int, code: int, detail: str = "", *, version: int, exact: bool = False) -> list[Any]:
    """``errMsg`` (4): ``[4, 2, reqId, code, text, advancedOrderRejectJson]``; the last field from 166.

    ``detail`` is appended to TWS's text for ``code``, or replaces it when ``exact``.
    """
    fields: list[Any] = [Out.ERR_MSG, 2, req_id, code, detail if exact else codes.text(code, detail)]
    if version >= 166:
        fields.append("")
    return fields


def contract_details(req_id: int, inst: GatewayContract, *, version: int, trading_hours: str) -> list[Any]:
    """``contractDetails`` (10) in the layout of server version 164 and later (no version field)."""
    f: list[Any] = [Out.CONTRACT_DATA]
    if version < 164:
        f.append(8)
    f += [
        req_id, inst.ib_symbol, inst.sec_type, "", 0.0, "", inst.exchange, inst.currency, inst.local_symbol,
        inst.trading_class if inst.sec_type != "CASH" else inst.local_symbol, inst.trading_class, inst.con_id,
        inst.min_tick,
    ]  # fmt: skip
    if version < 164:
        f.append(1)  # mdSizeMultiplier
    f += [
        "", "ACTIVETIM,AD,ALERT,ALLOC,DAY,GTC,IOC,LMT,MKT,STP,STPLMT,WHATIF", ",".join(inst.valid_exchanges),
        1, 0, inst.long_name, inst.primary_exchange, "", "", "", "",
        IB_TIME_ZONE_IDS.get(inst.market, "US/Eastern"), trading_hours, trading_hours, "", "",
        0,  # secIdList
        1, "", "", inst.market_rule_ids, "", inst.stock_type,
    ]  # fmt: skip
    if version == 163:
        f.append(1)
    if version >= 164:
        f += [Decimal(1), Decimal(1), Decimal(1)]  # minSize, sizeIncrement, suggestedSizeIncrement
    return f


def market_rule(ladder: PriceLadder) -> list[Any]:
    """``marketRule`` (93): the ladder's ``(lowEdge, increment)`` bands."""
    f: list[Any] = [Out.MARKET_RULE, ladder.market_rule_id, len(ladder.bands)]
    for low, inc in ladder.bands:
        f += [float(low), float(inc)]
    return f


_TICK_PRICE, _TICK_SIZE, _TICK_STRING = int(Out.TICK_PRICE), int(Out.TICK_SIZE), int(Out.TICK_STRING)


def tick_price(req_id: int, tick_type: int, price: Any, size: Any = 0, attrib: int = 0) -> list[Any]:
    """``tickPrice`` (1): exactly 7 fields; ``attrib`` bit 0 canAutoExecute, bit 1 pastLimit."""
    return [_TICK_PRICE, 6, req_id, tick_type, price, size, attrib]


def tick_size(req_id: int, tick_type: int, size: Any) -> list[Any]:
    """``tickSize`` (2)."""
    return [_TICK_SIZE, 6, req_id, tick_type, size]


def tick_string(req_id: int, tick_type: int, value: str) -> list[Any]:
    """``tickString`` (46), e.g. tick type 45 last timestamp (epoch seconds)."""
    return [_TICK_STRING, 6, req_id, tick_type, value]


def position(account: str, pos: PositionRecord, inst: GatewayContract) -> list[Any]:
    """``position`` (61): account, contract, position (base units), average cost (quote currency)."""
    return [
        Out.POSITION_DATA, 3, account, inst.con_id, inst.ib_symbol, inst.sec_type, "", 0.0, "", "",
        inst.exchange, inst.currency, inst.local_symbol, inst.trading_class, pos.quantity, pos.avg_cost,
    ]  # fmt: skip


def portfolio_value(
    account: str, pos: PositionRecord, inst: GatewayContract, market_price: Decimal, unrealized: Decimal
) -> list[Any]:
    """``updatePortfolio`` (7): position, marketPrice, marketValue, averageCost, unrealized and realized PnL."""
    return [
        Out.PORTFOLIO_VALUE, 8, inst.con_id, inst.ib_symbol, inst.sec_type, "", 0.0, "", "",
        inst.primary_exchange, inst.currency, inst.local_symbol, inst.trading_class, pos.quantity, market_price,
        pos.quantity * market_price, pos.avg_cost, unrealized, pos.realized_pnl, account,
    ]  # fmt: skip


def account_value(key: str, value: str, currency: str, account: str) -> list[Any]:
    """``updateAccountValue`` (6)."""
    return [Out.ACCT_VALUE, 2, key, value, currency, account]


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> list[Any]:
    """``accountUpdateMulti`` (73): model code left empty, as for a single account."""
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[Any]:
    """``accountSummary`` (63)."""
    return [Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def scanner_data(req_id: int, rows: Sequence[GatewayContract]) -> list[Any]:
    """``scannerData`` (20) with rank 0.. for each instrument (distance, benchmark, projection empty)."""
    f: list[Any] = [Out.SCANNER_DATA, 3, req_id, len(rows)]
    for rank, inst in enumerate(rows):
        f += [
            rank, inst.con_id, inst.ib_symbol, inst.sec_type, "", 0.0, "", inst.exchange, inst.currency,
            inst.local_symbol, inst.trading_class, inst.trading_class, "", "", "", "",
        ]  # fmt: skip
    return f
