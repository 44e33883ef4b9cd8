"""Test plumbing shared by every test area (a pytest plugin, loaded by ``tests/conftest.py``).

* :mod:`support.plugin`: the fixtures several areas use (``catalog``, ``gateway_defaults``,
  ``make_gateway``, ``gateway``).
* :mod:`support.waiting`: :func:`~support.waiting.eventually` (async) and
  :func:`~support.waiting.eventually_sync`, waits on a condition with a deadline, and
  :func:`~support.waiting.round_trip`, a barrier behind everything a gateway has already written.
"""
