"""The execution service: every order of the runner, the plan monitor and the MCP server goes through here.

One path: fresh facts (:func:`sdk.risk.build_risk_context`) -> :meth:`sdk.risk.RiskManager.validate` ->
either a simulated fill (shadow mode, :class:`~sdk.services.shadow.ShadowVenue`, the offline
gateway's fill model against the live quote) or ``trader.create_order(...,
params={"clientOrderId": ...})`` -> the order, its risk decision, origin and fills in the ledger.

**Idempotent by client order id**, in one process and across processes: a second :meth:`submit`
with an id already used returns the first result (``replayed=True``) and sends nothing. The ledger is
checked first (the row is written *before* an order is sent), then the venue (``fetch_order`` by
client order id: IB adopts our orders by ``orderRef`` at every reconnect), so a process killed
between sending and recording never sends twice. Only an order the ledger holds as "submitting"
and the venue provably does not know is sent again, with the same id.

**Lost before acknowledged.** An order the venue proves it never received (IB: both of its order lists
read in full after the reconnect, no execution; ``info["lost"]``) is sent once more with the same
client order id, after a fresh risk check, while the run's lease is ours (:attr:`ExecutionService.
lease_still_ours`): in the same :meth:`submit` that sent it, or in a later one with its id. The
re-send is an ``order.resent`` event written before it goes (so no process re-sends twice); lost
again, or refused by the fresh check, the order is ``rejected`` with an ``order.lost`` event, and
the caller decides anew (a strategy's exit is never dropped silently). An order whose fate cannot be
proven stays pending ("unknown" in ``info["stage"]`` of its ledger row, an ``order.unknown`` event
and a WARNING) and is never sent again while it is.

Usage::

    services = await build_services(settings, trader, ledger, session_id=run_id, shadow=True)
    decision = await services.execution.preview(intent)          # no side effects
    result = await services.execution.submit(intent)             # ExecutionResult
    result.order["status"], result.fills, result.shadow, result.risk_decision
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ccxt.base.types import Order, Trade

from sdk.base import BaseTrader
from sdk.costs import CostTracker
from sdk.errors import (
    BadRequest,
    BaseError,
    ExchangeError,
    FxRateUnavailable,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    NotSupported,
    OrderNotFound,
    PermissionDenied,
)
from sdk.ledger import EventKind, LedgerWriter
from sdk.ledger import queries as q
from sdk.ledger.leases import live_holders
from sdk.risk import (
    Approved,
    Decision,
    OrderIntent,
    RejectCode,
    Rejected,
    RiskContext,
    RiskManager,
    build_risk_context,
)
from sdk.services.killswitch import kill_switch_reason
from sdk.services.records import ledger_order, ledger_trades, order_from_row, origin_fields, trade_from_row
from sdk.services.shadow import ShadowBook, ShadowVenue
from sdk.settings import Settings

__all__ = [
    "ORDER_LOST",
    "ORDER_RESENT",
    "ORDER_UNKNOWN",
    "ExecutionResult",
    "ExecutionService",
    "ExecutionStats",
    "PnlSource",
]

log = logging.getLogger(__name__)

PnlSource = Callable[[], Awaitable[Decimal]]
_VENUE_REFUSALS = (InvalidOrder, InsufficientFunds, BadRequest, PermissionDenied)
_TERMINAL = frozenset({"closed", "canceled", "expired", "rejected"})
#: ``info["stage"]`` of a ledger row whose order is not known to be at the venue (a submit with its id looks again).
_PENDING_STAGES = frozenset({"submitting", "lost", "unknown"})
#: Event kinds of the lost-order path: payload ``{"client_order_id", "symbol", "side", "amount", "exit", "reason"}``.
ORDER_RESENT = "order.resent"  # proven lost before acknowledged: sent once more with the same id
ORDER_LOST = "order.lost"  # proven lost and not sent again (re-sent already, or refused): recorded as rejected
ORDER_UNKNOWN = "order.unknown"  # sent, never acknowledged, and not proven lost: pending, never guessed
#: Finished results kept in memory to answer a repeated submit at once (older ones: the ledger answers;
#: a risk rejection older than that is decided again on fresh facts).
RETAIN_RESULTS = 256


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The outcome of one :meth:`ExecutionService.submit`.

    Attributes:
        client_order_id: our id of the order (``CLIENT_ORDER_PREFIX`` + letters and digits).
        decision: the RiskManager's :class:`~sdk.risk.Approved` or :class:`~sdk.risk.Rejected`; None only
            when the result was rebuilt from the ledger by another process (see ``risk_decision``).
        risk_decision: the decision as JSON (``decision.to_dict()``), as the ledger stores it.
        order: the ccxt ``Order`` (prices in the quote currency, amounts in base units); None when rejected.
        fills: the ccxt ``Trade`` s known so far (``fee`` None while pending).
        shadow: True when simulated (nothing was sent to the venue).
        replayed: True when an earlier submit with this client order id answered (nothing was sent now).
    """

    client_order_id: str
    decision: Decision | None
    risk_decision: dict[str, Any]
    order: Order | None
    fills: tuple[Trade, ...]
    shadow: bool
    replayed: bool = False

    @property
    def approved(self) -> bool:
        """True when the RiskManager approved the order."""
        return bool(self.risk_decision.get("ok"))

    @property
    def reject_code(self) -> str | None:
        """The :class:`~sdk.risk.RejectCode` value of a rejection, else None."""
        return None if self.approved else self.risk_decision.get("code")

    @property
    def filled(self) -> Decimal:
        """Base units filled so far."""
        return sum((Decimal(str(t["amount"])) for t in self.fills), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for logs and MCP tool results)."""
        order = self.order or {}
        return {
            "client_order_id": self.client_order_id,
            "approved": self.approved,
            "shadow": self.shadow,
            "replayed": self.replayed,
            "risk_decision": self.risk_decision,
            "order": {
                k: order.get(k)
                for k in ("id", "symbol", "side", "type", "amount", "price", "status", "filled", "average", "fee")
            }
            if self.order
            else None,
            "fills": [
                {k: t.get(k) for k in ("id", "timestamp", "price", "amount", "takerOrMaker", "fee")} for t in self.fills
            ],
        }


@dataclass(slots=True)
class ExecutionStats:
    """Counters of one service: orders proposed (submitted for checks), approved, rejected, sent, replayed."""

    proposed: int = 0
    approved: int = 0
    rejected: int = 0
    sent: int = 0
    shadow_filled: int = 0
    replayed: int = 0
    venue_refused: int = 0
    resent: int = 0
    lost: int = 0
    unknown: int = 0
    rejections: dict[str, int] = field(default_factory=dict)


class ExecutionService:
    """Risk-checked, idempotent order execution on one venue, recorded in the ledger.

    Args:
        trader: the connected venue (``create_trader(...)``).
        risk: the RiskManager (limits in the base currency).
        costs: the CostTracker (shadow fills' commission estimates).
        writer: the ledger writer; every write names ``session_id``.
        session_id: the run id of the ledger session this service writes to.
        shadow: simulate fills (``EXECUTE_ORDERS=false``) instead of sending.
        settings: ``CLIENT_ORDER_PREFIX``, the base currency.
        pnl_today: today's PnL in the base currency for the daily-loss check (the portfolio
            tracker's); None checks with 0 and logs a warning once.
        clock: the venue's time in epoch seconds (default: ``trader.clock.now`` if the trader has one,
            else the wall clock): order times, risk "now" (market hours).
        book: the shadow account (default: seeded from the venue's account on first use).
        source: the program writing (``runner``, ``mcp``), for events.
    """

    def __init__(
        self,
        trader: BaseTrader,
        risk: RiskManager,
        costs: CostTracker,
        writer: LedgerWriter,
        *,
        session_id: str,
        shadow: bool,
        settings: Settings,
        pnl_today: PnlSource | None = None,
        clock: Callable[[], float] | None = None,
        book: ShadowBook | None = None,
        source: str = "runner",
    ) -> None:
        self.trader = trader
        self.risk = risk
        self.costs = costs
        self.writer = writer
        self.ledger = writer.ledger
        self.session_id = session_id
        self.shadow = shadow
        self.settings = settings
        self.source = source
        self._pnl_today = pnl_today
        self._pnl_warned = False
        self.clock: Callable[[], float] = clock or trader.clock.now
        self.book = book
        self._venue: BaseTrader | None = None if shadow else trader
        self._results: OrderedDict[str, ExecutionResult] = OrderedDict()  # oldest first
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._open: set[str] = set()
        self._plan_of: dict[str, str | None] = {}
        self._resending: set[str] = set()
        self._unknown_reported: set[str] = set()  # unknown orders whose event is in the ledger (until resolved)
        self.stats = ExecutionStats()
        #: The run's lease check (the lease work plugs in here): an order proven lost is re-sent only
        #: while this answers True. None: one process per run, the run is ours.
        self.lease_still_ours: Callable[[], Awaitable[bool]] | None = None
        #: Why the run's lease was lost (in memory, no query), or None: nothing is sent once it says why.
        self.lease_lost: Callable[[], str | None] = lambda: None
        #: Called with every batch of fills recorded (new fills and fee updates); the portfolio listens.
        self.fill_listeners: list[Callable[[tuple[Trade, ...]], object]] = []

    # --- the venue orders go to -----------------------------------------------------------------
    async def venue(self) -> BaseTrader:
        """The venue orders go to: the real one, or (shadow mode) the :class:`ShadowVenue` over it."""
        if self._venue is None:
            if self.book is None:
                self.book = await ShadowBook.from_venue(self.trader)
            self._venue = ShadowVenue(self.trader, self.book, self.costs, clock=self.clock)
        return self._venue

    def now(self) -> datetime:
        """The venue's time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def new_client_order_id(self) -> str:
        """``CLIENT_ORDER_PREFIX`` + 16 random hex digits."""
        return f"{self.settings.client_order_prefix}{uuid.uuid4().hex[:16]}"

    async def _pnl(self) -> Decimal:
        if self._pnl_today is None:
            if not self._pnl_warned:
                log.warning("no PnL source: the daily-loss check sees 0 (pass pnl_today, e.g. the portfolio's)")
                self._pnl_warned = True
            return Decimal(0)
        return await self._pnl_today()

    # --- per-order bookkeeping: flat over a long run ----------------------------------------------
    @contextlib.asynccontextmanager
    async def _order_lock(self, cid: str) -> AsyncIterator[None]:
        """One submit per client order id at a time; the lock is dropped when nobody holds or waits for it."""
        lock = self._locks.setdefault(cid, asyncio.Lock())
        self._lock_users[cid] = self._lock_users.get(cid, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[cid] -= 1
            if not self._lock_users[cid]:
                del self._lock_users[cid], self._locks[cid]

    def _remember(self, cid: str, result: ExecutionResult) -> None:
        """Keep ``result`` to answer a repeated submit at once; only the last :data:`RETAIN_RESULTS` finished
        ones stay (an older one is answered from the ledger; an open order's result stays while it is open)."""
        self._results[cid] = result
        self._results.move_to_end(cid)
        excess = len(self._results) - RETAIN_RESULTS
        if excess > 0:
            for old in [c for c in self._results if c not in self._open][:excess]:
                del self._results[old]
                self._plan_of.pop(old, None)

    @property
    def held(self) -> int:
        """Per-order entries held now (results, locks, open orders, plan links): flat over a long run."""
        return len(self._results) + len(self._locks) + len(self._open) + len(self._plan_of)

    # --- preview ------------------------------------------------------------------------------
    async def _decide(self, intent: OrderIntent) -> tuple[Decision, RiskContext]:
        venue = await self.venue()
        context = await build_risk_context(venue, intent.symbol, pnl_today=await self._pnl(), now=self.now())
        decision = self.risk.validate(intent, context)
        if isinstance(decision, Approved) and decision.opening:  # the kill switch stops openings; exits go
            why = await asyncio.to_thread(kill_switch_reason, self.ledger, self.settings.kill_switch_file)
            if why is not None:
                decision = Rejected(RejectCode.KILL_SWITCH, why, None, None, None, intent)
        return decision, context

    async def preview(self, intent: OrderIntent) -> Decision:
        """The RiskManager's decision on fresh facts; nothing is sent or recorded.

        Returns:
            :class:`~sdk.risk.Approved` (the normalised order, notional in the quote currency and in
            the base currency, the cost estimate) or :class:`~sdk.risk.Rejected` (code, reason, limit).

        Raises:
            BadSymbol: the venue does not list the symbol. ccxt errors from the venue while reading facts.
        """
        decision, _ = await self._decide(intent)
        return decision

    # --- submit -------------------------------------------------------------------------------
    async def submit(self, intent: OrderIntent, *, plan_id: str | None = None) -> ExecutionResult:
        """Check ``intent`` again on fresh facts and execute it once (see the module docstring).

        Args:
            intent: the order; without ``client_order_id`` a fresh one is assigned (then a retry is
                not idempotent: set the id to make it so).
            plan_id: the plan this order belongs to (the plan must be in the ledger).

        Returns:
            :class:`ExecutionResult`. A rejection is recorded as a ``risk_rejection`` event and
            returned (``result.approved`` False, ``result.order`` None).

        Raises:
            InvalidOrder, InsufficientFunds, PermissionDenied, BadRequest: the venue refused the order
                (recorded as ``rejected`` in the ledger).
            NetworkError, RequestTimeout: the outcome is unknown; the ledger holds the order as
                submitting: retry with the same client order id (nothing is sent twice).
        """
        if intent.client_order_id is None:
            intent = intent.model_copy(update={"client_order_id": self.new_client_order_id()})
        cid = intent.client_order_id
        assert cid is not None
        async with self._order_lock(cid):
            earlier = self._results.get(cid)
            if earlier is not None:
                self.stats.replayed += 1
                return replace(earlier, replayed=True)
            replayed = await self._replay(cid, intent)
            if replayed is not None:
                self.stats.replayed += 1
                self._remember(cid, replayed)
                return replayed
            self.stats.proposed += 1
            decision, context = await self._decide(intent)
            if isinstance(decision, Rejected):
                return await self._rejected(cid, intent, decision)
            self.stats.approved += 1
            plan = plan_id or origin_fields(intent.origin)["plan_id"]
            result = await self._execute(cid, intent, decision, context, plan)
            self._remember(cid, result)
            return result

    async def _rejected(self, cid: str, intent: OrderIntent, decision: Rejected) -> ExecutionResult:
        self.stats.rejected += 1
        code = decision.code.value
        self.stats.rejections[code] = self.stats.rejections.get(code, 0) + 1
        payload = {**decision.to_dict(), "client_order_id": cid, "side": intent.side, "amount": str(intent.amount)}
        await asyncio.to_thread(
            self.writer.record_event,
            EventKind.RISK_REJECTION,
            payload,
            message=decision.reason,
            symbol=intent.symbol,
            source=self.source,
            timestamp=int(self.clock() * 1000),
            run_id=self.session_id,
        )
        log.info(
            "order rejected by risk",
            extra={"orderRef": cid, "symbol": intent.symbol, "code": code, "reason": decision.reason},
        )
        result = ExecutionResult(cid, decision, decision.to_dict(), None, (), self.shadow)
        self._remember(cid, result)
        return result

    async def _execute(
        self, cid: str, intent: OrderIntent, decision: Approved, context: RiskContext, plan_id: str | None
    ) -> ExecutionResult:
        args = decision.order.create_order_args()
        args["params"]["clientOrderId"] = cid
        record = {"risk_decision": decision.to_dict(), "plan_id": plan_id, **_who(intent.origin)}
        self._plan_of[cid] = plan_id
        if not self.shadow and (why := self.lease_lost()) is not None:  # the step in progress when it was lost
            raise ExchangeError(f"order {cid} not sent: this process no longer owns the run ({why})")
        if not self.shadow:
            await self._record_order(self._submitting(cid, args), record, commission_source="pending")
        if cid in self._resending:
            self._resending.discard(cid)
            await self._lost_event(ORDER_RESENT, cid, intent, "proven never received by the venue: sent once more")
        venue = await self.venue()
        instrument = context.instrument
        started = time.perf_counter()
        try:
            order = await venue.create_order(**args)
        except _VENUE_REFUSALS as exc:
            self.stats.venue_refused += 1
            refused = {**self._submitting(cid, args), "status": "rejected", "info": {"error": str(exc)}}
            await self._record_order(refused, record, commission_source=None)
            log.warning("venue refused the order", extra={"orderRef": cid, "error": str(exc)})
            raise
        except NetworkError as exc:
            if self.shadow:
                raise
            found = await self._unacknowledged(cid, intent, args, record, exc)
            if isinstance(found, ExecutionResult):
                return found
            if found is None:  # proven lost: once more, after a fresh risk check
                return await self._resend(cid, intent, plan_id)
            order = found
        if self.shadow:
            self.stats.shadow_filled += 1 if order.get("filled") else 0
        else:
            self.stats.sent += 1
        fills = tuple(order.get("trades") or ())
        await self._record_order(order, record, commission_source=_commission_source(order, self.shadow))
        await self._record_fills(fills)
        if order.get("status") not in _TERMINAL or any(t.get("fee") is None for t in fills):
            self._open.add(cid)
        log.info(
            "order executed",
            extra={
                "orderRef": cid, "symbol": intent.symbol, "side": args["side"], "type": args["type"],
                "amount": args["amount"], "price": args["price"], "status": order.get("status"),
                "filled": order.get("filled"), "shadow": self.shadow, "conId": instrument.con_id,
                "exchange": instrument.exchange, "commissionSource": _commission_source(order, self.shadow),
                "ack_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )  # fmt: skip
        return ExecutionResult(cid, decision, decision.to_dict(), order, fills, self.shadow)

    def _submitting(self, cid: str, args: dict[str, Any]) -> dict[str, Any]:
        params = args["params"]
        return {
            "clientOrderId": cid,
            "symbol": args["symbol"],
            "type": args["type"],
            "side": args["side"],
            "amount": args["amount"],
            "price": args["price"],
            "triggerPrice": params.get("triggerPrice"),
            "timeInForce": params.get("timeInForce"),
            "reduceOnly": params.get("reduceOnly"),
            "status": "open",
            "timestamp": int(self.clock() * 1000),
            "info": {"stage": "submitting"},
        }

    # --- lost before acknowledged -----------------------------------------------------------------
    async def _unacknowledged(
        self, cid: str, intent: OrderIntent, args: dict[str, Any], record: dict[str, Any], exc: NetworkError
    ) -> Order | ExecutionResult | None:
        """After ``create_order`` raised ``exc``: the order as the venue has it, None when it is proven lost
        and may be sent once more, a rejected result when it may not; raises ``exc`` while its fate is open."""
        try:
            order = await self.trader.fetch_order(cid)
        except OrderNotFound:
            raise exc from None  # never handed over (the link was down before sending): a retry sends it
        except BaseError as err:
            await self._unknown(cid, intent, args, record, f"the venue cannot say whether it has it ({err})")
            raise exc from None
        info = order.get("info") or {}
        if info.get("lost"):
            if not await self._lease_ours():
                await self._unknown(cid, intent, args, record, "proven lost, but the run's lease is no longer ours")
                raise exc from None
            if not await self._resent_before(cid):
                return None
            return await self._final_lost(cid, intent, order, record, "lost again after its one re-send")
        if info.get("unknown") or info.get("acknowledged") is False:
            await self._unknown(cid, intent, args, record, str(exc))
            raise exc from None
        return order  # the venue has it after all (acknowledged during the reconnect)

    async def _resend(self, cid: str, intent: OrderIntent, plan_id: str | None) -> ExecutionResult:
        decision, context = await self._decide(intent)
        if isinstance(decision, Rejected):
            row = await asyncio.to_thread(ledger_order, self.ledger, cid)
            lost = order_from_row(row or {"client_order_id": cid, "symbol": intent.symbol, "side": intent.side})
            await self._final_lost(cid, intent, lost, {"plan_id": plan_id}, f"re-send refused: {decision.reason}")
            return await self._rejected(cid, intent, decision)
        self._resending.add(cid)
        return await self._execute(cid, intent, decision, context, plan_id)

    async def _lease_ours(self) -> bool:
        """True while this process may re-send the run's orders (see :attr:`lease_still_ours`)."""
        return True if self.lease_still_ours is None else bool(await self.lease_still_ours())

    async def _resent_before(self, cid: str) -> bool:
        events = await asyncio.to_thread(q.recent_events, self.ledger, kinds=[ORDER_RESENT], limit=None)
        return any((e.get("payload") or {}).get("client_order_id") == cid for e in events)

    async def recover_lost(self, row: Mapping[str, Any]) -> ExecutionResult:
        """An order of an ended process (a ledger row, never acknowledged) that the venue proved it never got.

        The resync service calls it at start for such an order when no live process holds it. An exit
        (``reduce_only``) is re-sent once with its client order id through :meth:`submit` (a fresh risk
        check; an ``order.resent`` event first): a strategy's or a plan's exit is never dropped. An entry is
        recorded lost (``rejected``, an ``order.lost`` event), never sent late: the strategy decides anew on
        its next bar. An order already re-sent once is recorded lost, and so is an exit whose re-send the
        fresh risk check refuses (e.g. its market closed while no process ran): the ledger row ends
        ``rejected`` with the reason, never left working; the strategy's next decision, made from the position
        the venue reports, trades the exit again.
        """
        cid = str(row["client_order_id"])
        intent = OrderIntent(
            symbol=row["symbol"], side=row["side"], type=row.get("type") or "limit", amount=row["amount"],
            price=row.get("price"), stop_price=row.get("trigger_price"), reduce_only=bool(row.get("reduce_only")),
            is_exit=bool(row.get("reduce_only")), client_order_id=cid,
            origin=f"strategy:{row['strategy']}" if row.get("strategy") else "plan:" + str(row.get("plan_id") or cid),
        )  # fmt: skip
        record = {"risk_decision": row.get("risk_decision"), "plan_id": row.get("plan_id")}
        if not intent.is_exit or await self._resent_before(cid):
            why = "an entry proven never received is not sent late" if not intent.is_exit else "lost after its re-send"
            return await self._final_lost(cid, intent, order_from_row(row), record, why)
        self._resending.add(cid)
        result = await self.submit(intent, plan_id=row.get("plan_id"))
        if isinstance(result.decision, Rejected):  # refused before sending (the market shut while no one ran)
            self._resending.discard(cid)
            why = f"its re-send was refused by the risk check ({result.decision.reason})"
            return await self._final_lost(cid, intent, order_from_row(row), record, why)
        return result

    async def _final_lost(
        self, cid: str, intent: OrderIntent, order: Mapping[str, Any], record: dict[str, Any], why: str
    ) -> ExecutionResult:
        """Record a proven-lost order as rejected (never sent again) and say so loudly."""
        self.stats.lost += 1
        info = {**(order.get("info") or {}), "stage": "lost", "lost": True, "reason": why}
        final = {**order, "clientOrderId": cid, "status": "rejected", "info": info}
        await self._record_order(final, record, commission_source=None, lost_final=True)
        await self._lost_event(ORDER_LOST, cid, intent, f"never reached the venue; not sent again: {why}")
        decision = dict(record.get("risk_decision") or {"ok": True})
        return ExecutionResult(cid, None, decision, final, (), False)

    async def _unknown(
        self, cid: str, intent: OrderIntent, args: dict[str, Any], record: dict[str, Any], why: str
    ) -> None:
        """An order whose fate cannot be proven: pending in the ledger (stage "unknown"), an event, a WARNING."""
        self.stats.unknown += 1
        row = {**self._submitting(cid, args), "info": {"stage": "unknown", "reason": why[:500]}}
        await self._record_order(row, record, commission_source="pending")
        await self._lost_event(ORDER_UNKNOWN, cid, intent, f"fate unknown, not sent again until proven: {why}")

    async def _lost_event(self, kind: str, cid: str, intent: OrderIntent, why: str) -> None:
        if kind == ORDER_RESENT:
            self.stats.resent += 1
        repeated = kind == ORDER_UNKNOWN and cid in self._unknown_reported
        if kind == ORDER_UNKNOWN:
            self._unknown_reported.add(cid)
        else:
            self._unknown_reported.discard(cid)
        payload = {"client_order_id": cid, "symbol": intent.symbol, "side": intent.side,
                   "amount": str(intent.amount), "exit": intent.is_exit, "reason": why}  # fmt: skip
        what = f"{'exit ' if intent.is_exit else ''}order {cid} ({intent.side} {intent.amount} {intent.symbol}): {why}"
        log.warning(what, extra={"orderRef": cid, "event": kind, "symbol": intent.symbol})
        if repeated:  # every retry logs; the ledger has one event per unknown spell, not one per retry
            return
        await asyncio.to_thread(
            self.writer.record_event, kind, payload, message=what, symbol=intent.symbol, source=self.source,
            timestamp=int(self.clock() * 1000), run_id=self.session_id,
        )  # fmt: skip

    # --- replay: the idempotency check ----------------------------------------------------------
    async def _replay(self, cid: str, intent: OrderIntent) -> ExecutionResult | None:
        row = await asyncio.to_thread(ledger_order, self.ledger, cid)
        stage = (row.get("info") or {}).get("stage") if row is not None else None
        submitting = row is not None and stage in _PENDING_STAGES
        if row is not None and not submitting:
            trades = [trade_from_row(t) for t in await asyncio.to_thread(ledger_trades, self.ledger, cid)]
            order = order_from_row(row, trades)
            if not row["shadow"] and order["status"] not in _TERMINAL:
                self._open.add(cid)
            log.info("duplicate submit: answering from the ledger", extra={"orderRef": cid, "status": order["status"]})
            return self._rebuilt(cid, row, order, tuple(trades))
        if self.shadow and row is None:
            return None
        try:
            order = await self.trader.fetch_order(cid)
        except (OrderNotFound, NotSupported, BadRequest):
            order = None
        except ExchangeError as exc:  # the venue cannot tell: never risk a second order
            raise ExchangeError(
                f"cannot tell whether order {cid} already reached {self.trader.id} ({exc}); retry later"
            ) from exc
        record = {"risk_decision": (row or {}).get("risk_decision"), "plan_id": (row or {}).get("plan_id")}
        info = (order or {}).get("info") or {}
        if (order is not None and info.get("lost")) or (order is None and stage == "lost"):
            lost = order or order_from_row(row or {})
            if not await self._lease_ours():
                raise ExchangeError(f"order {cid} never reached {self.trader.id}, but the run's lease is not ours")
            if await self._resent_before(cid):
                return await self._final_lost(cid, intent, lost, record, "lost again after its one re-send")
            log.warning("order proven lost before it was acknowledged: sending it once more", extra={"orderRef": cid})
            self._resending.add(cid)
            return None
        if order is not None and (info.get("unknown") or info.get("acknowledged") is False):
            await self._lost_event(ORDER_UNKNOWN, cid, intent, "the venue cannot prove whether it has it")
            raise ExchangeError(
                f"whether order {cid} reached {self.trader.id} is unknown (its order lists could not be read); "
                "nothing was sent: retry later"
            )
        if order is None:
            if submitting:
                await self._refuse_if_sending_elsewhere(cid, row)
                log.warning("order recorded as submitting is unknown to the venue: sending it", extra={"orderRef": cid})
            return None
        fills = tuple(order.get("trades") or ())
        await self._record_order(order, record, commission_source=_commission_source(order, False))
        await self._record_fills(fills)
        if order.get("status") not in _TERMINAL:
            self._open.add(cid)
        self._unknown_reported.discard(cid)
        log.info("duplicate submit: the venue already has the order", extra={"orderRef": cid})
        decision = dict((row or {}).get("risk_decision") or {"ok": True})
        return ExecutionResult(cid, None, decision, order, fills, False, True)

    async def _refuse_if_sending_elsewhere(self, cid: str, row: dict[str, Any] | None) -> None:
        """An order another live lease holder recorded as "submitting" is in flight there, not lost: never re-sent.

        Raises:
            ExchangeError: the row's ``holder`` is another process whose lease is live (``sdk.ledger.leases``).
        """
        holder = (row or {}).get("holder")
        mine = self.writer.sender[0] if self.writer.sender else None
        if not holder or holder == mine:
            return
        if holder in await asyncio.to_thread(live_holders, self.ledger):
            raise ExchangeError(
                f"order {cid} is being sent by another live process ({holder.split(':')[0]}, pid "
                f"{holder.split(':')[1]}): not sending it again; retry after that process stopped"
            )

    def _rebuilt(self, cid: str, row: dict[str, Any], order: Order, fills: tuple[Trade, ...]) -> ExecutionResult:
        decision = dict(row.get("risk_decision") or {"ok": order.get("status") != "rejected"})
        return ExecutionResult(cid, None, decision, order, fills, bool(row["shadow"]), True)

    # --- cancel and refresh ---------------------------------------------------------------------
    async def cancel(self, order_id_or_client_order_id: str) -> Order:
        """Cancel one of our orders (by venue id or client order id) and record its new state.

        Raises:
            OrderNotFound: neither the venue (or shadow book) nor this service knows the order.
            InvalidOrder: it is already filled.
        """
        venue = await self.venue()
        order = await venue.cancel_order(order_id_or_client_order_id)
        await self._record_order(order, {}, commission_source=_commission_source(order, self.shadow))
        await self._record_fills(tuple(order.get("trades") or ()))
        return order

    def track(self, client_order_id: str, plan_id: str | None = None) -> None:
        """Keep refreshing an open order placed by an earlier process (a resumed run)."""
        self._open.add(client_order_id)
        self._plan_of.setdefault(client_order_id, plan_id)

    @property
    def open_client_order_ids(self) -> frozenset[str]:
        """Client order ids still open (or with pending fees) that :meth:`refresh_open_orders` follows."""
        return frozenset(self._open)

    async def refresh_open_orders(self) -> list[Order]:
        """Ask the venue for every open order of this service; record new states, fills and fees.

        Returns:
            The orders as the venue reports them now (shadow orders are worked against the live quote).
        """
        venue = await self.venue()
        updated: list[Order] = []
        for cid in sorted(self._open):
            try:
                order = await venue.fetch_order(cid)
            except OrderNotFound:
                log.warning("open order unknown to the venue; resync looks again", extra={"orderRef": cid})
                continue
            fills = tuple(order.get("trades") or ())
            await self._record_order(order, {"plan_id": self._plan_of.get(cid)}, _commission_source(order, self.shadow))
            await self._record_fills(fills)
            if cid in self._results:
                self._results[cid] = replace(self._results[cid], order=order, fills=fills)
            if order.get("status") in _TERMINAL and all(t.get("fee") is not None for t in fills):
                self._open.discard(cid)
                self._plan_of.pop(cid, None)
            updated.append(order)
        return updated

    async def reconcile_order(self, order: Order, *, plan_id: str | None = None) -> None:
        """Record an order as the venue reports it now (the resync service) and follow it while it is open."""
        cid = str(order.get("clientOrderId") or "")
        fills = tuple(order.get("trades") or ())
        await self._record_order(order, {"plan_id": plan_id}, _commission_source(order, self.shadow))
        await self._record_fills(fills)
        if cid and (order.get("status") not in _TERMINAL or any(t.get("fee") is None for t in fills)):
            self.track(cid, plan_id)

    async def record_fills(self, fills: tuple[Trade, ...]) -> None:
        """Record fills (new ones, or a fee that arrived): idempotent by the venue's execution id."""
        await self._record_fills(fills)

    # --- recording ------------------------------------------------------------------------------
    async def _record_order(
        self, order: Any, record: dict[str, Any], commission_source: str | None, *, lost_final: bool = False
    ) -> None:
        stored = {k: v for k, v in order.items() if k != "trades"}
        if not lost_final and (order.get("info") or {}).get("lost"):
            # proven lost, not yet re-sent: pending in the ledger (a terminal row could never reopen for the re-send)
            stored.update(status="open", info={**order["info"], "stage": "lost"})
        await asyncio.to_thread(
            self.writer.record_order,
            stored,
            shadow=self.shadow,
            risk_decision=record.get("risk_decision"),
            strategy=record.get("strategy"),
            agent=record.get("agent"),
            plan_id=record.get("plan_id"),
            commission_source=commission_source,
            run_id=self.session_id,
        )

    async def _record_fills(self, fills: tuple[Trade, ...]) -> None:
        if not fills:
            return
        for trade in fills:
            fee = trade.get("fee")
            rate: Decimal | None = None
            if fee and fee.get("currency"):
                rate = await self._fee_rate(trade, str(fee["currency"]))
            info = trade.get("info") or {}
            source = info.get("commissionSource") or ("estimate" if self.shadow else None)
            await asyncio.to_thread(
                self.writer.record_trade,
                trade,
                shadow=self.shadow,
                fx_rate=rate,
                commission_source=source if fee else "pending",
                run_id=self.session_id,
            )
        for listener in self.fill_listeners:
            listener(fills)

    async def _fee_rate(self, trade: Trade, currency: str) -> Decimal | None:
        base = self.settings.base_currency
        if currency == base:
            return None
        recorded = (trade.get("info") or {}).get("fxRate")
        if recorded:
            return Decimal(str(recorded))
        try:
            return Decimal(str(await self.trader.fetch_fx_rate(currency, base)))
        except (FxRateUnavailable, BaseError) as exc:  # the fee in base stays pending, never guessed
            extra = {"currency": currency, "error": str(exc)}
            log.warning("no FX rate for a fee; fee_in_base left pending", extra=extra)
            return None


def _who(origin: str) -> dict[str, str | None]:
    fields = origin_fields(origin)
    return {"strategy": fields["strategy"], "agent": fields["agent"]}


def _commission_source(order: Any, shadow: bool) -> str:
    if shadow:
        return "estimate"
    source = (order.get("info") or {}).get("commissionSource")
    if isinstance(source, str) and source:
        return source[:32]
    return "pending" if order.get("fee") is None else "venue"
