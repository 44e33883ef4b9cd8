"""IB's published commission schedules as pure functions: the one implementation the CostTracker's
estimates and the offline gateway's commission reports both use.

Sources (IB "Commissions" pages, stocks and spot currencies; summarised in shared/docs/ib-reference.md):

* ASX stocks -- https://www.interactivebrokers.com.au/en/pricing/commissions-stocks-asia-pacific.php
  Fixed: 0.08% of trade value, minimum AUD 6.00, exchange and clearing fees included
  (IB's example: 400 shares at AUD 50.00 = AUD 16.00). Tiered by monthly AUD trade value:
  <= 3M 0.08% (min 5.00); 3M-30M 0.05% (4.00); 30M-100M 0.03% (3.00); 100M-300M 0.025% (2.00);
  > 300M 0.015% (1.00); plus exchange and clearing fees.
* US stocks -- https://www.interactivebrokers.com/en/pricing/commissions-stocks.php
  Fixed: USD 0.005 per share, minimum 1.00, maximum 1% of trade value (100 at 25.00 = 1.00;
  1,000 at 25.00 = 5.00; 1,000 at 0.25 = 2.50), plus transaction fees on sales (SEC 0.0000278 x value
  sold; FINRA TAF 0.000166 x shares sold, at most 8.30). Tiered by monthly shares: 0.0035 / 0.0020 /
  0.0015 / 0.0010 / 0.0005 per share, minimum 0.35, maximum 1%, plus exchange, clearing (0.00020/share)
  and pass-through fees. Directed (non-SMART) API orders: 0.0075 per share under Fixed (same minimum and
  1% cap); the reference gives no directed rate for Tiered, so a directed Tiered order is priced at the tier.
* IDEALPRO FX -- https://www.interactivebrokers.com.au/en/index.php?f=49818
  0.20 basis points of trade value (0.15 / 0.10 / 0.08 above USD 1B / 2B / 5B a month), minimum
  USD 2.00 (1.50 / 1.25 / 1.00), charged in USD.
* GST: Australian residents pay 10% GST on IB's commission (IB shows "inclusive of GST" rates x 1.10).

Third-party fees under Tiered plans (exchange, clearing, pass-through) are estimates from the
exchanges' published per-trade rates; the commission report IB sends after a fill is the actual.
Every amount is a ``Decimal`` in the schedule's currency; nothing here is ever negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

__all__ = [
    "ASX_SOURCE",
    "FX_SOURCE",
    "US_SOURCE",
    "CommissionQuote",
    "Plan",
    "asx_stock",
    "ib_commission",
    "idealpro_fx",
    "us_stock",
]

Plan = Literal["fixed", "tiered"]
Side = Literal["buy", "sell"]
Liquidity = Literal["maker", "taker"]

ASX_SOURCE = "https://www.interactivebrokers.com.au/en/pricing/commissions-stocks-asia-pacific.php"
US_SOURCE = "https://www.interactivebrokers.com/en/pricing/commissions-stocks.php"
FX_SOURCE = "https://www.interactivebrokers.com.au/en/index.php?f=49818"

_CENT = Decimal("0.0001")
GST_RATE = Decimal("0.10")

# (monthly threshold upper bound or None, rate, minimum per order)
ASX_TIERS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal("3000000"), Decimal("0.0008"), Decimal("5.00")),
    (Decimal("30000000"), Decimal("0.0005"), Decimal("4.00")),
    (Decimal("100000000"), Decimal("0.0003"), Decimal("3.00")),
    (Decimal("300000000"), Decimal("0.00025"), Decimal("2.00")),
    (None, Decimal("0.00015"), Decimal("1.00")),
)
ASX_FIXED_RATE, ASX_FIXED_MIN = Decimal("0.0008"), Decimal("6.00")
#: ASX Trade execution and ASX Clear clearing fees as a share of trade value (Tiered only; estimates).
ASX_EXCHANGE_FEE_RATE, ASX_CLEARING_FEE_RATE = Decimal("0.000015"), Decimal("0.000025")

US_FIXED_PER_SHARE, US_FIXED_MIN, US_DIRECTED_PER_SHARE = Decimal("0.005"), Decimal("1.00"), Decimal("0.0075")
US_MAX_PCT = Decimal("0.01")
US_TIERS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("300000"), Decimal("0.0035")),
    (Decimal("3000000"), Decimal("0.0020")),
    (Decimal("20000000"), Decimal("0.0015")),
    (Decimal("100000000"), Decimal("0.0010")),
    (None, Decimal("0.0005")),
)
US_TIERED_MIN = Decimal("0.35")
US_CLEARING_PER_SHARE = Decimal("0.00020")
#: Exchange fee for removing liquidity on the main US venues (estimate; adding liquidity is taken as 0,
#: never as a rebate, so an estimate is not below the actual).
US_EXCHANGE_TAKER_PER_SHARE = Decimal("0.0030")
US_PASS_THROUGH_RATES = (Decimal("0.000175"), Decimal("0.000565"))  # NYSE, FINRA: x commission
SEC_FEE_RATE, FINRA_TAF_PER_SHARE, FINRA_TAF_MAX = Decimal("0.0000278"), Decimal("0.000166"), Decimal("8.30")

FX_TIERS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal("1000000000"), Decimal("0.00002"), Decimal("2.00")),
    (Decimal("2000000000"), Decimal("0.000015"), Decimal("1.50")),
    (Decimal("5000000000"), Decimal("0.00001"), Decimal("1.25")),
    (None, Decimal("0.000008"), Decimal("1.00")),
)


@dataclass(frozen=True, slots=True)
class CommissionQuote:
    """A commission by IB's schedule.

    ``amount`` = ``commission`` + ``third_party`` + ``gst``, all in ``currency``; ``schedule`` names the
    plan ("IB ASX fixed"); ``source`` is the IB page the rates come from; ``parts`` itemises
    third-party fees (``exchange``, ``clearing``, ``sec``, ``finra_taf``, ``pass_through``).
    """

    amount: Decimal
    currency: str
    commission: Decimal
    third_party: Decimal
    gst: Decimal
    schedule: str
    source: str
    parts: dict[str, Decimal] = field(default_factory=dict)


def _d(value: float | int | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _check(quantity: Decimal, price: Decimal) -> None:
    if quantity <= 0 or price <= 0:
        raise ValueError(f"quantity and price must be positive, got quantity={quantity} price={price}")


def _quote(
    commission: Decimal, parts: dict[str, Decimal], currency: str, schedule: str, source: str, gst: bool
) -> CommissionQuote:
    commission = _q(commission)
    parts = {k: _q(v) for k, v in parts.items() if v}
    third_party = sum(parts.values(), Decimal(0))
    tax = _q(commission * GST_RATE) if gst else Decimal(0)
    return CommissionQuote(
        commission + third_party + tax, currency, commission, third_party, tax, schedule, source, parts
    )


def asx_stock(
    quantity: float | Decimal, price: float | Decimal, *, plan: Plan = "fixed",
    monthly_value: float | Decimal = 0, gst: bool = False,
) -> CommissionQuote:  # fmt: skip
    """Commission in AUD for an ASX stock trade of ``quantity`` shares at ``price`` AUD.

    ``monthly_value``: the account's month-to-date ASX trade value in AUD (picks the Tiered tier).
    """
    qty, px = _d(quantity), _d(price)
    _check(qty, px)
    value = qty * px
    if plan == "fixed":
        return _quote(max(value * ASX_FIXED_RATE, ASX_FIXED_MIN), {}, "AUD", "IB ASX fixed", ASX_SOURCE, gst)
    rate, minimum = next((r, m) for upper, r, m in ASX_TIERS if upper is None or _d(monthly_value) <= upper)
    parts = {"exchange": value * ASX_EXCHANGE_FEE_RATE, "clearing": value * ASX_CLEARING_FEE_RATE}
    return _quote(max(value * rate, minimum), parts, "AUD", "IB ASX tiered", ASX_SOURCE, gst)


def us_stock(
    quantity: float | Decimal, price: float | Decimal, *, side: Side, plan: Plan = "fixed",
    monthly_shares: float | Decimal = 0, liquidity: Liquidity = "taker", directed: bool = False, gst: bool = False,
) -> CommissionQuote:  # fmt: skip
    """Commission in USD for a US stock or ETF trade of ``quantity`` shares at ``price`` USD.

    Sales add the SEC fee and FINRA's trading activity fee (both plans). ``monthly_shares`` picks the
    Tiered tier; ``liquidity`` decides the Tiered exchange fee; ``directed`` is a non-SMART API order
    (Fixed: USD 0.0075 per share, schedule ``"IB US fixed directed"``; Tiered: no separate rate).
    The commission is ``min(max(shares x rate, minimum), 1% of trade value)``: the minimum (Fixed 1.00,
    Tiered 0.35) applies unless the 1% cap is lower.
    """
    qty, px = _d(quantity), _d(price)
    _check(qty, px)
    value = qty * px
    cap = value * US_MAX_PCT
    parts: dict[str, Decimal] = {}
    if plan == "fixed":
        per_share = US_DIRECTED_PER_SHARE if directed else US_FIXED_PER_SHARE
        commission = min(max(qty * per_share, US_FIXED_MIN), cap)
        schedule = "IB US fixed directed" if directed else "IB US fixed"
    else:
        per_share = next(r for upper, r in US_TIERS if upper is None or _d(monthly_shares) <= upper)
        commission = min(max(qty * per_share, US_TIERED_MIN), cap)
        parts["exchange"] = qty * US_EXCHANGE_TAKER_PER_SHARE if liquidity == "taker" else Decimal(0)
        parts["clearing"] = qty * US_CLEARING_PER_SHARE
        parts["pass_through"] = sum((commission * r for r in US_PASS_THROUGH_RATES), Decimal(0))
        schedule = "IB US tiered"
    if side == "sell":
        parts["sec"] = value * SEC_FEE_RATE
        parts["finra_taf"] = min(qty * FINRA_TAF_PER_SHARE, FINRA_TAF_MAX)
    return _quote(commission, parts, "USD", schedule, US_SOURCE, gst)


def idealpro_fx(
    quantity: float | Decimal, price: float | Decimal, *, usd_per_quote: float | Decimal,
    monthly_value_usd: float | Decimal = 0, gst: bool = False,
) -> CommissionQuote:  # fmt: skip
    """Commission in USD for an IDEALPRO trade of ``quantity`` base units at ``price`` (quote per base).

    ``usd_per_quote`` converts the trade value into USD (1 when the quote currency is USD, as in AUD.USD).
    """
    qty, px, usd = _d(quantity), _d(price), _d(usd_per_quote)
    _check(qty, px)
    if usd <= 0:
        raise ValueError(f"usd_per_quote must be positive, got {usd_per_quote}")
    value_usd = qty * px * usd
    rate, minimum = next((r, m) for upper, r, m in FX_TIERS if upper is None or _d(monthly_value_usd) <= upper)
    return _quote(max(value_usd * rate, minimum), {}, "USD", "IB IDEALPRO FX", FX_SOURCE, gst)


def ib_commission(
    sec_type: str, currency: str, quantity: float | Decimal, price: float | Decimal, *, side: Side,
    plan: Plan = "fixed", gst: bool = False, usd_per_quote: float | Decimal | None = None,
    monthly_value: float | Decimal = 0, monthly_shares: float | Decimal = 0, directed: bool = False,
) -> CommissionQuote:  # fmt: skip
    """Dispatch to the schedule of an instrument: ``CASH`` -> IDEALPRO, AUD stock -> ASX, USD stock -> US.

    ``directed``: a US stock order routed to an exchange other than SMART (:func:`us_stock`).

    Raises:
        ValueError: no schedule for the instrument, or ``usd_per_quote`` missing for a non-USD FX quote.
    """
    if sec_type == "CASH":
        if usd_per_quote is None:
            if currency != "USD":
                raise ValueError(f"an FX trade quoted in {currency} needs usd_per_quote to value it in USD")
            usd_per_quote = 1
        return idealpro_fx(quantity, price, usd_per_quote=usd_per_quote, monthly_value_usd=monthly_value, gst=gst)
    if sec_type == "STK" and currency == "AUD":
        return asx_stock(quantity, price, plan=plan, monthly_value=monthly_value, gst=gst)
    if sec_type == "STK" and currency == "USD":
        return us_stock(
            quantity, price, side=side, plan=plan, monthly_shares=monthly_shares, directed=directed, gst=gst
        )
    raise ValueError(f"no IB commission schedule here for secType={sec_type} currency={currency}")
