"""What the pages share: the session's ledger (read-only), cached reads with a short TTL, and the shell.

Every read goes through a ``st.cache_data(ttl=TTL_SECONDS)`` function keyed by the ledger URL and
its arguments, so a page re-rendered within the TTL does not query again, and new rows written by
the runner appear within :data:`TTL_SECONDS` (or at once with the sidebar's *Refresh now*). The
ledger itself (an engine) is a ``st.cache_resource`` per URL, disposed when released.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.logic import reads
from dashboard.logic.backtests import BacktestListing, list_runs
from dashboard.logic.formatting import home_tz
from dashboard.logic.readonly import open_readonly_ledger
from sdk.ledger import EventKind, Ledger, LedgerError, LedgerNotMigrated
from sdk.ledger import queries as q
from sdk.settings import SettingsError, load_settings

__all__ = ["TTL_SECONDS", "Context", "Problem", "connect", "context"]

#: Seconds a cached read is reused before the ledger is asked again.
TTL_SECONDS = 10
_CONTEXT_KEY = "dashboard.context"
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """This session's ledger: its URL (never shown; ``masked_url`` is), base currency and home time zone."""

    url: str
    masked_url: str
    dialect: str
    base_currency: str | None
    tz: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the dashboard cannot show the ledger: a title, the message, and the command that fixes it."""

    title: str
    message: str
    command: str | None = None


def _release(ledger: Ledger) -> None:
    ledger.close()


@st.cache_resource(show_spinner=False, on_release=_release)
def ledger_for(url: str) -> Ledger:
    """The read-only ledger at ``url`` (one engine per URL for the whole server)."""
    return open_readonly_ledger(url)


def connect() -> Context | Problem:
    """Read ``DATABASE_URL`` (environment, then ``./.env``) and open the ledger read-only.

    Returns:
        A :class:`Context`, or a :class:`Problem` for bad settings, an unmigrated database (with
        ``trader db upgrade``) or a database that cannot be reached.
    """
    env_file = Path(".env")
    try:
        settings = load_settings(env_file if env_file.is_file() else None)
    except SettingsError as exc:
        return Problem("Settings", str(exc))
    try:
        ledger = ledger_for(settings.database_url)
    except LedgerNotMigrated as exc:
        return Problem("Migrate the ledger", str(exc), exc.command)
    except LedgerError as exc:
        return Problem("Ledger unavailable", str(exc))
    known = accounts(settings.database_url)
    base = known[0]["base_currency"] if known else settings.base_currency
    found = Context(settings.database_url, ledger.masked_url, ledger.dialect, base, home_tz(base))
    st.session_state[_CONTEXT_KEY] = found
    return found


def context() -> Context:
    """The context :func:`connect` stored for this session (a page run without it stops with a message)."""
    found = st.session_state.get(_CONTEXT_KEY)
    if not isinstance(found, Context):
        st.error("The dashboard has not connected to the ledger yet: open it through `trader dashboard`.")
        st.stop()
    return found


# --- cached reads: each keyed by the URL and its arguments --------------------------------------
def _cached(func: Any) -> Any:
    return st.cache_data(ttl=TTL_SECONDS, show_spinner=False)(func)


@_cached
def is_empty(url: str) -> bool:
    return reads.ledger_is_empty(ledger_for(url))


@_cached
def accounts(url: str) -> list[Row]:
    return reads.accounts(ledger_for(url))


@_cached
def runs(url: str) -> list[Row]:
    return q.sessions(ledger_for(url), limit=50)


@_cached
def positions(url: str) -> list[Row]:
    return q.latest_positions(ledger_for(url))


@_cached
def balances(url: str) -> list[Row]:
    return q.latest_balances(ledger_for(url))


@_cached
def account_equity(url: str, venue: str, account: str, tz: str) -> dict[str, Row | None]:
    """``latest``, ``previous_close`` and ``first_of_day`` equity snapshots of one account."""
    from dashboard.logic.equity import day_start_ms

    ledger = ledger_for(url)
    latest = reads.latest_equity(ledger, venue, account)
    if latest is None:
        return {"latest": None, "previous_close": None, "first_of_day": None}
    _day, midnight = day_start_ms(latest["timestamp"], tz)
    return {
        "latest": latest,
        "previous_close": reads.equity_before(ledger, venue, account, midnight),
        "first_of_day": reads.equity_on_or_after(ledger, venue, account, midnight),
    }


@_cached
def latest_event(url: str, kind: str) -> Row | None:
    return reads.latest_event(ledger_for(url), kind)


@_cached
def latest_account_event(url: str, kind: str, venue: str, account: str) -> Row | None:
    return reads.latest_account_event(ledger_for(url), kind, venue, account)


@_cached
def events(url: str, kinds: tuple[str, ...] | None, limit: int) -> list[Row]:
    return q.recent_events(ledger_for(url), kinds=kinds, limit=limit)


@_cached
def rejections(url: str, limit: int) -> list[Row]:
    return q.recent_rejections(ledger_for(url), limit=limit)


@_cached
def tool_calls(url: str, limit: int) -> list[Row]:
    return q.recent_events(ledger_for(url), kinds=[EventKind.TOOL_CALL], limit=limit)


@_cached
def order_facets(url: str) -> Row:
    return reads.order_facets(ledger_for(url))


@_cached
def orders_with_fills(
    url: str,
    since: int | None,
    until: int | None,
    statuses: tuple[str, ...] | None,
    symbols: tuple[str, ...] | None,
    venues: tuple[str, ...] | None,
    shadow: bool | None,
    agent_only: bool,
    limit: int,
) -> tuple[list[Row], list[Row]]:
    """Orders (newest first, filtered) and the fills of those orders (oldest first)."""
    ledger = ledger_for(url)
    found = reads.orders(
        ledger,
        since=since,
        until=until,
        statuses=statuses,
        symbols=symbols,
        venues=venues,
        shadow=shadow,
        agent_only=agent_only,
        limit=limit,
    )
    ids = [o["client_order_id"] for o in found if o.get("client_order_id")]
    return found, reads.trades_for_orders(ledger, ids)


@_cached
def equity_span(url: str) -> Row:
    return reads.equity_span(ledger_for(url))


@_cached
def equity_points(url: str, since: int | None, bucket_ms: int | None) -> list[Row]:
    return q.equity_curve(ledger_for(url), since=since, bucket_ms=bucket_ms)


@_cached
def equity_values(url: str, since: int | None) -> list[Row]:
    return reads.equity_values(ledger_for(url), since)


@_cached
def commission_totals(url: str) -> list[Row]:
    return reads.commission_totals(ledger_for(url))


@_cached
def estimates(url: str) -> tuple[list[Row], list[Row]]:
    """Orders carrying a cost estimate, and the fills of those orders."""
    ledger = ledger_for(url)
    found = reads.orders_with_estimates(ledger)
    ids = [o["client_order_id"] for o in found if o.get("client_order_id")]
    return found, reads.trades_for_orders(ledger, ids)


@_cached
def backtest_runs(directory: str) -> BacktestListing:
    """The finished backtest runs under ``directory`` (``BACKTEST_DIR``), newest first."""
    return list_runs(Path(directory))


def backtest_settings() -> tuple[Path, str]:
    """``BACKTEST_DIR`` (absolute) and the time zone to show times in (the ledger's, else the base currency's).

    The Backtests page needs no ledger: it reads the run directories ``trader backtest`` wrote.
    """
    env_file = Path(".env")
    try:
        settings = load_settings(env_file if env_file.is_file() else None)
    except SettingsError as exc:
        st.error(str(exc))
        st.stop()
    found = st.session_state.get(_CONTEXT_KEY)
    tz = found.tz if isinstance(found, Context) else home_tz(settings.base_currency)
    return settings.backtest_dir.resolve(), tz


# --- the shell's pages when there is nothing to show yet ---------------------------------------
def show_problem(problem: Problem) -> None:
    """The page shown instead of the dashboard when the ledger cannot be read."""
    st.title(problem.title)
    st.error(problem.message)
    if problem.command:
        st.markdown("Run this, then reload the page:")
        st.code(problem.command, language="bash")


def show_first_run(found: Context) -> None:
    """The first-run page: the ledger is migrated but holds nothing yet."""
    st.title("Welcome to trader-sdk")
    st.info(f"The ledger at `{found.masked_url}` is empty: no run, order, fill, equity snapshot or event yet.")
    st.markdown(
        "Fill it with a real session on the offline IB Gateway (replayed market data, paper account), "
        "then reload this page:"
    )
    st.code("make demo", language="bash")
    st.markdown("Or run your own strategy: `trader run` (shadow mode unless `EXECUTE_ORDERS=true`).")


def sidebar(found: Context) -> None:
    """Where the data comes from, how fresh it is, and a button that refreshes it now."""
    with st.sidebar:
        st.caption(f"Ledger ({found.dialect}, read-only): `{found.masked_url}`")
        st.caption(f"Times in {found.tz}. Data is at most {TTL_SECONDS} s old.")
        st.button("Refresh now", icon=":material/refresh:", on_click=st.cache_data.clear)
