"""Corporate-action events: the model, split ratios snapped to fractions, our own event list, the vendor
readers on the real files of ../shared/data, and merging several sources."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corporate_cases import AV_ADJUSTED, NVDA_2023_YAHOO, NVDA_SPLIT_ADJUSTED, NVDA_SPLITS_CSV, linked_dir

from sdk.backtest.adjust import adjust
from sdk.data import load_catalog
from sdk.data.action_files import (
    read_actions,
    read_actions_dir,
    read_adj_close_actions,
    read_alphavantage_actions,
    read_marketstack_actions,
    read_yahoo_actions,
)
from sdk.data.corporate_actions import (
    CorporateAction,
    format_ratio,
    merge_actions,
    parse_ratio,
    read_action_csv,
    snap_ratio,
    write_action_csv,
)
from sdk.data.formats import UnsupportedFile


@pytest.mark.parametrize(
    ("value", "snapped"),
    [(7.00000700001, 7.0), (1.5, 1.5), (0.2000001, 0.2), (4.0, 4.0), (2 / 3 + 1e-7, 2 / 3), (7.0001, 7.0001)],
)
def test_ratios_snap_to_fractions_within_1e_5(value: float, snapped: float) -> None:
    assert snap_ratio(value) == snapped


def test_ratios_read_and_written_as_new_for_old() -> None:
    assert [parse_ratio(t) for t in ("4:1", "1:5", "3-for-2", "10/1", "7.00000700001")] == [4, 0.2, 1.5, 10, 7]
    assert [format_ratio(r) for r in (4.0, 0.2, 1.5, 1 / 3)] == ["4:1", "1:5", "3:2", "1:3"]
    with pytest.raises(ValueError, match="not a split ratio"):
        parse_ratio("four")
    with pytest.raises(ValueError, match="finite positive"):
        snap_ratio(0.0)


def test_an_event_is_one_kind_with_its_own_fields() -> None:
    with pytest.raises(ValueError, match="a split needs a positive ratio"):
        CorporateAction("AAPL/USD", date(2020, 8, 31), "split", amount=4.0)
    with pytest.raises(ValueError, match="a split needs a positive ratio"):
        CorporateAction("AAPL/USD", date(2020, 8, 31), "split", ratio=4.0, amount=4.0)
    with pytest.raises(ValueError, match="a dividend needs a positive cash amount"):
        CorporateAction("AAPL/USD", date(2020, 11, 6), "dividend", ratio=1.0, currency="USD")
    with pytest.raises(ValueError, match="needs the currency"):
        CorporateAction("AAPL/USD", date(2020, 11, 6), "dividend", amount=0.205)
    split = CorporateAction.split("AAPL/USD", date(2020, 8, 31), 4, source="x.csv")
    assert split.describe() == "AAPL/USD 2020-08-31 split 4:1 (x.csv)"
    assert split.to_dict() == {"symbol": "AAPL/USD", "ex_date": "2020-08-31", "kind": "split", "ratio": 4.0,
                               "source": "x.csv"}  # fmt: skip


def test_our_event_list_round_trips(tmp_path: Path) -> None:
    (tmp_path / "nvda.csv").write_text(NVDA_SPLITS_CSV)
    actions = read_action_csv(tmp_path / "nvda.csv")
    assert [(a.symbol, a.ex_date, a.ratio) for a in actions][3:] == [
        ("NVDA/USD", date(2007, 9, 11), 1.5),
        ("NVDA/USD", date(2021, 7, 20), 4.0),
        ("NVDA/USD", date(2024, 6, 10), 10.0),
    ]
    assert {a.source for a in actions} == {"NVIDIA investor relations"}
    dividend = CorporateAction.dividend("BHP/AUD", date(2024, 3, 7), 1.096196, "AUD", source="")
    write_action_csv(tmp_path / "out.csv", [*actions, dividend])
    again = read_action_csv(tmp_path / "out.csv")
    assert again[0] == CorporateAction.dividend("BHP/AUD", date(2024, 3, 7), 1.096196, "AUD", source="out.csv")
    assert again[1:] == actions


def test_a_bad_row_names_the_file_and_the_row(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("symbol,ex_date,kind,value\nAAPL,2020-08-31,split,4:1\nAAPL,2020-11-06,payout,0.205\n")
    with pytest.raises(ValueError, match=r"events.csv row 3: kind 'payout' is neither split nor dividend"):
        read_action_csv(path)
    path.write_text("date,ratio\n2020-08-31,4\n")
    with pytest.raises(ValueError, match="no symbol, ex_date, kind, value column"):
        read_action_csv(path)
    path.write_text("symbol,ex_date,kind,value\nVOD.L,2020-08-31,split,4:1\n")
    with pytest.raises(ValueError, match=r"row 2: 'VOD\.L' names no ASX or US listing"):
        read_action_csv(path)


def test_a_dividend_defaults_to_the_quote_currency(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("symbol,ex_date,kind,value,currency\nCBA.AX,2024-02-21,dividend,2.15,\n")
    assert read_action_csv(path) == [CorporateAction.dividend("CBA/AUD", date(2024, 2, 21), 2.15, "AUD",
                                                              source="events.csv")]  # fmt: skip


real_data = pytest.mark.shared_data


@pytest.fixture(scope="module")
def folder(shared_data: Path) -> Path:
    return shared_data / "corporate_actions"


@real_data
def test_alpha_vantage_declares_splits_and_dividends_on_the_ex_date(folder: Path) -> None:
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("AAPL"))
    dividends = [a for a in actions if a.kind == "dividend"]
    assert len(dividends) == 34 and {a.currency for a in dividends} == {"USD"}
    assert dividends[0] == CorporateAction.dividend("AAPL/USD", date(2012, 8, 9), 2.65, "USD",
                                                    source=AV_ADJUSTED.format("AAPL"))  # fmt: skip
    nflx = read_alphavantage_actions(folder / AV_ADJUSTED.format("NFLX"))
    assert [(a.ex_date, a.ratio) for a in nflx] == [(date(2004, 2, 12), 2.0), (date(2015, 7, 15), 7.0)]
    googl = read_alphavantage_actions(folder / AV_ADJUSTED.format("GOOGL"))
    assert [a.describe().split(" (")[0] for a in googl] == ["GOOGL/USD 2014-04-03 dividend 567.9717 USD"]


@real_data
def test_marketstack_lists_as_written(folder: Path) -> None:
    splits = read_marketstack_actions(folder / "marketstack_splits.csv")
    assert len(splits) == 22
    assert CorporateAction.split("GOOGL/USD", date(2014, 4, 3), 2, source="marketstack_splits.csv") in splits
    dividends = read_marketstack_actions(folder / "marketstack_dividends.csv")
    assert len(dividends) == 178
    aapl_1987 = next(a for a in dividends if a.symbol == "AAPL/USD" and a.ex_date == date(1987, 5, 11))
    assert aapl_1987.amount == 0.00054  # split-adjusted by marketstack, unlike its 2012+ rows: not corrected
    eod = read_marketstack_actions(folder / "marketstack_eod_data.csv")
    assert {a.kind for a in eod} == {"dividend"} and len(eod) == 12
    assert read_actions(folder / "marketstack_eod_data.csv") == eod


@real_data
def test_yahoo_dividend_column_of_an_asx_file(shared_data: Path) -> None:
    actions = read_yahoo_actions(shared_data / "asx_daily" / "CBA.AX.csv")
    assert [(a.ex_date, a.amount, a.currency) for a in actions] == [
        (date(2024, 2, 21), 2.15, "AUD"), (date(2024, 8, 21), 2.5, "AUD"),
        (date(2025, 2, 19), 2.25, "AUD"), (date(2025, 8, 20), 2.6, "AUD"),
    ]  # fmt: skip
    with pytest.raises(UnsupportedFile, match="no Dividends and Stock Splits"):
        read_yahoo_actions(shared_data / "us_daily" / "SPY.csv")


@real_data
def test_dividends_implied_by_adj_close(folder: Path) -> None:
    """NVDA paid 0.04 USD ex 2023-03-07 and 2023-06-07 (before the 2024 split): read back from Yahoo's Adj Close
    in a 2023 export, and from a 2025 split-adjusted export once the declared splits bring them to their basis."""
    presplit = read_adj_close_actions(folder / NVDA_2023_YAHOO)
    assert [(a.ex_date, a.kind) for a in presplit] == [(date(2023, 3, 7), "dividend"), (date(2023, 6, 7), "dividend")]
    assert [a.amount for a in presplit] == [pytest.approx(0.04, abs=2e-5)] * 2
    assert presplit[0].source == f"{NVDA_2023_YAHOO} (Adj Close)"

    splits = [CorporateAction.split("NVDA/USD", date(2021, 7, 20), 4), CorporateAction.split("NVDA/USD",
              date(2024, 6, 10), 10)]  # fmt: skip
    later = read_adj_close_actions(folder / NVDA_SPLIT_ADJUSTED, splits=splits)
    in_2023 = [a for a in later if date(2023, 1, 1) <= a.ex_date <= date(2023, 7, 18)]
    assert [(a.ex_date, a.amount) for a in in_2023] == [
        (date(2023, 3, 7), pytest.approx(0.04, rel=1e-3)), (date(2023, 6, 7), pytest.approx(0.04, rel=1e-3))
    ]  # fmt: skip
    unconverted = read_adj_close_actions(folder / NVDA_SPLIT_ADJUSTED)  # amounts in the file's split-adjusted basis
    assert next(a.amount for a in unconverted if a.ex_date == date(2023, 3, 7)) == pytest.approx(0.004, rel=1e-3)
    assert not [a for a in later if a.kind == "split"]  # a split-adjusted Close hides splits from Adj Close
    with pytest.raises(UnsupportedFile, match="no Adj Close"):
        read_adj_close_actions(folder / "NVDA_daily_alphavantage_unadjusted_1999-11-01_2024-06-07.csv.gz")


@real_data
def test_implied_dividends_give_back_yahoos_adj_close(shared_data: Path, tmp_path: Path) -> None:
    """CBA 2017-2022 (a raw Yahoo export with Adj Close): the implied dividends (2.30 AUD ex 2017-08-16 ...)
    applied to the raw bars reproduce Yahoo's Adj Close within its 6-decimal rounding (1e-6 relative)."""
    source = shared_data / "asx_daily_long" / "CBA.AX.csv"
    actions = read_adj_close_actions(source)
    assert len(actions) == 11
    assert next(a.amount for a in actions if a.ex_date == date(2017, 8, 16)) == pytest.approx(2.30, abs=1e-5)
    data = linked_dir(tmp_path / "cba", shared_data, "asx_daily_long/CBA.AX.csv")
    raw = load_catalog(data).bars("CBA/AUD", "1 day")
    out = adjust(raw, actions, "total_return")  # ex-dates start at midnight Sydney: CBA/AUD is on ASX
    yahoo = pd.read_csv(source)
    yahoo = yahoo[pd.to_datetime(yahoo["Date"]).dt.day_of_week < 5].dropna(subset=["Close"])
    assert len(yahoo) == len(out)
    np.testing.assert_allclose(out["close"].to_numpy(), yahoo["Adj Close"].to_numpy(), rtol=1e-6)


@real_data
def test_a_directory_of_event_files(folder: Path) -> None:
    found = read_actions_dir(folder)
    assert found.files == (
        *(AV_ADJUSTED.format(t) for t in ("AAPL", "GOOGL", "NFLX", "TSLA")),
        "marketstack_dividends.csv", "marketstack_eod_data.csv", "marketstack_splits.csv",
    )  # fmt: skip
    assert set(found.skipped) == {p.name for p in folder.iterdir()} - set(found.files)
    assert all("declares no corporate actions" in why for why in found.skipped.values())

    merged = merge_actions(found.actions)
    split_2020 = [a for a in merged.actions if a.symbol == "AAPL/USD" and a.ex_date == date(2020, 8, 31)]
    both = f"{AV_ADJUSTED.format('AAPL')} + marketstack_splits.csv"
    assert [(a.ratio, a.source) for a in split_2020] == [(4.0, both)]
    assert [c.describe() for c in merged.conflicts] == [
        f"AAPL/USD 2020-11-06: dividend 0.205 USD ({AV_ADJUSTED.format('AAPL')}) vs dividend 0.21 USD "
        "(marketstack_dividends.csv)",
        f"GOOGL/USD 2014-04-03: dividend 567.9717 USD ({AV_ADJUSTED.format('GOOGL')}) vs dividend 567.97 USD "
        "(marketstack_dividends.csv) vs split 2:1 (marketstack_splits.csv)",
    ]


def test_one_source_may_declare_two_dividends_on_one_day() -> None:
    regular = CorporateAction.dividend("CBA/AUD", date(2024, 2, 21), 2.15, "AUD", source="a")
    special = CorporateAction.dividend("CBA/AUD", date(2024, 2, 21), 1.00, "AUD", source="a")
    assert merge_actions([regular, special]).actions == (regular, special)
    other = CorporateAction.dividend("CBA/AUD", date(2024, 2, 21), 2.1500004, "AUD", source="b")
    merged = merge_actions([regular, special, other])
    assert not merged.actions and len(merged.conflicts) == 1  # b lists one of the two: a disagreement
    agreeing = merge_actions([regular, other])
    assert [a.source for a in agreeing.actions] == ["a + b"]
