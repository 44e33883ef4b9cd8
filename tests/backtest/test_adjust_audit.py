"""What the adjuster reports and never corrects, on real prices: a crash that looks like a split, a split a
vendor did not declare, a split booked as a dividend, vendors that disagree; and the refusal of a symbol
whose files mix raw and adjusted prices."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from corporate_cases import (
    AV_ADJUSTED,
    AV_UNADJUSTED,
    NVDA_RAW,
    NVDA_SPLIT_ADJUSTED,
    NVDA_SPLITS_CSV,
    by_session,
    corporate_catalog,
    linked_dir,
)

from sdk.backtest.adjust import adjust
from sdk.backtest.price_audit import audit_prices, contradicted_actions, suspicious_jumps
from sdk.backtest.price_data import MixedPriceSources, check_price_sources, prepare_prices, price_basis_of
from sdk.data import Catalog, load_catalog
from sdk.data.action_files import read_actions_dir, read_alphavantage_actions, read_marketstack_actions
from sdk.data.corporate_actions import ConflictingActions, read_action_csv

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def folder(shared_data: Path) -> Path:
    return shared_data / "corporate_actions"


@pytest.fixture(scope="module")
def catalog(folder: Path) -> Catalog:
    return corporate_catalog(folder)


def test_aapls_crash_of_2000_09_29_is_reported_and_left_alone(catalog: Catalog, folder: Path) -> None:
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("AAPL"))
    raw = catalog.bars("AAPL/USD", "1 day")  # to 2025: the 2020 4:1 and 2014 7:1 are declared, taken out
    (jump,) = suspicious_jumps(raw, actions, symbol="AAPL/USD")
    assert (jump.session, jump.previous_close, jump.close, jump.split_ratio) == (date(2000, 9, 29), 53.5, 25.75, 2)
    assert jump.ratio == pytest.approx(25.75 / 53.5)
    assert "looks like a 2:1 split, but none is declared; left as it is" in jump.describe()
    out = by_session(adjust(raw, actions, "split_adjusted", symbol="AAPL/USD"))
    assert out.loc[date(2000, 9, 29), "close"] / out.loc[date(2000, 9, 28), "close"] == pytest.approx(25.75 / 53.5)
    assert out.loc[date(2000, 9, 28), "close"] == pytest.approx(53.5 / 56)  # the declared 2·7·4 only


def test_a_split_nobody_declared_is_reported_until_it_is(catalog: Catalog, folder: Path, tmp_path: Path) -> None:
    """Alpha Vantage's file ends 2020-12-04; the raw file runs on through TSLA's 3:1 of 2022-08-25."""
    actions = read_alphavantage_actions(folder / AV_ADJUSTED.format("TSLA"))
    raw = catalog.bars("TSLA/USD", "1 day")
    assert [(j.session, j.split_ratio) for j in suspicious_jumps(raw, actions, symbol="TSLA/USD")] == [
        (date(2022, 8, 25), 3)
    ]
    (tmp_path / "tsla.csv").write_text("symbol,ex_date,kind,value\nTSLA/USD,2022-08-25,split,3:1\n")
    assert suspicious_jumps(raw, actions + read_action_csv(tmp_path / "tsla.csv"), symbol="TSLA/USD") == []


def test_googls_class_c_distribution_booked_as_a_dividend(catalog: Catalog, folder: Path) -> None:
    """Alpha Vantage books 2014-04-03 as a 567.9717 USD dividend (half the price), marketstack as a 2:1 split
    (and, in its dividend list, as a 567.97 dividend too). Reported; never settled by the adjuster."""
    raw = catalog.bars("GOOGL/USD", "1 day", None, "2020-12-05T00:00Z")
    vantage = read_alphavantage_actions(folder / AV_ADJUSTED.format("GOOGL"))

    (contradicted,) = contradicted_actions(raw, vantage, symbol="GOOGL/USD")
    assert contradicted.action.amount == 567.9717
    assert "the dividend is 50.0% of the close before it (1135.1) and the close moved ×0.5035 (≈ a 2:1 split)" in (
        contradicted.reason
    )
    (jump,) = suspicious_jumps(raw, vantage, symbol="GOOGL/USD")
    assert jump.session == date(2014, 4, 3) and jump.declared == tuple(vantage)
    # applied as declared: a dividend in total-return mode, nothing in split-adjusted mode
    total = by_session(adjust(raw, vantage, "total_return"))
    assert total.loc[date(2014, 4, 2), "close"] == pytest.approx(1135.10 - 567.9717)
    split_only = by_session(adjust(raw, vantage, "split_adjusted"))
    assert split_only.loc[date(2014, 4, 2), "close"] == 1135.10

    marketstack = read_marketstack_actions(folder / "marketstack_splits.csv")
    report = audit_prices(raw, vantage + marketstack, symbol="GOOGL/USD")
    (conflict,) = report.conflicts
    assert conflict.describe() == (
        f"GOOGL/USD 2014-04-03: dividend 567.9717 USD ({AV_ADJUSTED.format('GOOGL')}) vs split 2:1 "
        "(marketstack_splits.csv)"
    )
    assert report.lines()[0].startswith("event sources disagree: GOOGL/USD 2014-04-03")
    assert "no split is agreed on; declared that day: dividend 567.9717 USD" in report.jumps[0].describe()
    with pytest.raises(ConflictingActions, match=r"GOOGL/USD 2014-04-03.*never picks a side"):
        adjust(raw, vantage + marketstack, "total_return", symbol="GOOGL/USD")


def test_a_declared_split_the_bars_do_not_show(shared_data: Path, folder: Path, tmp_path: Path) -> None:
    """The yfinance NVDA file is split-adjusted: audited as if raw, its declared splits show no move."""
    (tmp_path / "nvda.csv").write_text(NVDA_SPLITS_CSV)
    actions = read_action_csv(tmp_path / "nvda.csv")
    adjusted = load_catalog(linked_dir(tmp_path / "yf", folder, NVDA_SPLIT_ADJUSTED)).bars("NVDA/USD", "1 day")
    wrong = contradicted_actions(adjusted, actions, symbol="NVDA/USD")
    assert [c.action.ex_date for c in wrong] == [date(2021, 7, 20), date(2024, 6, 10)]
    assert "the bars may be adjusted already" in wrong[0].reason
    assert contradicted_actions(adjusted, actions, symbol="NVDA/USD", basis="split_adjusted") == []


def test_bars_far_apart_are_a_gap_not_a_move(catalog: Catalog, folder: Path) -> None:
    """GOOGL's bars jump from 2020-12-04 (Alpha Vantage) to 2024-03-28 (marketstack): the 20:1 split of
    2022-07-18 between them cannot be checked against the prices (×0.0828 over three years)."""
    raw = catalog.bars("GOOGL/USD", "1 day")
    assert by_session(raw).index[by_session(raw).index > date(2020, 12, 4)][0] == date(2024, 3, 28)
    splits = read_marketstack_actions(folder / "marketstack_splits.csv")  # 2014-04-03 declared as a 2:1 here
    report = audit_prices(raw, splits, symbol="GOOGL/USD")
    assert report.clean, report.lines()


def test_raw_and_adjusted_files_of_one_symbol_are_refused(shared_data: Path, folder: Path, tmp_path: Path) -> None:
    both = load_catalog(linked_dir(tmp_path / "nvda", folder, NVDA_RAW, NVDA_SPLIT_ADJUSTED))
    with pytest.raises(MixedPriceSources) as caught:
        price_basis_of(both, "NVDA/USD")
    message = str(caught.value)
    assert f"NVDA/USD: {NVDA_SPLIT_ADJUSTED} (split_adjusted, 2010-01-04..2025-06-27) overlaps {NVDA_RAW}" in message
    assert "two prices for the same bars" in message
    assert "`trader backtest --data DIR`" in message and "--price-mode" in message
    # before the split-adjusted file begins, only the raw file holds bars: no ambiguity
    assert price_basis_of(both, "NVDA/USD", "2001-01-01T00:00Z", "2005-01-01T00:00Z") == "raw"

    bhp = load_catalog(linked_dir(tmp_path / "bhp", shared_data, "asx_daily/BHP.AX.csv", "asx_daily_long/BHP.AX.csv"))
    with pytest.raises(MixedPriceSources, match=r"BHP/AUD: its files mix price bases \(asx_daily/BHP.AX.csv "
                                                r"\(total_return, .*asx_daily_long/BHP.AX.csv \(raw"):  # fmt: skip
        check_price_sources(bhp, ["BHP/AUD"])
    assert check_price_sources(bhp, ["BHP/AUD"], "2018-01-01T00:00Z", "2021-01-01T00:00Z") == {"BHP/AUD": "raw"}
    assert check_price_sources(bhp, ["BHP/AUD"], "2024-06-01T00:00Z", "2025-01-01T00:00Z") == {
        "BHP/AUD": "total_return"
    }


def test_every_mixed_symbol_is_named_in_one_error(shared_data: Path, tmp_path: Path) -> None:
    data = linked_dir(
        tmp_path / "mixed", shared_data, "asx_daily/BHP.AX.csv", "asx_daily_long/BHP.AX.csv",
        "intraday/SPY_1min_2025-07.csv", "intraday_vol/SPY_5min_tradingview_BATS_divadj_2025-06-16_2026-06-29.csv.gz",
        "asx_daily/CBA.AX.csv",
    )  # fmt: skip
    with pytest.raises(MixedPriceSources) as caught:
        check_price_sources(load_catalog(data), ["BHP/AUD", "CBA/AUD", "SPY/USD"])
    assert sorted(caught.value.problems) == ["BHP/AUD", "SPY/USD"]
    assert "SPY/USD: intraday_vol/SPY_5min_tradingview_BATS_divadj" in str(caught.value)


def test_prepared_prices_say_what_was_done_in_the_summary(catalog: Catalog, folder: Path) -> None:
    actions = read_actions_dir(folder).actions
    vantage_only = [a for a in actions if a.source == AV_ADJUSTED.format("AAPL")]
    first = prepare_prices(catalog, "AAPL/USD", "1 day", "2000-01-01T00:00Z", "2020-12-05T00:00Z",
                           actions=vantage_only, mode="total_return")  # fmt: skip
    summary = first.to_dict()
    assert (summary["price_mode"], summary["basis"]) == ("total_return", "raw")
    assert summary["adjustment"]["as_of"] == "2020-12-04"
    assert [a["ex_date"] for a in summary["adjustment"]["actions"] if a["kind"] == "split"] == [
        "2000-06-21", "2005-02-28", "2014-06-09", "2020-08-31"
    ]  # fmt: skip
    assert [j["session"] for j in summary["audit"]["suspicious_jumps"]] == ["2000-09-29"]
    again = prepare_prices(catalog, "AAPL/USD", "1 day", "2000-01-01T00:00Z", "2020-12-05T00:00Z",
                           actions=vantage_only, mode="total_return")  # fmt: skip
    assert json.dumps(summary, sort_keys=True) == json.dumps(again.to_dict(), sort_keys=True)
    assert np.array_equal(first.bars["close"].to_numpy(), again.bars["close"].to_numpy())
    # with every vendor's events, the sources' disagreement on 2020-11-06 stops the run before it starts
    with pytest.raises(ConflictingActions, match=r"AAPL/USD 2020-11-06: dividend 0\.205 USD .* vs dividend 0\.21 USD"):
        prepare_prices(catalog, "AAPL/USD", "1 day", "2020-01-01T00:00Z", "2020-12-05T00:00Z", actions=actions,
                       mode="total_return")  # fmt: skip
    assert AV_UNADJUSTED.format("AAPL") in summary["files"]


def test_a_disagreement_stops_only_a_run_that_would_apply_the_event(catalog: Catalog, folder: Path) -> None:
    """The vendors' 0.205 vs 0.21 USD dividend of 2020-11-06 changes no raw or split-adjusted price, nor any price
    adjusted as of a day before it: those runs go ahead (the audit still reports the disagreement)."""
    actions = read_actions_dir(folder).actions
    window = ("2020-01-01T00:00Z", "2020-12-05T00:00Z")
    for mode in ("raw", "split_adjusted"):
        prices = prepare_prices(catalog, "AAPL/USD", "1 day", *window, actions=actions, mode=mode)
        assert any("2020-11-06" in line for line in prices.audit.lines()), mode
    split = [a for a in prepare_prices(catalog, "AAPL/USD", "1 day", *window, actions=actions,
                                       mode="split_adjusted").plan.actions if a.action.kind == "split"]  # fmt: skip
    assert [(str(a.action.ex_date), a.price_factor) for a in split if a.price_factor != 1.0] == [("2020-08-31", 0.25)]
    before = prepare_prices(catalog, "AAPL/USD", "1 day", "2020-01-01T00:00Z", "2020-11-01T00:00Z", actions=actions,
                            mode="total_return", as_of=date(2020, 10, 30))  # fmt: skip
    assert before.plan.as_of == date(2020, 10, 30)
    with pytest.raises(ConflictingActions, match="2020-11-06"):
        prepare_prices(catalog, "AAPL/USD", "1 day", *window, actions=actions, mode="total_return")
