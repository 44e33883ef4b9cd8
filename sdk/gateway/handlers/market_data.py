"""Market data requests: reqMktData (stream or snapshot) and cancelMktData.

A stream first gets ``marketDataType``, ``tickReqParams`` and every current value, then the changes
as the replay moves (:mod:`sdk.gateway.streaming`, driven by :mod:`sdk.gateway.replay`). A snapshot
gets the current values and ``tickSnapshotEnd``. Unknown or ambiguous contracts get error 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdk.gateway.handlers.common import resolve
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.requests import read_mkt_data
from sdk.gateway.session import MarketSubscription
from sdk.gateway.streaming import tick_messages

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS"]


def req_mkt_data(session: ClientSession, fields: Fields) -> None:
    request = read_mkt_data(fields)
    gw = session.gw
    inst = resolve(session, request.req_id, request.contract)
    if inst is None:
        return
    if request.req_id in session.mkt:
        session.error(request.req_id, 322, f"Duplicate ticker id {request.req_id}")
        return
    sub = MarketSubscription(request.req_id, inst.symbol, request.generic_ticks)
    quote = gw.market.quote(inst.symbol, gw.clock.timestamp())
    messages: list[list[Any]] = [[Out.TICK_REQ_PARAMS, request.req_id, float(inst.min_tick), inst.exchange, 3]]
    messages += tick_messages(sub, inst, quote, full=True)
    if request.snapshot or request.regulatory_snapshot:
        messages.append([Out.TICK_SNAPSHOT_END, 1, request.req_id])
    else:
        session.mkt[request.req_id] = sub
    session.send_many(messages)


def cancel_mkt_data(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    if session.mkt.pop(req_id, None) is None:
        session.error(req_id, 300, str(req_id))


HANDLERS: dict[int, Handler] = {
    In.REQ_MKT_DATA: req_mkt_data,
    In.CANCEL_MKT_DATA: cancel_mkt_data,
}
