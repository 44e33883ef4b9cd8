"""Request layouts: the field-count table is what ib_async and ib_insync write, and a wrong count is 320.

The counts of :data:`sdk.gateway.requests.FIELD_COUNTS` are checked against the clients' own ``Client``
(every request method, at the server versions where a field appears), so the table cannot drift from
the libraries. Over a raw socket, a request with one field too many or too few is answered with 320
and only that client is dropped, whatever its message id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

import ib_async
import ib_insync
import pytest

from sdk.gateway import OfflineGateway
from sdk.gateway.handlers.connection import FARM_NOTICES
from sdk.gateway.messages import In
from sdk.gateway.protocol import encode_frame
from sdk.gateway.requests import VARIABLE_LAYOUTS, field_count
from sdk.venues.mode import OFFLINE_GATEWAY_CODE

from .conftest import ASX_OPEN_2025
from .test_connection import _raw_client, _read_messages, _read_until_closed


class _Silent:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


def _calls(lib: Any, client: Any) -> dict[int, Callable[[], None]]:
    """Every fixed-layout request of ``lib``'s ``Client``, with plausible arguments."""
    stock = lib.Stock("BHP", "ASX", "AUD")
    sub = lib.ScannerSubscription(instrument="STK", locationCode="STK.AU.ASX", scanCode="MOST_ACTIVE")
    c = client
    return {
        In.CANCEL_MKT_DATA: lambda: c.cancelMktData(1),
        In.CANCEL_ORDER: lambda: c.cancelOrder(1, ""),
        In.REQ_OPEN_ORDERS: c.reqOpenOrders,
        In.REQ_ACCOUNT_UPDATES: lambda: c.reqAccountUpdates(True, "DU0000001"),
        In.REQ_EXECUTIONS: lambda: c.reqExecutions(1, lib.ExecutionFilter()),
        In.REQ_IDS: lambda: c.reqIds(-1),
        In.REQ_CONTRACT_DETAILS: lambda: c.reqContractDetails(1, stock),
        In.REQ_MKT_DEPTH: lambda: c.reqMktDepth(1, stock, 5, False, []),
        In.CANCEL_MKT_DEPTH: lambda: c.cancelMktDepth(1, False),
        In.REQ_NEWS_BULLETINS: lambda: c.reqNewsBulletins(True),
        In.CANCEL_NEWS_BULLETINS: c.cancelNewsBulletins,
        In.SET_SERVER_LOGLEVEL: lambda: c.setServerLogLevel(3),
        In.REQ_AUTO_OPEN_ORDERS: lambda: c.reqAutoOpenOrders(True),
        In.REQ_ALL_OPEN_ORDERS: c.reqAllOpenOrders,
        In.REQ_MANAGED_ACCTS: c.reqManagedAccts,
        In.REQ_FA: lambda: c.requestFA(1),
        In.REPLACE_FA: lambda: c.replaceFA(1, 1, "<xml/>"),
        In.EXERCISE_OPTIONS: lambda: c.exerciseOptions(1, stock, 1, 1, "DU0000001", 0),
        In.REQ_SCANNER_SUBSCRIPTION: lambda: c.reqScannerSubscription(1, sub, [], []),
        In.CANCEL_SCANNER_SUBSCRIPTION: lambda: c.cancelScannerSubscription(1),
        In.REQ_SCANNER_PARAMETERS: c.reqScannerParameters,
        In.CANCEL_HISTORICAL_DATA: lambda: c.cancelHistoricalData(1),
        In.REQ_CURRENT_TIME: c.reqCurrentTime,
        In.REQ_REAL_TIME_BARS: lambda: c.reqRealTimeBars(1, stock, 5, "TRADES", True, []),
        In.CANCEL_REAL_TIME_BARS: lambda: c.cancelRealTimeBars(1),
        In.REQ_FUNDAMENTAL_DATA: lambda: c.reqFundamentalData(1, stock, "ReportSnapshot", []),
        In.CANCEL_FUNDAMENTAL_DATA: lambda: c.cancelFundamentalData(1),
        In.REQ_CALC_IMPLIED_VOLAT: lambda: c.calculateImpliedVolatility(1, stock, 1.0, 1.0, []),
        In.REQ_CALC_OPTION_PRICE: lambda: c.calculateOptionPrice(1, stock, 0.2, 1.0, []),
        In.CANCEL_CALC_IMPLIED_VOLAT: lambda: c.cancelCalculateImpliedVolatility(1),
        In.CANCEL_CALC_OPTION_PRICE: lambda: c.cancelCalculateOptionPrice(1),
        In.REQ_GLOBAL_CANCEL: c.reqGlobalCancel,
        In.REQ_MARKET_DATA_TYPE: lambda: c.reqMarketDataType(1),
        In.REQ_POSITIONS: c.reqPositions,
        In.REQ_ACCOUNT_SUMMARY: lambda: c.reqAccountSummary(1, "All", "NetLiquidation"),
        In.CANCEL_ACCOUNT_SUMMARY: lambda: c.cancelAccountSummary(1),
        In.CANCEL_POSITIONS: c.cancelPositions,
        In.VERIFY_REQUEST: lambda: c.verifyRequest("api", "1"),
        In.VERIFY_MESSAGE: lambda: c.verifyMessage("data"),
        In.QUERY_DISPLAY_GROUPS: lambda: c.queryDisplayGroups(1),
        In.SUBSCRIBE_TO_GROUP_EVENTS: lambda: c.subscribeToGroupEvents(1, 1),
        In.UPDATE_DISPLAY_GROUP: lambda: c.updateDisplayGroup(1, "info"),
        In.UNSUBSCRIBE_FROM_GROUP_EVENTS: lambda: c.unsubscribeFromGroupEvents(1),
        In.START_API: c.startApi,
        In.VERIFY_AND_AUTH_REQUEST: lambda: c.verifyAndAuthRequest("api", "1", "key"),
        In.VERIFY_AND_AUTH_MESSAGE: lambda: c.verifyAndAuthMessage("data", "xyz"),
        In.REQ_POSITIONS_MULTI: lambda: c.reqPositionsMulti(1, "DU0000001", ""),
        In.CANCEL_POSITIONS_MULTI: lambda: c.cancelPositionsMulti(1),
        In.REQ_ACCOUNT_UPDATES_MULTI: lambda: c.reqAccountUpdatesMulti(1, "DU0000001", "", False),
        In.CANCEL_ACCOUNT_UPDATES_MULTI: lambda: c.cancelAccountUpdatesMulti(1),
        In.REQ_SEC_DEF_OPT_PARAMS: lambda: c.reqSecDefOptParams(1, "BHP", "", "STK", 1),
        In.REQ_SOFT_DOLLAR_TIERS: lambda: c.reqSoftDollarTiers(1),
        In.REQ_FAMILY_CODES: c.reqFamilyCodes,
        In.REQ_MATCHING_SYMBOLS: lambda: c.reqMatchingSymbols(1, "BH"),
        In.REQ_MKT_DEPTH_EXCHANGES: c.reqMktDepthExchanges,
        In.REQ_SMART_COMPONENTS: lambda: c.reqSmartComponents(1, "a6"),
        In.REQ_NEWS_ARTICLE: lambda: c.reqNewsArticle(1, "BZ", "id", []),
        In.REQ_NEWS_PROVIDERS: c.reqNewsProviders,
        In.REQ_HISTORICAL_NEWS: lambda: c.reqHistoricalNews(1, 1, "BZ", "", "", 10, []),
        In.REQ_HEAD_TIMESTAMP: lambda: c.reqHeadTimeStamp(1, stock, "TRADES", True, 1),
        In.REQ_HISTOGRAM_DATA: lambda: c.reqHistogramData(1, stock, True, "1 week"),
        In.CANCEL_HISTOGRAM_DATA: lambda: c.cancelHistogramData(1),
        In.CANCEL_HEAD_TIMESTAMP: lambda: c.cancelHeadTimeStamp(1),
        In.REQ_MARKET_RULE: lambda: c.reqMarketRule(1001),
        In.REQ_PNL: lambda: c.reqPnL(1, "DU0000001", ""),
        In.CANCEL_PNL: lambda: c.cancelPnL(1),
        In.REQ_PNL_SINGLE: lambda: c.reqPnLSingle(1, "DU0000001", "", 1),
        In.CANCEL_PNL_SINGLE: lambda: c.cancelPnLSingle(1),
        In.REQ_HISTORICAL_TICKS: lambda: c.reqHistoricalTicks(1, stock, "", "", 10, "TRADES", True, False, []),
        In.REQ_TICK_BY_TICK_DATA: lambda: c.reqTickByTickData(1, stock, "Last", 0, False),
        In.CANCEL_TICK_BY_TICK_DATA: lambda: c.cancelTickByTickData(1),
        In.REQ_COMPLETED_ORDERS: lambda: c.reqCompletedOrders(False),
        In.REQ_WSH_META_DATA: lambda: c.reqWshMetaData(1),
        In.CANCEL_WSH_META_DATA: lambda: c.cancelWshMetaData(1),
        In.REQ_WSH_EVENT_DATA: lambda: c.reqWshEventData(1, lib.WshEventData(conId=1)),
        In.CANCEL_WSH_EVENT_DATA: lambda: c.cancelWshEventData(1),
        In.REQ_USER_INFO: lambda: c.reqUserInfo(1),
    }


@pytest.mark.parametrize("library", [ib_async, ib_insync], ids=["ib_async", "ib_insync"])
@pytest.mark.parametrize("version", [157, 168, 169, 171, 173, 176, 178])
def test_the_field_count_table_is_what_the_clients_write(library: ModuleType, version: int) -> None:
    lib: Any = library
    client = lib.client.Client(_Silent())
    sent: list[str] = []
    client.connState = client.CONNECTED
    client._serverVersion = version
    client.clientId, client.optCapab = 1, ""
    client.sendMsg = sent.append
    calls = _calls(lib, client)
    assert set(calls) | VARIABLE_LAYOUTS == set(In)  # every request id is either counted or read whole
    for msg_id, call in calls.items():
        sent.clear()
        call()
        [message] = sent
        fields = message.split("\0")[:-1]
        assert int(fields[0]) == msg_id
        assert len(fields) == field_count(msg_id, version), (In(msg_id).name, version, fields)


NOTICES = {str(code) for code, _ in FARM_NOTICES} | {str(OFFLINE_GATEWAY_CODE)}  # and its identification

#: requests with one field too many or too few
WRONG_COUNTS = {
    "reqIds-short": [8, 1],
    "reqCurrentTime-long": [49, 1, "x"],
    "reqManagedAccts-long": [17, 1, ""],
    "reqPositions-long": [61, 1, 0],
    "cancelPositions-long": [64, 1, 0],
    "reqGlobalCancel-long": [58, 1, 0],
    "reqOpenOrders-long": [5, 1, 0],
    "reqAllOpenOrders-long": [16, 1, 0],
    "reqCompletedOrders-long": [99, 0, 0],
    "cancelHeadTimeStamp-long": [90, 1, 2],
    "reqScannerParameters-long": [24, 1, 0],
    "unsupported-reqMktDepth-short": [10, 5, 1],
    "unsupported-cancelRealTimeBars-long": [51, 1, 1, 1],
    "reqMktData-long": [1, 11, 1, 0, "BHP", "STK", "", 0.0, "", "", "ASX", "", "AUD", "", "", 0, "", 0, 0, "", "x"],
}


@pytest.mark.parametrize("request_fields", list(WRONG_COUNTS.values()), ids=list(WRONG_COUNTS))
async def test_a_wrong_field_count_is_320_and_only_that_client_is_dropped(
    gateway: OfflineGateway, connect: Any, request_fields: list[Any]
) -> None:
    good = await connect(gateway, 1)
    sock = await asyncio.to_thread(_raw_client, gateway.port, 178)
    try:
        sock.sendall(encode_frame(request_fields))
        answers = await asyncio.to_thread(_read_until_closed, sock)
    finally:
        sock.close()
    answers = [m for m in answers if not (m[0] == "4" and m[3] in NOTICES)]  # startApi's farm notices
    assert len(answers) == 1 and answers[0][:4] == ["4", "2", "-1", "320"], answers  # the request got no answer
    assert f"message {request_fields[0]} " in answers[0][4]
    assert good.isConnected()
    assert await good.reqCurrentTimeAsync() == ASX_OPEN_2025  # the others are still served
    assert gateway.state()["clients"] == [1]


async def test_a_right_field_count_is_served_over_the_raw_socket(gateway: OfflineGateway) -> None:
    sock = await asyncio.to_thread(_raw_client, gateway.port, 178)
    try:
        sock.sendall(encode_frame([8, 1, 1]) + encode_frame([49, 1]))
        answers = await asyncio.to_thread(_read_messages, sock, 7)  # 4 farm notices, the identification, 2 answers
    finally:
        sock.close()
    assert [m[0] for m in answers if m[0] != "4"] == ["9", "49"]
