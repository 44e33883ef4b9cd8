"""The live gate: a live (non-paper) IB account trades only with ``IB_ALLOW_LIVE=true`` and a completed checklist.

The original rollout starts in shadow mode, then a paper account, and only then live. Before the
runner sends a single order to a live account it checks, and refuses with every item that is missing:

1. ``IB_ALLOW_LIVE=true``;
2. ``IB_ACCOUNT_ID`` set (the account is named, not "whichever the gateway manages first");
3. a paper run validated: the ledger holds a runner session in ``paper`` mode on IB that ended cleanly
   (``until reached`` or stopped by the user) and has at least one fill;
4. market hours known: every symbol traded has a market calendar (ASX, NYSE, FX), so the runner's
   market-hours gate applies to every order.

Shadow mode never sends anything, so it needs none of this (the IB session's own live-port guard still
applies: :func:`sdk.venues.ib.connection.check_live_allowed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sdk.errors import LiveTradingNotAllowed
from sdk.ledger import Ledger
from sdk.ledger import queries as q
from sdk.redaction import mask_account
from sdk.settings import Settings

__all__ = ["CLEAN_ENDS", "LiveCheck", "is_live", "live_checklist", "require_live_ready"]

#: How a validating paper run's session must have ended.
CLEAN_ENDS = ("until reached", "stopped by")


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """One checklist item: ``ok`` and a sentence saying what was found or what to do."""

    name: str
    ok: bool
    detail: str


def is_live(settings: Settings, venue: str, account: str | None, *, execute: bool | None = None) -> bool:
    """True when orders would reach a live IB account: executing (``execute``, default ``EXECUTE_ORDERS``) on
    a non-paper account (``IB_PAPER=false``, or an account that is not a paper ``D…`` one)."""
    if venue != "IB" or not (settings.execute_orders if execute is None else execute):
        return False
    return not settings.ib_paper or (account is not None and not account.startswith("D"))


def _validated_paper_run(ledger: Ledger) -> str | None:
    for session in q.sessions(ledger, venue="IB", limit=500):
        reason = session.get("end_reason") or ""
        if session["mode"] != "paper" or session.get("program") != "runner" or not reason.startswith(CLEAN_ENDS):
            continue
        fills = q.trades_with_commissions(ledger, venue="IB", limit=None)
        if any(f.get("run_id") == session["run_id"] for f in fills):
            return str(session["run_id"])
    return None


def live_checklist(settings: Settings, ledger: Ledger, markets: Mapping[str, str | None]) -> list[LiveCheck]:
    """The checklist (module docstring) for ``settings`` and the symbols' markets (``{"BHP/AUD": "ASX"}``)."""
    paper = _validated_paper_run(ledger)
    unknown = sorted(s for s, m in markets.items() if m is None)
    return [
        LiveCheck("IB_ALLOW_LIVE", settings.ib_allow_live, "set IB_ALLOW_LIVE=true to allow a live account"),
        LiveCheck(
            "IB_ACCOUNT_ID",
            settings.ib_account_id is not None,
            f"account {mask_account(settings.ib_account_id)}"
            if settings.ib_account_id
            else "set IB_ACCOUNT_ID to the live account's number",
        ),
        LiveCheck(
            "paper run validated",
            paper is not None,
            f"paper run {paper} ended cleanly with fills"
            if paper
            else "run the runner on a paper account (IB_PAPER=true, --execute) until it ends cleanly with fills",
        ),
        LiveCheck(
            "market hours known",
            not unknown,
            "every symbol has a market calendar" if not unknown else f"no market calendar for {', '.join(unknown)}",
        ),
    ]


def require_live_ready(settings: Settings, ledger: Ledger, markets: Mapping[str, str | None]) -> list[LiveCheck]:
    """Return the passed checklist, or refuse.

    Raises:
        LiveTradingNotAllowed: one sentence per missing item.
    """
    checks = live_checklist(settings, ledger, markets)
    missing = [c for c in checks if not c.ok]
    if missing:
        lines = "; ".join(f"{c.name}: {c.detail}" for c in missing)
        raise LiveTradingNotAllowed(f"live trading refused, the checklist is not complete: {lines}")
    return checks
