"""The venue registry: ``create_trader(name)`` with no if/elif chain.

Venues register themselves when their module is imported::

    @register_venue("IB")
    class IBTrader(BaseTrader): ...

    @register_venue_family(lambda name: name in ccxt.exchanges)   # any ccxt exchange id
    class CcxtTrader(BaseTrader): ...

The built-in venue modules are imported on first use; third-party venues add themselves through the
``trader_sdk.venues`` entry-point group (the entry point's module registers on import).
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


def create_trader(name: str | None = None, settings: Settings | None = None, **options: Any) -> BaseTrader:
    """Build the trader for ``name`` (``"IB"`` or a ccxt exchange id such as ``"gemini"``).

    Args:
        name: the venue; ``None`` means ``ACTIVE_EXCHANGE``.
        settings: the settings to use; ``None`` reads the environment and then ``./.env`` when present (the
            environment wins), exactly as every ``trader`` command does (:func:`sdk.settings.load_settings`).
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
    venue = (name or settings.active_exchange).lower()
    _load_builtin_venues()
    cls = _venues.get(venue)
    if cls is not None:
        return cls(settings, **options)
    for matches, family_cls in _families:
        if matches(venue):
            return family_cls(settings, exchange_id=venue, **options)  # type: ignore[call-arg]
    known = ", ".join(sorted(_venues)) or "none"
    raise NotSupported(f"no venue registered as {venue!r}; registered: {known}, or any ccxt exchange id")
