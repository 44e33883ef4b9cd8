"""What one backtest runs (:class:`BacktestConfig`, from ``trader backtest`` options), its hash and its run ids.

* **The configuration** is everything that decides the run's orders besides the data: the strategy and its
  parameters, symbols, timeframe, window, opening cash, order size, the fill model, the price mode, and the settings
  the runner's path reads (risk limits, commission plan, base currency, client order prefix ...). Its hash
  (:meth:`BacktestConfig.hash`, SHA-256 of the canonical JSON of :meth:`BacktestConfig.to_dict`) names it; the data
  is named apart by the hash of its content (``summary.json``'s ``data.hash``), so the same configuration on revised
  data keeps its hash and shows a different data hash.
* **Two run ids.** Inside the engine the runner runs as ``bt-`` + the first 16 hex digits of the hash
  (:meth:`BacktestConfig.engine_run_id`): the client order ids derive from the run id (:mod:`runner.actions`), so every
  run of one configuration places orders with the same ids and ``orders.parquet`` is byte-identical. The run's
  output directory is named by a fresh id (:func:`new_backtest_id`: ``bt-20250304T101500Z-3f9a1c``), recorded only
  in ``manifest.json``: a backtest never writes into a previous run's directory.
* **The window**: ``--start`` and ``--end`` are dates, both included. The run starts at 00:00 UTC of ``--start``
  (bars closed before then are the strategy's warm-up, as ``trader run`` backfills them) and ends at 00:00 UTC of
  the day after ``--end`` (:meth:`BacktestConfig.until`): ``trader run --until`` of that day
  (:func:`runner.config.parse_until`), so every session dated ``--end`` (ASX, NYSE, FX) is in the run.

Errors a person must fix are :class:`BacktestInputError` (``trader backtest`` exits 2): the message names the
problem and the fix.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from runner.config import parse_until
from sdk.backtest.adjust import PRICE_MODES, PriceMode
from sdk.settings import Settings

__all__ = [
    "FILL_CHOICES",
    "SETTINGS_IN_CONFIG",
    "BacktestConfig",
    "BacktestInputError",
    "FillChoice",
    "new_backtest_id",
    "parse_cash",
    "parse_date",
    "parse_decimal",
    "parse_price_mode",
    "parse_symbols",
    "settings_in_config",
]

FillChoice = Literal["next-open", "at-close"]
#: ``--fill``: the next bar's open (default), or the closing auction of the bar decided on (market-on-close).
FILL_CHOICES: tuple[FillChoice, ...] = ("next-open", "at-close")
#: The settings the runner's decision path reads; part of the configuration (and its hash).
SETTINGS_IN_CONFIG: tuple[str, ...] = (
    "ib_base_currency", "ib_commission_plan", "ib_gst", "ib_exchange", "commission_overrides", "client_order_prefix",
    "deferred_decision_sessions", "max_order_value", "max_total_exposure", "max_position_value",
    "symbol_max_position_value", "min_trade_size", "min_top_of_book_notional", "max_spread_pct",
    "market_order_buffer_pct", "market_orders_as_limits", "max_price_off_market_pct", "fx_spread_buffer_pct",
    "daily_loss_limit", "allowed_instrument_types", "symbol_overrides",
)  # fmt: skip


class BacktestInputError(ValueError):
    """A bad option or input: the message names the problem and the fix (``trader backtest`` exits 2)."""


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_json_safe(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if hasattr(value, "model_dump"):
        return _json_safe(value.model_dump(mode="json"))
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def settings_in_config(settings: Settings) -> dict[str, Any]:
    """The settings the runner's decision path reads (:data:`SETTINGS_IN_CONFIG`), JSON-safe and sorted."""
    return {name: _json_safe(getattr(settings, name)) for name in SETTINGS_IN_CONFIG}


@dataclass(frozen=True)
class BacktestConfig:
    """One backtest (see the module docstring).

    Attributes:
        strategy: a registered strategy; ``params`` its parameters (numbers).
        symbols: canonical symbols (``BHP/AUD``, ``SPY/USD``), in the order given.
        timeframe: the ccxt timeframe decided on and matched on (``1m`` ... ``1d``).
        start, end: the window's first and last dates (both included; UTC dates).
        cash: opening cash per currency (default: 1,000,000 of the base currency).
        order_value: notional of one sized order in the base currency (None: the runner's default, the smaller of
            ``MAX_ORDER_VALUE`` and 10,000).
        slippage_bps: basis points every taker fill moves against the order (:class:`sdk.sim.matching.FillConfig`).
        fill_volume_share: the share of a bar's volume the run's orders of one symbol may take, in (0, 1].
        fill: ``next-open`` or ``at-close`` (market-on-close: ASX and NYSE listings only).
        price_mode: ``raw`` (default: as the offline gateway replays), ``split_adjusted`` or ``total_return``.
        risk_free_rate: annual, a fraction (0.04 = 4 %), for Sharpe and Sortino.
        plugins: modules imported first that register strategies.
        settings: the settings in the configuration (:func:`settings_in_config`), filled by :meth:`with_settings`.
    """

    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    start: date
    end: date
    params: Mapping[str, float] = field(default_factory=dict)
    cash: Mapping[str, Decimal] = field(default_factory=dict)
    order_value: Decimal | None = None
    slippage_bps: Decimal = Decimal(0)
    fill_volume_share: Decimal = Decimal(1)
    fill: FillChoice = "next-open"
    price_mode: PriceMode = "raw"
    risk_free_rate: float = 0.0
    plugins: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.symbols:
            raise BacktestInputError("give at least one symbol, e.g. --symbols BHP/AUD,CBA/AUD")
        if len(set(self.symbols)) != len(self.symbols):
            raise BacktestInputError(f"a symbol is listed twice in --symbols {','.join(self.symbols)}; list each once")
        if self.start > self.end:
            raise BacktestInputError(
                f"--start {self.start} is after --end {self.end}; give a --start on or before --end"
            )
        if self.order_value is not None and self.order_value <= 0:
            raise BacktestInputError(f"--order-value must be positive (base currency), got {self.order_value}")
        if self.slippage_bps < 0:
            raise BacktestInputError(f"--slippage-bps must be zero or more basis points, got {self.slippage_bps}")
        if not 0 < self.fill_volume_share <= 1:
            raise BacktestInputError(
                f"--fill-volume-share must be in (0, 1] (a share of each bar's volume), got {self.fill_volume_share}"
            )
        if self.fill not in FILL_CHOICES:
            raise BacktestInputError(f"--fill {self.fill!r}: use next-open or at-close")
        if self.price_mode not in PRICE_MODES:
            raise BacktestInputError(f"--price-mode {self.price_mode!r}: use one of {', '.join(PRICE_MODES)}")
        if not self.risk_free_rate > -1:
            raise BacktestInputError(
                f"--risk-free-rate must be above -1 (a fraction: 0.04 = 4%), not {self.risk_free_rate}"
            )
        for currency, amount in self.cash.items():
            if amount < 0:
                raise BacktestInputError(f"--cash {currency}={amount}: opening cash cannot be negative")

    # --- derived ----------------------------------------------------------------------------------
    @property
    def base_currency(self) -> str:
        return str(self.settings.get("ib_base_currency", "AUD"))

    @property
    def opening_cash(self) -> dict[str, Decimal]:
        """``cash``, or 1,000,000 of the base currency when none was given."""
        return dict(self.cash) if self.cash else {self.base_currency: Decimal(1_000_000)}

    @property
    def start_ts(self) -> float:
        """00:00 UTC of ``start``, epoch seconds: the run's first moment."""
        return parse_until(self.start.isoformat())

    @property
    def until(self) -> float:
        """00:00 UTC of the day after ``end``, epoch seconds: the run's end (``trader run --until`` of that day)."""
        return parse_until((self.end + timedelta(days=1)).isoformat())

    def with_settings(self, settings: Settings) -> BacktestConfig:
        """This configuration with ``settings``' part in it (:func:`settings_in_config`)."""
        return replace(self, settings=settings_in_config(settings))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as canonical JSON data (keys sorted; Decimals as strings; dates ISO 8601)."""
        return {
            "strategy": self.strategy,
            "params": {k: float(v) for k, v in sorted(self.params.items())},
            "plugins": list(self.plugins),
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "cash": {k: str(v) for k, v in sorted(self.opening_cash.items())},
            "order_value": str(self.order_value) if self.order_value is not None else None,
            "slippage_bps": str(self.slippage_bps),
            "fill_volume_share": str(self.fill_volume_share),
            "fill": self.fill,
            "price_mode": self.price_mode,
            "risk_free_rate": self.risk_free_rate,
            "base_currency": self.base_currency,
            "settings": _json_safe(dict(self.settings)),
        }

    def hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def engine_run_id(self) -> str:
        """The runner's run id inside the engine: ``bt-`` + 16 hex digits of :meth:`hash` (module docstring)."""
        return f"bt-{self.hash()[:16]}"


def new_backtest_id(now: datetime | None = None) -> str:
    """A fresh run id for an output directory: ``bt-YYYYMMDDTHHMMSSZ-`` + 6 random hex digits."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"bt-{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# --- option parsing ----------------------------------------------------------------------------------
def parse_date(text: str, option: str) -> date:
    """An ISO date (``2024-03-01``).

    Raises:
        BacktestInputError: anything else.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BacktestInputError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-01") from None


def parse_decimal(text: str, option: str) -> Decimal:
    """A finite decimal number.

    Raises:
        BacktestInputError: not a number.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise BacktestInputError(f"{option} {text!r} is not a number, e.g. {option} 10000")
    return value


def parse_cash(values: Iterable[str]) -> dict[str, Decimal]:
    """``--cash AUD=1000000`` (repeatable, or comma-separated ``AUD=1000000,USD=50000``) -> ``{"AUD": 1000000}``.

    Raises:
        BacktestInputError: an item not ``CURRENCY=AMOUNT``, or a currency given twice.
    """
    cash: dict[str, Decimal] = {}
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            currency, eq, amount = item.partition("=")
            currency = currency.strip().upper()
            if not eq or len(currency) != 3 or not currency.isalpha():
                raise BacktestInputError(f"--cash {item!r}: write CURRENCY=AMOUNT, e.g. --cash AUD=1000000")
            if currency in cash:
                raise BacktestInputError(f"--cash gives {currency} twice; give each currency once")
            cash[currency] = parse_decimal(amount, f"--cash {currency}=")
    return cash


def parse_symbols(text: str) -> tuple[str, ...]:
    """``BHP/AUD,SPY/USD`` -> ``("BHP/AUD", "SPY/USD")`` (spaces trimmed, empty items dropped)."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def parse_price_mode(text: str) -> PriceMode:
    """``raw``, ``split_adjusted`` or ``total_return`` (hyphens accepted).

    Raises:
        BacktestInputError: another value.
    """
    mode = text.strip().lower().replace("-", "_")
    if mode not in PRICE_MODES:
        raise BacktestInputError(f"--price-mode {text!r}: use one of {', '.join(PRICE_MODES)}")
    return mode
