"""`sdk.data.verify` and `trader data verify` on the real bars of ../shared/data: calendar classification (holidays,
early closes, listing), faults injected into copies of real frames, the CLI's JSON, report and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sdk.cli import data_verify
from sdk.data import Catalog, load_catalog
from sdk.data.cache import cache_path, write_frame
from sdk.data.verify import COUNT_NAMES, VerifyReport, fix_minor, verify_frame

pytestmark = pytest.mark.shared_data

JULY_2025 = "intraday/SPY_1min_2025-07.csv"  # complete sessions, pre/post market, 2025-07-03 closes at 13:00
YAHOO_2019 = "intraday_vol/SPY_1min_yahoo_2019-12.csv.gz"  # real gaps (2020-01-10 stops at 11:00 New York)
IB_2019 = "ib_bars/ib_1min_6sym_2019-03-25_2019-04-30.csv"  # REAL IB bars: 26 full sessions, wap (IB's average)
POLYGON_2024 = "intraday/SPY_1min_2024-02-20_2024-05-17.csv"  # crosses the 2024-03-10 clock change
TV_5MIN = "intraday_vol/SPY_5min_tradingview_BATS_divadj_2025-06-16_2026-06-29.csv.gz"
BHP_DAILY = "asx_daily/BHP.AX.csv"
AUDUSD_15MIN = "fx/AUDUSD_15min.csv"

cli = CliRunner()


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="America/New_York")


@pytest.fixture(scope="module")
def data_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``data_dir(*rels)``: a data directory of links to those files of ../shared/data (made once per set)."""
    made: dict[tuple[str, ...], Path] = {}

    def make(*rels: str) -> Path:
        if rels not in made:
            root = tmp_path_factory.mktemp("verify-data")
            for rel in rels:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).symlink_to(shared_data / rel)
            made[rels] = root
        return made[rels]

    return make


@pytest.fixture(scope="module")
def catalog_of(data_dir: Callable[..., Path]) -> Callable[..., Catalog]:
    made: dict[tuple[str, ...], Catalog] = {}

    def make(*rels: str) -> Catalog:
        if rels not in made:
            made[rels] = load_catalog(data_dir(*rels))
        return made[rels]

    return make


@pytest.fixture(scope="module")
def ib_spy(catalog_of: Callable[..., Catalog]) -> pd.DataFrame:
    """IB's own SPY 1-minute bars, 2019-03-25..2019-04-30, regular hours, with wap and bar_count."""
    return catalog_of(IB_2019).bars("SPY/USD", "1 min", ny("2019-03-25"), ny("2019-05-01"))


def _ib_report(frame: pd.DataFrame, **kwargs: object) -> VerifyReport:
    return verify_frame(frame, market="NYSE", bar_size="1 min", rth=True, start=ny("2019-03-25"), end=ny("2019-05-01"),
                        **kwargs)  # type: ignore[arg-type]  # fmt: skip


def _sums_up(report: VerifyReport) -> None:
    parts = report.present + report.missing + report.holiday + report.half_day + report.before_listing
    assert report.expected == parts


# --- the calendar, on real files -----------------------------------------------------------------------------


@pytest.mark.parametrize("rth", [True, False])
def test_july_2025_has_independence_day_and_its_eve_half_day(catalog_of: Callable[..., Catalog], rth: bool) -> None:
    frame = catalog_of(JULY_2025).bars("SPY/USD", "1 min", ny("2025-07-01"), ny("2025-07-31"), rth_only=rth)
    report = verify_frame(frame, market="NYSE", bar_size="1 min", rth=rth, start=ny("2025-07-01"), end=ny("2025-07-31"))
    # 22 weekdays x 390 minutes; July 4 closed (390); July 3 closes 13:00 (16:00-13:00 = 180 minutes absent)
    assert report.counts() == {
        "expected": 22 * 390, "present": 20 * 390 + 210, "missing": 0, "holiday": 390, "half_day": 180,
        "before_listing": 0, "duplicates": 0, "out_of_order": 0, "ohlc_violations": 0, "wap_outside_range": 0,
        "stale_repeats": 0,
    }  # fmt: skip
    assert report.ok and report.missing_spans == [] and report.outside_spans == []
    if rth:
        assert report.rows == report.present
    else:  # pre- and post-market bars are accepted, never expected
        assert report.rows == 19_953 > report.present


def test_hour_bars_start_at_the_open_then_on_the_clock(catalog_of: Callable[..., Catalog]) -> None:
    frame = catalog_of(JULY_2025).bars("SPY/USD", "1 hour", ny("2025-07-01"), ny("2025-07-31"))
    report = verify_frame(
        frame, market="NYSE", bar_size="1 hour", rth=True, start=ny("2025-07-01"), end=ny("2025-07-31")
    )
    # 09:30 (cut by the open, as IB labels it), 10:00, ... 15:00: 7 a day; July 3 keeps 09:30-12:00, loses 13-15
    assert (report.expected, report.present, report.holiday, report.half_day) == (22 * 7, 20 * 7 + 4, 7, 3)
    assert report.ok


def test_thanksgiving_week_of_five_minute_bars(catalog_of: Callable[..., Catalog]) -> None:
    frame = catalog_of(TV_5MIN).bars("SPY/USD", "5 mins", ny("2025-11-24"), ny("2025-11-29"))
    report = verify_frame(
        frame, market="NYSE", bar_size="5 mins", rth=True, start=ny("2025-11-24"), end=ny("2025-11-29")
    )
    # Thanksgiving 2025-11-27 closed (78 bars); the day after closes at 13:00 (its last bar 12:55; 36 bars absent)
    assert (report.expected, report.present, report.holiday, report.half_day, report.missing) == (390, 276, 78, 36, 0)


def test_a_whole_year_of_five_minute_bars_knows_every_holiday_and_early_close(
    catalog_of: Callable[..., Catalog],
) -> None:
    report = verify_frame(catalog_of(TV_5MIN).bars("SPY/USD", "5 mins"), market="NYSE", bar_size="5 mins", rth=True,
                          start=None, end=None)  # fmt: skip
    assert report.start == ny("2025-06-16") and report.end == ny("2026-06-30")  # local midnights around the data
    assert report.present == 20_172 == report.rows and report.missing == 0
    assert report.half_day == 3 * 36  # 2025-07-03, 2025-11-28, 2025-12-24 (the file's README says so)
    assert report.holiday == 11 * 78  # July 4, Labor Day, Thanksgiving, Christmas, New Year ... Juneteenth 2026
    _sums_up(report)


def test_the_clock_change_moves_the_session_in_utc(catalog_of: Callable[..., Catalog]) -> None:
    frame = catalog_of(POLYGON_2024).bars("SPY/USD", "1 min", ny("2024-02-20"), ny("2024-05-18"))
    report = verify_frame(
        frame, market="NYSE", bar_size="1 min", rth=True, start=ny("2024-02-20"), end=ny("2024-05-18")
    )
    # 64 weekdays; Good Friday 2024-03-29 closed; every session complete on both sides of 2024-03-10
    assert (report.expected, report.present, report.holiday, report.missing) == (64 * 390, 63 * 390, 390, 0)
    # this vendor's vwap is not each minute's: 924 regular-hours bars have it outside their own [low, high]
    assert report.wap_outside_range == 924
    assert report.faults == {"wap_outside_range": 924}


def test_real_gaps_are_missing_and_merged_into_spans(catalog_of: Callable[..., Catalog]) -> None:
    frame = catalog_of(YAHOO_2019).bars("SPY/USD", "1 min")
    report = verify_frame(frame, market="NYSE", bar_size="1 min", rth=True, start=None, end=None)
    assert report.start == ny("2019-12-13") and report.end == ny("2020-01-17")
    assert report.holiday == 2 * 390 and report.half_day == 180  # Christmas, New Year; Christmas Eve to 13:00
    assert report.before_listing == 90  # the file's first bar is 2019-12-13 11:00 New York
    assert report.missing == 341 and sum(s.bars for s in report.missing_spans) == 341
    longest = max(report.missing_spans, key=lambda s: s.bars)
    assert (longest.start, longest.end, longest.bars) == (ny("2020-01-10 11:00"), ny("2020-01-10 16:00"), 300)
    _sums_up(report)


def test_asx_daily_bars_and_the_asx_holidays_of_2024(catalog_of: Callable[..., Catalog]) -> None:
    sydney = "Australia/Sydney"
    lo, hi = pd.Timestamp("2024-01-01", tz=sydney), pd.Timestamp("2025-01-01", tz=sydney)
    frame = catalog_of(BHP_DAILY).bars("BHP/AUD", "1 day", lo, hi)
    report = verify_frame(frame, market="ASX", bar_size="1 day", rth=True, start=lo, end=hi)
    # 262 weekdays; New Year, Australia Day, Good Friday, Easter Monday, Anzac Day, King's Birthday, Christmas,
    # Boxing Day; Christmas Eve's 14:10 early close still has its daily bar
    assert (report.expected, report.present, report.holiday, report.half_day, report.missing) == (262, 254, 8, 0, 0)
    weekly = verify_frame(catalog_of(BHP_DAILY).bars("BHP/AUD", "1 week", lo, hi), market="ASX", bar_size="1W",
                          rth=True, start=lo, end=hi)  # fmt: skip
    # ISO weeks labelled by their first session: 2024-01-02 (New Year's Monday closed) .. 2024-12-30
    assert (weekly.expected, weekly.present, weekly.missing, weekly.holiday) == (53, 53, 0, 0)


def test_fx_sessions_run_from_sunday_five_pm(catalog_of: Callable[..., Catalog]) -> None:
    frame = catalog_of(AUDUSD_15MIN).bars("AUD/USD", "15 mins", rth_only=False)
    report = verify_frame(frame, market="FX", bar_size="15 mins", rth=False, start=ny("2025-11-02 17:00"),
                          end=ny("2025-11-07 17:00"))  # fmt: skip
    assert (report.expected, report.holiday, report.present, report.missing) == (5 * 96, 0, 472, 8)
    # this vendor's week starts at 00:00 UTC, two hours after IDEALPRO opens
    assert [(s.start, s.end, s.bars) for s in report.missing_spans] == [
        (ny("2025-11-02 17:00"), ny("2025-11-02 19:00"), 8)
    ]


# --- listing -------------------------------------------------------------------------------------------------


def test_before_listing_is_before_the_first_bar_or_the_head_timestamp(ib_spy: pd.DataFrame) -> None:
    late = ib_spy[ib_spy.index >= ny("2019-04-03 10:00")]
    report = _ib_report(late)
    assert (report.before_listing, report.missing) == (7 * 390 + 30, 0)  # Mar 25-29, Apr 1-2, Apr 3 09:30-09:59
    with_head = _ib_report(late, head=ny("2019-04-01 09:30"))
    assert (with_head.before_listing, with_head.missing) == (5 * 390, 2 * 390 + 30)
    assert [(s.start, s.bars) for s in with_head.missing_spans] == [(ny("2019-04-01 09:30"), 810)]
    _sums_up(with_head)


def test_missing_spans_say_where_ib_answered_no_data(ib_spy: pd.DataFrame) -> None:
    day = ib_spy[(ib_spy.index < ny("2019-04-10")) | (ib_spy.index >= ny("2019-04-11"))]  # 2019-04-10 removed
    gap = ib_spy.index[ib_spy.index < ny("2019-04-09 12:00")][-1]
    report = _ib_report(day.drop(index=gap), no_data=[(ny("2019-04-10"), ny("2019-04-11"))])
    assert [(s.start, s.bars, s.no_data) for s in report.missing_spans] == [
        (ny("2019-04-09 11:59"), 1, False),
        (ny("2019-04-10 09:30"), 390, True),
    ]


# --- faults injected into a copy of IB's real bars -----------------------------------------------------------


def test_ib_bars_are_clean(ib_spy: pd.DataFrame) -> None:
    report = _ib_report(ib_spy)
    assert (report.expected, report.present, report.holiday) == (27 * 390, 26 * 390, 390)  # Good Friday 2019-04-19
    assert report.ok and report.faults == {}


def test_a_removed_bar_is_missing_exactly_there(ib_spy: pd.DataFrame) -> None:
    gone = ny("2019-04-10 13:07")
    report = _ib_report(ib_spy.drop(index=gone))
    assert report.missing == 1 and report.present == 26 * 390 - 1
    assert [(s.start, s.end, s.bars) for s in report.missing_spans] == [(gone, gone + pd.Timedelta(minutes=1), 1)]
    assert report.faults == {"missing": 1}


def test_an_exact_duplicate_is_counted_and_fixed(ib_spy: pd.DataFrame) -> None:
    doubled = pd.concat([ib_spy.iloc[:100], ib_spy.iloc[99:100], ib_spy.iloc[100:]])
    assert _ib_report(doubled).faults == {"duplicates": 1}
    fixed, log = fix_minor(doubled)
    assert len(fixed) == len(ib_spy) and fixed.equals(ib_spy)
    assert log == [f"dropped 1 exact duplicate row(s) (first at {ib_spy.index[99].isoformat()})"]
    assert _ib_report(fixed).ok


def test_a_conflicting_duplicate_is_counted_and_never_guessed(ib_spy: pd.DataFrame) -> None:
    other = ib_spy.iloc[200:201].copy()
    other["close"] += 0.01
    clash = pd.concat([ib_spy.iloc[:201], other, ib_spy.iloc[201:]])
    assert _ib_report(clash).faults == {"duplicates": 1}
    fixed, log = fix_minor(clash)
    assert len(fixed) == len(clash)  # both kept
    assert log == ["kept 1 row(s) sharing a time with a different row: not fixed, review the source"]


def test_a_swapped_pair_is_out_of_order_and_sorted_back(ib_spy: pd.DataFrame) -> None:
    order = np.arange(len(ib_spy))
    order[[500, 501]] = order[[501, 500]]
    swapped = ib_spy.iloc[order]
    assert _ib_report(swapped).faults == {"out_of_order": 1}
    fixed, log = fix_minor(swapped)
    assert fixed.equals(ib_spy)
    assert log == ["sorted the rows by time (1 row(s) were earlier than the row before)"]


def test_ohlc_violations_negative_volume_and_wap(ib_spy: pd.DataFrame) -> None:
    broken = ib_spy.copy()
    o, c = broken["open"].to_numpy(), broken["close"].to_numpy()
    broken.iloc[10, broken.columns.get_loc("high")] = max(o[10], c[10]) - 0.01  # high below the body
    broken.iloc[20, broken.columns.get_loc("low")] = min(o[20], c[20]) + 0.01  # low above the body
    broken.iloc[30, broken.columns.get_loc("volume")] = -1.0
    broken.iloc[40, broken.columns.get_loc("wap")] = broken["high"].iloc[40] + 0.05
    report = _ib_report(broken)
    assert report.faults == {"ohlc_violations": 3, "wap_outside_range": 1}
    fixed, log = fix_minor(broken)
    assert log == [] and fixed.equals(broken)  # reported, never repaired


def test_stale_repeats_count_the_repetitions_of_zero_volume_bars(ib_spy: pd.DataFrame) -> None:
    stale = ib_spy.copy()
    columns = [stale.columns.get_loc(k) for k in ("open", "high", "low", "close", "wap")]
    for row in (301, 302, 303):
        stale.iloc[row, columns] = stale.iloc[300, columns].to_numpy()
    stale.iloc[300:304, stale.columns.get_loc("volume")] = 0.0
    assert _ib_report(stale).faults == {"stale_repeats": 3}  # four identical zero-volume bars: three repeats
    traded = stale.copy()
    traded.iloc[300, traded.columns.get_loc("volume")] = 500.0  # the run's first bar traded: two repeats
    assert _ib_report(traded).faults == {"stale_repeats": 2}


def test_bad_input_is_refused_with_what_to_do(ib_spy: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="after end"):
        verify_frame(ib_spy, market="NYSE", bar_size="1 min", rth=True, start=ny("2019-04-02"), end=ny("2019-04-01"))
    with pytest.raises(ValueError, match="no time zone"):
        verify_frame(ib_spy, market="NYSE", bar_size="1 min", rth=True, start="2019-04-01", end=None)
    with pytest.raises(ValueError, match="unknown market"):
        verify_frame(ib_spy, market="LSE", bar_size="1 min", rth=True, start=None, end=None)
    with pytest.raises(ValueError, match="not an IB bar size"):
        verify_frame(ib_spy, market="NYSE", bar_size="7 mins", rth=True, start=None, end=None)
    with pytest.raises(ValueError, match="needs both start and end"):
        verify_frame(ib_spy.iloc[:0], market="NYSE", bar_size="1 min", rth=True, start=None, end=None)


# --- the command ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """``trader data verify`` as ``sdk.cli.data.register`` mounts it (``data_verify.register(data_app)``)."""
    root = typer.Typer()
    data_app = typer.Typer(name="data")
    data_verify.register(data_app)
    root.add_typer(data_app, name="data")
    return root


def test_json_has_exactly_the_counts_and_exit_zero(app: typer.Typer, data_dir: Callable[..., Path]) -> None:
    result = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min", "--start", "2025-07-01",
                              "--end", "2025-07-31", "--data", str(data_dir(JULY_2025)), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {*COUNT_NAMES, "symbol", "bar_size", "range"}
    assert (body["symbol"], body["bar_size"]) == ("SPY/USD", "1min")
    assert body["range"] == {"start": "2025-07-01T04:00:00+00:00", "end": "2025-07-31T04:00:00+00:00", "rth": True,
                             "market": "NYSE"}  # fmt: skip
    assert (body["expected"], body["present"], body["holiday"], body["half_day"], body["missing"]) == (
        8580, 8010, 390, 180, 0)  # fmt: skip


def test_human_report_and_exit_one_on_real_gaps(app: typer.Typer, data_dir: Callable[..., Path]) -> None:
    result = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min", "--all-hours",
                              "--data", str(data_dir(YAHOO_2019))])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "SPY/USD 1min bars, all hours" in result.output
    assert "2020-01-10 11:00 EST .. 2020-01-10 16:00 EST  300 bar(s)" in result.output
    assert "FAULTS: missing 341" in result.output
    clean = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min", "--data", str(data_dir(IB_2019))])
    assert clean.exit_code == 0 and "OK: nothing missing, no faults" in clean.output


def test_cache_with_faults_written_by_a_download(
    app: typer.Typer, ib_spy: pd.DataFrame, catalog_of: Callable[..., Catalog], tmp_path: Path
) -> None:
    """A download cache holds what was written, faults included: the command counts them there."""
    order = np.arange(len(ib_spy))
    order[[500, 501]] = order[[501, 500]]
    raw = pd.concat([ib_spy.iloc[order], ib_spy.iloc[[7]]])  # a swapped pair and a duplicate
    raw["authority"] = np.int8(3)
    meta = catalog_of(IB_2019).info("SPY/USD")
    write_frame(cache_path(tmp_path, "SPY/USD", "1min"), raw, meta=meta, bar_label="1min", sources=["ib"])
    result = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min", "--cache", str(tmp_path), "--json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert (body["duplicates"], body["out_of_order"], body["missing"], body["present"]) == (1, 2, 0, 26 * 390)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["BHP.AX", "--bar-size", "1 day"], "close matches: BHP/AUD"),
        (["BHP/AUD", "--bar-size", "7 mins"], "is not an IB bar size"),
        (["BHP/AUD", "--bar-size", "1 min"], "Ask for one of 1D, 1W, 1M"),
        (["BHP/AUD", "--bar-size", "1 day", "--start", "2024-06-01", "--end", "2024-05-01"], "is after --end"),
        (["BHP/AUD", "--bar-size", "1 day", "--start", "soon"], "is not a date or time"),
    ],
)
def test_bad_input_exits_two(app: typer.Typer, data_dir: Callable[..., Path], args: list[str], message: str) -> None:
    result = cli.invoke(app, ["data", "verify", *args, "--data", str(data_dir(BHP_DAILY))])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_where_to_read_is_checked(app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    both = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min", "--cache", str(tmp_path),
                            "--data", str(tmp_path)])  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "never-downloaded"))
    default = cli.invoke(app, ["data", "verify", "SPY/USD", "--bar-size", "1 min"])
    assert default.exit_code == 2
    assert "no download cache at" in default.output and "DATA_CACHE_DIR" in default.output
