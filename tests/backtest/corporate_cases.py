"""The real files of ../shared/data/corporate_actions the corporate-action tests read, and small helpers."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import pandas as pd

from sdk.data import Catalog, load_catalog

AV_ADJUSTED = "{}_daily_adjusted_alphavantage_to_2020-12-04.csv.gz"
AV_UNADJUSTED = "{}_daily_alphavantage_unadjusted_to_2025-03-14.csv.gz"
NVDA_RAW = "NVDA_daily_alphavantage_unadjusted_1999-11-01_2024-06-07.csv.gz"
NVDA_SPLIT_ADJUSTED = "NVDA_daily_yfinance_multiindex_splitadj_to_2025-06-27.csv.gz"
NVDA_2023_YAHOO = "NVDA_daily_yahoo_2023_presplit_prices.csv"

#: NVIDIA's own split history (investor.nvidia.com, "Stock Split History"), written in our event-list format.
NVDA_SPLITS_CSV = """\
# NVIDIA stock splits, from NVIDIA's investor relations page
symbol,ex_date,kind,value,currency,source
NVDA,2000-06-27,split,2:1,,NVIDIA investor relations
NVDA,2001-09-17,split,2:1,,NVIDIA investor relations
NVDA,2006-04-07,split,2:1,,NVIDIA investor relations
NVDA,2007-09-11,split,3:2,,NVIDIA investor relations
NVDA,2021-07-20,split,4:1,,NVIDIA investor relations
NVDA,2024-06-10,split,10:1,,NVIDIA investor relations
"""


@functools.cache
def corporate_catalog(folder: Path) -> Catalog:
    """The catalog of ``../shared/data/corporate_actions`` (raw files merged; NVDA's split-adjusted file kept
    apart), loaded once."""
    return load_catalog(folder)


def linked_dir(tmp: Path, folder: Path, *names: str) -> Path:
    """A directory of symlinks to ``names`` in ``folder``: a data directory holding only those files."""
    for name in names:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).symlink_to(folder / name)
    return tmp


def alpha_vantage(folder: Path, ticker: str) -> pd.DataFrame:
    """An Alpha Vantage daily-adjusted file as written, oldest first, indexed by trading date."""
    table = pd.read_csv(folder / AV_ADJUSTED.format(ticker))
    table.index = [date.fromisoformat(d) for d in table.pop("timestamp")]
    return table.iloc[::-1]


def by_session(bars: pd.DataFrame) -> pd.DataFrame:
    """Daily bars re-indexed by their trading date (the catalog's ``session`` column)."""
    return bars.set_index("session")
