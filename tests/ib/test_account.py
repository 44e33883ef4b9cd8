"""Account through the offline gateway: balances, positions, equity and FX in the base currency (AUD)."""

from __future__ import annotations

from typing import Any

import pytest
from ccxt.test.exchange.base.test_balance import test_balance as check_balance
from ccxt.test.exchange.base.test_position import test_position as check_position
from ib_support import NYSE_OPEN_2024  # type: ignore[import-not-found]
from support.waiting import eventually, round_trip

from sdk.clock import SimulatedClock
from sdk.errors import BadSymbol, ExchangeError, FxRateUnavailable
from sdk.venues.ib.account import equity_from_holdings
from sdk.venues.ib.trader import IBTrader


def now_ms(gw: Any) -> int:
    return int(gw.clock.timestamp() * 1000) + 1


def check_balance_allowing_debt(exchange: Any, balance: dict[str, Any]) -> None:
    """ccxt's balance validator, except for the sign of a borrowed currency.

    ccxt's ``test_balance`` asserts ``total >= 0`` and ``free >= 0`` for every currency; an IB cash
    balance is negative when the currency is borrowed on margin (IB ``CashBalance``), and the payload
    keeps it negative (a loan shown as 0 would hide it). Those currencies are validated here instead:
    ``free + used == total``, nothing reserved. Every other currency goes through ccxt's validator.
    """
    debts = {code for code, total in balance["total"].items() if total < 0}
    rest = {key: value for key, value in balance.items() if key not in debts}
    for part in ("free", "used", "total"):
        rest[part] = {code: v for code, v in balance[part].items() if code not in debts}
    check_balance(exchange, {}, "fetchBalance", rest)
    for code in debts:
        entry = balance[code]
        assert entry["used"] == 0.0 and entry["free"] == entry["total"] == balance["total"][code] < 0
        assert balance["free"][code] + balance["used"][code] == balance["total"][code]


class AheadOf:
    """The trader's time: the gateway's clock plus an offset the test moves (the gateway's stays put)."""

    speed = 0.0

    def __init__(self, gateway_clock: Any) -> None:
        self.gateway_clock = gateway_clock
        self.offset = 0.0

    def timestamp(self) -> float:
        return float(self.gateway_clock.timestamp()) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


async def test_balance_per_currency(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    balance = await trader.fetch_balance()
    check_balance(ccxt_for(trader), {}, "fetchBalance", balance)
    assert balance["total"] == {"AUD": 1_000_000.0, "USD": 100_000.0} == gateway.state()["cash"]
    assert balance["AUD"] == {"free": 1_000_000.0, "used": 0.0, "total": 1_000_000.0}
    assert balance["info"]["account"] == "DU****001", "account numbers are masked in payloads"
    assert "DU0000001" not in repr(balance)


async def test_open_buy_orders_reserve_cash(trader: IBTrader, ccxt_for: Any) -> None:
    ticker = await trader.fetch_ticker("SPY/USD")
    price = round(ticker["bid"] * 0.9, 2)
    await trader.create_order("SPY/USD", "limit", "buy", 10, price)
    balance = await trader.fetch_balance()
    check_balance(ccxt_for(trader), {}, "fetchBalance", balance)
    assert balance["USD"]["used"] == pytest.approx(10 * price)
    assert balance["USD"]["free"] == pytest.approx(100_000 - 10 * price)


async def test_equity_is_net_liquidation_in_aud(trader: IBTrader, gateway: Any) -> None:
    equity = await trader.get_equity()
    snapshot = gateway.account_snapshot()
    rate = float(gateway.market.fx_rate("USD", "AUD", gateway.clock.timestamp()))
    assert equity == pytest.approx(1_000_000 + 100_000 * rate, rel=1e-6)
    summary = await trader.fetch_account_summary()
    assert summary["NetLiquidation"] == pytest.approx(equity)
    assert summary["AvailableFunds"] > 0 and "BuyingPower" in summary
    assert snapshot is not None and summary["TotalCashValue"] == pytest.approx(equity)


async def test_fx_rate_inverts_idealpro_and_never_guesses(trader: IBTrader, gateway: Any) -> None:
    usd_aud = await trader.fetch_fx_rate("USD", "AUD")
    aud_usd = await trader.fetch_fx_rate("AUD", "USD")
    assert usd_aud == pytest.approx(1 / aud_usd)
    assert usd_aud == pytest.approx(float(gateway.market.fx_rate("USD", "AUD", gateway.clock.timestamp())), rel=1e-3)
    assert trader.fx.cached("USD", "AUD").source == "AUD/USD", "IDEALPRO lists AUD.USD, not USD.AUD"
    assert await trader.fetch_fx_rate("AUD", "AUD") == 1.0
    with pytest.raises(FxRateUnavailable, match="no FX quote to convert SEK to AUD"):
        await trader.fetch_fx_rate("SEK", "AUD")
    with pytest.raises(BadSymbol):
        await trader.fetch_fx_rate("XYZ", "AUD")


async def test_stale_fx_quote_is_refreshed(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway()
    trader = await make_trader(gw, ib_fx_max_age=60)
    first = await trader.fetch_fx_rate("USD", "AUD")
    stamp = trader.fx.cached("USD", "AUD").at
    gw.clock.advance(30)
    assert await trader.fetch_fx_rate("USD", "AUD") == first and trader.fx.cached("USD", "AUD").at == stamp
    gw.clock.advance(3600)
    await round_trip(trader.connection.ib)  # the stream has followed the market
    await trader.fetch_fx_rate("USD", "AUD")
    assert trader.fx.cached("USD", "AUD").at >= stamp + 3600, "older than IB_FX_MAX_AGE: asked again"


async def test_a_quiet_fx_stream_is_never_served_as_a_fresh_rate(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway()
    time = AheadOf(gw.clock)
    trader = await make_trader(gw, ib_fx_max_age=60, clock=SimulatedClock(time), heartbeat_interval=30)
    await trader.fetch_fx_rate("USD", "AUD")
    quote = trader.fx.cached("USD", "AUD")
    assert quote.origin == "stream" and quote.at <= trader.clock.now()
    time.advance(120)  # the trader's clock moves on; the gateway's does not, so its stream sends nothing
    gw.set_faults("delay_ms=3000")  # and IB does not answer a snapshot within the quote timeout
    with pytest.raises(FxRateUnavailable, match="no FX quote to convert USD to AUD"):
        await trader.fetch_fx_rate("USD", "AUD")
    assert trader.fx.cached("USD", "AUD").at == quote.at, "the old quote was not stamped as new"


async def test_a_quiet_fx_stream_is_refreshed_by_a_snapshot(make_gateway: Any, make_trader: Any) -> None:
    gw = await make_gateway()
    time = AheadOf(gw.clock)
    trader = await make_trader(gw, ib_fx_max_age=60, clock=SimulatedClock(time))
    first = await trader.fetch_fx_rate("USD", "AUD")
    time.advance(120)  # the stream has been silent for two minutes on the trader's clock
    assert await trader.fetch_fx_rate("USD", "AUD") == pytest.approx(first), "the gateway's quote has not moved"
    quote = trader.fx.cached("USD", "AUD")
    assert quote.origin == "snapshot" and quote.at == pytest.approx(trader.clock.now(), abs=1)
    assert quote.at >= trader.clock.now() - 60


async def test_negative_cash_is_a_loan_and_stays_negative(make_gateway: Any, make_trader: Any, ccxt_for: Any) -> None:
    gateway = await make_gateway(start=NYSE_OPEN_2024)
    trader = await make_trader(gateway)
    ticker = await trader.fetch_ticker("SPY/USD")
    await trader.create_order("SPY/USD", "limit", "buy", 300, round(ticker["ask"] + 0.05, 2))  # more than the USD
    await eventually(lambda: gateway.state()["cash"]["USD"] < 0, what="the fill on margin")
    await eventually(lambda: trader.connection.ib.accountValues() and _cash(trader, "USD") < 0, what="IB's push")
    balance = await trader.fetch_balance()
    assert balance["total"]["USD"] < 0 and balance["total"]["USD"] == pytest.approx(gateway.state()["cash"]["USD"])
    check_balance_allowing_debt(ccxt_for(trader), balance)


def _cash(trader: IBTrader, currency: str) -> float:
    return sum(amount for amount, code in trader.account._value("CashBalance") if code == currency)


async def test_equity_without_net_liquidation_never_values_a_position_at_zero(trader: IBTrader, gateway: Any) -> None:
    bhp = await trader.fetch_ticker("BHP/AUD")
    await trader.create_order("BHP/AUD", "limit", "buy", 300, round(bhp["ask"] + 0.05, 2))
    await eventually(lambda: len(gateway.state()["positions"]) == 1, what="the position")
    positions = await trader.fetch_positions()
    cash = trader.account._value("CashBalance")
    equity = await equity_from_holdings(cash, positions, trader.account._to_base)
    (held,) = positions
    cash_aud = sum([await trader.account._to_base(a, c) for a, c in cash])
    assert equity == pytest.approx(cash_aud + held["notional"]), "cash plus the marked position"
    unmarked = {**held, "markPrice": None, "notional": None}
    with pytest.raises(ExchangeError, match="BHP/AUD has no mark price"):
        await equity_from_holdings(cash, [unmarked], trader.account._to_base)


async def test_long_and_short_positions(trader: IBTrader, gateway: Any, ccxt_for: Any) -> None:
    bhp = await trader.fetch_ticker("BHP/AUD")
    await trader.create_order("BHP/AUD", "limit", "buy", 300, round(bhp["ask"] + 0.05, 2))
    fx = await trader.fetch_ticker("AUD/USD")
    await trader.create_order("AUD/USD", "limit", "sell", 25_000, round(fx["bid"] - 0.001, 4))
    await eventually(lambda: len(gateway.state()["positions"]) == 2, what="two positions")
    gateway.clock.advance(60)
    await round_trip(trader.connection.ib)  # the step's marks are in
    positions = {p["symbol"]: p for p in await trader.fetch_positions()}
    exchange = ccxt_for(trader)
    for symbol, position in positions.items():
        check_position(exchange, {}, "fetchPositions", position, symbol, now_ms(gateway))
    long, short = positions["BHP/AUD"], positions["AUD/USD"]
    assert (long["side"], long["contracts"], long["info"]["position"]) == ("long", 300, 300)
    assert (short["side"], short["contracts"], short["info"]["position"]) == ("short", 25_000, -25_000)
    held = {p["symbol"]: p for p in gateway.state()["positions"]}
    assert long["entryPrice"] == pytest.approx(held["BHP/AUD"]["avgCost"])
    assert long["notional"] == pytest.approx(300 * long["markPrice"]) and long["info"]["currency"] == "AUD"
    assert short["notional"] == pytest.approx(25_000 * short["markPrice"]) and short["info"]["currency"] == "USD"
    expected_short_pnl = (short["markPrice"] - short["entryPrice"]) * -25_000
    assert short["unrealizedPnl"] == pytest.approx(expected_short_pnl, abs=0.5)
    assert [p["symbol"] for p in await trader.fetch_positions(["BHP/AUD"])] == ["BHP/AUD"]
