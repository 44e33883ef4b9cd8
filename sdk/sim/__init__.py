"""The simulation core: how an order meets a market it cannot trade against for real.

* :mod:`sdk.sim.fills` — the fill model (pure: no protocol, no clock, no I/O). The offline gateway fills its
  orders with it and the shadow venue (:mod:`sdk.services.shadow`) fills shadow orders with it, so a shadow
  run and a paper run on the offline gateway fill the same order the same way.
"""
