"""Scanner requests: reqScannerSubscription, cancelScannerSubscription, reqScannerParameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdk.gateway import answers
from sdk.gateway.messages import In, Out
from sdk.gateway.protocol import Fields
from sdk.gateway.requests import read_scanner
from sdk.gateway.scanner import ScanError, scan, scanner_parameters_xml

if TYPE_CHECKING:
    from sdk.gateway.handlers import Handler
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS"]


def req_scanner_subscription(session: ClientSession, fields: Fields) -> None:
    request = read_scanner(fields)
    gw = session.gw
    try:
        rows = scan(
            gw.instruments, gw.market, instrument=request.instrument, location=request.location_code,
            code=request.scan_code, now=gw.clock.timestamp(), rows=request.rows, above_price=request.above_price,
            below_price=request.below_price, above_volume=request.above_volume,
        )  # fmt: skip
    except ScanError as exc:
        session.error(request.req_id, 322, str(exc))  # 322 ends the request (ib_async takes 321 for a warning)
        return
    session.scanners.add(request.req_id)
    session.send(answers.scanner_data(request.req_id, rows))


def cancel_scanner_subscription(session: ClientSession, fields: Fields) -> None:
    fields.skip(2, "msgId, version")
    req_id = fields.integer("reqId")
    session.scanners.discard(req_id)


def req_scanner_parameters(session: ClientSession, fields: Fields) -> None:
    session.send([Out.SCANNER_PARAMETERS, 1, scanner_parameters_xml()])


HANDLERS: dict[int, Handler] = {
    In.REQ_SCANNER_SUBSCRIPTION: req_scanner_subscription,
    In.CANCEL_SCANNER_SUBSCRIPTION: cancel_scanner_subscription,
    In.REQ_SCANNER_PARAMETERS: req_scanner_parameters,
}
