"""Reading requests: each message's fields into a typed request, exactly as ib_async writes them.

Field order is ib_async 2.1.0 ``client.py`` (and ib_insync 0.9.86's, identical but for the
``faProfile`` of ``placeOrder`` below version 177). Field counts are checked in one place, before
any handler runs (:func:`check_field_count`, called by the gateway's dispatch): a message of fixed
layout must have exactly the count of :data:`FIELD_COUNTS` at the client's server version; the few
whose layout varies (:data:`VARIABLE_LAYOUTS`: combo legs, delta-neutral contracts, order blocks) are
read whole by their reader, which ends with :func:`finish`, and dispatch checks again that the handler
consumed every field. Either way a wrong count is a :class:`~sdk.gateway.protocol.ProtocolError`
(IB error 320, that client dropped) rather than a silently misread request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sdk.gateway.instruments import ContractQuery
from sdk.gateway.messages import In
from sdk.gateway.protocol import UNSET_DOUBLE, Fields, ProtocolError

__all__ = [
    "FIELD_COUNTS",
    "OFFICIAL_CLIENT_COUNTS",
    "VARIABLE_LAYOUTS",
    "ExecutionFilter",
    "HistoricalRequest",
    "MktDataRequest",
    "PlaceOrderRequest",
    "ScannerRequest",
    "check_field_count",
    "field_count",
    "finish",
    "read_contract",
    "read_execution_filter",
    "read_historical",
    "read_mkt_data",
    "read_place_order",
    "read_scanner",
]


#: A ``Contract`` argument is 12 fields on the wire (:func:`read_contract`).
_C = 12

#: Message id -> its field count, message id included, as ib_async 2.1.0 / ib_insync 0.9.86 write it;
#: a function of the server version where a field depends on it.
FIELD_COUNTS: dict[int, int | Callable[[int], int]] = {
    In.CANCEL_MKT_DATA: 3,
    In.CANCEL_ORDER: lambda v: 4 if v >= 169 else 3,  # manualOrderCancelTime from 169
    In.REQ_OPEN_ORDERS: 2,
    In.REQ_ACCOUNT_UPDATES: 4,
    In.REQ_EXECUTIONS: 10,
    In.REQ_IDS: 3,
    In.REQ_CONTRACT_DETAILS: lambda v: 3 + _C + 3 + (1 if v >= 176 else 0),  # issuerId from 176
    In.REQ_MKT_DEPTH: 3 + _C + 3,
    In.CANCEL_MKT_DEPTH: 4,
    In.REQ_NEWS_BULLETINS: 3,
    In.CANCEL_NEWS_BULLETINS: 2,
    In.SET_SERVER_LOGLEVEL: 3,
    In.REQ_AUTO_OPEN_ORDERS: 3,
    In.REQ_ALL_OPEN_ORDERS: 2,
    In.REQ_MANAGED_ACCTS: 2,
    In.REQ_FA: 3,
    In.REPLACE_FA: 5,
    In.EXERCISE_OPTIONS: 3 + 11 + 4,  # the contract without primaryExchange
    In.REQ_SCANNER_SUBSCRIPTION: 25,
    In.CANCEL_SCANNER_SUBSCRIPTION: 3,
    In.REQ_SCANNER_PARAMETERS: 2,
    In.CANCEL_HISTORICAL_DATA: 3,
    In.REQ_CURRENT_TIME: 2,
    In.REQ_REAL_TIME_BARS: 3 + _C + 4,
    In.CANCEL_REAL_TIME_BARS: 3,
    In.REQ_FUNDAMENTAL_DATA: 3 + 7 + 3,  # 7 contract fields; reportType, options count, options
    In.CANCEL_FUNDAMENTAL_DATA: 3,
    In.REQ_CALC_IMPLIED_VOLAT: 3 + _C + 4,
    In.REQ_CALC_OPTION_PRICE: 3 + _C + 4,
    In.CANCEL_CALC_IMPLIED_VOLAT: 3,
    In.CANCEL_CALC_OPTION_PRICE: 3,
    In.REQ_GLOBAL_CANCEL: 2,
    In.REQ_MARKET_DATA_TYPE: 3,
    In.REQ_POSITIONS: 2,
    In.REQ_ACCOUNT_SUMMARY: 5,
    In.CANCEL_ACCOUNT_SUMMARY: 3,
    In.CANCEL_POSITIONS: 2,
    In.VERIFY_REQUEST: 4,
    In.VERIFY_MESSAGE: 3,
    In.QUERY_DISPLAY_GROUPS: 3,
    In.SUBSCRIBE_TO_GROUP_EVENTS: 4,
    In.UPDATE_DISPLAY_GROUP: 4,
    In.UNSUBSCRIBE_FROM_GROUP_EVENTS: 3,
    In.START_API: 4,  # msgId, version, clientId, optionalCapabilities
    In.VERIFY_AND_AUTH_REQUEST: 5,
    In.VERIFY_AND_AUTH_MESSAGE: 4,
    In.REQ_POSITIONS_MULTI: 5,
    In.CANCEL_POSITIONS_MULTI: 3,
    In.REQ_ACCOUNT_UPDATES_MULTI: 6,
    In.CANCEL_ACCOUNT_UPDATES_MULTI: 3,
    In.REQ_SEC_DEF_OPT_PARAMS: 6,
    In.REQ_SOFT_DOLLAR_TIERS: 2,
    In.REQ_FAMILY_CODES: 1,
    In.REQ_MATCHING_SYMBOLS: 3,
    In.REQ_MKT_DEPTH_EXCHANGES: 1,
    In.REQ_SMART_COMPONENTS: 3,
    In.REQ_NEWS_ARTICLE: 5,
    In.REQ_NEWS_PROVIDERS: 1,
    In.REQ_HISTORICAL_NEWS: 8,
    In.REQ_HEAD_TIMESTAMP: 2 + _C + 4,
    In.REQ_HISTOGRAM_DATA: 2 + _C + 3,
    In.CANCEL_HISTOGRAM_DATA: 2,
    In.CANCEL_HEAD_TIMESTAMP: 2,
    In.REQ_MARKET_RULE: 2,
    In.REQ_PNL: 4,
    In.CANCEL_PNL: 2,
    In.REQ_PNL_SINGLE: 5,
    In.CANCEL_PNL_SINGLE: 2,
    In.REQ_HISTORICAL_TICKS: 2 + _C + 8,
    In.REQ_TICK_BY_TICK_DATA: 2 + _C + 3,
    In.CANCEL_TICK_BY_TICK_DATA: 2,
    In.REQ_COMPLETED_ORDERS: 2,
    In.REQ_WSH_META_DATA: 2,
    In.CANCEL_WSH_META_DATA: 2,
    In.REQ_WSH_EVENT_DATA: lambda v: 3 + (4 if v >= 171 else 0) + (3 if v >= 173 else 0),
    In.CANCEL_WSH_EVENT_DATA: 2,
    In.REQ_USER_INFO: 2,
}

#: Other field counts real TWS accepts for a message, where IB's official client (``ibapi`` 10.x, the authority
#: where the two differ) writes it differently from ib_async: for the option calculations IB's client sends
#: only ``implVolOptStr``/``optPrcOptStr`` after the under price (``ibapi/client.py``,
#: ``calculateImpliedVolatility``/``calculateOptionPrice``), where ib_async sends a count and then the options.
OFFICIAL_CLIENT_COUNTS: dict[int, int] = {
    In.REQ_CALC_IMPLIED_VOLAT: 3 + _C + 3,
    In.REQ_CALC_OPTION_PRICE: 3 + _C + 3,
}

#: Messages whose field count depends on their content; their readers check it (:func:`finish`).
VARIABLE_LAYOUTS = frozenset({In.REQ_MKT_DATA, In.PLACE_ORDER, In.REQ_HISTORICAL_DATA})


def field_count(msg_id: int, version: int) -> int | None:
    """The field count of message ``msg_id`` at server ``version`` (None: a variable layout)."""
    count = FIELD_COUNTS.get(msg_id)
    if count is None:
        return None
    return count(version) if callable(count) else count


def check_field_count(fields: Sequence[str], version: int) -> None:
    """Raise :class:`ProtocolError` (IB error 320) when a fixed-layout message has the wrong field count.

    ``fields[0]`` must be a known message id (:class:`~sdk.gateway.messages.In`).
    """
    msg_id = int(fields[0])
    expected = field_count(msg_id, version)
    if expected is not None and len(fields) != expected and len(fields) != OFFICIAL_CLIENT_COUNTS.get(msg_id):
        raise ProtocolError(
            f"message {msg_id} ({In(msg_id).name}) has {len(fields)} fields; "
            f"at server version {version} it has {expected}"
        )


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
    finish(fields)
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
    finish(fields)
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
    oca_group: str
    oca_type: int
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
    oca_group = fields.text("ocaGroup")
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
    fields.skip(4, "modelCode .. exemptCode")
    oca_type = fields.integer("ocaType")
    fields.skip(17, "rule80A .. volatilityType")
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
    finish(fields)
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
        oca_group=oca_group,
        oca_type=oca_type,
        outside_rth=outside_rth,
        what_if=what_if,
        has_conditions=bool(conditions),
        algo_strategy=algo,
    )
