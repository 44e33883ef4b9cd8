"""Trading costs: IB's published commission schedules (``schedules``) and, on top, the CostTracker.

* :class:`CostTracker` -- estimates before an order and actuals after a fill, in the venue's currency and
  in the base currency (:mod:`sdk.costs.tracker`);
* :class:`Cost`, :class:`FeeRates`, :class:`MonthlyVolume` -- the shapes (:mod:`sdk.costs.model`);
* :class:`FxRate`, :class:`FxTable` -- rates into the base currency with their source and time
  (:mod:`sdk.costs.fx`);
* the schedules as pure functions (:mod:`sdk.costs.schedules`).
"""

from sdk.costs.fx import FxRate, FxTable
from sdk.costs.model import Cost, FeeRates, MonthlyVolume
from sdk.costs.schedules import CommissionQuote, asx_stock, ib_commission, idealpro_fx, us_stock
from sdk.costs.tracker import IB_UNSET_DOUBLE, CostTracker

__all__ = [
    "IB_UNSET_DOUBLE",
    "CommissionQuote",
    "Cost",
    "CostTracker",
    "FeeRates",
    "FxRate",
    "FxTable",
    "MonthlyVolume",
    "asx_stock",
    "ib_commission",
    "idealpro_fx",
    "us_stock",
]
