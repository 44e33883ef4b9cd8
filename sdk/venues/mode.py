"""Live or paper, decided from facts: the one place every program asks (runner, MCP server, dashboard, ledger).

IB (``../shared/docs/ib-reference.md``; IB's account numbering):

=====================  ==========================================  ===========================
fact                   paper                                       live
=====================  ==========================================  ===========================
account number         ``DU…`` (paper), ``DF…`` (FA paper master)  any other (``U…``, ``F…``, ``I…``)
``IB_PORT``            4002 (IB Gateway), 7497 (TWS)               4001 (IB Gateway), 7496 (TWS)
``IB_PAPER``           ``true``                                    ``false``
=====================  ==========================================  ===========================

Another port (a gateway on a custom port) and an account not known yet (before connecting, ``IB_ACCOUNT_ID``
unset) say nothing. Facts that disagree (``IB_PAPER=true`` on a ``U…`` account, ``IB_PAPER=false`` on port
4002) are refused with :class:`ModeConflict`: the mode is never guessed.

ccxt: ``CCXT_SANDBOX=true`` (ccxt's ``set_sandbox_mode``, the exchange's sandbox/testnet URLs) is paper;
anything else is the exchange's real API: live.

The offline gateway (:mod:`sdk.gateway`) identifies itself at connect with the notice
:data:`OFFLINE_GATEWAY_CODE` (an informational error message, ``[4, 2, -1, 2199, "OFFLINE GATEWAY ..."]``,
sent after ``managedAccounts``/``nextValidId``); real TWS/IB Gateway never sends it. A session that saw it
is ``simulated``: its orders never reach a broker, whatever the account prefix says (a gateway configured
with a ``U…`` account is still live by the facts, and its paper runs never validate the live gate).

A venue that is a simulation in this process (``sdk.sim.venue.SimulatedVenue``, the backtester's venue) says so in
its facts (``{"simulated": True}``): ``paper`` and ``simulated``; nothing it is asked reaches a broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from sdk.redaction import mask_account
from sdk.settings import LIVE_IB_PORTS, PAPER_IB_PORTS, SettingsError

if TYPE_CHECKING:
    from sdk.settings import Settings

__all__ = [
    "OFFLINE_GATEWAY_CODE",
    "OFFLINE_GATEWAY_MESSAGE",
    "PAPER_ACCOUNT_PREFIXES",
    "VENUE_EVENT",
    "Fact",
    "Mode",
    "ModeConflict",
    "VenueMode",
    "ccxt_mode",
    "ib_mode",
    "is_offline_gateway_notice",
    "settings_mode",
    "simulated_mode",
    "venue_mode",
]

Mode = Literal["paper", "live"]

#: Account-number prefixes of IB paper accounts: ``DU`` (individual or sub-account paper account, as in the
#: managedAccounts answer ``"DU123,DU456"``) and ``DF`` (a Financial Advisor's paper master). Live accounts
#: start with ``U``, ``F`` or ``I``.
PAPER_ACCOUNT_PREFIXES: tuple[str, ...] = ("DU", "DF")

#: The offline gateway's identification notice: error code (in IB's informational 2100-2199 band, which
#: ib_async treats as a warning and IB does not use) and the message's first words.
OFFLINE_GATEWAY_CODE = 2199
OFFLINE_GATEWAY_MESSAGE = "OFFLINE GATEWAY"
#: The ledger event every session records with the facts its mode was decided on (payload:
#: :meth:`VenueMode.payload` plus ``config_hash``; see :func:`sdk.services.live_gate.record_venue`).
VENUE_EVENT = "session.venue"


class ModeConflict(SettingsError):
    """The facts disagree (e.g. ``IB_PAPER=true`` on a live ``U…`` account): refused, never guessed."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact: where it comes from (``IB_PAPER``, ``IB_PORT``, ``account``, ``CCXT_SANDBOX``), its value as
    shown (an account masked), and the mode it says."""

    source: str
    value: str
    says: Mode

    def __str__(self) -> str:
        return f"{self.source}={self.value} ({self.says})"


@dataclass(frozen=True, slots=True)
class VenueMode:
    """Where orders go: ``mode`` (``paper``/``live``) from ``facts``; ``simulated`` True on the offline gateway.

    ``payload()`` is what the ledger records (event ``session.venue``) and the MCP context shows.
    """

    venue: str
    mode: Mode
    facts: tuple[Fact, ...] = field(default_factory=tuple)
    simulated: bool = False
    #: the setting that allows a live account (``IB_ALLOW_LIVE``, ``CCXT_ALLOW_LIVE``)
    allow_live_setting: str = "CCXT_ALLOW_LIVE"
    #: the setting naming the live account, when the venue has accounts (``IB_ACCOUNT_ID``)
    account_setting: str | None = None
    #: where a paper run of the same configuration goes, for the live gate's advice
    paper_venue: str = "the exchange's sandbox (CCXT_SANDBOX=true)"
    #: orders meet exchange sessions (a symbol without a market calendar cannot be judged); False: around the clock
    session_hours: bool = False

    def live_allowed(self, settings: Settings) -> bool:
        """Whether ``settings`` allow a live account on this venue (:attr:`allow_live_setting`)."""
        return bool(getattr(settings, self.allow_live_setting.lower()))

    def account(self, settings: Settings) -> str | None:
        """The live account ``settings`` name (:attr:`account_setting`); None when the venue has none."""
        return getattr(settings, self.account_setting.lower()) if self.account_setting else None

    @property
    def broker(self) -> str:
        """``offline gateway`` for IB's simulation, ``simulated venue (SIM)`` for an in-process simulation, else the
        venue (``IB``, a ccxt id)."""
        if not self.simulated:
            return self.venue
        return "offline gateway" if self.venue == "IB" else f"simulated venue ({self.venue})"

    def payload(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "mode": self.mode,
            "simulated": self.simulated,
            "broker": self.broker,
            "facts": [str(f) for f in self.facts],
        }


def is_offline_gateway_notice(code: int, message: str) -> bool:
    """True for the offline gateway's identification notice (module docstring)."""
    return code == OFFLINE_GATEWAY_CODE and message.startswith(OFFLINE_GATEWAY_MESSAGE)


def _decide(venue: str, facts: list[Fact], simulated: bool, fix: str) -> VenueMode:
    said = {f.says for f in facts}
    if len(said) > 1:
        paper = ", ".join(str(f) for f in facts if f.says == "paper")
        live = ", ".join(str(f) for f in facts if f.says == "live")
        raise ModeConflict(f"paper or live? the facts disagree: {paper} but {live}; nothing was sent. {fix}")
    mode: Mode = "live" if "live" in said else "paper"
    return VenueMode(venue, mode, tuple(facts), simulated)


def ib_mode(
    settings: Settings, *, port: int | None = None, account: str | None = None, simulated: bool = False
) -> VenueMode:
    """The IB mode from ``IB_PAPER``, the port (default ``IB_PORT``) and the account (default ``IB_ACCOUNT_ID``).

    Args:
        port: the port connected to.
        account: the account orders go to (the gateway's first managed one when ``IB_ACCOUNT_ID`` is unset);
            None when not known yet.
        simulated: the session saw the offline gateway's notice (:func:`is_offline_gateway_notice`).

    Raises:
        ModeConflict: two facts disagree (module docstring's table); the message names them and the fix.
    """
    port = settings.ib_port if port is None else port
    account = account or settings.ib_account_id
    facts = [Fact("IB_PAPER", "true" if settings.ib_paper else "false", "paper" if settings.ib_paper else "live")]
    if port in LIVE_IB_PORTS or port in PAPER_IB_PORTS:
        facts.append(Fact("IB_PORT", str(port), "live" if port in LIVE_IB_PORTS else "paper"))
    if account:
        paper = account.startswith(PAPER_ACCOUNT_PREFIXES)
        facts.append(Fact("account", mask_account(account) or "", "paper" if paper else "live"))
    fix = (
        "Make them agree: live is IB_PAPER=false with IB_ALLOW_LIVE=true, a U.../F... account and the live port "
        "(IB Gateway 4001, TWS 7496, or a custom one); paper is IB_PAPER=true, a DU... account and port 4002/7497."
    )
    return replace(
        _decide("IB", facts, simulated, fix),
        allow_live_setting="IB_ALLOW_LIVE",
        account_setting="IB_ACCOUNT_ID",
        paper_venue="an IB paper account (DU..., IB_PAPER=true)",
        session_hours=True,
    )


def ccxt_mode(venue: str, *, sandbox: bool) -> VenueMode:
    """A ccxt exchange's mode: ``paper`` on its sandbox/testnet (``CCXT_SANDBOX=true``), else ``live``."""
    fact = Fact("CCXT_SANDBOX", "true" if sandbox else "false", "paper" if sandbox else "live")
    return VenueMode(venue, fact.says, (fact,), simulated=False, paper_venue=f"{venue}'s sandbox (CCXT_SANDBOX=true)")


def simulated_mode(venue: str) -> VenueMode:
    """An in-process simulated venue's mode (module docstring): ``paper``, ``simulated``; it reaches no broker."""
    fact = Fact("simulated", "true", "paper")
    return VenueMode(venue, "paper", (fact,), simulated=True, paper_venue="the simulated venue")


def settings_mode(settings: Settings) -> VenueMode:
    """The mode the settings alone give (before connecting): ``ACTIVE_EXCHANGE``, ``IB_PAPER``, ``IB_PORT``,
    ``IB_ACCOUNT_ID``, ``CCXT_SANDBOX``.

    Raises:
        ModeConflict: see :func:`ib_mode`.
    """
    if settings.active_exchange == "IB":
        return ib_mode(settings)
    return ccxt_mode(settings.active_exchange, sandbox=settings.ccxt_sandbox)


def venue_mode(trader: Any, settings: Settings) -> VenueMode:
    """The mode of a connected venue, from the facts it exposes (:meth:`mode_facts` of ``IBTrader``,
    ``CcxtTrader`` and ``SimulatedVenue``: ``{"port", "account", "simulated"}``, ``{"sandbox"}`` or
    ``{"simulated"}``); a venue without them is judged on the settings (:func:`settings_mode`).

    Raises:
        ModeConflict: see :func:`ib_mode`.
    """
    facts: Mapping[str, Any] = trader.mode_facts()
    venue = trader.id
    if venue == "IB":
        return ib_mode(
            settings, port=facts.get("port"), account=facts.get("account"), simulated=bool(facts.get("simulated"))
        )
    if facts.get("simulated"):
        return simulated_mode(venue)
    if "sandbox" in facts:
        return ccxt_mode(venue, sandbox=bool(facts["sandbox"]))
    if venue == settings.active_exchange:
        return settings_mode(settings)
    return ccxt_mode(venue, sandbox=False)  # a venue that cannot say: its real API, never assumed paper
