"""IB's expected and informational messages logged at their real weight, not as ib_async ERROR lines.

ib_async's wrapper logs every IB error code it does not list as a warning at ERROR (``Error 202, reqId 17:
Order Canceled - reason:``), including answers the SDK asked for or handles itself. A trader reading the
log of a healthy run should see no ERROR line, so :class:`ExpectedNotices` (a :class:`logging.Filter` on
the ``ib_async.wrapper`` logger, installed by :func:`install`) lowers these records and says what they mean
(a lowered record below the logger's level is not emitted, as if it had been logged at that level):

* ``202`` with an empty reason: IB confirming a cancel the client sent (INFO). A 202 with a reason (IB
  cancelled the order itself: a DAY order at the close, a margin problem) stays as it is.
* ``200`` on an IDEALPRO (``CASH``) contract: the FX cache asking for a pair in the direction IB does not
  list (``USD.AUD``) before it uses ``AUD.USD`` inverted (DEBUG; :mod:`sdk.venues.ib.fx`).
* ``322``/``354``/``10090``/``10092`` on a market-depth request (``REQ_MKT_DEPTH`` or "deep"): depth is not
  available; :meth:`~sdk.venues.ib.market_data.MarketDataService` falls back to the top of book and
  says so itself (INFO).
* a feature the offline gateway does not simulate (its 322 texts say so) (INFO).

Codes and texts: IB's "Message Codes" page (TWS API documentation, Error Handling), and the real texts
in ``../shared/data/ib_messages/IB_MESSAGE_FORMATS_AND_ERROR_TEXTS.md``. The filter only changes the
level of a record and appends the meaning.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["ExpectedNotices", "install", "meaning_of"]

_RECORD: Final = re.compile(r"^(?:Error|Warning) (?P<code>-?\d+), reqId (?P<req>-?\d+): (?P<text>.*)", re.DOTALL)
_DEPTH_CODES: Final = frozenset({322, 354, 10090, 10092})


def meaning_of(code: int, text: str) -> tuple[int, str] | None:
    """``(level, meaning)`` for an IB message the SDK expects, or None for one that keeps its level.

    ``text``: ib_async's message after ``reqId N:`` (IB's text, then ``, contract: ...`` when known).
    """
    if code == 202 and re.match(r"Order Cancell?ed - reason:\s*(,|$)", text):
        return logging.INFO, "IB confirms the cancel this client sent"
    if code == 200 and "secType='CASH'" in text:
        return logging.DEBUG, "IDEALPRO lists this pair the other way round; the FX cache inverts the other one"
    if code in _DEPTH_CODES and ("REQ_MKT_DEPTH" in text or "deep" in text.lower()):
        return logging.INFO, "market depth is not available; the top of book is used instead"
    if "not simulated by the offline gateway" in text:
        return logging.INFO, "a feature the offline gateway does not simulate"
    return None


class ExpectedNotices(logging.Filter):
    """Lower ib_async's records of expected IB messages (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        match = _RECORD.match(record.getMessage())
        if match is None:
            return True
        found = meaning_of(int(match["code"]), match["text"])
        if found is None:
            return True
        level, meaning = found
        record.msg, record.args = f"{record.getMessage()} ({meaning})", None
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return logging.getLogger(record.name).isEnabledFor(level)


_FILTER: Final = ExpectedNotices()


def install() -> None:
    """Attach the filter to ib_async's wrapper logger (idempotent; every IB session calls it)."""
    logger = logging.getLogger("ib_async.wrapper")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
