"""Format detection from content: a user's own exports load, bad files are skipped with a clear warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from sdk.data import load_catalog, parse_bar_size
from sdk.data.formats import UnsupportedFile, detect, infer_bar_size, infer_timezone, sniff
from sdk.data.loaders import load_file

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-03-04,45.10,45.60,44.90,45.50,40.00,1000
2024-03-05,45.50,46.00,45.20,45.80,40.30,2000
2024-03-06,45.80,45.90,45.00,45.10,39.70,1500
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_user_yahoo_export_with_any_name_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "CBA.AX_my_download.csv", YAHOO)
    loaded = load_file(path)
    assert loaded.format.name == "yahoo_csv"
    frame = loaded.frames["CBA/AUD"]
    assert list(frame["close"]) == [45.5, 45.8, 45.1], "raw Close, not Adj Close"
    assert frame.index[0] == pd.Timestamp("2024-03-04T10:00", tz="Australia/Sydney")


def test_columns_matched_case_insensitively_in_any_order(tmp_path: Path) -> None:
    text = "date,close,OPEN,low,High,volume\n2024-03-04,101.5,100,99.5,102,10\n2024-03-05,103,101.5,101,104,20\n"
    frame = load_file(write(tmp_path / "AAPL.csv", text)).frames["AAPL/USD"]
    assert frame.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [100, 102, 99.5, 101.5, 10]
    assert frame.index[0] == pd.Timestamp("2024-03-04T09:30", tz="America/New_York")


def test_single_ticker_ib_export_takes_the_ticker_from_the_file_name(tmp_path: Path) -> None:
    text = "\ufeff,date,open,high,low,close,volume,barCount,average\n" + "".join(
        f"{i},3/25/2019 {8 + (30 + i) // 60}:{(30 + i) % 60:02d},10,11,9,10.5,7,3,10.2\n" for i in range(390)
    )
    loaded = load_file(write(tmp_path / "MSFT_1min.csv", text))
    assert loaded.format.name == "ib_export" and loaded.timezone == "America/Chicago"
    frame = loaded.frames["MSFT/USD"]
    assert len(frame) == 390 and frame["volume"].iloc[0] == 700.0
    assert frame.index[0] == pd.Timestamp("2019-03-25T09:30", tz="America/New_York")


def test_unrecognised_file_is_rejected_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFile, match=r"no close/high/low/open/time column.*expected a time column"):
        detect(sniff(write(tmp_path / "notes.csv", "a,b,c\n1,2,3\n")))
    with pytest.raises(UnsupportedFile, match="binary"):
        sniff(write(tmp_path / "blob.csv", b"\x00\x01\x02" * 10))
    with pytest.raises(UnsupportedFile, match="empty"):
        sniff(write(tmp_path / "EMPTY.csv", ""))
    with pytest.raises(UnsupportedFile, match="names the instrument"):
        load_file(write(tmp_path / "export.csv", YAHOO))


def test_catalog_skips_bad_files_with_a_warning_and_loads_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "asx" / "BHP.AX.csv", YAHOO)
    write(tmp_path / "asx" / "broken.csv", "a,b,c\n1,2,3\n")
    write(tmp_path / "asx" / "ZZZ.AX.csv", "Date,Open,High,Low,Close,Volume\n2024-03-04,not,a,number,x,1\n")
    write(tmp_path / "README.md", "not data")
    write(tmp_path / ".hidden" / "X.csv", "garbage")
    with caplog.at_level(logging.WARNING, logger="sdk.data"):
        catalog = load_catalog(tmp_path)
    assert not catalog.synthetic
    assert list(catalog.instruments) == ["BHP/AUD"]
    assert set(catalog.skipped) == {"asx/broken.csv", "asx/ZZZ.AX.csv"}
    assert "expected a time column" in catalog.skipped["asx/broken.csv"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("asx/broken.csv" in m for m in warned) and any("asx/ZZZ.AX.csv" in m for m in warned)
    assert len(catalog.bars("BHP/AUD", "1D")) == 3


def test_listing_outside_asx_us_fx_is_left_out_of_a_multi_ticker_file(tmp_path: Path) -> None:
    text = ",date,open,high,low,close,volume,barCount,average,ticker\n" + "".join(
        f"{i},2019-03-2{1 + i % 2},10,11,9,10.5,7,3,10.2,{t}\n" for i, t in enumerate(["SPY", "SPY", "VOD.L", "VOD.L"])
    )
    loaded = load_file(write(tmp_path / "mixed.csv", text))
    assert list(loaded.frames) == ["SPY/USD"]
    assert "VOD.L" in loaded.skipped


def test_infer_timezone_prefers_the_zone_that_puts_volume_in_regular_hours() -> None:
    day = pd.date_range("2019-03-25 08:30", periods=390, freq="1min")  # an RTH day written by a Chicago TWS
    assert infer_timezone(day, "NYSE") == "America/Chicago"
    full = pd.date_range("2025-07-01 04:00", "2025-07-01 19:59", freq="1min")  # pre/post market, New York
    volume = [5_000.0 if 570 <= t.hour * 60 + t.minute < 960 else 100.0 for t in full]
    assert infer_timezone(full, "NYSE", volume=pd.Series(volume).to_numpy()) == "America/New_York"


def test_infer_bar_size_needs_an_ib_bar_size() -> None:
    times = pd.date_range("2024-01-02 10:00", periods=20, freq="5min", tz="UTC").delete([3, 7])
    assert infer_bar_size(times).label == "5min", "gaps do not change the most common spacing"
    with pytest.raises(UnsupportedFile, match="420 s apart"):
        infer_bar_size(pd.date_range("2024-01-02", periods=5, freq="7min", tz="UTC"))


@pytest.mark.parametrize(
    ("text", "label"),
    [("1 min", "1min"), ("5 mins", "5min"), ("1 hour", "1h"), ("8 hours", "8h"), ("1 day", "1D"), ("1D", "1D"),
     ("1 week", "1W"), ("1 month", "1M"), ("1M", "1M"), ("30 secs", "30s"), ("15min", "15min")],
)  # fmt: skip
def test_parse_bar_size_accepts_ib_and_label_spellings(text: str, label: str) -> None:
    assert parse_bar_size(text).label == label


@pytest.mark.parametrize("text", ["7 mins", "1m", "2 days", "fast"])
def test_parse_bar_size_rejects_sizes_ib_does_not_serve(text: str) -> None:
    with pytest.raises(ValueError, match=r"not an IB bar size; use one of: 1s \(1 secs\)"):
        parse_bar_size(text)


def test_bar_sizes_take_their_lengths_from_the_one_timeframe_table() -> None:
    from sdk.data.barsizes import BAR_SIZES
    from sdk.timeframes import timeframe_seconds

    assert [b.seconds for b in BAR_SIZES.values()] == [timeframe_seconds(b.timeframe) for b in BAR_SIZES.values()]
    assert BAR_SIZES["1M"].seconds == 30 * 86_400  # a month is 30 days everywhere (planning and ordering only)
    assert [b.timeframe for b in BAR_SIZES.values()][:6] == ["1s", "5s", "10s", "15s", "30s", "1m"]
