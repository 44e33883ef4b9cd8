"""IB error and notice codes the gateway sends, with TWS's own wording.

Source: IB "Message Codes" (https://ibkrcampus.com/campus/ibkr-api-page/twsapi-doc/#api-error-codes),
summarised in ``../shared/docs/ib-reference.md``. Every answer is an ``errMsg``
``[4, 2, reqId, code, text, advancedOrderRejectJson]``; ``reqId`` -1 when no request is involved.
"""

from __future__ import annotations

__all__ = ["CODES", "NO_VALID_ID", "text"]

NO_VALID_ID = -1

#: code -> TWS's message text (details are appended after a colon where TWS does so).
CODES: dict[int, str] = {
    103: "Duplicate order id",
    104: "Can't modify a filled order",
    105: "Order being modified does not match original order.",
    110: "The price does not conform to the minimum price variation for this contract.",
    135: "Can't find order with id =",
    161: "Cancel attempted when order is not in a cancellable state.",
    162: "Historical Market Data Service error message:",
    165: "Historical Market Data Service query message:",
    200: "No security definition has been found for the request",
    201: "Order rejected - reason:",
    202: "Order Canceled - reason:",
    300: "Can't find EId with tickerId:",
    320: "Server error when reading an API client request.",
    321: "Error validating request.-'bN' : cause -",
    322: "Error processing request.-'bN' : cause -",
    326: "Unable to connect as the client id is already in use. Retry with a unique client id.",
    354: "Requested market data is not subscribed.",
    366: "No historical data query found for ticker id:",
    502: 'Couldn\'t connect to TWS. Confirm that "Enable ActiveX and Socket Clients" is enabled.',
    503: "The TWS is out of date and must be upgraded.",
    504: "Not connected",
    505: "Fatal Error: Unknown message id.",
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
    2104: "Market data farm connection is OK:",
    2106: "HMDS data farm connection is OK:",
    2158: "Sec-def data farm connection is OK:",
    2103: "Market data farm connection is broken:",
    2105: "HMDS data farm connection is broken:",
    2109: "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the order type "
    "and destination. PlaceOrder is now being processed.",
    10147: "OrderId that needs to be cancelled is not found.",
    10148: "OrderId that needs to be cancelled cannot be cancelled, state:",
    10090: "Part of requested market data is not subscribed.",
}


def text(code: int, detail: str = "") -> str:
    """TWS's text for ``code``, with ``detail`` appended the way TWS appends it (``...reason:detail``)."""
    base = CODES.get(code, "")
    if not detail:
        return base
    if not base:
        return detail
    return f"{base}{detail}" if base.endswith(":") else f"{base} {detail}"
