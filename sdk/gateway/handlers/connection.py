"""Connection requests: startApi, ids, time, managed accounts, and requests this gateway only acknowledges.

``reqNewsProviders`` and ``reqMktDepthExchanges`` carry no request id, so no error can end them in the
client: they are answered with an empty ``newsProviders`` / ``mktDepthExchanges`` list instead.

``startApi`` answers as TWS does (real TWS 176 capture): ``managedAccounts``, ``nextValidId``, then
the farm notices 2104, 2106 and 2158, then the offline gateway's identification notice 2199
(:data:`sdk.venues.mode.OFFLINE_GATEWAY_CODE`). A client id already connected gets error 326 and is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.session import FatalRequest
from sdk.venues.mode import OFFLINE_GATEWAY_CODE, OFFLINE_GATEWAY_MESSAGE

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = ["FARM_NOTICES", "HANDLERS", "UNSUPPORTED"]

#: The data farm notices TWS sends after ``startApi`` (code, farm).
FARM_NOTICES = ((2104, "usfarm"), (2104, "aufarm"), (2106, "ushmds"), (2158, "secdefil"))

#: Requests not simulated here -> the field holding their reqId (answered with error 322, which
#: ib_async treats as an error, so the client's request ends instead of waiting for its timeout;
#: 321 would be taken as a warning); None when they carry no reqId.
UNSUPPORTED: dict[int, int | None] = {
    In.REQ_MKT_DEPTH: 2, In.EXERCISE_OPTIONS: 2, In.REQ_REAL_TIME_BARS: 2, In.REQ_FUNDAMENTAL_DATA: 2,
    In.REQ_CALC_IMPLIED_VOLAT: 2, In.REQ_CALC_OPTION_PRICE: 2, In.REQ_SEC_DEF_OPT_PARAMS: 1,
    In.REQ_SOFT_DOLLAR_TIERS: 1, In.REQ_SMART_COMPONENTS: 1, In.REQ_NEWS_ARTICLE: 1, In.REQ_HISTORICAL_NEWS: 1,
    In.REQ_HISTOGRAM_DATA: 1, In.REQ_HISTORICAL_TICKS: 1, In.REQ_TICK_BY_TICK_DATA: 1, In.REQ_WSH_META_DATA: 1,
    In.REQ_WSH_EVENT_DATA: 1, In.QUERY_DISPLAY_GROUPS: 2, In.SUBSCRIBE_TO_GROUP_EVENTS: 2,
    In.REQ_FA: None, In.REPLACE_FA: None, In.VERIFY_REQUEST: None, In.VERIFY_MESSAGE: None,
    In.VERIFY_AND_AUTH_REQUEST: None, In.VERIFY_AND_AUTH_MESSAGE: None, In.UPDATE_DISPLAY_GROUP: None,
    In.UNSUBSCRIBE_FROM_GROUP_EVENTS: None, In.CANCEL_MKT_DEPTH: None, In.CANCEL_REAL_TIME_BARS: None,
    In.CANCEL_FUNDAMENTAL_DATA: None, In.CANCEL_CALC_IMPLIED_VOLAT: None, In.CANCEL_CALC_OPTION_PRICE: None,
    In.CANCEL_HISTOGRAM_DATA: None, In.CANCEL_TICK_BY_TICK_DATA: None, In.CANCEL_WSH_META_DATA: None,
    In.CANCEL_WSH_EVENT_DATA: None, In.REQ_NEWS_BULLETINS: None, In.CANCEL_NEWS_BULLETINS: None,
    In.SET_SERVER_LOGLEVEL: None,
}  # fmt: skip


def start_api(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    client_id = fields.integer("clientId")
    fields.text("optionalCapabilities")
    if session.client_id is not None:
        session.error(-1, 321, "startApi was already sent on this connection")
        return
    gw = session.gw
    if not gw.register_client(session, client_id):
        raise FatalRequest(326)
    account = gw.config.account
    messages: list[list[object]] = [
        [Out.MANAGED_ACCTS, 1, account],
        [Out.NEXT_VALID_ID, 1, gw.broker.next_valid_id(client_id)],
    ]
    session.send_many(messages)
    for code, farm in FARM_NOTICES:
        session.error(-1, code, farm)
    # identify as the simulation, so no run here is taken for a real broker's (docs/gateway.md)
    session.error(
        -1, OFFLINE_GATEWAY_CODE, f"{OFFLINE_GATEWAY_MESSAGE}: trader-sdk, replayed data, simulated fills", exact=True
    )


def req_ids(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    fields.integer("numIds")  # unused (IB answers one id), but text here is a request IB cannot read: 320
    assert session.client_id is not None
    session.send([Out.NEXT_VALID_ID, 1, session.gw.broker.next_valid_id(session.client_id)])


def req_current_time(session: ClientSession, fields: Fields) -> None:
    session.send([Out.CURRENT_TIME, 1, int(session.gw.clock.timestamp())])


def req_managed_accounts(session: ClientSession, fields: Fields) -> None:
    session.send([Out.MANAGED_ACCTS, 1, session.gw.config.account])


def req_market_data_type(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    session.market_data_type = fields.integer("marketDataType", default=1)


def req_auto_open_orders(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    session.auto_open_orders = fields.flag("autoBind")


def req_user_info(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    session.send([Out.USER_INFO, fields.integer("reqId"), ""])


def req_family_codes(session: ClientSession, fields: Fields) -> None:
    session.send([78, 1, session.gw.config.account, ""])


def req_news_providers(session: ClientSession, fields: Fields) -> None:
    """``newsProviders`` (85) with no provider: this gateway has no news (ib_async's request ends at once)."""
    session.send([Out.NEWS_PROVIDERS, 0])


def req_mkt_depth_exchanges(session: ClientSession, fields: Fields) -> None:
    """``mktDepthExchanges`` (80) with no exchange: this gateway has no market depth."""
    session.send([Out.MKT_DEPTH_EXCHANGES, 0])


def unsupported(session: ClientSession, fields: Fields) -> None:
    """Answer a request this gateway does not simulate (error 322 on its reqId, if it has one)."""
    position = UNSUPPORTED.get(fields.msg_id)
    if position is None:
        return
    fields.skip(position, "header")
    req_id = fields.integer("reqId", default=-1)
    name = In(fields.msg_id).name
    session.error(req_id, 322, f"{name} is not simulated by the offline gateway")


HANDLERS: dict[int, Handler] = {
    In.START_API: start_api,
    In.REQ_IDS: req_ids,
    In.REQ_CURRENT_TIME: req_current_time,
    In.REQ_MANAGED_ACCTS: req_managed_accounts,
    In.REQ_MARKET_DATA_TYPE: req_market_data_type,
    In.REQ_AUTO_OPEN_ORDERS: req_auto_open_orders,
    In.REQ_USER_INFO: req_user_info,
    In.REQ_FAMILY_CODES: req_family_codes,
    In.REQ_NEWS_PROVIDERS: req_news_providers,
    In.REQ_MKT_DEPTH_EXCHANGES: req_mkt_depth_exchanges,
    **{msg_id: unsupported for msg_id in UNSUPPORTED},
}
