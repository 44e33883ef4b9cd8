"""Every ccxt parameter a caller passes to IB's create_order is honoured or refused with NotSupported naming it,
before anything is sent: a stop-loss asked for is never silently missing."""

from __future__ import annotations

from typing import Any

import pytest

from sdk.errors import NotSupported
from sdk.venues.ib.parsing import REFUSED_ORDER_PARAMS
from sdk.venues.ib.trader import IBTrader


@pytest.mark.parametrize("name", sorted(REFUSED_ORDER_PARAMS))
async def test_a_ccxt_param_ib_does_not_honour_is_refused_by_name(name: str, trader: IBTrader, gateway: Any) -> None:
    with pytest.raises(NotSupported, match=rf"params\['{name}'\]"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, 30.0, {name: 29.0})
    assert gateway.state()["orders"] == [], "nothing is sent"


async def test_an_unknown_param_is_refused_and_the_known_ones_are_listed(trader: IBTrader, gateway: Any) -> None:
    with pytest.raises(NotSupported, match=r"does not know params \['stop_loss'\]; it honours .*'reduceOnly'"):
        await trader.create_order("BHP/AUD", "limit", "buy", 100, 30.0, {"stop_loss": 29.0})
    order = await trader.create_order("BHP/AUD", "limit", "buy", 100, 30.0, {"timeInForce": "DAY", "outsideRth": True})
    assert order["status"] == "open" and [o["tif"] for o in gateway.state()["orders"]] == ["DAY"]
