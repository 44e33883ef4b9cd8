"""The kill switch file: while ``KILL_SWITCH_FILE`` exists, every write tool refuses (reads keep working).

The ledger's kill switch (``trader killswitch on``, :mod:`sdk.services.killswitch`) is the one every process
shares: while it is engaged the execution service rejects every opening order (code ``kill_switch``) of this
server, the runner and guarded traders alike, and exits still go. The file is the older, stricter freeze of
this server alone, described below.

A person (or a monitoring script) creates the file to freeze all writes at once, without restarting
the server; deleting it lifts the freeze. The file is checked on every write call, so the switch acts
on the next call. The server's own writes stop too: the plan watcher (:mod:`mcp_server.monitor`) places
no exit and cancels no entry while the file exists.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["kill_switch_engaged", "kill_switch_message"]


def kill_switch_engaged(path: Path) -> bool:
    """True while the kill-switch file exists."""
    return path.exists()


def kill_switch_message(path: Path) -> str:
    """The refusal an agent reads while the switch is engaged."""
    return (
        f"trading is frozen by the kill switch ({path} exists): no order can be previewed, placed or cancelled "
        "and no plan changed; use the read tools, and ask the account's owner to remove the file to resume"
    )
