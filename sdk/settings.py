"""Settings: one pydantic-settings model, read from the environment (and a ``.env`` file when asked).

Nothing is read at import time: call :func:`load_settings`. Every variable, its default and its
meaning is listed in ``.env.template``. Money limits are in the account's base currency
(``IB_BASE_CURRENCY``, AUD by default). A bad value raises :class:`SettingsError` whose message
names the variable, what is wrong with it, and an example of a right value.
"""

from __future__ import annotations

import difflib
import json
import re
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from ccxt.base.errors import BadSymbol
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sdk.redaction import ACCOUNT_PATTERN, mask_account, register_secret
from sdk.symbols import FIAT_CURRENCIES, InstrumentType, parse_symbol, suggest_symbol

__all__ = ["Settings", "SettingsError", "SymbolOverride", "load_settings"]

LIVE_IB_PORTS = frozenset({7496, 4001})
PAPER_IB_PORTS = frozenset({7497, 4002})


class SettingsError(ValueError):
    """A setting is missing or malformed; a person must fix the environment or ``.env``."""


class SymbolOverride(BaseModel):
    """How one canonical symbol maps to an IB contract when the defaults do not fit.

    Defaults: ``X/AUD`` is an ASX stock, ``X/USD`` a US stock on SMART, two fiat currencies a
    ``CASH`` pair on IDEALPRO. Example (a US-listed BHP ADR on NYSE)::

        SYMBOL_OVERRIDES='{"BHP/USD": {"primary_exchange": "NYSE"}}'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sec_type: Literal["STK", "CASH", "IND"] | None = Field(None, description="IB secType")
    ib_symbol: str | None = Field(None, description="IB's symbol, e.g. 'BRK B'")
    exchange: str | None = Field(None, description="IB exchange to route to, e.g. SMART, ASX")
    primary_exchange: str | None = Field(None, description="IB primaryExchange, e.g. ASX, NYSE")
    instrument_type: InstrumentType | None = Field(None, description="stock, etf, fx or index")


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _parse_json_object(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at position {exc.pos})") from exc
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of the SDK, the runner, the MCP server and the dashboard.

    Field names are the environment variable names in lower case (``IB_PORT`` -> ``ib_port``).
    """

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, validate_default=True, env_file_encoding="utf-8"
    )

    # --- venue selection and process -------------------------------------------------------
    active_exchange: str = Field("IB", examples=["IB", "gemini"], description="IB or a ccxt exchange id")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", examples=["INFO"])
    log_format: Literal["text", "json"] = Field("text", examples=["json"])
    market_data_dir: Path = Field(Path("../shared/data"), examples=["../shared/data"])
    #: Where ``trader backtest`` writes each run's directory (``<dir>/<run id>/``), and where the dashboard's
    #: Backtests page and the MCP tool ``run_backtest`` look for runs.
    backtest_dir: Path = Field(Path("./backtests"), examples=["./backtests"])
    #: Where ``trader data download`` keeps IB history (Parquet per symbol, bar size and whatToShow, the download
    #: plans beside it); the status commands, the data API and the MCP tool ``get_data_status`` read it.
    data_cache_dir: Path = Field(Path("./data/ib-cache"), examples=["./data/ib-cache"])

    # --- Interactive Brokers ---------------------------------------------------------------
    ib_host: str = Field("127.0.0.1", examples=["127.0.0.1"])
    ib_port: int = Field(4002, ge=1, le=65535, examples=["4002"])
    ib_client_id: int = Field(1, ge=0, le=2**31 - 1, examples=["1"])
    ib_client_id_max: int | None = Field(None, ge=0, le=2**31 - 1, examples=["9"])
    ib_account_id: str | None = Field(None, examples=["DU1234567"])
    ib_paper: bool = Field(True, examples=["true"])
    ib_base_currency: str = Field("AUD", examples=["AUD"])
    ib_exchange: str = Field("SMART", examples=["SMART"])
    ib_allow_live: bool = Field(False, examples=["false"])
    ib_commission_plan: Literal["fixed", "tiered"] = Field("fixed", examples=["tiered"])
    ib_gst: bool = Field(False, examples=["true"])
    ib_connect_timeout: float = Field(10.0, gt=0, examples=["10"])
    ib_heartbeat_interval: float = Field(10.0, gt=0, examples=["10"])
    ib_fx_max_age: float = Field(60.0, gt=0, examples=["60"])

    # --- universe --------------------------------------------------------------------------
    allowed_symbols: CsvList = Field(
        default_factory=lambda: [
            "BHP/AUD",
            "CBA/AUD",
            "CSL/AUD",
            "NAB/AUD",
            "WBC/AUD",
            "ANZ/AUD",
            "FMG/AUD",
            "WES/AUD",
            "RIO/AUD",
            "SPY/USD",
            "QQQ/USD",
            "AUD/USD",
        ],
        examples=["BHP/AUD,CBA/AUD,AUD/USD"],
    )
    allowed_instrument_types: Annotated[list[InstrumentType], NoDecode] = Field(
        default_factory=lambda: [InstrumentType.STOCK, InstrumentType.ETF, InstrumentType.FX],
        examples=["stock,etf,fx"],
    )
    symbol_overrides: Annotated[dict[str, SymbolOverride], NoDecode] = Field(
        default_factory=dict, examples=['{"BHP/USD": {"primary_exchange": "NYSE"}}']
    )

    # --- execution and risk (money in the base currency) -----------------------------------
    execute_orders: bool = Field(False, examples=["false"])
    client_order_prefix: str = Field("trd-", examples=["trd-"])
    deferred_decision_sessions: int = Field(1, ge=1, le=20, examples=["1"])
    max_order_value: Decimal = Field(Decimal("25000"), gt=0, examples=["25000"])
    max_total_exposure: Decimal = Field(Decimal("250000"), gt=0, examples=["250000"])
    max_position_value: Decimal = Field(Decimal("100000"), gt=0, examples=["100000"])
    symbol_max_position_value: Annotated[dict[str, Decimal], NoDecode] = Field(
        default_factory=dict, examples=['{"BHP/AUD": 50000}']
    )
    min_trade_size: Decimal = Field(Decimal("500"), ge=0, examples=["500"])
    min_top_of_book_notional: Decimal = Field(Decimal("1000"), ge=0, examples=["1000"])
    max_spread_pct: Decimal = Field(Decimal("1.0"), gt=0, examples=["1.0"])
    market_order_buffer_pct: Decimal = Field(Decimal("0.5"), ge=0, examples=["0.5"])
    #: Send every market order as a marketable limit (far touch plus MARKET_ORDER_BUFFER_PCT, IOC), also
    #: where the venue takes market orders (``sdk.instruments.market_orders_taken``).
    market_orders_as_limits: bool = Field(False, examples=["false"])
    max_price_off_market_pct: Decimal = Field(Decimal("10"), gt=0, examples=["10"])
    fx_spread_buffer_pct: Decimal = Field(Decimal("0.2"), ge=0, examples=["0.2"])
    daily_loss_limit: Decimal = Field(Decimal("5000"), gt=0, examples=["5000"])
    commission_overrides: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(
        default_factory=dict, examples=['{"gemini": {"maker": 0.001, "taker": 0.002}}']
    )

    # --- ledger ----------------------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///./data/trader.db", examples=["postgresql+psycopg://postgres@127.0.0.1:5432/trader"]
    )
    #: Seconds a run's (or an MCP trading session's) lease lives without a heartbeat; renewed every third of it.
    #: A crashed process's run can be resumed this long after its last heartbeat (``docs/runner.md``, Leases).
    lease_ttl: float = Field(30.0, ge=1, le=3600, examples=["30"])

    # --- ccxt venues -----------------------------------------------------------------------
    ccxt_exchange: str = Field("gemini", examples=["gemini"])
    ccxt_api_key: SecretStr | None = Field(None, examples=["<your api key>"])
    ccxt_secret: SecretStr | None = Field(None, examples=["<your api secret>"])
    ccxt_sandbox: bool = Field(
        False, examples=["true"], description="use the exchange's sandbox/testnet (paper); false: its real API (live)"
    )
    ccxt_allow_live: bool = Field(
        False, examples=["false"], description="allow orders on a ccxt exchange's real API (with the live checklist)"
    )

    # --- MCP tool server -------------------------------------------------------------------
    mcp_trading_enabled: bool = Field(False, examples=["false"])
    mcp_http_host: str = Field("127.0.0.1", examples=["127.0.0.1"])
    mcp_http_port: int = Field(8765, ge=1, le=65535, examples=["8765"])
    mcp_http_token: SecretStr | None = Field(None, examples=["<a long random string>"])
    mcp_ib_client_id: int = Field(90, ge=0, le=2**31 - 1, examples=["90"])
    kill_switch_file: Path = Field(Path("./data/KILL_SWITCH"), examples=["./data/KILL_SWITCH"])

    # --- validators ------------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, data: Any) -> Any:
        """``NAME=`` (empty or blank, as ``.env.template`` ships the optional ones) leaves an optional
        setting (default None) unset instead of failing to parse ``''`` as a number or an account."""
        if not isinstance(data, dict):
            return data
        optional = {name for name, info in cls.model_fields.items() if info.default is None}
        return {
            key: (None if isinstance(value, str) and not value.strip() and str(key).lower() in optional else value)
            for key, value in data.items()
        }

    @field_validator("active_exchange", "ccxt_exchange")
    @classmethod
    def _venue_id(cls, value: str) -> str:
        import ccxt  # deferred: ccxt is large and only needed when validating

        if value.upper() == "IB":
            return "IB"
        if value.lower() in ccxt.exchanges:
            return value.lower()
        raise ValueError(f"{value!r} is neither IB nor a ccxt exchange id (ccxt.exchanges lists them)")

    @field_validator("ib_base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in FIAT_CURRENCIES:
            raise ValueError(f"{value!r} is not a 3-letter upper-case currency IB supports")
        return value

    @field_validator("client_order_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}", value):
            raise ValueError("must be 1-16 letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("ib_account_id")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{1,2}\d{5,9}", value):
            raise ValueError("must be an IB account number: letters then digits (or empty for the first one)")
        return value

    @field_validator("allowed_symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_symbols", "symbol_overrides", "symbol_max_position_value")
    @classmethod
    def _canonical_symbols(cls, value: Any, info: ValidationInfo) -> Any:
        quote = info.data.get("ib_base_currency", "AUD")
        problems = []
        for symbol in value:
            if symbol == "*" and info.field_name == "allowed_symbols":
                continue
            try:
                parse_symbol(symbol, default_quote=quote)
            except BadSymbol:
                hint = suggest_symbol(symbol, default_quote=quote)
                problems.append(f"{symbol!r} (did you mean {hint!r}?)" if hint else repr(symbol))
        if problems:
            raise ValueError(
                f"not canonical BASE/QUOTE symbols: {', '.join(problems)}; "
                "canonical examples: BHP/AUD (ASX stock), AAPL/USD (US stock), AUD/USD (FX)"
            )
        return value

    @field_validator("allowed_instrument_types", mode="before")
    @classmethod
    def _split_types(cls, value: Any) -> Any:
        value = _split_csv(value)
        return [v.lower() for v in value] if isinstance(value, list) else value

    @field_validator("symbol_overrides", "symbol_max_position_value", "commission_overrides", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        return _parse_json_object(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.ib_client_id_max is not None and self.ib_client_id_max < self.ib_client_id:
            raise ValueError("IB_CLIENT_ID_MAX must be >= IB_CLIENT_ID (the lease range is inclusive)")
        return self

    # --- derived --------------------------------------------------------------------------
    @property
    def base_currency(self) -> str:
        """The account's base currency; every limit and every equity figure is in it."""
        return self.ib_base_currency

    @property
    def all_symbols_allowed(self) -> bool:
        """``ALLOWED_SYMBOLS=*`` lifts the symbol allow-list (instrument types still apply)."""
        return "*" in self.allowed_symbols

    @property
    def masked_account(self) -> str | None:
        """The account number masked for display (``DU****567``)."""
        return mask_account(self.ib_account_id)

    def check_mcp_client_id(self) -> None:
        """Refuse an ``MCP_IB_CLIENT_ID`` inside the runner's IB client id range.

        The runner leases ids ``IB_CLIENT_ID`` .. ``IB_CLIENT_ID_MAX`` (just ``IB_CLIENT_ID`` when no maximum is
        set; :class:`sdk.venues.ib.connection.IBConnection`). IB allows one session per client id, so a server on
        one of them would take a runner's session or be refused by IB, at random. Only checked for IB.

        Raises:
            SettingsError: the id is inside the range; the message names both settings and an id that fits.
        """
        if self.active_exchange != "IB":
            return
        first = self.ib_client_id
        last = self.ib_client_id_max if self.ib_client_id_max is not None else first
        mine = self.mcp_ib_client_id
        if not first <= mine <= last:
            return
        example = last + 1 if last < 2**31 - 1 else first - 1
        span = f"IB_CLIENT_ID..IB_CLIENT_ID_MAX = {first}..{last}" if first != last else f"IB_CLIENT_ID = {first}"
        raise SettingsError(
            f"MCP_IB_CLIENT_ID={mine} is inside the runner's IB client ids ({span}): the MCP server and a runner "
            "would fight over one IB session; set MCP_IB_CLIENT_ID outside that range "
            f"(e.g. MCP_IB_CLIENT_ID={example}) or move IB_CLIENT_ID/IB_CLIENT_ID_MAX"
        )

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (mask_account(value) if name == "ib_account_id" else value)


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _location(loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None]:
    """The variable and the path inside its value, e.g. ``SYMBOL_OVERRIDES['BHP/USD'].exchnage``, and the
    model the last step is an attribute of (None when it is not one)."""
    info = Settings.model_fields.get(str(loc[0]))
    annotation: Any = info.annotation if info is not None else None
    text, model = str(loc[0]).upper(), None
    for part in loc[1:]:
        annotation, model = _unwrap(annotation), None
        origin = get_origin(annotation)
        if part == "[key]":
            text += " (its key)"
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            text += f".{part}"
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
        elif origin is dict:
            text += f"[{part!r}]"
            annotation = get_args(annotation)[1]
        elif origin in (list, tuple, set, frozenset):
            text += f"[{part}]"
            args = get_args(annotation)
            annotation = args[0] if args else None
        else:
            text += f"[{part!r}]"
            annotation = None
    return text, model


def _describe(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message  # a cross-field check; its message names its variables
    field = error["loc"][0]
    env = str(field).upper()
    where, model = _location(tuple(error["loc"]))
    info = Settings.model_fields.get(str(field))
    secret = info is not None and "SecretStr" in str(info.annotation)
    given = error.get("input")
    shown = "<hidden>" if secret else repr(given)
    hint = ""
    if model is not None and error.get("type") == "extra_forbidden":
        allowed = list(model.model_fields)
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        hint = f"; allowed keys: {', '.join(allowed)}" + (f" (did you mean {close[0]!r}?)" if close else "")
    example = f" Example: {env}={info.examples[0]}" if info is not None and info.examples else ""
    return f"{where}: {message} (got {shown}){hint}.{example}"


def load_settings(env_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment, then ``env_file`` if given (the environment wins).

    Args:
        env_file: a ``.env`` file to read as well; a missing file is ignored.
        overrides: field values that win over both (used by the CLI and tests).

    Returns:
        The validated, frozen :class:`Settings`; its secrets are registered for log redaction.

    Raises:
        SettingsError: one line per bad variable: what is wrong and an example of a right value.
    """
    try:
        settings = Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()]
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None
    for secret in (settings.ccxt_api_key, settings.ccxt_secret, settings.mcp_http_token):
        if secret is not None:
            register_secret(secret.get_secret_value())
    if settings.ib_account_id and not ACCOUNT_PATTERN.fullmatch(settings.ib_account_id):
        # Account numbers of IB's usual shapes are masked by pattern (DU****567); registering them as
        # secrets too would turn a longer one that contains them (U1234567 inside DU1234567) into "D***".
        register_secret(settings.ib_account_id)
    return settings
