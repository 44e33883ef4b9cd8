"""``trader backtest``: a strategy over history through the runner's own decision path, on a simulated venue.

* :mod:`runner.backtest.config` — :class:`BacktestConfig` (what one backtest runs), its hash and run ids.
* :mod:`runner.backtest.prepare` — the checks before anything runs, and the bars in the run's price mode.
* :mod:`runner.backtest.clock` — :class:`SteppedClock`: the runner's waits step the simulated venue.
* :mod:`runner.backtest.record` — equity at each bar close, fills with their costs, round trips.
* :mod:`runner.backtest.engine` — :func:`run_backtest`: the :class:`~runner.runner.StrategyRunner` on the venue.
* :mod:`runner.backtest.artifacts` — ``OUT/<run id>/``: Parquet tables, ``summary.json``, ``report.html``,
  ``manifest.json``.
* :mod:`runner.backtest.command` — what the command does, in order.

Importing this package reads nothing and starts nothing. See ``docs/backtest.md``.
"""
