"""Contract requests: reqContractDetails, reqMarketRule, reqMatchingSymbols.

``reqContractDetails`` answers every matching instrument (IB does the same for an ambiguous
description) and error 200 when none matches. Trading hours are the week from the simulated now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sdk.gateway import answers
from sdk.gateway.hours import ib_hours
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.requests import read_contract
from sdk.ticks import MARKET_RULES

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS"]


def req_contract_details(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    query = read_contract(fields)
    fields.skip(3, "includeExpired, secIdType, secId")
    if session.version >= 176:
        fields.text("issuerId")
    gw = session.gw
    found = gw.instruments.candidates(query)
    if not found:
        session.error(req_id, 200, f"({query.describe()})")
        return
    now = datetime.fromtimestamp(gw.clock.timestamp(), UTC)
    messages: list[list[Any]] = [
        answers.contract_details(req_id, inst, version=session.version, trading_hours=ib_hours(inst.market, now))
        for inst in found
    ]
    messages.append([Out.CONTRACT_DATA_END, 1, req_id])
    session.send_many(messages)


def req_market_rule(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    rule_id = fields.integer("marketRuleId")
    ladder = MARKET_RULES.get(rule_id)
    if ladder is None:
        known = ", ".join(str(k) for k in MARKET_RULES)
        session.error(-1, 321, f"market rule id {rule_id} is unknown; this gateway's rules are {known}")
        return
    session.send(answers.market_rule(ladder))


def req_matching_symbols(session: ClientSession, fields: Fields) -> None:
    fields.skip(1, "msgId")
    req_id = fields.integer("reqId")
    pattern = fields.text("pattern").strip().upper()
    matches = [
        inst
        for inst in session.gw.instruments
        if pattern and (inst.ib_symbol.upper().startswith(pattern) or pattern in inst.long_name.upper())
    ]
    matches.sort(key=lambda i: (not i.ib_symbol.upper().startswith(pattern), i.ib_symbol))
    out: list[Any] = [Out.SYMBOL_SAMPLES, req_id, min(len(matches), 16)]
    for inst in matches[:16]:
        out += [inst.con_id, inst.ib_symbol, inst.sec_type, inst.primary_exchange, inst.currency, 0]
        if session.version >= 176:
            out += [inst.long_name, ""]
    session.send(out)


HANDLERS: dict[int, Handler] = {
    In.REQ_CONTRACT_DETAILS: req_contract_details,
    In.REQ_MARKET_RULE: req_market_rule,
    In.REQ_MATCHING_SYMBOLS: req_matching_symbols,
}
