"""Account requests: reqAccountUpdates, reqAccountUpdatesMulti, reqPositions(Multi), reqAccountSummary,
reqPnL(Single), and their cancels. Subscriptions stay open and are pushed again when the account
changes (:meth:`sdk.gateway.server.OfflineGateway.push_account`). Values: :mod:`sdk.gateway.account`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sdk.gateway import answers
from sdk.gateway.account import LEDGER_TAGS, SUMMARY_TAGS, AccountSnapshot
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import UNSET_DOUBLE, Fields

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = [
    "HANDLERS",
    "account_update_messages",
    "multi_messages",
    "pnl_messages",
    "position_messages",
    "summary_messages",
]


def _clock_text(session: ClientSession) -> str:
    tz = ZoneInfo("Australia/Sydney") if session.gw.config.base_currency == "AUD" else UTC
    return datetime.fromtimestamp(session.gw.clock.timestamp(), tz).strftime("%H:%M")


def account_update_messages(session: ClientSession, snap: AccountSnapshot, *, end: bool) -> list[list[Any]]:
    """``updateAccountValue`` for every value, ``updatePortfolio`` per position, the time, and the end."""
    gw = session.gw
    account = gw.config.account
    out = [answers.account_value(key, value, ccy, account) for key, value, ccy in snap.values]
    now = gw.clock.timestamp()
    for symbol, pos in gw.broker.positions.items():
        inst = gw.instruments.get(symbol)
        mark = gw.market.mark(symbol, now) if inst is not None else None
        if inst is None or mark is None or pos.quantity == 0:
            continue
        out.append(answers.portfolio_value(account, pos, inst, mark, (mark - pos.avg_cost) * pos.quantity))
    out.append([Out.ACCT_UPDATE_TIME, 1, _clock_text(session)])
    if end:
        out.append([Out.ACCT_DOWNLOAD_END, 1, account])
    return out


def multi_messages(session: ClientSession, req_id: int, snap: AccountSnapshot, *, end: bool) -> list[list[Any]]:
    """``accountUpdateMulti`` for every value (and the end)."""
    account = session.gw.config.account
    out = [answers.account_update_multi(req_id, account, key, value, ccy) for key, value, ccy in snap.values]
    if end:
        out.append([Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id])
    return out


def summary_messages(
    session: ClientSession, req_id: int, tags: tuple[str, ...], snap: AccountSnapshot
) -> list[list[Any]]:
    """``accountSummary`` rows for the requested tags (``$LEDGER``, ``$LEDGER:ALL``, ``$LEDGER:CCY``), and the end."""
    account = session.gw.config.account
    out: list[list[Any]] = []
    for tag in tags:
        if tag.startswith("$LEDGER"):
            _, _, which = tag.partition(":")
            currencies = (
                list(snap.ledger)
                if which == "ALL"
                else ["BASE"]
                if not which
                else [which]
                if which in snap.ledger
                else []
            )
            for ccy in currencies:
                shown = "BASE" if ccy == "BASE" else ccy
                for key, value in snap.ledger[ccy]:
                    if key in LEDGER_TAGS:
                        out.append(answers.account_summary(req_id, account, key, value, shown))
        elif tag in snap.summary:
            value, ccy = snap.summary[tag]
            out.append(answers.account_summary(req_id, account, tag, value, ccy))
    out.append([Out.ACCOUNT_SUMMARY_END, 1, req_id])
    return out


def position_messages(session: ClientSession, symbols: list[str] | None = None, *, end: bool) -> list[list[Any]]:
    """``position`` for each position (or the named ones), and ``positionEnd``."""
    gw = session.gw
    out: list[list[Any]] = []
    for symbol, pos in gw.broker.positions.items():
        inst = gw.instruments.get(symbol)
        if inst is None or (symbols is not None and symbol not in symbols):
            continue
        if symbols is None and pos.quantity == 0:
            continue
        out.append(answers.position(gw.config.account, pos, inst))
    if end:
        out.append([Out.POSITION_END, 1])
    return out


def pnl_messages(session: ClientSession, snap: AccountSnapshot) -> list[list[Any]]:
    """``pnl`` for each reqPnL subscription: daily (unknown, unset), unrealized and realized in base."""
    base = {key: value for key, value in snap.ledger.get("BASE", [])}
    unrealized, realized = float(base.get("UnrealizedPnL", "0")), float(base.get("RealizedPnL", "0"))
    return [[Out.PNL, req_id, UNSET_DOUBLE, unrealized, realized] for req_id in session.pnl]


def req_account_updates(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    subscribe = fields.flag("subscribe")
    fields.text("acctCode")
    session.account_updates = subscribe
    if subscribe:
        session.send_many(account_update_messages(session, session.gw.account_snapshot(), end=True))


def req_account_updates_multi(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    fields.skip(3, "account, modelCode, ledgerAndNLV")
    session.account_multi.add(req_id)
    session.send_many(multi_messages(session, req_id, session.gw.account_snapshot(), end=True))


def cancel_account_updates_multi(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    session.account_multi.discard(fields.integer("reqId"))


def req_positions(session: ClientSession, fields: Fields) -> None:
    session.positions_subscribed = True
    session.send_many(position_messages(session, end=True))


def cancel_positions(session: ClientSession, fields: Fields) -> None:
    session.positions_subscribed = False


def req_positions_multi(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    fields.skip(2, "account, modelCode")
    gw = session.gw
    out: list[list[Any]] = []
    for symbol, pos in gw.broker.positions.items():
        inst = gw.instruments.get(symbol)
        if inst is None or pos.quantity == 0:
            continue
        out.append([Out.POSITION_MULTI, 1, req_id, gw.config.account, *answers.position("", pos, inst)[3:], ""])
    out.append([Out.POSITION_MULTI_END, 1, req_id])
    session.send_many(out)


def cancel_positions_multi(session: ClientSession, fields: Fields) -> None:
    """Positions multi are answered once; nothing stays subscribed."""


def req_account_summary(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    fields.text("groupName")
    tags = tuple(t.strip() for t in fields.text("tags").split(",") if t.strip()) or SUMMARY_TAGS
    session.summaries[req_id] = tags
    session.send_many(summary_messages(session, req_id, tags, session.gw.account_snapshot()))


def cancel_account_summary(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    session.summaries.pop(fields.integer("reqId"), None)


def req_pnl(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    fields.skip(2, "account, modelCode")
    session.pnl[req_id] = ""
    snap = session.gw.account_snapshot()
    session.send_many([m for m in pnl_messages(session, snap) if m[1] == req_id])


def cancel_pnl(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    session.pnl.pop(fields.integer("reqId"), None)


def req_pnl_single(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    fields.skip(2, "account, modelCode")
    con_id = fields.integer("conId")
    gw = session.gw
    inst = gw.instruments.by_con_id(con_id)
    pos = gw.broker.positions.get(inst.symbol) if inst is not None else None
    if inst is None or pos is None:
        session.send([Out.PNL_SINGLE, req_id, 0, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE])
        return
    mark = gw.market.mark(inst.symbol, gw.clock.timestamp())
    unrealized = float((mark - pos.avg_cost) * pos.quantity) if mark is not None else UNSET_DOUBLE
    value = float(mark * pos.quantity) if mark is not None else UNSET_DOUBLE
    session.send([Out.PNL_SINGLE, req_id, pos.quantity, UNSET_DOUBLE, unrealized, float(pos.realized_pnl), value])


def cancel_pnl_single(session: ClientSession, fields: Fields) -> None:
    """PnL single is answered once."""


HANDLERS: dict[int, Handler] = {
    In.REQ_ACCOUNT_UPDATES: req_account_updates,
    In.REQ_ACCOUNT_UPDATES_MULTI: req_account_updates_multi,
    In.CANCEL_ACCOUNT_UPDATES_MULTI: cancel_account_updates_multi,
    In.REQ_POSITIONS: req_positions,
    In.CANCEL_POSITIONS: cancel_positions,
    In.REQ_POSITIONS_MULTI: req_positions_multi,
    In.CANCEL_POSITIONS_MULTI: cancel_positions_multi,
    In.REQ_ACCOUNT_SUMMARY: req_account_summary,
    In.CANCEL_ACCOUNT_SUMMARY: cancel_account_summary,
    In.REQ_PNL: req_pnl,
    In.CANCEL_PNL: cancel_pnl,
    In.REQ_PNL_SINGLE: req_pnl_single,
    In.CANCEL_PNL_SINGLE: cancel_pnl_single,
}
