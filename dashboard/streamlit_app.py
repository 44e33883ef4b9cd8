"""The dashboard's entry script: ``streamlit run dashboard/streamlit_app.py`` (what ``trader dashboard`` runs).

``st.navigation`` over one page script per concern in ``app_pages/``. Before the pages, the shell
opens the ledger at ``DATABASE_URL`` read-only: a database that is not migrated shows the command
that migrates it, an empty ledger shows a first-run page (run ``make demo``), never a traceback. The
Backtests page reads no ledger (``trader backtest``'s run directories under ``BACKTEST_DIR``): it is there
in every case.
Streamlit runs this file with ``__name__ == "__main__"``; importing it does nothing.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.app_pages import common

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"

#: The page that reads no ledger (``trader backtest``'s run directories): shown whatever state the ledger is in.
BACKTESTS = ("backtests.py", "Backtests", ":material/science:")
#: The download cache's coverage and downloads (``DATA_CACHE_DIR``): reads no ledger either.
DATA = ("data.py", "Data", ":material/database:")
#: (script, title, Material icon) of each page, in the order of the navigation.
PAGES = (
    ("account.py", "Account", ":material/account_balance:"),
    ("positions.py", "Positions", ":material/inventory_2:"),
    ("orders.py", "Orders & fills", ":material/receipt_long:"),
    ("equity.py", "Equity & PnL", ":material/show_chart:"),
    ("costs.py", "Costs", ":material/payments:"),
    ("status.py", "Status", ":material/monitor_heart:"),
    ("agents.py", "Agent activity", ":material/smart_toy:"),
    BACKTESTS,
    DATA,
)


def main() -> None:
    """Render one run of the app: the shell, then the page the browser asked for."""
    st.set_page_config(page_title="trader-sdk", page_icon=":material/monitoring:", layout="wide")
    found = common.connect()
    backtests = st.Page(PAGES_DIR / BACKTESTS[0], title=BACKTESTS[1], icon=BACKTESTS[2])
    data = st.Page(PAGES_DIR / DATA[0], title=DATA[1], icon=DATA[2])
    if isinstance(found, common.Problem):
        problem = found
        setup = st.Page(lambda: common.show_problem(problem), title=problem.title, url_path="setup", default=True)
        page = st.navigation([setup, backtests, data])
    elif common.is_empty(found.url):
        context = found
        welcome = st.Page(lambda: common.show_first_run(context), title="Welcome", url_path="welcome", default=True)
        page = st.navigation([welcome, backtests, data])
        common.sidebar(found)
    else:
        pages = [
            st.Page(PAGES_DIR / script, title=title, icon=icon, default=index == 0)
            for index, (script, title, icon) in enumerate(PAGES)
        ]
        page = st.navigation(pages)
        common.sidebar(found)
    page.run()


if __name__ == "__main__":
    main()
