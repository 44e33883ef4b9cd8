"""The venue registry: ``create_trader(name)`` with no if/elif chain.

Venues register themselves when their module is imported::

    @register_venue("IB")
    class IBTrader(BaseTrader): ...

    @register_venue_family(lambda name: name in ccxt.exchanges)   # any ccxt exchange id
    class CcxtTrader(BaseTrader): ...

The built-in venue modules are imported on first use; third-party venues add themselves through the
``trader_sdk.venues`` entry-point group (the entry point's module registers on import).

``create_trader(name)`` wraps the venue in the guarded trader (:mod:`sdk.services.guarded`: ``ALLOWED_SYMBOLS``,
the RiskManager and ``EXECUTE_ORDERS`` between every order and the venue); ``create_trader(name, raw=True)`` is
the documented opt-out that returns the venue itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sdk.errors import NotSupported

if TYPE_CHECKING:
    from sdk.base import BaseTrader
    from sdk.settings import Settings

__all__ = ["create_trader", "register_venue", "register_venue_family", "registered_venues"]

VenueFactory = Callable[[str, "Settings"], "BaseTrader"]
T = TypeVar("T")

#: Modules whose import registers the built-in venues.
BUILTIN_VENUE_MODULES: tuple[str, ...] = ("sdk.venues.ib", "sdk.venues.ccxt")
ENTRY_POINT_GROUP = "trader_sdk.venues"

_venues: dict[str, type[BaseTrader]] = {}
_families: list[tuple[Callable[[str], bool], type[BaseTrader]]] = []
_loaded = False


def register_venue(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: ``create_trader(name)`` (case-insensitive) builds ``cls(settings)``."""

    def decorate(cls: type[T]) -> type[T]:
        _venues[name.lower()] = cls  # type: ignore[assignment]
        return cls

    return decorate


def register_venue_family(matches: Callable[[str], bool]) -> Callable[[type[T]], type[T]]:
    """Class decorator for a venue class serving many ids; built as ``cls(settings, exchange_id=name)``."""

    def decorate(cls: type[T]) -> type[T]:
        _families.append((matches, cls))  # type: ignore[arg-type]
        return cls

    return decorate


def _load_builtin_venues() -> None:
    global _loaded
    if _loaded:
        return
    for module in BUILTIN_VENUE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency, not a venue not yet written
                raise
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
    _loaded = True


def registered_venues() -> list[str]:
    """Names registered by exact name (families such as 'any ccxt id' are not enumerated)."""
    _load_builtin_venues()
    return sorted(_venues)


def create_trader(
    name: str | None = None, settings: Settings | None = None, *, raw: bool = False, **options: Any
) -> BaseTrader:
    """Build the trader for ``name`` (``"IB"`` or a ccxt exchange id such as ``"gemini"``), safe by default.

    The trader returned reads from the venue, and its order methods (``create_order`` and every ccxt
    convenience on it, ``cancel_order``, ``fetch_order`` ...) go through the guards the runner uses: a symbol
    outside ``ALLOWED_SYMBOLS`` raises ``BadSymbol``, a RiskManager limit ``InvalidOrder``, and with
    ``EXECUTE_ORDERS=false`` (the default) orders are filled in shadow against the venue's live quote and nothing
    is sent (:class:`sdk.services.guarded.GuardedTrader`, which also says which ledger it records in).

    Args:
        name: the venue; ``None`` means ``ACTIVE_EXCHANGE``.
        settings: the settings to use; ``None`` reads the environment and then ``./.env`` when present (the
            environment wins), exactly as every ``trader`` command does (:func:`sdk.settings.load_settings`).
        raw: the explicit opt-out: return the venue itself, whose ``create_order`` sends what it is given, checked
            only by the venue (no ``ALLOWED_SYMBOLS``, no RiskManager, ``EXECUTE_ORDERS`` ignored). For programs
            that build their own services over the venue (the runner, the MCP server, the benchmarks).
        options: keyword arguments for the venue class (``IBTrader(settings, clock=..., client_id=...)``).

    Returns:
        An unconnected trader; use it as ``async with create_trader("IB") as trader: ...``.

    Raises:
        NotSupported: no venue is registered under ``name``.
        SettingsError: ``settings`` was ``None`` and the environment or ``./.env`` holds a bad value.
    """
    if settings is None:
        from sdk.settings import load_settings

        dotenv = Path(".env")  # read now, at the call: never at import time
        settings = load_settings(dotenv if dotenv.is_file() else None)
    venue = _build_venue(name, settings, options)
    if raw:
        return venue
    from sdk.services.guarded import GuardedTrader  # the service layer, imported only when a guarded trader is built

    return GuardedTrader(venue)


def venue_class(name: str) -> type[BaseTrader]:
    """The class that serves venue ``name`` (``"IB"`` or a ccxt exchange id), without building it.

    Raises:
        NotSupported: no venue is registered under ``name``.
    """
    venue = name.lower()
    _load_builtin_venues()
    cls = _venues.get(venue)
    if cls is not None:
        return cls
    for matches, family_cls in _families:
        if matches(venue):
            return family_cls
    known = ", ".join(registered_venues()) or "none"
    raise NotSupported(f"no venue registered as {venue!r}; registered: {known}, or any ccxt exchange id")


def _build_venue(name: str | None, settings: Settings, options: dict[str, Any]) -> BaseTrader:
    venue = (name or settings.active_exchange).lower()
    cls = venue_class(venue)  # loads the built-in venues; NotSupported for an unknown name
    if venue in _venues:
        return cls(settings, **options)
    return cls(settings, exchange_id=venue, **options)  # type: ignore[call-arg]  # a family serves many ids
