"""The catalog of ../shared/data: instruments, spans, sources, merge rule, errors and the start-up summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from sdk.data import Catalog, load_catalog
from sdk.errors import BadSymbol
from sdk.symbols import InstrumentType

pytestmark = pytest.mark.shared_data


def test_every_market_data_file_becomes_instruments(catalog: Catalog, pinned_data: Path) -> None:
    assert not catalog.synthetic and catalog.data_dir == pinned_data
    used = {name for info in catalog.instruments.values() for name in info.sources}
    csv_files = {p.relative_to(pinned_data).as_posix() for p in pinned_data.rglob("*.csv")}
    assert used == csv_files, "every CSV in the data directory feeds the catalog"
    assert set(catalog.skipped) == {"ib_captures/ib_1min_bars_2021-01-05.jsonl.gz"}
    assert "do not name their contract" in catalog.skipped["ib_captures/ib_1min_bars_2021-01-05.jsonl.gz"]
    # 9 ASX stocks, XJO, AUD/USD, VIX, VIX3M, and the S&P 500 file's 506 tickers (SPY among them),
    # plus QQQ/IWM/TSLA from the 1-minute IB export.
    assert len(catalog.instruments) == 522


@pytest.mark.parametrize(
    ("symbol", "kind", "sec_type", "ib_symbol", "exchange", "market", "bar_sizes", "daily_only"),
    [
        ("BHP/AUD", InstrumentType.STOCK, "STK", "BHP", "ASX", "ASX", ("1D",), True),
        ("XJO/AUD", InstrumentType.INDEX, "IND", "XJO", "ASX", "ASX", ("1D",), True),
        ("SPY/USD", InstrumentType.ETF, "STK", "SPY", "ARCA", "NYSE", ("1min", "1D"), False),
        ("QQQ/USD", InstrumentType.ETF, "STK", "QQQ", "NASDAQ", "NYSE", ("1min", "1D"), False),
        ("AUD/USD", InstrumentType.FX, "CASH", "AUD", "IDEALPRO", "FX", ("15min", "1D"), False),
        ("VIX/USD", InstrumentType.INDEX, "IND", "VIX", "CBOE", "NYSE", ("5min", "1D"), False),
        ("BRK.B/USD", InstrumentType.STOCK, "STK", "BRK B", "NYSE", "NYSE", ("1D",), True),
    ],
)
def test_instrument_facts(
    catalog: Catalog,
    symbol: str,
    kind: InstrumentType,
    sec_type: str,
    ib_symbol: str,
    exchange: str,
    market: str,
    bar_sizes: tuple[str, ...],
    daily_only: bool,
) -> None:
    info = catalog.instruments[symbol]
    assert (info.instrument_type, info.sec_type, info.ib_symbol, info.exchange, info.market) == (
        kind, sec_type, ib_symbol, exchange, market
    )  # fmt: skip
    assert info.bar_sizes == bar_sizes and info.daily_only is daily_only
    assert info.currency == symbol.split("/")[1]
    assert info.first.tzinfo is not None and info.first < info.last


def test_spans_merge_sources(catalog: Catalog) -> None:
    bhp = catalog.instruments["BHP/AUD"]
    assert bhp.sources == ("asx_daily/BHP.AX.csv", "asx_daily_long/BHP.AX.csv")
    assert bhp.adjusted_sources == ("asx_daily/BHP.AX.csv",), "the yfinance history() export is dividend-adjusted"
    assert bhp.first == datetime(2017, 1, 2, 23, tzinfo=UTC)  # 2017-01-03 10:00 Sydney
    assert bhp.last == datetime(2026, 1, 1, 23, tzinfo=UTC)  # 2026-01-02 10:00 Sydney
    spy = catalog.native_spans("SPY/USD")
    assert list(spy) == ["1min", "1D"]
    assert spy["1min"][0] == datetime(2019, 3, 25, 13, 30, tzinfo=UTC)
    assert spy["1min"][1] == datetime(2025, 7, 31, 0, 0, tzinfo=UTC)  # the file's odd 20:00 New York bar
    daily = catalog.bars("BHP/AUD", "1D")
    assert len(daily) == 508 + 1335, "the two BHP files do not overlap: a union"


def test_overlapping_daily_sources_keep_one_bar_per_session(catalog: Catalog) -> None:
    vix = catalog.native("VIX/USD", "1D")
    assert vix.index.is_unique
    # CBOE's own file outranks Yahoo's ^VIX export where both have the day.
    assert set(vix.loc["2000-01-01":"2025-11-25", "authority"]) == {2}
    assert set(vix.loc["2025-11-26":, "authority"]) == {1}, "after the CBOE file ends, Yahoo's bars"
    audusd = catalog.native("AUD/USD", "1D")
    assert audusd.index.is_unique and len(audusd) >= 5143


def test_unknown_symbol_names_close_matches(catalog: Catalog) -> None:
    with pytest.raises(BadSymbol, match=r"no market data for 'BHP\.AX'.*close matches: BHP/AUD"):
        catalog.bars("BHP.AX", "1D")
    with pytest.raises(BadSymbol, match=r"close matches: .*CBA/AUD"):
        catalog.info("CBA/AU")
    with pytest.raises(BadSymbol, match="`trader data list` shows the 522 instruments"):
        catalog.info("NOPE/XYZ")


def test_summary_says_what_is_daily_only_and_what_was_skipped(catalog: Catalog) -> None:
    lines = catalog.summary()
    assert lines[0].startswith("market data: 522 instruments from 30 files in ")
    assert "daily-only instruments (514 of 522)" in lines[1] and "open/high/low/close" in lines[1]
    assert any(line.startswith("skipped ib_captures/ib_1min_bars_2021-01-05.jsonl.gz") for line in lines)
    assert not any("SYNTHETIC" in line for line in lines)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"does not exist.*MARKET_DATA_DIR"):
        load_catalog(tmp_path / "absent")


def test_bars_slice_is_half_open(catalog: Catalog) -> None:
    start = pd.Timestamp("2019-03-25T13:30Z")
    bars = catalog.bars("AAPL/USD", "1 min", start, start + pd.Timedelta(minutes=3))
    assert list(bars.index) == [start + pd.Timedelta(minutes=i) for i in range(3)]
    assert set(bars.columns) == {"open", "high", "low", "close", "volume", "wap", "bar_count"}


def _linked(tmp_path: Path, shared_data: Path, *rels: str) -> Path:
    """A data directory holding links to just ``rels`` of ../shared/data."""
    for rel in rels:
        link = tmp_path / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared_data / rel)
    return tmp_path


SPY_DIVADJ_5MIN = "intraday_vol/SPY_5min_tradingview_BATS_divadj_2025-06-16_2026-06-29.csv.gz"


def test_an_adjusted_series_overlapping_a_raw_one_is_kept_apart(tmp_path: Path, shared_data: Path) -> None:
    data = _linked(tmp_path, shared_data, SPY_DIVADJ_5MIN, "intraday/SPY_1min_2025-07.csv")
    catalog = load_catalog(data)
    spy = catalog.instruments["SPY/USD"]
    assert spy.sources == ("intraday/SPY_1min_2025-07.csv",) and spy.bar_sizes == ("1min",)
    assert "overlap the raw series of intraday/SPY_1min_2025-07.csv" in catalog.kept_apart[SPY_DIVADJ_5MIN]
    assert any(line.startswith(f"kept apart {SPY_DIVADJ_5MIN}") for line in catalog.summary())
    # 2025-07-15 15:45 New York is the raw print (623.468 in the minute file), never the back-adjusted 616.815.
    bars = catalog.bars("SPY/USD", "1 min", "2025-07-15 19:40Z", "2025-07-15 19:50Z")
    assert bars.loc["2025-07-15 19:45Z", "close"] == pytest.approx(623.468)


def test_price_sources_name_each_files_basis_and_those_kept_apart(tmp_path: Path, shared_data: Path) -> None:
    raw, split_adjusted = (
        "corporate_actions/NVDA_daily_alphavantage_unadjusted_1999-11-01_2024-06-07.csv.gz",
        "corporate_actions/NVDA_daily_yfinance_multiindex_splitadj_to_2025-06-27.csv.gz",
    )
    catalog = load_catalog(_linked(tmp_path, shared_data, raw, split_adjusted, SPY_DIVADJ_5MIN))
    nvda = {p.rel: p for p in catalog.price_sources("NVDA/USD")}
    assert (nvda[raw].basis, nvda[raw].merged) == ("raw", True)
    assert (nvda[split_adjusted].basis, nvda[split_adjusted].merged) == ("split_adjusted", False)
    assert nvda[split_adjusted].overlaps == raw
    assert nvda[split_adjusted].last == datetime(2025, 6, 27, 13, 30, tzinfo=UTC)
    (spy,) = catalog.price_sources("SPY/USD")
    assert (spy.rel, spy.basis, spy.merged) == (SPY_DIVADJ_5MIN, "total_return", True)


def test_files_written_newest_first_span_their_whole_range(tmp_path: Path, shared_data: Path) -> None:
    """Alpha Vantage writes the newest row first; the span is that of the whole file, not of its first rows."""
    adjusted = "corporate_actions/TSLA_daily_adjusted_alphavantage_to_2020-12-04.csv.gz"
    unadjusted = "corporate_actions/TSLA_daily_alphavantage_unadjusted_to_2025-03-14.csv.gz"  # `1. open` headers
    catalog = load_catalog(_linked(tmp_path, shared_data, adjusted, unadjusted))
    assert not catalog.skipped
    spans = {p.rel: (p.first, p.last) for p in catalog.price_sources("TSLA/USD")}
    assert spans[adjusted] == (datetime(2010, 6, 29, 13, 30, tzinfo=UTC), datetime(2020, 12, 4, 14, 30, tzinfo=UTC))
    assert spans[unadjusted][1] == datetime(2025, 3, 14, 13, 30, tzinfo=UTC)
    bars = catalog.bars("TSLA/USD", "1 day")
    assert bars.index[-1] == spans[unadjusted][1] and bars.loc["2022-08-25 13:30Z", "close"] == pytest.approx(296.07)


def test_an_adjusted_series_alone_is_served_and_named_adjusted(tmp_path: Path, shared_data: Path) -> None:
    catalog = load_catalog(_linked(tmp_path, shared_data, SPY_DIVADJ_5MIN))
    spy = catalog.instruments["SPY/USD"]
    assert spy.bar_sizes == ("5min",) and spy.adjusted_sources == (SPY_DIVADJ_5MIN,)
    assert not catalog.kept_apart


@pytest.mark.parametrize(
    ("rel", "symbol", "ib_symbol"),
    [
        ("intraday_vol/GSPC_1min_yahoo_2022-03-14_2022-04-18.csv.gz", "SPX/USD", "SPX"),
        ("intraday_vol/VIX1D_5min_tradingview_2025-02-18_2026-02-13.csv.gz", "VIX1D/USD", "VIX1D"),
    ],
)
def test_index_files_are_typed_as_indexes(
    tmp_path: Path, shared_data: Path, rel: str, symbol: str, ib_symbol: str
) -> None:
    info = load_catalog(_linked(tmp_path, shared_data, rel)).instruments[symbol]
    assert (info.instrument_type, info.sec_type, info.ib_symbol, info.exchange) == (
        InstrumentType.INDEX, "IND", ib_symbol, "CBOE"
    )  # fmt: skip
