"""ccxt venues (Gemini by default) behind :class:`~sdk.base.BaseTrader`; importing registers the family.

Split by concern: ``trader`` (the :class:`CcxtTrader`), ``markets`` (ccxt market -> tick ladder, size step,
:class:`~sdk.instruments.InstrumentSpec`, fee rates), ``orders`` (client order ids and idempotency),
``holdings`` (spot balances as positions).
"""

from sdk.venues.ccxt.trader import CcxtTrader, is_ccxt_exchange

__all__ = ["CcxtTrader", "is_ccxt_exchange"]
