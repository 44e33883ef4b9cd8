"""Request handlers, one module per family; :data:`HANDLERS` maps message ids to them.

A handler is ``handler(session, fields)`` (plain or ``async``); it reads its request with
:mod:`sdk.gateway.requests`, answers through ``session.send``/``session.error`` and reaches the
gateway's state through ``session.gw``. Field counts are checked by the gateway's dispatch before
the handler runs (:func:`sdk.gateway.requests.check_field_count`), so a handler reads only the fields
it needs; the readers of variable layouts check their own count (:func:`sdk.gateway.requests.finish`).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sdk.gateway.protocol import Fields

if TYPE_CHECKING:
    from sdk.gateway.session import ClientSession

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[["ClientSession", Fields], Awaitable[None] | None]


FAMILIES = ("connection", "contracts", "market_data", "historical", "scanner", "orders", "account")


def _table() -> dict[int, Handler]:
    table: dict[int, Handler] = {}
    for name in FAMILIES:
        module = importlib.import_module(f"sdk.gateway.handlers.{name}")
        table.update(module.HANDLERS)
    return table


HANDLERS: dict[int, Handler] = {}


def handlers() -> dict[int, Handler]:
    """The message id -> handler table (built on first use)."""
    if not HANDLERS:
        HANDLERS.update(_table())
    return HANDLERS
