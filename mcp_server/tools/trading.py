"""Write tools, registered only with ``MCP_TRADING_ENABLED=true``: preview -> token -> place, cancel, plans.

Every order goes through the runner's :class:`sdk.services.ExecutionService` (the same RiskManager,
CostTracker, ledger records and client-order-id idempotency as the runner); plans through its
:class:`sdk.services.PlanService`. Nothing here talks to the venue's order API directly.

* ``preview_order`` runs the RiskManager and CostTracker on fresh facts (nothing sent) and returns the
  normalised order, its costs in the base currency, the warnings and a single-use token (60 s).
* ``place_order(token)`` submits exactly the previewed order with the client order id fixed at preview;
  the execution service checks it again and is idempotent by that id, so a retry never sends twice. A token
  whose attempt ended unconfirmed stays redeemable past its 60 s for that same id (never a new preview).
* A risk rejection is a tool error carrying the RiskManager's code, reason, limit and value.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from mcp_server.audit import note
from mcp_server.errors import ToolError, tool_error_for
from mcp_server.schemas import (
    CancelOut,
    CostOut,
    NormalisedOrderOut,
    PlaceOut,
    PlanCancelOut,
    PlanCreatedOut,
    PreviewOut,
)
from mcp_server.tokens import TokenRefused
from mcp_server.toolkit import add_tool, current_agent
from mcp_server.tools.common import SideArg, SymbolArg, now_ms, symbol_of
from mcp_server.tools.convert import order_out, plan_out
from mcp_server.untrusted import quote_venue_text
from sdk.errors import (
    BadRequest,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    LiveTradingNotAllowed,
    NetworkError,
    PermissionDenied,
)
from sdk.ledger import EventKind
from sdk.risk import Approved, OrderIntent, Rejected
from sdk.services.live_gate import REFUSED_EVENT, is_live, require_live_ready
from sdk.venues.mode import venue_mode

if TYPE_CHECKING:
    from mcp_server.state import AppState

__all__ = ["cancel_order", "cancel_plan", "create_plan", "place_order", "preview_order", "register"]

log = logging.getLogger(__name__)

#: preview_order: changes nothing outside this server (it issues a token); a new token each call.
PREVIEW = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
#: place_order: trades (irreversible); the same token never places twice.
PLACE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
#: cancel_order / cancel_plan: remove working orders; cancelling again changes nothing more.
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
#: create_plan: may send an entry order at once (market when no entry is given) and later exits: destructive.
#: Idempotent across sessions and restarts: the plan id is the caller's or derived from its arguments alone
#: (:func:`_plan_id`), and the PlanService answers a known plan id from memory or the ledger without sending.
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

_VENUE_REFUSALS = (InvalidOrder, InsufficientFunds, BadRequest, PermissionDenied)
PriceArg = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _services(state: AppState) -> Any:
    if state.services is None:  # registered only with trading enabled; the lifespan builds them then
        raise ToolError("trading services are not running on this server; restart it with MCP_TRADING_ENABLED=true")
    return state.services


async def _live_gate(state: AppState, services: Any, symbol: str) -> None:
    """The runner's live gate (:mod:`sdk.services.live_gate`) for an order tool: on a live account (the facts, not a
    setting) nothing is previewed, placed or planned until ``IB_ALLOW_LIVE``/``CCXT_ALLOW_LIVE`` and the checklist
    pass, the validating paper run being an MCP session of this configuration on a broker's paper account."""
    if services.shadow:
        return
    settings = state.settings
    mode = venue_mode(state.trader, settings)
    passed: set[str] = state.extras.setdefault("live_gate_passed", set())  # a passed checklist stays passed
    if not is_live(mode, execute=True) or symbol in passed:
        return
    spec = await state.trader.fetch_instrument(symbol)
    try:
        await asyncio.to_thread(require_live_ready, settings, state.ledger, {symbol: spec.market}, mode=mode,
                                program="mcp")  # fmt: skip
        passed.add(symbol)
    except LiveTradingNotAllowed as exc:
        note(outcome="refused", reason="live gate")
        await asyncio.to_thread(
            state.writer.record_event, REFUSED_EVENT, {"refusal": str(exc)}, message=str(exc), symbol=symbol,
            source="mcp", timestamp=now_ms(state),
        )  # fmt: skip
        raise ToolError(f"{exc}; get_trading_context lists what is missing") from None


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "order"
        parts.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


async def _rejection(state: AppState, decision: Rejected, stage: str, client_order_id: str | None) -> ToolError:
    """Audit a risk rejection (an event the dashboard lists) and the tool error the agent reads."""
    note(outcome="rejected", reason=decision.code.value)
    payload = {**decision.to_dict(), "stage": stage, "client_order_id": client_order_id}
    await asyncio.to_thread(
        state.writer.record_event,
        EventKind.RISK_REJECTION,
        payload,
        message=decision.reason,
        symbol=decision.intent.symbol,
        source="mcp",
        timestamp=now_ms(state),
    )
    unit = f" {decision.currency}" if decision.currency else ""
    limit = f" (limit {decision.limit}{unit}; this order {decision.value}{unit})" if decision.limit is not None else ""
    return ToolError(f"rejected by the RiskManager [{decision.code.value}]: {decision.reason}{limit}")


def _normalised_intent(decision: Approved, client_order_id: str) -> OrderIntent:
    """The intent place_order submits: exactly the RiskManager's normalised order, with its client order id."""
    order = decision.order
    return OrderIntent(
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        amount=order.amount,
        price=order.price,
        stop_price=order.stop_price,
        tif=order.tif,
        reduce_only=order.reduce_only,
        is_exit=decision.intent.is_exit,
        client_order_id=client_order_id,
        origin=decision.intent.origin,
    )


async def preview_order(
    state: AppState,
    symbol: SymbolArg,
    side: SideArg,
    amount: Annotated[float, Field(description="quantity in base units (shares; FX: base currency)", gt=0)],
    type: Annotated[
        Literal["limit", "market", "stop", "stop_limit"],
        Field(description="limit (default), market, stop (market on trigger) or stop_limit"),
    ] = "limit",
    price: Annotated[
        PriceArg | None, Field(description="limit price in the quote currency (limit, stop_limit)")
    ] = None,
    stop_price: Annotated[
        PriceArg | None, Field(description="trigger price in the quote currency (stop, stop_limit)")
    ] = None,
    tif: Annotated[
        Literal["DAY", "GTC", "IOC", "FOK"] | None, Field(description="time in force; omit for the venue's default")
    ] = None,
    reduce_only: Annotated[bool, Field(description="may only shrink an existing position")] = False,
) -> PreviewOut:
    """Check an order with the RiskManager and CostTracker without sending it: the normalised order (prices on
    the tick ladder, amount on the size step), notional and costs in the base currency, warnings, and a token
    valid 60 s. Pass the token to place_order to place exactly this order once. A rejection is an error that
    names the limit broken and what to change."""
    services = _services(state)
    symbol_of(state, symbol)
    await _live_gate(state, services, symbol)
    client_order_id = services.execution.new_client_order_id()
    try:
        intent = OrderIntent(
            symbol=symbol,
            side=side,
            type=type,
            amount=Decimal(repr(amount)),
            price=_decimal(price),
            stop_price=_decimal(stop_price),
            tif=tif,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            origin=f"agent:{current_agent.get()}",
        )
    except ValidationError as exc:
        raise ToolError(f"the order is malformed: {_validation_message(exc)}; fix it and preview again") from None
    decision = await services.execution.preview(intent)
    if isinstance(decision, Rejected):
        raise await _rejection(state, decision, "preview", client_order_id)
    assert isinstance(decision, Approved)
    record = state.tokens.issue(_normalised_intent(decision, client_order_id), decision)
    note(client_order_id=client_order_id)
    order, cost = decision.order, decision.cost
    assert cost.amount is not None and cost.amount_base is not None and cost.currency is not None  # an estimate
    return PreviewOut(
        order=NormalisedOrderOut(
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            amount=float(order.amount),
            price=float(order.price) if order.price is not None else None,
            stop_price=float(order.stop_price) if order.stop_price is not None else None,
            price_currency=decision.quote_currency,
            tif=order.tif,
            reduce_only=order.reduce_only,
            client_order_id=client_order_id,
        ),
        mode=state.mode,
        reference_price=float(decision.reference_price),
        notional=float(decision.notional),
        notional_base=float(decision.notional_base),
        base_currency=decision.base_currency,
        fx_rate=float(decision.fx.rate),
        cost=CostOut(
            amount=float(cost.amount),
            currency=cost.currency,
            amount_base=float(cost.amount_base),
            base_currency=cost.base_currency,
            schedule=cost.schedule,
            source=cost.source,
        ),
        opening=decision.opening,
        position_after=float(decision.position_after),
        exposure_after_base=float(decision.exposure_after_base),
        warnings=list(decision.warnings),
        token=record.token,
        token_expires_in_s=round(state.tokens.expires_in(record), 1),
    )


async def place_order(
    state: AppState,
    token: Annotated[str, Field(description="the token preview_order returned (single use, 60 s)", max_length=128)],
) -> PlaceOut:
    """Place exactly the order a preview_order approved, once: the RiskManager checks it again at current prices.
    A token already used, unknown, or expired before it was ever placed is refused (call preview_order again).
    After an unconfirmed attempt the same token stays valid past 60 s and retries the same client order id,
    never sending it twice. In shadow mode the fill is simulated and nothing is sent."""
    services = _services(state)
    try:
        record = await state.tokens.begin(token)
    except TokenRefused as exc:
        note(outcome="refused", reason="token")
        raise ToolError(str(exc)) from None
    note(client_order_id=record.client_order_id)
    try:
        await _live_gate(state, services, record.intent.symbol)
    except BaseException:
        record.submitted = False  # nothing was sent: the token expires as an unused one
        state.tokens.release(record)
        raise
    try:
        result = await services.execution.submit(record.intent)
    except _VENUE_REFUSALS as exc:
        state.tokens.spend(record)
        raise tool_error_for(exc, "place_order") from exc
    except (NetworkError, ExchangeError) as exc:  # the outcome is unknown: the same id may be retried safely
        state.tokens.release(record)
        raise ToolError(
            f"the venue did not confirm order {record.client_order_id} ({quote_venue_text(exc)}); retry place_order "
            "with the same token in a few seconds (it stays valid for this order past its 60 s): the order keeps "
            f"its client order id and is never sent twice. Check get_open_orders or get_trades for "
            f"{record.client_order_id}; do not call preview_order for it again (a new preview is a new order)"
        ) from exc
    except BaseException:
        state.tokens.release(record)
        raise
    if not result.approved:
        state.tokens.spend(record)
        decision = result.decision
        if isinstance(decision, Rejected):
            raise await _rejection(state, decision, "place", record.client_order_id)
        note(outcome="rejected")
        reason = result.risk_decision.get("reason") or result.reject_code
        raise ToolError(f"rejected by the RiskManager at placing: {reason}; call preview_order again")
    summary = result.to_dict()
    warnings = list(record.warnings)
    try:  # the order went out: a ledger that cannot mark the token spent must not turn that into an error
        await asyncio.to_thread(state.tokens.finish, record, summary)
    except Exception as exc:
        log.warning("placed, but the token could not be marked spent", extra={"orderRef": record.client_order_id})
        warnings.append(
            f"order {record.client_order_id} was placed, but its token could not be marked spent ({exc}); do not "
            "place it again: a retry with this token answers from the order's client order id and sends nothing"
        )
    if result.replayed:
        warnings.append(f"order {record.client_order_id} had already been submitted; nothing was sent again")
    order = result.order or {}
    return PlaceOut(
        client_order_id=record.client_order_id,
        shadow=result.shadow,
        order=order_out({**order, "clientOrderId": order.get("clientOrderId") or record.client_order_id}, _base(state)),
        warnings=warnings,
    )


def _base(state: AppState) -> str:
    return state.settings.base_currency


async def cancel_order(
    state: AppState,
    order_id: Annotated[
        str, Field(description="the order's id or client_order_id (from get_open_orders)", min_length=1, max_length=64)
    ],
) -> CancelOut:
    """Cancel one open order placed by this SDK (by id or client_order_id). Cancelling an order that is already
    cancelled changes nothing."""
    services = _services(state)
    order = await services.execution.cancel(order_id)
    return CancelOut(order=order_out(order, _base(state)))


def _plan_id(symbol: str, origin: str, arguments: dict[str, Any]) -> str:
    """The plan id of a create_plan without one: ``mcp-<BASE>-<16 hex>``, in the runner's form
    (``<strategy>-<BASE>-<digest>``, :mod:`runner.actions`), the digest over the proposer (``agent:<id>``) and
    the plan's arguments only. No session or clock goes in, so the same call repeated, in this session or after
    a restart, names the same plan, and the PlanService (which looks plan ids up in the ledger) creates none."""
    text = json.dumps({"origin": origin, **arguments}, sort_keys=True, default=str)
    base = re.sub(r"[^A-Za-z0-9_]", "_", symbol.split("/", 1)[0])[:20] or "X"
    return f"mcp-{base}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


async def create_plan(
    state: AppState,
    symbol: SymbolArg,
    side: Annotated[
        Literal["buy", "sell"], Field(description="buy: a long plan (stop below, target above); sell: a short plan")
    ],
    amount: Annotated[float, Field(description="quantity in base units (shares; FX: base currency)", gt=0)],
    stop: Annotated[PriceArg, Field(description="stop-loss price in the quote currency")],
    target: Annotated[PriceArg, Field(description="take-profit price in the quote currency")],
    entry: Annotated[
        PriceArg | None, Field(description="entry limit price in the quote currency; omit to enter now at market")
    ] = None,
    valid_until_ms: Annotated[
        int | None, Field(description="ms since the epoch UTC after which an unfilled entry expires", ge=0)
    ] = None,
    plan_id: Annotated[
        str | None,
        Field(
            description="your id for the plan (letters, digits, ._:-); omit to derive one from the arguments, so "
            "repeating the same call (even after a server restart) returns the plan it made and creates no second "
            "one; give a new plan_id for another plan with the same figures",
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        ),
    ] = None,
    reason: Annotated[str | None, Field(description="why: shown in the ledger and dashboard", max_length=500)] = None,
) -> PlanCreatedOut:
    """Propose a trade plan: the entry order goes through the RiskManager and is sent now (a limit at entry, or at
    market when entry is omitted); the PlanMonitor then exits at the stop or the target. The same arguments (or the
    same plan_id) return the existing plan and send nothing again. A risk rejection of the entry is an error."""
    from sdk.services import PlanRequest

    services = _services(state)
    symbol_of(state, symbol)
    await _live_gate(state, services, symbol)
    arguments = {"symbol": symbol, "side": side, "amount": amount, "stop": stop, "target": target, "entry": entry,
                 "valid_until_ms": valid_until_ms}  # fmt: skip
    origin = f"agent:{current_agent.get()}"
    plan_key = plan_id or _plan_id(symbol, origin, arguments)
    note(plan_id=plan_key)
    try:
        request = PlanRequest(
            symbol=symbol,
            side=side,
            amount=Decimal(repr(amount)),
            entry=_decimal(entry),
            stop=Decimal(repr(stop)),
            target=Decimal(repr(target)),
            origin=origin,
            plan_id=plan_key,
            valid_until=valid_until_ms,
            reason=reason,
        )
    except ValidationError as exc:
        raise ToolError(f"the plan is malformed: {_validation_message(exc)}; fix it and try again") from None
    plan = await services.plans.create(request)
    out = plan_out(_plan_row(plan), _base(state))
    if plan.status == "rejected":
        note(outcome="rejected")
        raise ToolError(
            f"plan {plan.plan_id} was rejected: {plan.reason or 'the RiskManager refused its entry'}; "
            "change the plan and create it again with another plan_id"
        )
    return PlanCreatedOut(plan=out)


def _plan_row(plan: Any) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id, "symbol": plan.symbol, "side": plan.side, "status": plan.status,
        "amount": plan.amount, "entry": plan.entry, "stop": plan.stop, "target": plan.target,
        "created_at": plan.created_at, "updated_at": plan.updated_at, "valid_until": plan.valid_until,
        "reason": plan.reason,
    }  # fmt: skip


async def cancel_plan(
    state: AppState,
    plan_id: Annotated[str, Field(description="the plan's id (from get_plans)", min_length=1, max_length=64)],
) -> PlanCancelOut:
    """Cancel a pending or active plan created through this server: its open entry order is cancelled; a position
    it already holds is kept (sell it with preview_order/place_order if wanted)."""
    services = _services(state)
    try:
        plan = await services.plans.cancel(plan_id)
    except KeyError:
        raise ToolError(
            f"no plan {plan_id!r} was created through this server session; get_plans lists open plans "
            "(plans of the runner are cancelled there)"
        ) from None
    except ValueError as exc:
        raise ToolError(f"{exc}; nothing to cancel") from None
    return PlanCancelOut(plan=plan_out(_plan_row(plan), _base(state)))


def register(server: MCPServer[Any]) -> None:
    """Add the write tools to ``server`` (kill switch checked on every call)."""
    add_tool(server, preview_order, title="Preview an order", annotations=PREVIEW, write=True)
    add_tool(server, place_order, title="Place a previewed order", annotations=PLACE, write=True)
    add_tool(server, cancel_order, title="Cancel an order", annotations=CANCEL, write=True)
    add_tool(server, create_plan, title="Create a trade plan", annotations=CREATE, write=True)
    add_tool(server, cancel_plan, title="Cancel a trade plan", annotations=CANCEL, write=True)
