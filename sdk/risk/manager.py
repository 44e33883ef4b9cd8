"""The RiskManager: one path, in the base currency, for the runner, the plan monitor and the MCP server.

:meth:`RiskManager.validate` is pure and synchronous: an :class:`~sdk.risk.intent.OrderIntent` and a
:class:`~sdk.risk.context.RiskContext` in, an :class:`~sdk.risk.decision.Approved` or a
:class:`~sdk.risk.decision.Rejected` out. Checks, in order (the first failure answers):

1. the intent fits the instrument; reduce-only / exit orders do not exceed the position;
2. daily-loss switch (``DAILY_LOSS_LIMIT``): when today's loss reaches it, only reducing orders pass;
3. allow-lists (``ALLOWED_SYMBOLS``, ``ALLOWED_INSTRUMENT_TYPES``); the client order id prefix;
4. market hours from ``exchange_calendars`` (XASX, XNYS) and IDEALPRO's 24/5 (:mod:`sdk.calendars`); an order
   sent at the very close of a session (to the millisecond) on a market with a closing auction (ASX, NYSE:
   :data:`sdk.sim.orders.AUCTION_MARKETS`) is for that auction (market-on-close: a backtest's ``--fill at-close``);
5. pricing (:mod:`sdk.risk.pricing`): tick ladder in the safe direction, market orders priced from the
   far touch plus ``MARKET_ORDER_BUFFER_PCT`` or refused (``no_quote``), marketable limits where the
   venue takes no market orders; the amount cut to the size step and checked against the venue minimum;
   a sell with no bid, last or mark to value it by is refused (``no_quote``); a limit more than
   ``MAX_PRICE_OFF_MARKET_PCT`` through the touch (a buy above the ask, a sell below the bid) is refused
   (``price_off_market``);
6. notional in the base currency at the live FX rate (``fx_unavailable`` when none), at the conservative
   check price of :mod:`sdk.risk.pricing`: the most a buy pays (its limit; the far touch plus the buffer
   for a market order), and for a sell the highest of its own prices, the bid, the last and the mark
   (a sell's limit is only the least it takes; a market sell is never valued below the bid);
7. ``MIN_TRADE_SIZE``; ASX's minimum marketable parcel (AUD 500 on a first purchase, and again after a
   position was closed; ASX Operating Rules, Section 7 definition of "marketable parcel");
   ``MAX_ORDER_VALUE``;
8. per-symbol caps (``SYMBOL_MAX_POSITION_VALUE``, else ``MAX_POSITION_VALUE``) and gross exposure
   (``MAX_TOTAL_EXPOSURE``, longs plus shorts, every position at its mark in the base currency): the
   position after the order is valued at the instrument's mark (the position's mark, else the last
   trade, else the mid, else the one side quoted), never at the order's price;
9. for orders that take liquidity: spread (``MAX_SPREAD_PCT``) and the notional resting at the touch
   (``MIN_TOP_OF_BOOK_NOTIONAL``, base currency);
10. the cost estimate (:class:`~sdk.costs.CostTracker`).

Orders that only reduce a position skip the size, value, cap and liquidity limits (they lower risk) and
get warnings instead; they still need an open market and a price. Values are compared exactly, in
``Decimal``; an order one cent over a limit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import NoReturn, Protocol

from sdk.calendars import get_calendar
from sdk.costs.fx import FxRate
from sdk.costs.tracker import CostTracker
from sdk.errors import FxRateUnavailable, NotSupported
from sdk.risk.context import RiskContext
from sdk.risk.decision import Approved, Decision, NormalisedOrder, RejectCode, Rejected
from sdk.risk.intent import OrderIntent
from sdk.risk.pricing import PricedOrder, PricingRefused, price_order, round_amount, through_market
from sdk.settings import Settings
from sdk.sim.orders import AUCTION_MARKETS
from sdk.symbols import InstrumentType

__all__ = ["ASX_MIN_PARCEL_AUD", "RiskManager"]

#: ASX minimum marketable parcel: a first purchase in a security must be worth at least AUD 500
#: (ASX Operating Rules, Section 7 "Definitions": marketable parcel; shared/docs/ib-reference.md).
ASX_MIN_PARCEL_AUD = Decimal("500")
_CENTS = Decimal("0.01")
_VALUE_PLACES = Decimal("0.0001")
_STALE_QUOTE_MS = 60_000


class _Refusal(Exception):
    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.reason)
        self.rejected = rejected


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENTS, rounding=ROUND_HALF_UP):,}"


@dataclass(frozen=True, slots=True)
class _Position:
    before: Decimal
    after: Decimal

    @property
    def closing(self) -> bool:
        """Only reduces: same sign or flat after, smaller in size."""
        return self.before != 0 and abs(self.after) < abs(self.before) and self.after * self.before >= 0


class RiskManager:
    """Validates every order against the base-currency limits before anything is sent.

    Args:
        settings: the limits (``MAX_ORDER_VALUE``, ``MAX_TOTAL_EXPOSURE``, ``MAX_POSITION_VALUE``,
            ``SYMBOL_MAX_POSITION_VALUE``, ``MIN_TRADE_SIZE``, ``MIN_TOP_OF_BOOK_NOTIONAL``,
            ``MAX_SPREAD_PCT``, ``MARKET_ORDER_BUFFER_PCT``, ``MAX_PRICE_OFF_MARKET_PCT``,
            ``DAILY_LOSS_LIMIT``, ``ALLOWED_SYMBOLS``, ``ALLOWED_INSTRUMENT_TYPES``, ``CLIENT_ORDER_PREFIX``),
            all money in ``IB_BASE_CURRENCY``.
        cost_tracker: the cost model (default: one built from ``settings``).
    """

    def __init__(self, settings: Settings, cost_tracker: CostTracker | None = None) -> None:
        self.settings = settings
        self.costs = cost_tracker or CostTracker(settings)

    def validate(self, intent: OrderIntent, context: RiskContext) -> Decision:
        """Approve ``intent`` as a normalised order, or reject it with a code and what to do instead.

        Pure: reads only ``intent``, ``context`` and the settings; never raises for a business reason.

        Returns:
            :class:`Approved` (``order``, notional in quote and base currency, cost estimate, warnings)
            or :class:`Rejected` (``code``, ``reason``, ``limit``, ``value``, ``currency``).
        """
        try:
            return self._validate(intent, context)
        except _Refusal as refusal:
            return refusal.rejected

    # --- the checks ---------------------------------------------------------------------------
    def _validate(self, intent: OrderIntent, ctx: RiskContext) -> Approved:
        s, inst, base = self.settings, ctx.instrument, self.settings.base_currency
        warnings: list[str] = []

        def reject(
            code: RejectCode,
            reason: str,
            limit: Decimal | None = None,
            value: Decimal | None = None,
            currency: str | None = None,
        ) -> NoReturn:
            raise _Refusal(Rejected(code, reason, limit, value, currency, intent))

        if ctx.base_currency != base:
            reject(
                RejectCode.INVALID_ORDER,
                f"the risk context is in {ctx.base_currency} but limits are in {base}; "
                "rebuild it with this account's base currency",
            )
        if intent.symbol != inst.symbol:
            reject(
                RejectCode.INVALID_ORDER,
                f"the intent is for {intent.symbol} but the context describes "
                f"{inst.symbol}; build the context for the symbol ordered",
            )
        signed = intent.amount if intent.side == "buy" else -intent.amount
        pos = _Position(ctx.position(intent.symbol), ctx.position(intent.symbol) + signed)
        self._check_reduce_only(intent, pos, reject)
        self._check_daily_loss(ctx, pos, reject)
        warnings += self._check_allowed(intent, ctx, pos, reject)
        self._check_market_open(ctx, reject)

        own = ctx.positions.get(intent.symbol)
        try:
            priced = price_order(
                intent, inst, ctx.quote, s.market_order_buffer_pct, mark=own.mark_price if own else None
            )
        except PricingRefused as exc:
            reject(RejectCode(exc.code), exc.reason)
        warnings += priced.warnings
        amount = round_amount(intent.amount, inst.size_increment)
        if amount != intent.amount:
            warnings.append(
                f"amount {intent.amount} cut to {amount} (the size step of {intent.symbol} is {inst.size_increment})"
            )
        if amount <= 0 or amount < inst.min_size:
            reject(
                RejectCode.MIN_SIZE,
                f"amount {intent.amount} of {intent.symbol} is below the venue minimum "
                f"{inst.min_size} (step {inst.size_increment}); send at least {inst.min_size}",
                inst.min_size,
                amount,
                inst.base,
            )
        signed = amount if intent.side == "buy" else -amount
        pos = _Position(pos.before, pos.before + signed)
        closing = pos.closing
        warnings += self._check_market_value(intent, ctx, priced, closing, reject)

        fx = self._rate(ctx, inst.quote, reject)
        notional = amount * priced.reference
        notional_base = fx.convert(notional).quantize(_VALUE_PLACES, rounding=ROUND_HALF_UP)
        self._check_order_size(intent, ctx, pos, notional, notional_base, priced, warnings, reject)
        exposure_after = self._check_positions(intent, ctx, pos, priced, fx, warnings, reject)
        warnings += self._check_liquidity(intent, ctx, priced, fx, closing, reject)
        if ctx.quote and ctx.quote.timestamp is not None:
            age_ms = int(ctx.now.timestamp() * 1000) - ctx.quote.timestamp
            if age_ms > _STALE_QUOTE_MS:
                warnings.append(f"the quote of {intent.symbol} is {age_ms // 1000} s old")

        try:
            cost = self.costs.estimate(
                inst,
                intent.side,
                amount,
                priced.reference,
                ctx.fx,
                fee_rates=ctx.fee_rates,
                liquidity="taker",
                monthly=ctx.monthly_volume,
            )
        except FxRateUnavailable as exc:
            reject(RejectCode.FX_UNAVAILABLE, f"the cost cannot be valued in {base}: {exc}")
        except (NotSupported, ValueError) as exc:
            reject(RejectCode.COST_UNAVAILABLE, f"the cost of this order cannot be estimated: {exc}")

        order = NormalisedOrder(
            symbol=intent.symbol,
            side=intent.side,
            type=priced.type,
            amount=amount,
            price=priced.price,
            stop_price=priced.stop_price,
            tif=priced.tif,
            reduce_only=intent.closing_only,
            client_order_id=intent.client_order_id,
            origin=intent.origin,
        )
        return Approved(
            order=order,
            intent=intent,
            reference_price=priced.reference,
            notional=notional,
            notional_base=notional_base,
            quote_currency=inst.quote,
            base_currency=base,
            fx=fx,
            cost=cost,
            opening=not closing,
            position_after=pos.after,
            exposure_after_base=exposure_after,
            warnings=tuple(warnings),
        )

    def _check_reduce_only(self, intent: OrderIntent, pos: _Position, reject: _Reject) -> None:
        if not intent.closing_only or pos.closing:
            return
        what = "an exit" if intent.is_exit else "a reduce-only order"
        if pos.before == 0:
            reject(
                RejectCode.REDUCE_ONLY,
                f"{what} for {intent.symbol} but there is no position to reduce; send an opening order instead",
                Decimal(0),
                intent.amount,
            )
        held = "long" if pos.before > 0 else "short"
        wrong_side = (pos.before > 0) == (intent.side == "buy")
        hint = f"send a {'sell' if pos.before > 0 else 'buy'}" if wrong_side else f"send at most {abs(pos.before)}"
        reject(
            RejectCode.REDUCE_ONLY,
            f"{what} {intent.side} of {intent.amount} {intent.symbol} would not only "
            f"reduce the {held} position of {abs(pos.before)}; {hint}",
            abs(pos.before),
            intent.amount,
        )

    def _check_daily_loss(self, ctx: RiskContext, pos: _Position, reject: _Reject) -> None:
        limit = self.settings.daily_loss_limit
        loss = -ctx.pnl_today
        if loss >= limit and not pos.closing:
            reject(
                RejectCode.DAILY_LOSS_LIMIT,
                f"today's loss of {ctx.base_currency} {_money(loss)} has reached "
                f"DAILY_LOSS_LIMIT {_money(limit)}: only orders that reduce a position are accepted until "
                "tomorrow",
                limit,
                loss,
                ctx.base_currency,
            )

    def _check_allowed(self, intent: OrderIntent, ctx: RiskContext, pos: _Position, reject: _Reject) -> list[str]:
        s, inst = self.settings, ctx.instrument
        prefix = s.client_order_prefix
        if intent.client_order_id is not None and not intent.client_order_id.startswith(prefix):
            reject(
                RejectCode.INVALID_ORDER,
                f"client_order_id {intent.client_order_id!r} must start with "
                f"CLIENT_ORDER_PREFIX {prefix!r} so the SDK can recognise the order as its own",
            )
        problems: list[tuple[RejectCode, str]] = []
        if not s.all_symbols_allowed and intent.symbol not in s.allowed_symbols:
            wider = ",".join([*s.allowed_symbols, intent.symbol])
            reason = f"{intent.symbol} is not in ALLOWED_SYMBOLS; add it (ALLOWED_SYMBOLS={wider}) to trade it"
            problems.append((RejectCode.SYMBOL_NOT_ALLOWED, reason))
        if inst.instrument_type not in s.allowed_instrument_types:
            allowed = ",".join(t.value for t in s.allowed_instrument_types)
            problems.append(
                (
                    RejectCode.INSTRUMENT_TYPE_NOT_ALLOWED,
                    f"{intent.symbol} is of type "
                    f"{inst.instrument_type.value}, not in ALLOWED_INSTRUMENT_TYPES ({allowed}); add "
                    f"{inst.instrument_type.value} to trade it",
                )
            )
        if problems and not pos.closing:
            reject(*problems[0])
        return [f"{reason} (allowed: this order only reduces a position)" for _, reason in problems]

    def _check_market_open(self, ctx: RiskContext, reject: _Reject) -> None:
        market = ctx.instrument.market
        if market is None:
            return
        try:
            calendar = get_calendar(market)
        except ValueError as exc:
            reject(RejectCode.INVALID_ORDER, f"no trading calendar for {ctx.instrument.symbol}: {exc}")
        if calendar.is_open(ctx.now):
            return
        if market in AUCTION_MARKETS:
            just_before = calendar.session_at(ctx.now - timedelta(milliseconds=1))
            if just_before is not None and just_before.close == ctx.now:
                return  # at the close itself: the closing auction takes it (market-on-close)
        upcoming = calendar.next_session(ctx.now)
        local = upcoming.open.astimezone(calendar.tz)
        reject(
            RejectCode.MARKET_CLOSED,
            f"{market} is closed at {ctx.now.isoformat()}; the next session opens "
            f"{local:%Y-%m-%d %H:%M %Z} ({upcoming.open:%Y-%m-%d %H:%M} UTC): send the order then",
        )

    def _check_market_value(
        self, intent: OrderIntent, ctx: RiskContext, priced: PricedOrder, closing: bool, reject: _Reject
    ) -> list[str]:
        """A sell needs a market price to be valued by; a limit must not go far through the touch."""
        notes: list[str] = []
        if intent.side == "sell" and priced.market is None:
            reason = (
                f"no bid, last trade or mark for {intent.symbol}: a sell's price is only the least it takes, so "
                "the order cannot be valued against the limits; wait for a quote"
            )
            if not closing:
                reject(RejectCode.NO_QUOTE, reason)
            notes.append(f"{reason} (allowed: this order only reduces a position; valued at its own price)")
        band = self.settings.max_price_off_market_pct
        if intent.type != "limit" or priced.price is None:
            return notes
        through = through_market(intent.side, priced.price, ctx.quote)
        if through is None or through[0] <= band:
            return notes
        pct, touch_name, touch = through
        way = "above the" if intent.side == "buy" else "below the"
        fills = "pays up to" if intent.side == "buy" else "sells down to"
        reason = (
            f"the {intent.side} limit {priced.price} of {intent.symbol} is {pct:.2f}% {way} {touch_name} {touch}, "
            f"beyond MAX_PRICE_OFF_MARKET_PCT {band}%: it {fills} its limit through the book; send a limit near "
            "the market (or a market order) or raise MAX_PRICE_OFF_MARKET_PCT"
        )
        if not closing:
            reject(RejectCode.PRICE_OFF_MARKET, reason, band, pct.quantize(_VALUE_PLACES), "%")
        notes.append(f"{reason} (allowed: this order only reduces a position)")
        return notes

    def _rate(self, ctx: RiskContext, currency: str, reject: _Reject) -> FxRate:
        try:
            return ctx.fx.rate(currency)
        except FxRateUnavailable as exc:
            reject(
                RejectCode.FX_UNAVAILABLE,
                f"{exc}; without it the order cannot be checked in {ctx.base_currency}, so it is not sent",
            )

    def _check_order_size(
        self,
        intent: OrderIntent,
        ctx: RiskContext,
        pos: _Position,
        notional: Decimal,
        notional_base: Decimal,
        priced: PricedOrder,
        warnings: list[str],
        reject: _Reject,
    ) -> None:
        s, inst, base = self.settings, ctx.instrument, ctx.base_currency
        shown = f"{base} {_money(notional_base)}"
        if inst.quote != base:
            shown += f" ({inst.quote} {_money(notional)} at {ctx.fx.rate(inst.quote).rate:.6f})"
        if notional_base < s.min_trade_size:
            if not pos.closing:
                reject(
                    RejectCode.MIN_TRADE_SIZE,
                    f"the order is worth {shown}, below MIN_TRADE_SIZE "
                    f"{_money(s.min_trade_size)}; trade more or lower MIN_TRADE_SIZE",
                    s.min_trade_size,
                    notional_base,
                    base,
                )
            warnings.append(f"the order is worth {shown}, below MIN_TRADE_SIZE (allowed: it only reduces)")
        if (
            intent.side == "buy"
            and inst.quote == "AUD"
            and (inst.market == "ASX" or inst.exchange == "ASX")
            and inst.instrument_type in (InstrumentType.STOCK, InstrumentType.ETF)
            and pos.before <= 0 < pos.after
        ):
            parcel = pos.after * priced.reference
            if parcel < ASX_MIN_PARCEL_AUD:
                reject(
                    RejectCode.MIN_PARCEL,
                    f"a first purchase of {intent.symbol} worth AUD {_money(parcel)} is "
                    f"below ASX's minimum marketable parcel of AUD {ASX_MIN_PARCEL_AUD}; buy at least "
                    f"{_parcel_amount(priced.reference, inst.size_increment)} shares",
                    ASX_MIN_PARCEL_AUD,
                    parcel,
                    "AUD",
                )
        if notional_base > s.max_order_value:
            if not pos.closing:
                reject(
                    RejectCode.MAX_ORDER_VALUE,
                    f"the order is worth {shown}, above MAX_ORDER_VALUE "
                    f"{_money(s.max_order_value)}; split it or lower the amount",
                    s.max_order_value,
                    notional_base,
                    base,
                )
            warnings.append(f"the order is worth {shown}, above MAX_ORDER_VALUE (allowed: it only reduces)")

    def _check_positions(
        self,
        intent: OrderIntent,
        ctx: RiskContext,
        pos: _Position,
        priced: PricedOrder,
        fx: FxRate,
        warnings: list[str],
        reject: _Reject,
    ) -> Decimal:
        s, base = self.settings, ctx.base_currency
        own_mark = _instrument_mark(ctx, priced)
        gross_before = Decimal(0)
        unpriced: list[str] = []
        for symbol, fact in ctx.positions.items():
            mark = fact.mark_price if fact.mark_price is not None else (own_mark if symbol == intent.symbol else None)
            if mark is None:
                unpriced.append(symbol)
                continue
            try:
                gross_before += ctx.fx.rate(fact.currency).convert(abs(fact.amount) * mark)
            except FxRateUnavailable as exc:
                if not pos.closing:
                    reject(RejectCode.FX_UNAVAILABLE, f"the {symbol} position cannot be valued: {exc}")
                unpriced.append(symbol)
        own_before = fx.convert(abs(pos.before) * own_mark)
        position_after = fx.convert(abs(pos.after) * own_mark).quantize(_VALUE_PLACES, rounding=ROUND_HALF_UP)
        gross_after = (gross_before - own_before + position_after).quantize(_VALUE_PLACES, rounding=ROUND_HALF_UP)
        if unpriced:
            message = f"positions without a mark price: {', '.join(sorted(unpriced))}; gross exposure is unknown"
            if not pos.closing:
                reject(RejectCode.POSITION_UNPRICED, f"{message}; refresh their quotes before opening positions")
            warnings.append(f"{message} (allowed: this order only reduces)")
        if pos.closing:
            return gross_after
        cap = s.symbol_max_position_value.get(intent.symbol, s.max_position_value)
        cap_name = "SYMBOL_MAX_POSITION_VALUE" if intent.symbol in s.symbol_max_position_value else "MAX_POSITION_VALUE"
        if abs(pos.after) > abs(pos.before) and position_after > cap:
            reject(
                RejectCode.MAX_POSITION_VALUE,
                f"the {intent.symbol} position would be worth {base} "
                f"{_money(position_after)} after this order, above {cap_name} {_money(cap)}; trade at most "
                f"{base} {_money(cap - own_before if cap > own_before else Decimal(0))} more",
                cap,
                position_after,
                base,
            )
        if gross_after > s.max_total_exposure and gross_after > gross_before:
            reject(
                RejectCode.MAX_TOTAL_EXPOSURE,
                f"gross exposure (longs plus shorts) would be {base} "
                f"{_money(gross_after)}, above MAX_TOTAL_EXPOSURE {_money(s.max_total_exposure)}; reduce other "
                "positions first or trade less",
                s.max_total_exposure,
                gross_after,
                base,
            )
        return gross_after

    def _check_liquidity(
        self, intent: OrderIntent, ctx: RiskContext, priced: PricedOrder, fx: FxRate, closing: bool, reject: _Reject
    ) -> list[str]:
        if not priced.marketable:
            return []
        s, base, quote = self.settings, ctx.base_currency, ctx.quote
        problems: list[tuple[RejectCode, str, Decimal, Decimal, str]] = []
        notes: list[str] = []
        spread = quote.spread_pct if quote else None
        if spread is None:
            notes.append(f"{intent.symbol} has a one-sided or empty book: the spread cannot be checked")
        elif spread > s.max_spread_pct:
            problems.append(
                (
                    RejectCode.SPREAD_TOO_WIDE,
                    f"the {intent.symbol} spread is {spread:.3f}% of mid, wider "
                    f"than MAX_SPREAD_PCT {s.max_spread_pct}%; wait for a tighter market or send a passive "
                    "limit order",
                    s.max_spread_pct,
                    spread.quantize(_VALUE_PLACES),
                    "%",
                )
            )
        price: Decimal | None = None
        size: Decimal | None = None
        if quote is not None:
            price, size = (quote.ask, quote.ask_size) if intent.side == "buy" else (quote.bid, quote.bid_size)
        if price is None or size is None:
            notes.append(
                f"no size at the {'ask' if intent.side == 'buy' else 'bid'} of {intent.symbol}: top-of-book "
                "liquidity cannot be checked"
            )
        else:
            touch = fx.convert(price * size).quantize(_VALUE_PLACES, rounding=ROUND_HALF_UP)
            if touch < s.min_top_of_book_notional:
                problems.append(
                    (
                        RejectCode.THIN_BOOK,
                        f"only {base} {_money(touch)} rests at the "
                        f"{'ask' if intent.side == 'buy' else 'bid'} of {intent.symbol}, below "
                        f"MIN_TOP_OF_BOOK_NOTIONAL {_money(s.min_top_of_book_notional)}; wait for depth or "
                        "send a passive limit order",
                        s.min_top_of_book_notional,
                        touch,
                        base,
                    )
                )
        if problems and not closing:
            reject(*problems[0])
        return notes + [f"{p[1]} (allowed: this order only reduces)" for p in problems]


class _Reject(Protocol):  # the signature of the ``reject`` closure, for type checkers
    def __call__(
        self,
        code: RejectCode,
        reason: str,
        limit: Decimal | None = None,
        value: Decimal | None = None,
        currency: str | None = None,
    ) -> NoReturn: ...


def _instrument_mark(ctx: RiskContext, priced: PricedOrder) -> Decimal:
    """The mark a position in the ordered instrument is valued at (quote currency).

    The position's own mark, else the last trade, else the mid, else the one side quoted; only with no
    market price at all the order's check price.
    """
    own = ctx.positions.get(ctx.instrument.symbol)
    if own is not None and own.mark_price is not None:
        return own.mark_price
    q = ctx.quote
    if q is not None:
        for price in (q.last, q.mid, q.bid, q.ask):
            if price is not None:
                return price
    return priced.reference


def _parcel_amount(price: Decimal, step: Decimal) -> Decimal:
    return (ASX_MIN_PARCEL_AUD / price / step).to_integral_value(rounding=ROUND_CEILING) * step
