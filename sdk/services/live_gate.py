"""The live gate: orders reach a live account only with an explicit allow setting and a completed checklist.

Live or paper is decided from facts by :func:`sdk.venues.mode.venue_mode` (IB: the account prefix, the port,
``IB_PAPER``; ccxt: ``CCXT_SANDBOX``), never from one setting. The runner (``--execute``) and the MCP server's
order tools (``preview_order``, ``place_order``, ``create_plan``) check, before anything is sent to a live
account, and refuse with every item that is missing:

1. ``IB_ALLOW_LIVE=true`` (ccxt: ``CCXT_ALLOW_LIVE=true``);
2. IB: ``IB_ACCOUNT_ID`` set (the account is named, not "whichever the gateway manages first");
3. a paper run validated: a run of the same program (``runner``/``mcp``) on the same venue, in ``paper`` mode,
   on a real broker (IB's paper account, a ccxt sandbox; never the offline gateway, which identifies itself at
   connect, see ``docs/gateway.md``), of the same configuration (:func:`trading_config_hash` of the settings
   and, for the runner, the same strategy fingerprint: strategy, parameters, symbols, timeframe), that ended
   cleanly (``until reached`` or stopped), has at least one fill and no unresolved order (still ``open``,
   ``submitting`` or ``unknown``);
4. IB: market hours known: every symbol traded has a market calendar (ASX, NYSE, FX), so the market-hours
   gate applies to every order (ccxt venues trade around the clock).

Every session records the facts it ran on (event ``session.venue``: mode, facts, ``simulated``,
``config_hash``), which is what item 3 reads. Shadow mode never sends anything, so it needs none of this.
Cancelling an order is never gated (it only reduces what is at stake).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdk.errors import LiveTradingNotAllowed
from sdk.ledger import Ledger, LedgerInputError, LedgerWriter, git_sha, session_fields
from sdk.ledger import queries as q
from sdk.redaction import mask_account
from sdk.settings import Settings
from sdk.venues.mode import VENUE_EVENT, VenueMode, venue_mode

if TYPE_CHECKING:
    from sdk.base import BaseTrader

__all__ = [
    "CLEAN_ENDS",
    "REFUSED_EVENT",
    "VENUE_EVENT",
    "LiveCheck",
    "is_live",
    "live_checklist",
    "record_refusal",
    "record_venue",
    "require_live_ready",
    "trading_config_hash",
]

#: How a validating paper run's session must have ended.
CLEAN_ENDS = ("until reached", "stopped")
#: The event of a start the gate refused, and the end reason of the session it leaves.
REFUSED_EVENT = "live_gate.refused"
REFUSED_END = "refused by the live gate"
#: Settings that must differ between a paper run and the live run it validates, or that only say where
#: things run (hosts, ports, ids, files, logging): left out of :func:`trading_config_hash`.
_NOT_CONFIGURATION = frozenset({
    "ib_host", "ib_port", "ib_client_id", "ib_client_id_max", "ib_account_id", "ib_paper", "ib_allow_live",
    "ib_connect_timeout", "ib_heartbeat_interval", "execute_orders", "ccxt_sandbox", "ccxt_allow_live",
    "ccxt_api_key", "ccxt_secret", "database_url", "log_level", "log_format", "market_data_dir", "data_cache_dir",
    "mcp_http_host", "mcp_http_port", "mcp_http_token", "mcp_ib_client_id", "kill_switch_file",
})  # fmt: skip
_UNRESOLVED_STAGES = frozenset({"submitting", "unknown"})


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """One checklist item: ``ok`` and a sentence saying what was found or what to do."""

    name: str
    ok: bool
    detail: str


def trading_config_hash(settings: Settings) -> str:
    """sha256 (hex) of the settings that define what is traded and how (risk limits, symbols, costs, prefix),
    without those that must differ between paper and live or only say where things run (``_NOT_CONFIGURATION``:
    ``IB_PAPER``, ``IB_PORT``, ``IB_ACCOUNT_ID``, ``EXECUTE_ORDERS``, secrets, ``DATABASE_URL`` ...)."""
    data = settings.model_dump(mode="json", exclude=set(_NOT_CONFIGURATION))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def is_live(mode: VenueMode, *, execute: bool) -> bool:
    """True when orders would reach a live account: executing (not shadow) and the facts say ``live``."""
    return execute and mode.mode == "live"


def record_venue(
    writer: LedgerWriter, settings: Settings, trader: BaseTrader, *, shadow: bool, source: str | None = None
) -> VenueMode:
    """Record the session's facts (event :data:`VENUE_EVENT` on the writer's run) and return them.

    Payload: ``venue``, ``mode`` (``shadow`` when nothing is sent, else ``paper``/``live``), ``simulated``
    (the offline gateway), ``broker``, ``facts`` (account masked), ``config_hash`` (:func:`trading_config_hash`).

    Raises:
        ModeConflict: the facts disagree.
    """
    mode = venue_mode(trader, settings)
    payload: dict[str, Any] = {
        **mode.payload(),
        "mode": "shadow" if shadow else mode.mode,
        "config_hash": trading_config_hash(settings),
    }
    message = f"{payload['mode']} on {mode.broker}: {', '.join(payload['facts'])}"
    writer.record_event(VENUE_EVENT, payload, message=message, source=source, timestamp=venue_ms(trader))
    return mode


def venue_ms(trader: BaseTrader) -> int | None:
    """The venue's time now, ms UTC, from the trader's clock (:attr:`BaseTrader.clock`)."""
    return int(trader.clock.now() * 1000)


def record_refusal(
    ledger: Ledger, settings: Settings, trader: BaseTrader, run_id: str, error: Exception, *, program: str = "runner"
) -> None:
    """Leave a trace of a start the gate refused: the session (mode ``live``, as the facts say), its
    :data:`VENUE_EVENT`, a :data:`REFUSED_EVENT` with the refusal, and, for a fresh run, its end
    (:data:`REFUSED_END`). A resumed run keeps its row and stays resumable."""
    writer = ledger.writer(run_id)
    fresh = False
    try:
        writer.session(run_id)
    except LedgerInputError:
        fields = session_fields(settings)
        account = trader.account_id or fields["account"]
        writer.start_session(
            venue=trader.id, account=account, base_currency=fields["base_currency"],
            mode="live", config_hash=fields["config_hash"], program=program, run_id=run_id, git_sha=git_sha(),
        )  # fmt: skip
        fresh = True
    record_venue(writer, settings, trader, shadow=False, source=program)
    writer.record_event(
        REFUSED_EVENT, {"refusal": str(error)}, message=str(error), source=program, timestamp=venue_ms(trader)
    )
    if fresh:
        writer.end_session(run_id, reason=REFUSED_END)


def _fingerprint_of(ledger: Ledger, run_id: str) -> Any:
    events = q.recent_events(ledger, kinds=["runner.config"], run_id=run_id, limit=1)
    return (events[0].get("payload") or {}).get("fingerprint") if events else None


def _paper_run(
    ledger: Ledger, settings: Settings, mode: VenueMode, program: str, fingerprint: Mapping[str, Any] | None
) -> tuple[str | None, list[str]]:
    """The newest validating paper run (item 3), or None and why the nearest candidates did not count."""
    wanted = trading_config_hash(settings)
    why: list[str] = []
    sessions = q.sessions(ledger, venue=mode.venue, limit=500)
    candidates = [s for s in sessions if s["mode"] == "paper" and s.get("program") == program]
    if not candidates:
        return None, why
    fills = {t.get("run_id") for t in q.trades_with_commissions(ledger, venue=mode.venue, limit=None)}
    unresolved = {
        o.get("run_id")
        for o in q.orders_by_client_prefix(ledger, settings.client_order_prefix, venue=mode.venue)
        if o.get("status") == "open" or (o.get("info") or {}).get("stage") in _UNRESOLVED_STAGES
    }
    for session in candidates:
        run_id = str(session["run_id"])
        reason = session.get("end_reason") or ""
        venue = q.recent_events(ledger, kinds=[VENUE_EVENT], run_id=run_id, limit=None)
        payloads = [e.get("payload") or {} for e in venue]
        if session.get("ended_at") is None:
            problem = "never ended"
        elif not reason.startswith(CLEAN_ENDS):
            problem = f"ended with {reason!r}"
        elif not payloads:
            problem = "has no record of its venue (run again with this version)"
        elif any(p.get("simulated") is not False for p in payloads):
            problem = "ran on the offline gateway, not a broker's paper account"
        elif any(p.get("config_hash") != wanted for p in payloads):
            problem = "ran another configuration (settings differ)"
        elif fingerprint is not None and _fingerprint_of(ledger, run_id) != dict(fingerprint):
            problem = "ran another strategy configuration (strategy, parameters, symbols or timeframe differ)"
        elif run_id not in fills:
            problem = "has no fill"
        elif run_id in unresolved:
            problem = "has unresolved orders (open, submitting or unknown)"
        else:
            return run_id, why
        why.append(f"paper run {run_id} {problem}")
    return None, why


def live_checklist(
    settings: Settings,
    ledger: Ledger,
    markets: Mapping[str, str | None],
    *,
    mode: VenueMode,
    program: str = "runner",
    fingerprint: Mapping[str, Any] | None = None,
) -> list[LiveCheck]:
    """The checklist (module docstring) for a session in ``mode``.

    Args:
        markets: each symbol's market calendar (``{"BHP/AUD": "ASX"}``; None: none known).
        mode: the facts of the session about to trade (:func:`sdk.venues.mode.venue_mode`).
        program: ``runner`` or ``mcp``: a paper run of the same program validates.
        fingerprint: the runner's strategy fingerprint (``RunConfig.fingerprint()``); None for the MCP server.
    """
    paper, why = _paper_run(ledger, settings, mode, program, fingerprint)
    allow_name = mode.allow_live_setting
    how = (
        f"run the {program} with this configuration on {mode.paper_venue}, executing orders, "
        "until it ends cleanly with fills"
    )
    checks = [LiveCheck(allow_name, mode.live_allowed(settings), f"set {allow_name}=true to allow a live account")]
    if mode.account_setting:
        account = mode.account(settings)
        named = (
            f"account {mask_account(account)}"
            if account
            else f"set {mode.account_setting} to the live account's number"
        )
        checks.append(LiveCheck(mode.account_setting, account is not None, named))
    checks.append(
        LiveCheck(
            "paper run validated",
            paper is not None,
            f"paper run {paper} on {mode.venue} ended cleanly with fills and no unresolved order"
            if paper
            else f"{how} ({'; '.join(why[:3])})"
            if why
            else how,
        )
    )
    unknown = sorted(s for s, m in markets.items() if m is None) if mode.session_hours else []
    checks.append(
        LiveCheck(
            "market hours known",
            not unknown,
            f"no market calendar for {', '.join(unknown)}" if unknown else "every symbol has a market calendar",
        )
    )
    return checks


def require_live_ready(
    settings: Settings,
    ledger: Ledger,
    markets: Mapping[str, str | None],
    *,
    mode: VenueMode,
    program: str = "runner",
    fingerprint: Mapping[str, Any] | None = None,
) -> list[LiveCheck]:
    """Return the passed checklist, or refuse (arguments: :func:`live_checklist`).

    Raises:
        LiveTradingNotAllowed: one sentence per missing item; nothing was sent.
    """
    checks = live_checklist(settings, ledger, markets, mode=mode, program=program, fingerprint=fingerprint)
    missing = [c for c in checks if not c.ok]
    if missing:
        lines = "; ".join(f"{c.name}: {c.detail}" for c in missing)
        facts = ", ".join(str(f) for f in mode.facts)
        raise LiveTradingNotAllowed(
            f"live trading refused ({facts} say live), the checklist is not complete: {lines}. Nothing was sent"
        )
    return checks
