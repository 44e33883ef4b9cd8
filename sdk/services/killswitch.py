"""Whether a position may be opened now: the kill switch, as every process reads it before each opening order.

Two ways to engage it, either one enough:

* the ledger row (:mod:`sdk.ledger.killswitch`): ``trader killswitch on --reason "..."``; every process on the
  ledger (runners, MCP servers, guarded traders, on any host sharing a PostgreSQL ledger) sees it at its next
  order;
* the file ``KILL_SWITCH_FILE`` (``./data/KILL_SWITCH``), for one host: touch it to engage, delete it to release.

While engaged, an order that would open or add to a position is rejected with code ``kill_switch``; an order
that only reduces a position (an exit, a stop) still goes. A row that cannot be read or a ledger that cannot be
reached counts as engaged: the reason says why, and nothing is opened on a guess.
"""

from __future__ import annotations

from pathlib import Path

from sdk.ledger import Ledger
from sdk.ledger.killswitch import KillSwitchUnreadable, status

__all__ = ["kill_switch_reason"]


def kill_switch_reason(ledger: Ledger | None, file: Path | None = None) -> str | None:
    """Why no position may be opened now (one sentence with what to do), or None when the switch is released.

    Blocking (a database read): call it with ``asyncio.to_thread`` from a coroutine.
    """
    if file is not None and file.exists():
        return (
            f"the kill switch is engaged (the file {file} exists): no position is opened, exits still go; "
            "remove the file to resume"
        )
    if ledger is None:
        return None
    try:
        switch = status(ledger)
    except KillSwitchUnreadable as exc:
        return str(exc)
    if switch.engaged:
        return (
            f"the kill switch is {switch.describe()}: no position is opened, exits still go; "
            "release it with: trader killswitch off"
        )
    return None
