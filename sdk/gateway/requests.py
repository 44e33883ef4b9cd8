"""Reading requests: each message's fields into a typed request, exactly as ib_async writes them.

Field order is ib_async 2.1.0 ``client.py`` (and ib_insync 0.9.86's, identical but for the
``faProfile`` of ``placeOrder`` below version 177). Each reader consumes every field of its
message; :func:`finish` then insists nothing is left, so a message with the wrong field count is a
:class:`~sdk.gateway.protocol.ProtocolError` (IB error 320) rather than a silently misread order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sdk.gateway.instruments import ContractQuery
from sdk.gateway.protocol import UNSET_DOUBLE, Fields, ProtocolError

__all__ = [
    "ExecutionFilter",
    "HistoricalRequest",
    "MktDataRequest",
    "PlaceOrderRequest",
    "ScannerRequest",
    "finish",
    "read_contract",
    "read_execution_filter",
    "read_historical",
    "read_mkt_data",
    "read_place_order",
    "read_scanner",
]


def finish(fields: Fields) -> None:
    """Raise when fields are left over after a message was read (wrong field count)."""
    if fields.remaining():
        raise ProtocolError(f"message {fields.msg_id} has {fields.remaining()} field(s) more than its layout")


def read_contract(fields: Fields) -> ContractQuery:
    """The 12 contract fields ib_async writes for a ``Contract`` argument."""
    return ContractQuery(
        con_id=fields.integer("conId"),
        symbol=fields.text("symbol"),
        sec_type=fields.text("secType"),
        last_trade_date=fields.text("lastTradeDateOrContractMonth"),
        strike=fields.number("strike", default=0.0),
        right=fields.text("right"),
        multiplier=fields.text("multiplier"),
        exchange=fields.text("exchange"),
        primary_exchange=fields.text("primaryExchange"),
        currency=fields.text("currency"),
        local_symbol=fields.text("localSymbol"),
        trading_class=fields.text("tradingClass"),
    )


def _skip_combo_legs(fields: Fields, contract: ContractQuery, per_leg: int) -> None:
    if contract.sec_type == "BAG":
        fields.skip(fields.integer("comboLegs count") * per_leg, "combo leg")


def _skip_delta_neutral(fields: Fields) -> None:
    if fields.flag("deltaNeutralContract present"):
        fields.skip(3, "deltaNeutralContract")


@dataclass(frozen=True, slots=True)
class MktDataRequest:
    """``reqMktData`` (1)."""

    req_id: int
    contract: ContractQuery
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool


def read_mkt_data(fields: Fields) -> MktDataRequest:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    contract = read_contract(fields)
    _skip_combo_legs(fields, contract, 4)
    _skip_delta_neutral(fields)
    request = MktDataRequest(req_id, contract, fields.text("genericTickList"), fields.flag("snapshot"), fields.flag())
    fields.text("mktDataOptions")
    return request


@dataclass(frozen=True, slots=True)
class HistoricalRequest:
    """``reqHistoricalData`` (20): IB's parameters as sent (durations and sizes unparsed)."""

    req_id: int
    contract: ContractQuery
    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


def read_historical(fields: Fields) -> HistoricalRequest:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    contract = read_contract(fields)
    fields.flag("includeExpired")
    end, bar_size, duration = fields.text("endDateTime"), fields.text("barSizeSetting"), fields.text("durationStr")
    use_rth, what = fields.flag("useRTH"), fields.text("whatToShow")
    format_date = fields.integer("formatDate", default=1)
    _skip_combo_legs(fields, contract, 4)
    keep = fields.flag("keepUpToDate")
    fields.text("chartOptions")
    return HistoricalRequest(req_id, contract, end, bar_size, duration, use_rth, what, format_date, keep)


@dataclass(frozen=True, slots=True)
class ScannerRequest:
    """``reqScannerSubscription`` (22): the fields this gateway scans by."""

    req_id: int
    rows: int
    instrument: str
    location_code: str
    scan_code: str
    above_price: float
    below_price: float
    above_volume: int


def read_scanner(fields: Fields) -> ScannerRequest:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    rows = fields.integer("numberOfRows", default=-1)
    instrument, location, code = fields.text("instrument"), fields.text("locationCode"), fields.text("scanCode")
    above, below = fields.number("abovePrice"), fields.number("belowPrice")
    above_volume = fields.integer("aboveVolume", default=-1)
    fields.skip(14, "scanner filter")  # marketCapAbove .. stockTypeFilter
    fields.skip(2, "scanner options")  # filter options, subscription options (TagValue lists)
    return ScannerRequest(req_id, rows, instrument, location, code, above, below, above_volume)


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """``reqExecutions`` (7) filter, IB's fields: empty or 0 means "any"."""

    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


def read_execution_filter(fields: Fields) -> ExecutionFilter:
    fields.skip(2, "msgId, version")
    return ExecutionFilter(
        req_id=fields.integer("reqId"),
        client_id=fields.integer("clientId"),
        account=fields.text("acctCode"),
        time=fields.text("time"),
        symbol=fields.text("symbol"),
        sec_type=fields.text("secType"),
        exchange=fields.text("exchange"),
        side=fields.text("side"),
    )


@dataclass(frozen=True, slots=True)
class PlaceOrderRequest:
    """``placeOrder`` (3): the order fields this gateway acts on (the rest are read and checked)."""

    order_id: int
    contract: ContractQuery
    action: str
    total_quantity: Decimal | None
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    what_if: bool
    has_conditions: bool
    algo_strategy: str


def read_place_order(fields: Fields, version: int) -> PlaceOrderRequest:
    """Read a whole ``placeOrder`` following ib_async's ``Client.placeOrder`` (version-gated fields)."""
    fields.skip(1, "msgId")
    order_id = fields.integer("orderId")
    contract = read_contract(fields)
    fields.skip(2, "secIdType, secId")
    action, quantity, order_type = fields.text("action"), fields.decimal("totalQuantity"), fields.text("orderType")
    lmt, aux = fields.decimal("lmtPrice"), fields.decimal("auxPrice")
    tif = fields.text("tif")
    fields.text("ocaGroup")
    account = fields.text("account")
    fields.skip(2, "openClose, origin")
    order_ref = fields.text("orderRef")
    transmit = fields.flag("transmit")
    parent_id = fields.integer("parentId")
    fields.skip(4, "blockOrder .. triggerMethod")
    outside_rth = fields.flag("outsideRth")
    fields.flag("hidden")
    if contract.sec_type == "BAG":
        _skip_combo_legs(fields, contract, 8)
        fields.skip(fields.integer("orderComboLegs count"), "order combo leg")
        fields.skip(2 * fields.integer("smartComboRoutingParams count"), "routing param")
    fields.skip(7, "shares allocation .. faPercentage")
    if version < 177:
        fields.text("faProfile")
    fields.skip(22, "modelCode .. volatilityType")
    delta_neutral_type = fields.text("deltaNeutralOrderType")
    fields.text("deltaNeutralAuxPrice")
    if delta_neutral_type:
        fields.skip(8, "delta-neutral order")
    fields.skip(6, "continuousUpdate .. scaleSubsLevelSize")
    increment = fields.number("scalePriceIncrement")
    if 0 < increment < UNSET_DOUBLE:
        fields.skip(7, "scale order")
    fields.skip(3, "scaleTable, activeStartTime, activeStopTime")
    if fields.text("hedgeType"):
        fields.text("hedgeParam")
    fields.skip(4, "optOutSmartRouting .. notHeld")
    _skip_delta_neutral(fields)
    algo = fields.text("algoStrategy")
    if algo:
        fields.skip(2 * fields.integer("algoParams count"), "algo param")
    fields.text("algoId")
    what_if = fields.flag("whatIf")
    fields.skip(4, "orderMiscOptions .. randomizePrice")
    if order_type in ("PEG BENCH", "PEGBENCH"):
        fields.skip(5, "pegged-to-benchmark")
    conditions = fields.integer("conditions count")
    if conditions:
        # Condition layouts vary by type; this gateway does not simulate them and rejects the order.
        fields.rest()
    else:
        fields.skip(19, "adjustedOrderType .. usePriceMgmtAlgo")
        for gate in (158, 160, 162, 166, 169):
            if version >= gate:
                fields.text(f"field of server version {gate}")
        if version >= 170:
            if contract.exchange == "IBKRATS":
                fields.text("minTradeQty")
            if order_type in ("PEG BEST", "PEGBEST"):
                fields.skip(2, "minCompeteSize, competeAgainstBestOffset")
                if fields.remaining() == 2:
                    fields.skip(2, "midOffsets")
            elif order_type in ("PEG MID", "PEGMID"):
                fields.skip(2, "midOffsets")
    return PlaceOrderRequest(
        order_id=order_id,
        contract=contract,
        action=action,
        total_quantity=quantity,
        order_type=order_type,
        lmt_price=lmt,
        aux_price=aux,
        tif=tif,
        account=account,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        what_if=what_if,
        has_conditions=bool(conditions),
        algo_strategy=algo,
    )
