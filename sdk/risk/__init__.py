"""Risk: one path, in the base currency, between every order and every venue.

Usage (the runner, the plan monitor and the MCP server all do this)::

    from sdk.risk import OrderIntent, RiskManager, build_risk_context

    intent = OrderIntent(symbol="BHP/AUD", side="buy", type="limit", amount=100, price=45.005,
                         origin="strategy:breakout")
    context = await build_risk_context(trader, intent.symbol, pnl_today=pnl_aud)
    decision = RiskManager(settings).validate(intent, context)
    if decision.ok:
        await trader.create_order(**decision.order.create_order_args())
    else:
        log.info(decision.reason, extra={"code": decision.code})

Modules: ``intent`` (:class:`OrderIntent`), ``context`` (:class:`RiskContext`, :class:`Quote`,
:class:`PositionFact`), ``builder`` (:func:`build_risk_context`), ``pricing`` (tick rounding, market
pricing), ``decision`` (:class:`Approved`, :class:`Rejected`, :class:`RejectCode`), ``manager``
(:class:`RiskManager`).
"""

from sdk.risk.builder import build_risk_context, positions_from_ccxt
from sdk.risk.context import PositionFact, Quote, RiskContext
from sdk.risk.decision import Approved, Decision, NormalisedOrder, RejectCode, Rejected
from sdk.risk.intent import OrderIntent
from sdk.risk.manager import ASX_MIN_PARCEL_AUD, RiskManager

__all__ = [
    "ASX_MIN_PARCEL_AUD",
    "Approved",
    "Decision",
    "NormalisedOrder",
    "OrderIntent",
    "PositionFact",
    "Quote",
    "RejectCode",
    "Rejected",
    "RiskContext",
    "RiskManager",
    "build_risk_context",
    "positions_from_ccxt",
]
