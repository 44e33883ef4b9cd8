"""Modifying and forgetting orders in the simulation core (``MatchingEngine.amend``: IB's modification, ccxt's
``edit_order``; ``MatchingEngine.forget``, for a driver that keeps the history itself), on the real BHP/AUD daily
bars of March 2025 (``test_sim_rules.py`` lists them; the 5th opened at 37.916350, so its quote was 37.91 / 37.92)."""

from __future__ import annotations

from typing import Any

import pytest
from sim_support import D, Driver, ms  # type: ignore[import-not-found]

from sdk.errors import InvalidOrder

pytestmark = pytest.mark.shared_data

AFTER_MAR4_CLOSE = ms("2025-03-04T06:00")  # 17:00 Sydney: the ASX is shut until 10:00 on the 5th


@pytest.fixture
def sim(catalog: Any) -> Driver:
    return Driver(catalog, {"BHP/AUD": ("1D", True)}, window=("2025-03-01T00:00", "2025-03-15T00:00"))


def test_a_modified_order_arrives_again_on_its_new_terms_and_time_in_force(sim: Driver) -> None:
    order = sim.place("BHP/AUD", "limit", "buy", 100, "30.00", at=AFTER_MAR4_CLOSE, time_in_force="GTC")
    sim.run(ms("2025-03-05T06:00"))
    assert (order.status, order.arrival, order.expires_at) == ("open", False, None), "it met the 5th and rests"
    sim.broker.engine.amend(
        order.id, ms("2025-03-05T06:00"), type="limit", amount=D(200), price=D("41.50"), stop_price=None,
        time_in_force="DAY",
    )  # fmt: skip
    # modified while the ASX is shut: a DAY order's session is the next one, the 6th (closing 05:00 UTC)
    assert (order.amount, order.price, order.expires_at) == (D(200), D("41.50"), ms("2025-03-06T05:00"))
    sim.run(ms("2025-03-06T06:00"))
    # it arrives again at the 6th's open (41.087031: quote 41.08 / 41.09), marketable: the buyer takes the ask, as
    # the taker (a resting limit would have filled at the open as the maker)
    assert [(e.price, e.amount, e.liquidity) for e in order.fills] == [(D("41.09"), D(200), "taker")]
    with pytest.raises(InvalidOrder, match="closed"):
        sim.broker.engine.amend(
            order.id, ms("2025-03-06T06:00"), type="limit", amount=D(300), price=D("38.00"), stop_price=None,
            time_in_force="GTC",
        )  # fmt: skip


def test_a_modification_the_core_refuses_changes_nothing_and_opg_is_rescheduled(sim: Driver) -> None:
    order = sim.place("BHP/AUD", "limit", "buy", 100, "30.00", at=AFTER_MAR4_CLOSE, time_in_force="GTC")
    engine = sim.broker.engine
    with pytest.raises(InvalidOrder, match="not a multiple"):
        engine.amend(order.id, AFTER_MAR4_CLOSE, type="limit", amount=D(100), price=D("30.005"), stop_price=None,
                     time_in_force="GTC")  # fmt: skip
    assert (order.price, order.time_in_force) == (D("30.00"), "GTC")
    engine.amend(order.id, ms("2025-03-05T01:00"), type="market", amount=D(100), price=None, stop_price=None,
                 time_in_force="OPG")  # fmt: skip
    # modified during the 5th's session: its auction is the 6th's opening (10:00 Sydney, 23:00 UTC on the 5th)
    assert (order.opens_at, order.expires_at) == (ms("2025-03-05T23:00"), ms("2025-03-06T05:00"))
    sim.run(ms("2025-03-06T06:00"))
    [fill] = order.fills  # the 6th gapped up: the auction price is its open, 41.087031
    assert (round(fill.price, 6), fill.timestamp) == (D("41.087031"), ms("2025-03-05T23:00"))


def test_a_finished_order_can_be_forgotten_an_open_one_cannot(sim: Driver) -> None:
    order = sim.place("BHP/AUD", "limit", "buy", 100, "30.00", at=AFTER_MAR4_CLOSE, time_in_force="GTC")
    engine = sim.broker.engine
    with pytest.raises(InvalidOrder, match="open"):
        engine.forget(order.id)
    engine.cancel(order.id, AFTER_MAR4_CLOSE)
    engine.forget(order.id)
    assert engine.orders == {} and engine.open_orders() == [] and not engine.has_working("BHP/AUD")
    engine.forget(order.id)  # unknown now: nothing to do
