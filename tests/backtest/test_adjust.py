"""The adjuster on real prices: raw bars from ../shared/data/corporate_actions turned into split-adjusted and
total-return series with the events the vendors declared, checked against the vendors' own adjusted prices
and against factors worked out by hand."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corporate_cases import (
    AV_ADJUSTED,
    NVDA_SPLIT_ADJUSTED,
    NVDA_SPLITS_CSV,
    alpha_vantage,
    by_session,
    corporate_catalog,
    linked_dir,
)

from sdk.backtest.adjust import adjust, plan_adjustment
from sdk.data import Catalog, load_catalog
from sdk.data.action_files import read_alphavantage_actions
from sdk.data.corporate_actions import CorporateAction, read_action_csv

pytestmark = pytest.mark.shared_data

END_2020 = "2020-12-05T00:00Z"  # the Alpha Vantage adjusted files end 2020-12-04


@pytest.fixture(scope="module")
def folder(shared_data: Path) -> Path:
    return shared_data / "corporate_actions"


@pytest.fixture(scope="module")
def catalog(folder: Path) -> Catalog:
    return corporate_catalog(folder)


def test_tsla_raw_bars_give_alpha_vantages_adjusted_close(catalog: Catalog, folder: Path) -> None:
    """TSLA paid no dividend to 2020: the 5:1 split of 2020-08-31 alone turns the raw closes into Alpha
    Vantage's adjusted closes, to float rounding (stated tolerance 1e-12 relative)."""
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("TSLA"))
    assert [a.describe().split(" (")[0] for a in actions] == ["TSLA/USD 2020-08-31 split 5:1"]
    raw = catalog.bars("TSLA/USD", "1 day", None, END_2020)
    vendor = alpha_vantage(folder, "TSLA")
    assert list(raw["session"]) == list(vendor.index)
    for mode in ("split_adjusted", "total_return"):
        out = adjust(raw, actions, mode, symbol="TSLA/USD")
        np.testing.assert_allclose(out["close"].to_numpy(), vendor["adjusted_close"].to_numpy(), rtol=1e-12)
    out = by_session(adjust(raw, actions, "split_adjusted"))
    raw_days = by_session(raw)
    before, on = date(2020, 8, 28), date(2020, 8, 31)
    assert out.loc[before, "close"] == pytest.approx(2213.40 / 5)  # the last pre-split close, ÷ 5
    assert out.loc[before, "volume"] == raw_days.loc[before, "volume"] * 5  # five times the shares
    assert out.loc[on, ["open", "close", "volume"]].tolist() == raw_days.loc[on, ["open", "close", "volume"]].tolist()
    assert out.loc[date(2010, 6, 29), "open"] == pytest.approx(19.0 / 5)


def test_tsla_3_to_1_of_2022_from_our_own_event_list(catalog: Catalog, folder: Path, tmp_path: Path) -> None:
    """The raw file runs to 2025; the 2022-08-25 split is declared in our own format beside Alpha Vantage's."""
    ours = tmp_path / "tsla.csv"
    ours.write_text("symbol,ex_date,kind,value,currency,source\nTSLA,2022-08-25,split,3:1,,Tesla 8-K 2022-08-05\n")
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("TSLA")) + read_action_csv(ours)
    raw = catalog.bars("TSLA/USD", "1 day")
    out = by_session(adjust(raw, actions, "split_adjusted", symbol="TSLA/USD"))
    assert out.loc[date(2022, 8, 24), "close"] == pytest.approx(891.29 / 3)
    assert out.loc[date(2022, 8, 25), "close"] == pytest.approx(296.07)
    assert out.loc[date(2020, 8, 28), "close"] == pytest.approx(2213.40 / 15)
    plan = plan_adjustment(raw, actions, "split_adjusted", symbol="TSLA/USD")
    assert [(a.action.ex_date, a.price_factor) for a in plan.actions] == [
        (date(2020, 8, 31), 0.2),
        (date(2022, 8, 25), pytest.approx(1 / 3)),
    ]


def test_aapl_4_to_1_and_the_7_to_1_written_as_7_00000700001(catalog: Catalog, folder: Path) -> None:
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("AAPL"))
    splits = {a.ex_date: a.ratio for a in actions if a.kind == "split"}
    assert splits == {date(2000, 6, 21): 2, date(2005, 2, 28): 2, date(2014, 6, 9): 7, date(2020, 8, 31): 4}
    assert splits[date(2014, 6, 9)] == 7.0  # the file says 7.00000700001: snapped
    raw = catalog.bars("AAPL/USD", "1 day", None, END_2020)
    out = by_session(adjust(raw, actions, "split_adjusted", symbol="AAPL/USD"))
    assert out.loc[date(2020, 8, 28), "close"] == pytest.approx(499.23 / 4)
    assert out.loc[date(2014, 6, 6), "close"] == pytest.approx(645.57 / 28)  # 7 × 4 shares now per share then
    assert out.loc[date(2014, 6, 9), "close"] == pytest.approx(93.70 / 4)
    assert out.loc[date(2000, 6, 20), "close"] == pytest.approx(by_session(raw).loc[date(2000, 6, 20), "close"] / 112)

    # Alpha Vantage's adjusted close (CRSP's ex-date price for dividends) within 1e-9 after 2014-06-09; before
    # it, its own factor 1/7.00000700001 sits 1.0e-6 from our 1/7.
    vendor = alpha_vantage(folder, "AAPL")["adjusted_close"]
    ours = adjust(raw, actions, "total_return", symbol="AAPL/USD", dividend_rule="ex_date_close")
    ratio = pd.Series(ours["close"].to_numpy(), index=list(raw["session"])) / vendor
    after = ratio[ratio.index >= date(2014, 6, 9)]
    before = ratio[ratio.index < date(2014, 6, 9)]
    np.testing.assert_allclose(after.to_numpy(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(before.to_numpy(), 7.00000700001 / 7, rtol=1e-9)


def test_total_return_factor_by_hand_on_aapls_dividend_of_2020_11_06(catalog: Catalog, folder: Path) -> None:
    """0.205 USD ex 2020-11-06; the close before was 119.03 (2020-11-05), the ex-date close 118.69."""
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("AAPL"))
    raw = catalog.bars("AAPL/USD", "1 day", "2020-09-01T00:00Z", END_2020)  # after the split: dividends only
    days = list(raw["session"])
    plan = plan_adjustment(raw, actions, "total_return", symbol="AAPL/USD")
    yahoo = 1 - 0.205 / 119.03  # Yahoo's multiplier: 1 - D / close before
    assert plan.price_factor[days.index(date(2020, 11, 5))] == pytest.approx(yahoo, rel=1e-15)
    assert plan.price_factor[: days.index(date(2020, 11, 5))] == pytest.approx(yahoo, rel=1e-15)
    assert set(plan.price_factor[days.index(date(2020, 11, 6)) :]) == {1.0}
    assert set(plan.volume_factor) == {1.0}  # a dividend changes no share count
    out = by_session(plan.apply(raw))
    assert out.loc[date(2020, 11, 5), "close"] == pytest.approx(119.03 - 0.205)  # C × (1 - D/C) = C - D
    assert out.loc[date(2020, 11, 5), "high"] == pytest.approx(by_session(raw).loc[date(2020, 11, 5), "high"] * yahoo)

    crsp = plan_adjustment(raw, actions, "total_return", symbol="AAPL/USD", dividend_rule="ex_date_close")
    assert crsp.price_factor[days.index(date(2020, 11, 5))] == pytest.approx(118.69 / (118.69 + 0.205), rel=1e-15)
    vendor = alpha_vantage(folder, "AAPL").loc[date(2020, 11, 5), "adjusted_close"]
    assert vendor == pytest.approx(119.03 * 118.69 / 118.895, rel=1e-9)  # Alpha Vantage uses CRSP's price
    assert vendor != pytest.approx(119.03 - 0.205, rel=1e-6)  # ... and not Yahoo's

    # in split-adjusted mode the dividend is listed, not applied
    split_only = plan_adjustment(raw, actions, "split_adjusted", symbol="AAPL/USD")
    assert set(split_only.price_factor) == {1.0}
    assert [a.note for a in split_only.actions if a.action.ex_date == date(2020, 11, 6)] == [
        "dividends are not applied in split_adjusted mode"
    ]


@pytest.fixture(scope="module")
def nvda_split_adjusted(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """yfinance's split-adjusted NVDA bars 2010-01-04..2025-06-27, read from a directory holding only that file
    (beside the raw file the catalog keeps it apart)."""
    folder = linked_dir(tmp_path_factory.mktemp("nvda"), shared_data / "corporate_actions", NVDA_SPLIT_ADJUSTED)
    return load_catalog(folder).bars("NVDA/USD", "1 day")


def test_nvda_joins_across_the_2024_split(catalog: Catalog, nvda_split_adjusted: pd.DataFrame, tmp_path: Path) -> None:
    """The raw file ends 2024-06-07, the last session before the 10:1 split: only with the adjustment base date
    at the split-adjusted file's end (2025-06-27) do the two agree. yfinance stores float32 (median difference
    2e-8); 94.8% of the closes agree within 1e-6 and all within 6e-4 (188 days, mostly 2010, where the vendors'
    raw closes differ by a cent or so)."""
    (tmp_path / "nvda.csv").write_text(NVDA_SPLITS_CSV)
    actions = read_action_csv(tmp_path / "nvda.csv")
    raw = catalog.bars("NVDA/USD", "1 day", "2010-01-01T00:00Z")
    vendor = nvda_split_adjusted

    out = adjust(raw, actions, "split_adjusted", as_of=date(2025, 6, 27))
    both = out.join(vendor, how="inner", suffixes=("", "_yf"))
    assert len(both) == len(raw) == 3632
    gap = (both["close"] / both["close_yf"] - 1).abs()
    assert (gap < 1e-6).mean() > 0.94 and gap.max() < 6e-4
    assert both.loc["2024-06-07 13:30Z", "close"] == pytest.approx(120.888, rel=1e-12)  # 1208.88 / 10
    assert (both["volume"] / both["volume_yf"] - 1).abs().median() < 1e-3  # 40 times the shares before 2021

    # adjusted as of its own last bar, the raw file knows nothing of the 2024 split: every close 10x off
    alone = adjust(raw, actions, "split_adjusted")
    assert (alone["close"] / vendor["close"]).dropna().median() == pytest.approx(10, rel=1e-6)

    # the other way: the split-adjusted file brought back to raw prices is the raw file
    back = adjust(vendor, actions, "raw", basis="split_adjusted")
    again = back.join(raw, how="inner", suffixes=("", "_raw"))
    assert ((again["close"] / again["close_raw"] - 1).abs() < 1e-6).mean() > 0.94
    assert back.loc["2024-06-07 13:30Z", "close"] == pytest.approx(1208.88, rel=1e-8)  # float32 120.888 × 10
    assert back.loc["2024-06-10 13:30Z", "close"] == vendor.loc["2024-06-10 13:30Z", "close"]

    # joined, split-adjusted raw history and the newer split-adjusted bars make one series without a jump
    joined = pd.concat([out, vendor[vendor.index > out.index[-1]]])
    ratios = joined["close"].to_numpy()[1:] / joined["close"].to_numpy()[:-1]
    assert 0.9 < ratios[len(out) - 1] < 1.1  # 2024-06-07 -> 2024-06-10
    assert np.all(np.abs(np.log(ratios)) < math.log(1 / 0.7))  # no move of 30% anywhere


def test_a_total_return_series_stays_what_it_is(shared_data: Path) -> None:
    """BHP's yfinance history() export is dividend-adjusted: it cannot be turned back into raw prices."""
    bars = load_catalog(shared_data / "asx_daily").bars("BHP/AUD", "1 day")
    action = CorporateAction.dividend("BHP/AUD", date(2024, 3, 7), 1.096196, "AUD", source="BHP.AX.csv")
    with pytest.raises(ValueError, match=r"total-return adjusted.*--price-mode total_return"):
        adjust(bars, [action], "raw", basis="total_return", market="ASX")
    same = adjust(bars, [action], "total_return", basis="total_return", market="ASX")
    pd.testing.assert_frame_equal(same, bars)


def test_events_of_other_symbols_and_after_the_base_date(catalog: Catalog, folder: Path) -> None:
    aapl = read_alphavantage_actions(folder / AV_ADJUSTED.format("AAPL"))
    tsla = read_alphavantage_actions(folder / AV_ADJUSTED.format("TSLA"))
    raw = catalog.bars("TSLA/USD", "1 day", None, END_2020)
    with pytest.raises(ValueError, match=r"AAPL/USD, TSLA/USD.*pass symbol="):
        adjust(raw, aapl + tsla, "split_adjusted")
    pd.testing.assert_frame_equal(
        adjust(raw, aapl + tsla, "split_adjusted", symbol="TSLA/USD"), adjust(raw, tsla, "split_adjusted")
    )
    plan = plan_adjustment(raw, tsla, "split_adjusted", as_of=date(2020, 8, 28))
    assert set(plan.price_factor) == {1.0}
    assert plan.actions[0].note == "ex-date after the adjustment base date 2020-08-28"
    with pytest.raises(ValueError, match="price mode and basis must be one of"):
        adjust(raw, tsla, "adjusted")  # type: ignore[arg-type]
