"""One owner per run: the run's lease in the ledger, taken at start, renewed by a heartbeat, released at the end.

A run (``run:<run_id>``) or an MCP trading session (``mcp:<venue>:<masked account>``) is held by a lease
(:mod:`sdk.ledger.leases`: holder host, pid and IB ``clientId``; times on the database's clock). A process
that cannot take it refuses to start (:class:`RunHeld`, naming the holder and since when); ``--take-over``
waits, bounded, for a crashed holder's lease to expire and never steals a live one.

While it runs, :class:`LeaseKeeper` renews the lease every third of ``LEASE_TTL`` and keeps the ledger
writer's :attr:`~sdk.ledger.writer.LedgerWriter.sender` (holder, clientId) current, so every order records
who sent it. When the lease is lost (another process took it after it expired) or cannot be renewed before
it expires (the database unreachable), ``on_lost`` is called with the reason: the runner stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from sdk.ledger import Ledger, LedgerWriter
from sdk.ledger.leases import Holder, Lease, LeaseError, LeaseHeld, LeaseLost, acquire, release, renew, wait_for

__all__ = ["LeaseKeeper", "RunHeld", "claim", "run_resource"]

log = logging.getLogger(__name__)


class RunHeld(LeaseHeld):
    """The run (or MCP session) is held by another live process; the message names it and since when."""


def run_resource(run_id: str) -> str:
    """The lease key of a runner run."""
    return f"run:{run_id}"


def claim(ledger: Ledger, resource: str, holder: Holder, *, ttl: float, take_over: bool = False) -> Lease:
    """Take the lease on ``resource``; with ``take_over`` wait (at most twice ``ttl`` plus what is left of the
    holder's lease) for another holder's lease to expire.

    Raises:
        RunHeld: another process holds it (still, after the wait); the message names it and what to do.
        LeaseError: the database cannot be reached or the lease row cannot be read: refuse to trade.
    """
    try:
        return acquire(ledger, resource, holder, ttl=ttl)
    except LeaseHeld as exc:
        if not take_over:
            raise RunHeld(
                f"{resource} is held by another process: {exc.lease.describe()}. Two processes must never trade "
                "one run: stop that one first; after a crash, --take-over waits for its lease to expire "
                f"(LEASE_TTL {ttl:g} s)",
                exc.lease,
            ) from None
        timeout = exc.lease.seconds_left + 2 * ttl
        log.warning("waiting for another holder's lease to expire", extra={"resource": resource,
                                                                          "holder": exc.lease.describe()})  # fmt: skip
    try:
        return wait_for(ledger, resource, holder, ttl=ttl, timeout=timeout)
    except LeaseHeld as exc:
        raise RunHeld(str(exc), exc.lease) from None


class LeaseKeeper:
    """Renews one lease every ``ttl / 3`` seconds (wall time) until :meth:`stop`, then releases it.

    Args:
        ledger, resource, holder, ttl: the lease (already taken, see :func:`claim`).
        writer: its :attr:`sender` is kept at ``(holder.id, client_id())``.
        client_id: the IB ``clientId`` the process trades under now (None until connected, or not IB).
        on_lost: called once, with the reason, when the lease is lost or expired unrenewed.
    """

    def __init__(
        self,
        ledger: Ledger,
        resource: str,
        holder: Holder,
        *,
        ttl: float,
        writer: LedgerWriter | None = None,
        client_id: Callable[[], int | None] = lambda: None,
        on_lost: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.ledger, self.resource, self.holder, self.ttl = ledger, resource, holder, ttl
        self.writer = writer
        self.client_id = client_id
        self.on_lost = on_lost
        self.lost: str | None = None
        self.renewals = 0
        self._renewed_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def attach(self, writer: LedgerWriter, client_id: Callable[[], int | None]) -> None:
        """Stamp ``writer``'s orders with this holder and ``client_id()`` (kept current at every heartbeat), and
        renew at once so the lease names the client id."""
        self.writer, self.client_id = writer, client_id
        self._stamp(client_id())
        await self.renew_now()

    def start(self) -> None:
        self._stamp(self.client_id())
        self._task = asyncio.get_running_loop().create_task(self._beat(), name=f"lease {self.resource}")

    def _stamp(self, client_id: int | None) -> None:
        if self.writer is not None:
            self.writer.sender = (self.holder.id, client_id)

    async def renew_now(self) -> Lease | None:
        """One heartbeat; None (and ``on_lost`` called) when the lease is lost or expired unrenewed."""
        client_id = self.client_id()
        try:
            lease = await asyncio.to_thread(
                renew, self.ledger, self.resource, self.holder, ttl=self.ttl, client_id=client_id
            )
        except LeaseLost as exc:
            self._lose(str(exc))
            return None
        except LeaseError as exc:
            if time.monotonic() - self._renewed_at >= self.ttl:
                self._lose(f"the lease of {self.resource} expired unrenewed ({exc})")
            else:
                log.error("could not renew the lease; retrying", extra={"resource": self.resource, "error": str(exc)})
            return None
        self._renewed_at = time.monotonic()
        self.renewals += 1
        self._stamp(client_id)
        return lease

    async def still_ours(self) -> bool:
        """True when the lease is ours right now on the database's clock: a renewal succeeds (never lost before).
        The execution service asks before it re-sends an order proven lost (only the run's owner may)."""
        return self.lost is None and await self.renew_now() is not None

    def _lose(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
            log.critical("lease lost: %s", reason, extra={"resource": self.resource})
            self.on_lost(reason)

    async def _beat(self) -> None:
        while self.lost is None:
            await asyncio.sleep(self.ttl / 3)
            await self.renew_now()

    async def stop(self, *, release_it: bool = True) -> None:
        """Stop the heartbeat and (still ours) release the lease so the next process need not wait."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if release_it and self.lost is None:
            try:
                await asyncio.to_thread(release, self.ledger, self.resource, self.holder)
            except LeaseError as exc:
                log.warning("could not release the lease; it expires by itself", extra={"error": str(exc)})
