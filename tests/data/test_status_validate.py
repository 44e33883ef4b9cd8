"""`trader data validate` and ``sdk.services.symbol_check`` on the offline gateway over a real socket, with the
real Nasdaq universe file of ../shared/data (most of its listings are unknown to the gateway: they must fail one
by one, never stopping the rest)."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sdk.cli.data_validate import IBSymbolLookup, read_symbol_file, register
from sdk.services.symbol_check import canonical_symbols, check_symbols
from sdk.settings import load_settings
from sdk.venues.ib.trader import IBTrader

pytestmark = pytest.mark.shared_data

runner = CliRunner()
UNIVERSE = "universe/nasdaq_screener_snapshot_2024-05-08.csv.gz"


def _data_app() -> typer.Typer:
    data_app = typer.Typer(name="data", no_args_is_help=True)
    data_app.callback()(lambda: None)
    register(data_app)
    return data_app


def test_read_symbol_file_takes_a_csv_symbol_column_or_lines(shared_data: Path, tmp_path: Path) -> None:
    universe = read_symbol_file(shared_data / UNIVERSE)
    assert len(universe) == 7090 and universe[:3] == ["A", "AA", "AACG"]
    lines = tmp_path / "mine.txt"
    lines.write_text("SPY/USD\n\n# a comment\nBHP/AUD  # ASX\n")
    assert read_symbol_file(lines) == ["SPY/USD", "BHP/AUD"]
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"ticker,name\nA,B\n"))
    with pytest.raises(ValueError, match="without a Symbol column"):
        read_symbol_file(bad)
    assert canonical_symbols([" aapl ", "AAPL/USD", "", "bhp/aud"], default_quote="usd") == ["AAPL/USD", "BHP/AUD"]


async def test_hundreds_of_symbols_in_one_run_failures_recorded_one_by_one(gateway: Any, shared_data: Path) -> None:
    symbols = canonical_symbols(read_symbol_file(shared_data / UNIVERSE)[:300], default_quote="USD")
    symbols += ["SPY/USD", "BHP/AUD", "AUD/USD", "NOSUCH/AUD", "bad symbol"]  # as given: failures of their own
    trader = IBTrader(load_settings(ib_host="127.0.0.1", ib_port=gateway.port, ib_client_id=7))
    seen: list[str] = []
    async with trader:
        results = await check_symbols(symbols, IBSymbolLookup(trader), concurrency=16, head=False,
                                      on_result=lambda r: seen.append(r.symbol))  # fmt: skip
    assert [r.symbol for r in results] == symbols and sorted(seen) == sorted(symbols)
    by = {r.symbol: r for r in results}
    spy = by["SPY/USD"]
    assert (spy.ok, spy.sec_type, spy.instrument_type, spy.currency, spy.exchange) == (
        True,
        "STK",
        "etf",
        "USD",
        "ARCA",
    )
    assert spy.con_id and spy.time_zone == "US/Eastern" and spy.liquid_hours and spy.trading_hours
    assert by["BHP/AUD"].exchange == "ASX" and by["AUD/USD"].sec_type == "CASH"
    assert by["AAPL/USD"].ok and by["AAPL/USD"].exchange in {"NASDAQ", "ISLAND"}
    assert not by["NOSUCH/AUD"].ok and by["NOSUCH/AUD"].error_type == "BadSymbol"
    assert "IB has no contract for NOSUCH/AUD" in (by["NOSUCH/AUD"].error or "")
    assert not by["bad symbol"].ok and "not a canonical symbol" in (by["bad symbol"].error or "")
    ok = [r for r in results if r.ok]
    assert 10 <= len(ok) < len(results) - 100  # the gateway knows the S&P 500 listings among them, not the rest
    assert all(r.con_id and r.exchange and r.currency == "USD" for r in ok if r.symbol.endswith("/USD"))


async def test_the_command_reports_head_timestamps_and_exit_status(
    gateway: Any, catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IB_HOST", "127.0.0.1")
    monkeypatch.setenv("IB_PORT", str(gateway.port))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")  # the CLI's log handler must not outlive CliRunner's stream
    args = ["validate", "SPY/USD", "BHP/AUD", "--json", "--client-id", "11"]
    result = await asyncio.to_thread(runner.invoke, _data_app(), args)
    assert result.exit_code == 0, result.output
    body = {r["symbol"]: r for r in json.loads(result.stdout)}
    spy_first = catalog.instruments["SPY/USD"].first  # the first bar of the gateway's data
    assert body["SPY/USD"]["head_error"] is None
    assert body["SPY/USD"]["head_timestamp"] == int(spy_first.timestamp() * 1000), body["SPY/USD"]["head"]
    assert body["BHP/AUD"]["head"] is not None
    result = await asyncio.to_thread(runner.invoke, _data_app(), ["validate", "SPY/USD", "ZZZQ/USD", "--no-head"])
    assert result.exit_code == 1
    assert "2 symbols, 1 failed" in result.output and "ZZZQ/USD: BadSymbol: IB has no contract" in result.output


def test_bad_input_and_no_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(_data_app(), ["validate"])
    assert result.exit_code == 2 and "no symbols" in result.output
    result = runner.invoke(_data_app(), ["validate", "--file", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "missing.txt" in result.output
    monkeypatch.setenv("IB_PORT", "1")  # nothing listens there
    monkeypatch.setenv("IB_CONNECT_TIMEOUT", "2")
    result = runner.invoke(_data_app(), ["validate", "SPY/USD"])
    assert result.exit_code == 2 and "no IB session at 127.0.0.1:1" in result.output
