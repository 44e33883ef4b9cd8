"""Order requests: placeOrder (new, modify, what-if), cancelOrder, reqGlobalCancel, and the order queries
reqOpenOrders, reqAllOpenOrders, reqCompletedOrders and reqExecutions (with IB's filter fields).

Rejections carry IB's codes (:mod:`sdk.gateway.broker`): 103/104 duplicate or filled id, 105 a
modification changing the action or contract, 110 price off the ladder, 201 rejected (also the
``reject_next`` fault, which counts only orders that would otherwise be accepted), 321 invalid
request (a warning to ib_async, as from TWS), 200 unknown contract. An untransmitted order
(``transmit=False``) is held without an answer until its chain is transmitted; a chain refused at
transmission gets the error on each of its orders (:mod:`sdk.gateway.brackets`). The ``lose_next`` fault closes the
connection of a new order instead of placing it (IB never got it). reqExecutions answers every
execution of the account that passes the filter (client id 0 and empty fields match all), each
followed by its commission report when it has been charged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from sdk.gateway import order_answers as oa
from sdk.gateway.broker import OrderRejected
from sdk.gateway.handlers.common import resolve
from sdk.gateway.historical import HistoricalError, parse_end
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.records import ExecutionRecord
from sdk.gateway.requests import ExecutionFilter, read_execution_filter, read_place_order

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS", "execution_matches"]

log = logging.getLogger(__name__)


def place_order(session: ClientSession, fields: Fields) -> Awaitable[None] | None:
    request = read_place_order(fields, session.version)
    gw = session.gw
    assert session.client_id is not None
    new = not request.what_if and gw.broker.order_of(session.client_id, request.order_id) is None
    if new and gw.faults.take_loss():  # the lose_next fault: the order dies with its connection
        log.warning("order %d of client %d lost in flight (lose_next): connection closed", request.order_id,
                    session.client_id)  # fmt: skip
        return session.close()
    inst = resolve(session, request.order_id, request.contract)
    if inst is None:
        return None
    now = gw.clock.timestamp()
    try:  # the reject_next fault is asked only about a new order that passed every check
        outcome = gw.broker.place(session.client_id, request, inst, now, reject=gw.faults.take_rejection)
    except OrderRejected as exc:
        log.info("order %d of client %d rejected: %d %s", request.order_id, session.client_id, exc.code, exc.detail)
        exact = exc.code in (10147, 10148)
        session.error(request.order_id, exc.code, exc.detail, exact=exact)
        for other in exc.others:  # the untransmitted orders of a refused bracket go with it
            session.error(other, exc.code, exc.detail, exact=exact)
        return None
    if outcome.what_if is not None:
        outcome.order.status = "PreSubmitted"
        session.send(oa.open_order(outcome.order, inst, session.version, what_if=outcome.what_if))
    return None


def cancel_order(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    order_id = fields.integer("orderId")
    if session.version >= 169:
        fields.text("manualOrderCancelTime")
    assert session.client_id is not None
    try:
        session.gw.broker.cancel(session.client_id, order_id, session.gw.clock.timestamp())
    except OrderRejected as exc:
        session.error(order_id, exc.code, exc.detail, exact=True)


def req_global_cancel(session: ClientSession, fields: Fields) -> None:
    session.gw.broker.global_cancel(session.gw.clock.timestamp())


def _send_open_orders(session: ClientSession, client_id: int | None) -> None:
    gw = session.gw
    messages: list[list[Any]] = []
    for order in gw.broker.open_orders(client_id):
        inst = gw.instruments.get(order.symbol)
        if inst is not None:
            messages += [oa.open_order(order, inst, session.version), oa.order_status(order)]
    messages.append([Out.OPEN_ORDER_END, 1])
    session.send_many(messages)


def req_open_orders(session: ClientSession, fields: Fields) -> None:
    _send_open_orders(session, session.client_id)


def req_all_open_orders(session: ClientSession, fields: Fields) -> None:
    _send_open_orders(session, None)


def req_completed_orders(session: ClientSession, fields: Fields) -> None:
    gw = session.gw
    messages: list[list[Any]] = []
    for order in gw.broker.completed_orders():
        inst = gw.instruments.get(order.symbol)
        if inst is not None:
            messages.append(oa.completed_order(order, inst, session.version))
    messages.append([Out.COMPLETED_ORDERS_END])
    session.send_many(messages)


def execution_matches(ex: ExecutionRecord, flt: ExecutionFilter, session: ClientSession) -> bool:
    """IB's execution filter: every given field must match (client id 0 and empty fields match all)."""
    inst = session.gw.instruments.get(ex.symbol)
    if inst is None:
        return False
    if flt.client_id and ex.client_id != flt.client_id:
        return False
    if flt.account and flt.account != ex.account:
        return False
    if flt.symbol and flt.symbol.upper() != inst.ib_symbol.upper():
        return False
    if flt.sec_type and flt.sec_type.upper() != inst.sec_type:
        return False
    if flt.exchange and flt.exchange.upper() not in (ex.exchange, inst.exchange, inst.primary_exchange):
        return False
    if flt.side and {"BUY": "BOT", "SELL": "SLD"}.get(flt.side.upper(), flt.side.upper()) != ex.side:
        return False
    return True


def req_executions(session: ClientSession, fields: Fields) -> None:
    flt = read_execution_filter(fields)
    gw = session.gw
    since = None
    if flt.time.strip():
        try:
            since = parse_end(flt.time, float("inf"))
        except HistoricalError:
            session.error(flt.req_id, 322, f"execution filter time {flt.time!r} is invalid; use yyyymmdd hh:mm:ss")
            return
    messages: list[list[Any]] = []
    for ex in gw.broker.executions:
        if since is not None and ex.time < since:
            continue
        if not execution_matches(ex, flt, session):
            continue
        inst = gw.instruments.get(ex.symbol)
        assert inst is not None
        messages.append(oa.exec_details(flt.req_id, ex, inst, session.version))
        if ex.commission is not None:
            messages.append(oa.commission_report(ex))
    messages.append([Out.EXECUTION_DATA_END, 1, flt.req_id])
    session.send_many(messages)


HANDLERS: dict[int, Handler] = {
    In.PLACE_ORDER: place_order,
    In.CANCEL_ORDER: cancel_order,
    In.REQ_GLOBAL_CANCEL: req_global_cancel,
    In.REQ_OPEN_ORDERS: req_open_orders,
    In.REQ_ALL_OPEN_ORDERS: req_all_open_orders,
    In.REQ_COMPLETED_ORDERS: req_completed_orders,
    In.REQ_EXECUTIONS: req_executions,
}
