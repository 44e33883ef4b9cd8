"""The simulation core: how an order meets a market it cannot trade against for real, and what it does to the account.

One rule set for the shadow venue (:mod:`sdk.services.shadow`, live quotes), the simulated venue and the backtester
(catalog bars), so a backtest, a shadow run and a paper run fill the same order the same way (``docs/sim.md``):

* :mod:`sdk.sim.fills` -- the fill model: the price and size of a fill against one slice of the market (pure; the
  offline gateway's broker calls it too);
* :mod:`sdk.sim.orders` -- :class:`~sdk.sim.orders.SimOrder`, :class:`~sdk.sim.orders.Execution`,
  :class:`~sdk.sim.orders.Fee`, and the checks a venue makes before it accepts an order;
* :mod:`sdk.sim.matching` -- :class:`~sdk.sim.matching.MatchingEngine`: the book of working orders, sessions, times
  in force (DAY, GTC, IOC, FOK, OPG), the volume share, the auctions; :class:`~sdk.sim.matching.FillConfig`;
* :mod:`sdk.sim.account` -- :class:`~sdk.sim.account.Account` and :class:`~sdk.sim.account.Holding`: cash per
  currency, average cost, realised and unrealised PnL, pending commissions, equity in the base currency;
* :mod:`sdk.sim.commissions`, :mod:`sdk.sim.rates` -- IB's schedules (the CostTracker) and FX rates at the simulated
  time;
* :mod:`sdk.sim.broker` -- :class:`~sdk.sim.broker.SimBroker`, the synchronous facade a backtest drives bar by bar;
* :mod:`sdk.sim.bars`, :mod:`sdk.sim.venue` -- catalog bars as arrays, and
  :class:`~sdk.sim.venue.SimulatedVenue`, a :class:`~sdk.base.BaseTrader` stepped by its driver;
* :mod:`sdk.sim.ccxt_shapes` -- the ccxt structures both venues answer in.

Nothing here reads the wall clock, sleeps, opens a socket or draws a random number.
"""
