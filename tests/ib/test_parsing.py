"""The IB venue's pure tables: statuses, error codes, commissions, liquidity, timeframes."""

from __future__ import annotations

import itertools

import pytest

from sdk.errors import (
    BadRequest,
    BadSymbol,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from sdk.venues.ib.parsing import (
    TIME_IN_FORCE,
    UNSET_DOUBLE,
    clean_number,
    commission_or_pending,
    error_for,
    is_informational,
    is_no_data,
    is_pacing_violation,
    taker_or_maker,
    to_ccxt_status,
    to_ccxt_time_in_force,
)
from sdk.venues.ib.timeframes import BAR_SIZES, bar_size_for, duration_string, plan_chunks


@pytest.mark.parametrize(
    ("ib", "ccxt"),
    [
        ("PendingSubmit", "open"),
        ("PreSubmitted", "open"),
        ("Submitted", "open"),
        ("PendingCancel", "open"),
        ("Filled", "closed"),
        ("Cancelled", "canceled"),
        ("ApiCancelled", "canceled"),
        ("Inactive", "rejected"),
        ("SomethingNew", "open"),
    ],
)
def test_order_status_table(ib: str, ccxt: str) -> None:
    assert to_ccxt_status(ib) == ccxt


def test_cancel_refined_by_rejection_or_expiry() -> None:
    assert to_ccxt_status("Cancelled", error_code=201, message="Order rejected - reason:no margin") == "rejected"
    assert to_ccxt_status("Cancelled", error_code=202, message="Order Canceled - reason:expired GTD") == "expired"
    assert to_ccxt_status("Cancelled", error_code=202, message="Order Canceled - reason:") == "canceled"


@pytest.mark.parametrize(
    ("code", "message", "cls"),
    [
        (200, "No security definition has been found for the request", BadSymbol),
        (201, "Order rejected - reason:price too far", InvalidOrder),
        (201, "Order rejected - reason:Insufficient funds", InsufficientFunds),
        (110, "The price does not conform to the minimum price variation", InvalidOrder),
        (162, "Historical Market Data Service error message:request pacing violation", RateLimitExceeded),
        (162, "Historical Market Data Service error message:HMDS query returned no data", ExchangeError),
        (1100, "Connectivity between IB and Trader Workstation has been lost.", NetworkError),
        (502, "Couldn't connect to TWS.", NetworkError),
        (504, "Not connected", NetworkError),
        (10147, "OrderId that needs to be cancelled is not found.", OrderNotFound),
        (321, "Error validating request", BadRequest),
        (99999, "unheard of", ExchangeError),
    ],
)
def test_error_table(code: int, message: str, cls: type) -> None:
    error = error_for(code, message)
    assert type(error) is cls
    assert str(code) in str(error) and message in str(error)


def test_pacing_and_no_data_are_told_apart() -> None:
    pacing = "Historical Market Data Service error message:Historical data request pacing violation"
    assert is_pacing_violation(162, pacing) and not is_no_data(162, pacing)
    assert is_no_data(162, "Historical Market Data Service error message:HMDS query returned no data: X")
    assert not is_pacing_violation(200, "pacing")


def test_informational_codes_are_only_notices() -> None:
    for code in (2104, 2106, 2158, 2103, 2119):
        assert is_informational(code)
    for code in (200, 201, 1100, 162):
        assert not is_informational(code)


def test_commission_pending_never_zero_or_negative() -> None:
    assert commission_or_pending(UNSET_DOUBLE, "AUD", "0001.01") is None
    assert commission_or_pending(-UNSET_DOUBLE, "AUD", "0001.01") is None
    assert commission_or_pending(0.0, "AUD", "0001.01") is None, "0.0 arrives before the real report"
    assert commission_or_pending(-1.5, "AUD", "0001.01") is None
    assert commission_or_pending(float("nan"), "AUD", "0001.01") is None
    assert commission_or_pending(6.0, "", "") is None, "ib_async's placeholder report (no execId) is pending"
    assert commission_or_pending(6.0, "AUD", "0001.01") == 6.0
    assert clean_number(UNSET_DOUBLE) is None and clean_number(2**31 - 1) is None and clean_number(1.5) == 1.5


def test_last_liquidity() -> None:
    assert taker_or_maker(1) == "maker"
    assert taker_or_maker(2) == "taker"
    assert taker_or_maker(3) is None and taker_or_maker(0) is None and taker_or_maker(None) is None


def test_timeframes_map_and_reject_with_the_list() -> None:
    assert bar_size_for("1m") == "1 min" and bar_size_for("1h") == "1 hour" and bar_size_for("1d") == "1 day"
    with pytest.raises(BadRequest, match=r"'7m' is not supported.*1m, 2m, 3m"):
        bar_size_for("7m")
    assert len(BAR_SIZES) == 21


def test_duration_strings() -> None:
    assert duration_string(60) == "60 S" and duration_string(86_400) == "86400 S"
    assert duration_string(7 * 86_400) == "7 D"
    with pytest.raises(ValueError, match="whole days"):
        duration_string(86_401)


@pytest.mark.parametrize(
    ("timeframe", "days", "max_seconds"),
    [("1m", 60, 86_400), ("5m", 30, 7 * 86_400), ("1h", 400, 30 * 86_400), ("1d", 800, 365 * 86_400), ("1s", 1, 1800)],
)
def test_chunks_cover_the_range_exactly_and_respect_ib_maximum(timeframe: str, days: int, max_seconds: int) -> None:
    until = 1_714_000_000_000 - 1_714_000_000_000 % 86_400_000
    since = until - days * 86_400_000
    chunks = plan_chunks(timeframe, since, until)
    assert chunks[0].end_ms == until and chunks[-1].start_ms == since
    for newer, older in itertools.pairwise(chunks):
        assert older.end_ms == newer.start_ms, "contiguous: no gap and no overlap"
    for chunk in chunks:
        seconds = int(chunk.duration.split()[0]) * (86_400 if chunk.duration.endswith("D") else 1)
        assert seconds <= max_seconds
        assert chunk.end_ms - chunk.start_ms <= seconds * 1000


def test_chunks_snap_to_the_bar_grid_and_reject_empty_ranges() -> None:
    chunks = plan_chunks("5m", 1_700_000_123_000, 1_700_000_999_000)
    assert chunks[-1].start_ms % 300_000 == 0 and chunks[0].end_ms % 300_000 == 0
    with pytest.raises(BadRequest, match="must be before"):
        plan_chunks("1m", 10, 10)


def test_time_in_force_is_ccxts_or_none() -> None:
    # ccxt's order validator accepts GTC, GTK, IOC, FOK and PO only (ccxt/test/exchange/base/test_order.py)
    unified = {tif: to_ccxt_time_in_force(tif) for tif in TIME_IN_FORCE}
    assert unified == {"GTC": "GTC", "DAY": None, "IOC": "IOC", "FOK": "FOK", "OPG": None, "GTD": None}
    assert to_ccxt_time_in_force(None) is None and to_ccxt_time_in_force("gtc") == "GTC"
