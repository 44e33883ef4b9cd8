"""The execution service on the offline gateway (real socket, real ASX data) and a real ledger.

Shadow orders fill with the gateway's own fill model at the live quote and never reach the gateway;
real orders reach it once per client order id, across service instances (processes) too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sdk.ledger import open_ledger
from sdk.ledger import queries as q
from sdk.risk import Approved, OrderIntent, RejectCode
from sdk.services import build_services


def buy(amount: int = 200, cid: str = "trd-bhp-0001", symbol: str = "BHP/AUD", **extra: Any) -> OrderIntent:
    return OrderIntent(
        symbol=symbol, side="buy", type="market", amount=amount, client_order_id=cid, origin="strategy:test", **extra
    )


async def test_shadow_fill_matches_the_gateways_fill_and_nothing_is_sent(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    shadow_gw, paper_gw = await make_gateway(), await make_gateway()
    shadow_trader = await make_trader(shadow_gw)
    paper_trader = await make_trader(paper_gw, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        shadow = await build_services(shadow_trader.settings, shadow_trader, ledger, session_id="shadow-1", shadow=True)
        paper = await build_services(paper_trader.settings, paper_trader, ledger, session_id="paper-1", shadow=False)
        simulated = await shadow.execution.submit(buy(cid="trd-shadow-1"))
        real = await paper.execution.submit(buy(cid="trd-paper-1"))

        assert shadow_gw.state()["orders"] == [] and shadow_gw.state()["executions"] == [], "shadow sent something"
        assert [o["orderRef"] for o in paper_gw.state()["orders"]] == ["trd-paper-1"]
        assert simulated.shadow and not real.shadow
        # same instant, same replayed market: the shadow fill is the gateway's fill
        assert [(t["price"], t["amount"], t["takerOrMaker"]) for t in simulated.fills] == [
            (t["price"], t["amount"], t["takerOrMaker"]) for t in real.fills
        ]
        assert simulated.fills[0]["fee"] == real.fills[0]["fee"], "the estimate is IB's fixed ASX schedule"

        rows = {r["client_order_id"]: r for r in q.orders_by_client_prefix(ledger, "trd-")}
        assert rows["trd-shadow-1"]["shadow"] is True and rows["trd-paper-1"]["shadow"] is False
        assert rows["trd-shadow-1"]["strategy"] == "test" and rows["trd-shadow-1"]["risk_decision"]["ok"] is True
        fills = {t["client_order_id"]: t for t in q.trades_with_commissions(ledger)}
        assert fills["trd-shadow-1"]["commission_source"] == "estimate"
        assert fills["trd-paper-1"]["commission_source"] == "ib_commission_report"
        assert fills["trd-shadow-1"]["fee_in_base"] == fills["trd-shadow-1"]["fee_cost"]  # AUD fee, AUD base

        position = (await shadow.venue.fetch_positions(["BHP/AUD"]))[0]
        assert (position["contracts"], position["entryPrice"]) == (200.0, simulated.fills[0]["price"])
        assert await paper_trader.fetch_positions(["BHP/AUD"]), "the real order did reach the paper account"


async def test_submit_is_idempotent_by_client_order_id_across_processes(
    gateway: Any, make_trader: Any, ledger_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(ledger_url) as ledger:
        first_process = await build_services(trader.settings, trader, ledger, session_id="run-a", shadow=False)
        first = await first_process.execution.submit(buy())
        again = await first_process.execution.submit(buy())
        # a second process (fresh services, fresh run) asked for the same id: the ledger answers
        second_process = await build_services(trader.settings, trader, ledger, session_id="run-b", shadow=False)
        replayed = await second_process.execution.submit(buy())

        assert not first.replayed and again.replayed and replayed.replayed
        assert replayed.order is not None and first.order is not None
        assert replayed.order["id"] == first.order["id"] and replayed.order["status"] == "closed"
        assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-bhp-0001"], "sent more than once"
        assert len(q.orders_by_client_prefix(ledger, "trd-")) == 1
        assert len(q.trades_with_commissions(ledger)) == 1


async def test_an_order_the_venue_has_but_the_ledger_lost_is_adopted_not_resent(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """A process that sent an order and died before recording it: the next one finds it at the venue."""
    trader = await make_trader(gateway, execute_orders=True)
    await trader.create_order("BHP/AUD", "limit", "buy", 100, 30.0, {"clientOrderId": "trd-lost-1"})
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-c", shadow=False)
        result = await services.execution.submit(buy(100, cid="trd-lost-1"))
        assert result.replayed and result.order is not None and result.order["status"] == "open"
        assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-lost-1"]
        rows = q.orders_by_client_prefix(ledger, "trd-lost-1")
        assert [(r["status"], r["price"]) for r in rows] == [("open", Decimal("30"))]


async def test_an_order_recorded_as_submitting_but_unknown_to_the_venue_is_sent_once(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-d", shadow=False)
        services.writer.record_order(
            {"clientOrderId": "trd-crash-1", "symbol": "BHP/AUD", "side": "buy", "type": "market", "amount": 100,
             "status": "open", "info": {"stage": "submitting"}},
            shadow=False, run_id="run-d",
        )  # fmt: skip
        result = await services.execution.submit(buy(100, cid="trd-crash-1"))
        assert not result.replayed and result.order is not None and result.order["status"] == "closed"
        assert [o["orderRef"] for o in gateway.state()["orders"]] == ["trd-crash-1"]
        row = q.orders_by_client_prefix(ledger, "trd-crash-1")[0]
        assert row["status"] == "closed" and row["order_id"] == result.order["id"]


async def test_a_rejection_is_recorded_as_an_event_and_nothing_is_sent(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway, execute_orders=True, max_order_value=5000)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-e", shadow=False)
        preview = await services.execution.preview(buy(100))
        assert isinstance(preview, Approved), "100 BHP is under AUD 5,000"
        assert q.recent_events(ledger, kinds=["risk_rejection"]) == [] and gateway.state()["orders"] == []

        result = await services.execution.submit(buy(1000, cid="trd-big-1"))
        assert not result.approved and result.reject_code == RejectCode.MAX_ORDER_VALUE.value and result.order is None
        assert gateway.state()["orders"] == []
        event = q.recent_events(ledger, kinds=["risk_rejection"])[0]
        assert event["payload"]["client_order_id"] == "trd-big-1" and event["payload"]["code"] == "max_order_value"
        assert event["symbol"] == "BHP/AUD" and "MAX_ORDER_VALUE" in event["message"]
        assert services.execution.stats.rejections == {"max_order_value": 1}


async def test_shadow_ioc_limit_below_the_market_is_cancelled_unfilled(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-f", shadow=True)
        ticker = await trader.fetch_ticker("BHP/AUD")
        low = round(ticker["bid"] * 0.9, 2)
        intent = OrderIntent(symbol="BHP/AUD", side="buy", type="limit", amount=100, price=low, tif="IOC",
                             client_order_id="trd-ioc-1", origin="strategy:test")  # fmt: skip
        result = await services.execution.submit(intent)
        assert result.order is not None and result.order["status"] == "canceled" and result.fills == ()
        assert await services.venue.fetch_positions() == []


async def test_shadow_day_limit_rests_and_expires_at_the_session_close(
    gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-g", shadow=True)
        ticker = await trader.fetch_ticker("BHP/AUD")
        low = round(ticker["bid"] * 0.8, 2)
        intent = OrderIntent(symbol="BHP/AUD", side="buy", type="limit", amount=100, price=low, tif="DAY",
                             client_order_id="trd-day-1", origin="strategy:test")  # fmt: skip
        result = await services.execution.submit(intent)
        assert result.order is not None and result.order["status"] == "open"
        gateway.clock.advance(6 * 3600)  # past 16:00 Sydney
        (order,) = await services.execution.refresh_open_orders()
        assert order["status"] == "expired" and order["filled"] == 0.0
        assert q.orders_by_client_prefix(ledger, "trd-day-1")[0]["status"] == "expired"
        assert services.execution.open_client_order_ids == frozenset()


async def test_a_resting_shadow_limit_fills_where_the_market_traded_through_it_as_the_gateway_fills_it(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """A DAY buy limit under the market; both clocks jump past the session's close in one move. The gateway works
    its order through every replayed second it jumped over; the shadow venue, looking only afterwards, works its
    order through the minutes that traded meanwhile (the venue's 1-minute bars) before the DAY expiry: both fill,
    at the limit, as the maker, and the shadow position is there before anything refreshed the order."""
    shadow_gw, paper_gw = await make_gateway(), await make_gateway()
    now = shadow_gw.clock.timestamp()
    close = shadow_gw.market.session_at("BHP/AUD", now).close.timestamp()
    low = min(s.slice.low for s in shadow_gw.market.segments("BHP/AUD", now, close))
    bid = Decimal(str(shadow_gw.market.quote("BHP/AUD", now).bid))
    limit = ((low + bid) / 2).quantize(Decimal("0.01"))  # on ASX's 0.01 step: traded through later, not now
    assert low < limit < bid, (low, limit, bid)
    results = {}
    with open_ledger(sqlite_url) as ledger:
        for mode, gw in (("shadow", shadow_gw), ("paper", paper_gw)):
            trader = await make_trader(gw, execute_orders=mode == "paper")
            services = await build_services(trader.settings, trader, ledger, session_id=mode, shadow=mode == "shadow")
            intent = OrderIntent(symbol="BHP/AUD", side="buy", type="limit", amount=100, price=limit, tif="DAY",
                                 client_order_id=f"trd-rest-{mode}", origin="strategy:test")  # fmt: skip
            placed = await services.execution.submit(intent)
            assert placed.order is not None and placed.order["status"] == "open" and placed.fills == ()
            gw.clock.jump(datetime.fromtimestamp(close + 60, UTC))
            results[mode] = services
        (position,) = await results["shadow"].venue.fetch_positions()  # before any refresh of the order
        assert (position["contracts"], position["entryPrice"]) == (100.0, float(limit))
        for mode, services in results.items():
            (order,) = await services.execution.refresh_open_orders()
            assert (order["status"], order["filled"], order["average"]) == ("closed", 100.0, float(limit)), mode
            assert [t["takerOrMaker"] for t in order["trades"]] == ["maker"], mode


async def test_cancelling_a_resting_shadow_limit_keeps_what_the_market_filled_before_the_cancel(
    make_gateway: Any, make_trader: Any, sqlite_url: str
) -> None:
    """A shadow DAY buy limit the market traded through while nothing looked: the cancel comes after, so (as at a
    real venue, where the fill happened first) the order is filled, not cancelled."""
    gw = await make_gateway()
    now = gw.clock.timestamp()
    close = gw.market.session_at("BHP/AUD", now).close.timestamp()
    low = min(s.slice.low for s in gw.market.segments("BHP/AUD", now, close - 120))
    bid = Decimal(str(gw.market.quote("BHP/AUD", now).bid))
    limit = ((low + bid) / 2).quantize(Decimal("0.01"))
    assert low < limit < bid, (low, limit, bid)
    trader = await make_trader(gw, execute_orders=False)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="cancel", shadow=True)
        intent = OrderIntent(symbol="BHP/AUD", side="buy", type="limit", amount=100, price=limit, tif="DAY",
                             client_order_id="trd-rest-cancel", origin="strategy:test")  # fmt: skip
        placed = await services.execution.submit(intent)
        assert placed.order is not None and placed.order["status"] == "open"
        gw.clock.jump(datetime.fromtimestamp(close - 60, UTC))  # the low traded before this, the session still open
        order = await services.execution.cancel("trd-rest-cancel")
        assert (order["status"], order["filled"]) == ("closed", 100.0), order


@pytest.mark.parametrize("shadow", [True, False], ids=["shadow", "paper"])
async def test_a_plan_enters_through_execution_and_is_idempotent_by_plan_id(
    gateway: Any, make_trader: Any, sqlite_url: str, shadow: bool
) -> None:
    from sdk.services import PlanRequest

    trader = await make_trader(gateway, execute_orders=not shadow)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-h", shadow=shadow)
        request = PlanRequest(symbol="CBA/AUD", amount=50, stop=100, target=200, origin="agent:claude-1",
                              plan_id="plan-cba-1", reason="breakout")  # fmt: skip
        plan = await services.plans.create(request)
        assert (plan.status, plan.filled, plan.held) == ("active", Decimal(50), Decimal(50))
        assert (await services.plans.create(request)).entry_client_order_id == plan.entry_client_order_id
        sent = [o["orderRef"] for o in gateway.state()["orders"]]
        assert sent == ([] if shadow else [plan.entry_client_order_id])

        (row,) = q.open_plans(ledger)
        assert (row["plan_id"], row["status"], row["agent"], row["stop"]) == ("plan-cba-1", "active", "claude-1", 100)
        order = q.orders_by_client_prefix(ledger, plan.entry_client_order_id)[0]
        assert order["plan_id"] == "plan-cba-1" and order["agent"] == "claude-1"
        statuses = [e["payload"]["to"] for e in reversed(q.recent_events(ledger, kinds=["plan_status"]))]
        assert statuses == ["pending", "active"]

        cancelled = await services.plans.cancel("plan-cba-1")
        assert cancelled.status == "canceled"
        assert "50 CBA/AUD still held" in q.recent_events(ledger)[0]["payload"]["reason"]
        with pytest.raises(ValueError, match="only pending or active"):
            await services.plans.cancel("plan-cba-1")


async def test_a_plan_whose_entry_risk_rejects_is_rejected(gateway: Any, make_trader: Any, sqlite_url: str) -> None:
    from sdk.services import PlanRequest

    trader = await make_trader(gateway, max_order_value=1000)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-i", shadow=True)
        plan = await services.plans.create(
            PlanRequest(symbol="CBA/AUD", amount=50, stop=100, target=200, origin="strategy:test")
        )
        assert plan.status == "rejected"
        assert "max_order_value" in q.recent_events(ledger, kinds=["plan_status"])[0]["payload"]["reason"]


def test_a_plan_with_its_stop_above_its_target_is_refused() -> None:
    from pydantic import ValidationError

    from sdk.services import PlanRequest

    with pytest.raises(ValidationError, match="stop below its target"):
        PlanRequest(symbol="CBA/AUD", amount=50, stop=200, target=100, origin="agent:x")
    with pytest.raises(ValidationError, match="between the stop"):
        PlanRequest(symbol="CBA/AUD", amount=50, entry=250, stop=100, target=200, origin="agent:x")


async def test_portfolio_values_the_shadow_account_in_aud(gateway: Any, make_trader: Any, sqlite_url: str) -> None:
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-j", shadow=True)
        before = await services.portfolio.record()
        result = await services.execution.submit(buy(cid="trd-pf-1"))
        fee = Decimal(str(result.fills[0]["fee"]["cost"]))
        gateway.clock.advance(60)
        after = await services.portfolio.record()
        usd = Decimal(str(await trader.fetch_fx_rate("USD", "AUD")))
        assert before.equity == (Decimal(1_000_000) + Decimal(50_000) * usd).quantize(Decimal("0.0001"))
        assert (
            after.commissions == fee
            and after.cash["AUD"] == Decimal(1_000_000) - Decimal(200) * Decimal(str(result.fills[0]["price"])) - fee
        )
        assert after.equity == (after.cash_base + after.positions_value).quantize(Decimal("0.0001"))
        curve = q.equity_curve(ledger, run_id="run-j")
        assert [row["equity"].quantize(Decimal("0.0001")) for row in curve] == [before.equity, after.equity]
        assert curve[1]["timestamp"] - curve[0]["timestamp"] == 60_000, "stamped with the venue's simulated time"
        positions = q.latest_positions(ledger)
        assert [(p["symbol"], p["contracts"]) for p in positions] == [("BHP/AUD", Decimal(200))]


async def test_shadow_fills_give_the_fill_model_the_instruments_size_step_as_the_gateway_does(
    gateway: Any, make_trader: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's broker passes ``size_increment`` (partial fills rounded down to whole shares); so does the
    shadow venue, through the simulation core's matching engine. A spy on the fill model (the real one still decides)
    sees what each call was given."""
    import sdk.sim.matching as matching_module
    from sdk.sim.fills import FillDecision, match

    calls: list[dict[str, Any]] = []

    def spy(*args: Any, **kwargs: Any) -> FillDecision:
        calls.append(kwargs)
        return match(*args, **kwargs)

    monkeypatch.setattr(matching_module, "match", spy)
    trader = await make_trader(gateway)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="shadow-step", shadow=True)
        result = await services.execution.submit(buy(cid="trd-step-1"))
    spec = await trader.fetch_instrument("BHP/AUD")
    assert result.fills and calls, "the shadow venue filled through the gateway's fill model"
    assert spec.size_increment == Decimal(1)
    assert [c.get("size_increment") for c in calls] == [spec.size_increment] * len(calls)


async def test_nothing_is_sent_once_the_runs_lease_is_lost(gateway: Any, make_trader: Any, sqlite_url: str) -> None:
    """The runner stops between steps when its lease is lost; an order of the step in progress is refused at once."""
    from sdk.errors import ExchangeError

    trader = await make_trader(gateway, execute_orders=True)
    with open_ledger(sqlite_url) as ledger:
        services = await build_services(trader.settings, trader, ledger, session_id="run-lease", shadow=False)
        services.execution.lease_lost = lambda: "held by host elsewhere, pid 1"
        with pytest.raises(ExchangeError, match=r"no longer owns the run \(held by host elsewhere"):
            await services.execution.submit(buy(cid="trd-after-lease-lost"))
        assert gateway.state()["orders"] == [] and q.orders_by_client_prefix(ledger, "trd-after-lease-lost") == []
