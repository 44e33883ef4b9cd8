"""The Streamlit account dashboard over the SQL ledger (``trader dashboard``).

Read-only: it opens the ledger at ``DATABASE_URL`` through a read-only connection and reads it with
the ledger's shared queries (:mod:`sdk.ledger.queries`) and a few of its own
(:mod:`dashboard.logic.reads`), all parameterised SQLAlchemy.

* ``dashboard/streamlit_app.py``: the entry script (``st.navigation`` over the pages);
* ``dashboard/app_pages/``: one thin page script per page, and ``common.py`` (caching, shared widgets);
* ``dashboard/logic/``: everything testable without Streamlit: reads, frames, formatting, drawdown
  math, market hours and connectivity, costs, charts.

Nothing here runs at import time. See ``docs/dashboard.md``.
"""
