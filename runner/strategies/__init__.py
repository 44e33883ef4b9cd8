"""Strategies: a decorator-based plugin registry and the built-ins.

Register a strategy by decorating its class; third parties add theirs through the
``trader_sdk.strategies`` entry-point group (the entry point's module registers on import)::

    from runner.strategies import BarContext, Signal, Strategy, register_strategy

    @register_strategy("breakout")
    class Breakout(Strategy):
        defaults = {"lookback": 20}

        @property
        def warmup(self) -> int:
            return int(self.params["lookback"]) + 1

        def on_bar(self, ctx: BarContext) -> list[Signal]:
            ...

    create_strategy("breakout", lookback=55)

Built-ins (``runner.strategies.builtin``): ``ma_crossover`` (long-only moving-average crossover that
proposes plans with ATR stops and targets) and ``momentum`` (long-only rate-of-change signals).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from runner.strategies.base import BarContext, Decision, PlanProposal, Signal, Strategy

__all__ = [
    "BarContext",
    "Decision",
    "PlanProposal",
    "Signal",
    "Strategy",
    "available_strategies",
    "create_strategy",
    "register_strategy",
]

BUILTIN_MODULES: tuple[str, ...] = ("runner.strategies.ma_crossover", "runner.strategies.momentum")
ENTRY_POINT_GROUP = "trader_sdk.strategies"
S = TypeVar("S", bound=type[Strategy])

_registry: dict[str, type[Strategy]] = {}
_loaded = False


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: ``create_strategy(name)`` builds the class.

    Raises:
        ValueError: ``name`` is taken by another class, or not ``[a-z][a-z0-9_]*``.
    """

    def decorate(cls: S) -> S:
        if not name.isidentifier() or name.lower() != name:
            raise ValueError(f"strategy name {name!r} must be lower case letters, digits and _")
        existing = _registry.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"strategy {name!r} is already registered by {existing.__module__}.{existing.__name__}")
        cls.name = name
        _registry[name] = cls
        return cls

    return decorate


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
    _loaded = True


def available_strategies() -> list[str]:
    """Every registered strategy name, sorted."""
    _load()
    return sorted(_registry)


def create_strategy(name: str, **params: Any) -> Strategy:
    """Build the strategy registered as ``name`` with ``params``.

    Raises:
        ValueError: no such strategy (the message lists them) or a bad parameter.
    """
    _load()
    cls = _registry.get(name)
    if cls is None:
        raise ValueError(f"no strategy {name!r}; available: {', '.join(available_strategies())}")
    return cls(**params)
