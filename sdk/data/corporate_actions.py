"""Corporate actions: splits and cash dividends as declared events, one model for every vendor.

    from sdk.data.corporate_actions import CorporateAction, merge_actions

    split = CorporateAction.split("AAPL/USD", date(2020, 8, 31), 4, source="marketstack_splits.csv")
    cash = CorporateAction.dividend("AAPL/USD", date(2020, 11, 6), 0.205, "USD", source="alphavantage")
    merged = merge_actions([split, cash, *others])   # one event per (symbol, ex-date); conflicts listed

* A **split** has a ``ratio``: new shares per old share (4.0 for a 4-for-1 split, 0.2 for a 1-for-5 reverse
  split). Vendors write ratios as floats with artefacts (Alpha Vantage's ``7.00000700001`` for Apple's 7-for-1
  of 2014-06-09); :func:`snap_ratio` brings a ratio within :data:`SNAP_TOLERANCE` (relative) of a fraction
  with a denominator up to :data:`MAX_DENOMINATOR` onto that fraction (7.00000700001 -> 7.0, 1.5 stays 3/2).
* A **dividend** has an ``amount``: cash per share held before the ex-date, in ``currency``, in the share
  basis of the ex-date (not adjusted for later splits). Readers bring vendor amounts to that basis where the
  vendor adjusted them and say so (:mod:`sdk.data.action_files`).
* ``ex_date`` is the exchange-local date of the first session that trades without the entitlement (the
  split's first post-split session). ``source`` names who declared the event (a file name, a vendor).

Several sources may declare the same event. :func:`merge_actions` keeps one event per (symbol, ex-date) when
the sources agree (a split ratio equal after snapping, a dividend amount within :data:`AMOUNT_TOLERANCE`)
and reports a :class:`ActionConflict` when they do not (GOOGL 2014-04-03: a 567.97 USD dividend for Alpha
Vantage, a 2:1 split for marketstack). Nothing here corrects a vendor; a conflict is for a person to settle.

Our own event list (:func:`read_action_csv`, :func:`write_action_csv`) is a CSV file::

    # lines starting with '#' are comments
    symbol,ex_date,kind,value,currency,source
    NVDA/USD,2024-06-10,split,10:1,,NVIDIA press release 2024-05-22
    AAPL/USD,2020-11-06,dividend,0.205,USD,

``symbol`` canonical (``AAPL/USD``) or a vendor ticker (``AAPL``, ``BHP.AX``); ``ex_date`` ISO 8601;
``kind`` ``split`` or ``dividend``; ``value`` a split ratio as ``N:M`` (N new shares for M old: ``4:1``,
``1:5``, ``3:2``) or a number (new per old), or a dividend's cash amount per share; ``currency`` for a
dividend (default: the symbol's quote currency); ``source`` optional (default: the file's name).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Literal

from sdk.data.instruments import describe_ticker
from sdk.symbols import parse_symbol

__all__ = [
    "ACTION_CSV_COLUMNS",
    "AMOUNT_TOLERANCE",
    "MAX_DENOMINATOR",
    "SNAP_TOLERANCE",
    "ActionConflict",
    "ActionKind",
    "ConflictingActions",
    "CorporateAction",
    "MergedActions",
    "canonical_symbol",
    "format_ratio",
    "merge_actions",
    "parse_ratio",
    "read_action_csv",
    "snap_ratio",
    "write_action_csv",
]

ActionKind = Literal["split", "dividend"]

#: Relative distance within which a vendor's split ratio is snapped onto a simple fraction (7.00000700001 is
#: 1.0e-6 from 7). Real ratios are fractions of small integers; a distance of 1e-5 is far below any two of them.
SNAP_TOLERANCE: Final = 1e-5
#: The largest denominator :func:`snap_ratio` considers (ratios such as 11:2, 1:40, 3:1000 stay exact).
MAX_DENOMINATOR: Final = 1000
#: Two sources' amounts for one dividend agree when they differ by at most this much (relative): vendors round
#: to cents or tenths of cents, so 0.205 and 0.21 (Alpha Vantage vs marketstack, AAPL 2020-11-06) do not.
AMOUNT_TOLERANCE: Final = 1e-3
#: The columns of our own event list (:func:`write_action_csv`).
ACTION_CSV_COLUMNS: Final = ("symbol", "ex_date", "kind", "value", "currency", "source")


def snap_ratio(value: float, tolerance: float = SNAP_TOLERANCE) -> float:
    """``value`` moved onto the nearest fraction with a denominator up to :data:`MAX_DENOMINATOR` when it lies
    within ``tolerance`` (relative) of it; otherwise ``value`` unchanged.

    ``snap_ratio(7.00000700001) == 7.0``; ``snap_ratio(1.5) == 1.5``; ``snap_ratio(0.2000001) == 0.2``.

    Raises:
        ValueError: ``value`` is not a finite positive number.
    """
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a split ratio must be a finite positive number of new shares per old share, got {value!r}")
    nearest = Fraction(value).limit_denominator(MAX_DENOMINATOR)
    return float(nearest) if abs(value - float(nearest)) <= tolerance * float(nearest) else value


def format_ratio(ratio: float) -> str:
    """A split ratio as ``N:M`` (new shares for old): ``4.0 -> "4:1"``, ``0.2 -> "1:5"``, ``1.5 -> "3:2"``;
    a ratio that is no simple fraction is written as a number."""
    nearest = Fraction(ratio).limit_denominator(MAX_DENOMINATOR)
    if abs(ratio - float(nearest)) <= SNAP_TOLERANCE * float(nearest):
        return f"{nearest.numerator}:{nearest.denominator}"
    return repr(ratio)


def parse_ratio(text: str) -> float:
    """A split ratio from ``"4:1"``, ``"1:5"``, ``"3-for-2"``, ``"4/1"`` or a number (new shares per old),
    snapped (:func:`snap_ratio`).

    Raises:
        ValueError: not a ratio, or not positive.
    """
    cleaned = text.strip().lower().replace("-for-", ":").replace(" for ", ":").replace("/", ":")
    try:
        if ":" in cleaned:
            new, _, old = cleaned.partition(":")
            value = float(new) / float(old)
        else:
            value = float(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{text!r} is not a split ratio; write new:old shares, e.g. 4:1 or 1:5 (reverse)") from None
    return snap_ratio(value)


def canonical_symbol(ticker: str) -> str:
    """``AAPL/USD`` for ``AAPL/USD`` or a vendor ticker (``AAPL``, ``BHP.AX`` -> ``BHP/AUD``).

    Raises:
        ValueError: neither a canonical symbol nor a ticker of an ASX or US listing.
    """
    text = ticker.strip()
    if "/" in text:
        return str(parse_symbol(text))
    facts = describe_ticker(text)
    if facts is None:
        raise ValueError(f"{ticker!r} names no ASX or US listing; write a canonical symbol such as AAPL/USD or BHP/AUD")
    return facts.symbol


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One declared split or cash dividend (see the module docstring for each field's meaning and units).

    Build with :meth:`split` or :meth:`dividend`; the constructor checks that a split has a positive ``ratio``
    and no ``amount``, and a dividend a positive ``amount``, a ``currency`` and no ``ratio``.

    Raises:
        ValueError: a field is missing, not positive, or belongs to the other kind.
    """

    symbol: str
    ex_date: date
    kind: ActionKind
    ratio: float | None = None
    amount: float | None = None
    currency: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        where = f"{self.symbol} {self.ex_date} {self.kind}"
        if self.kind == "split":
            if self.ratio is None or not math.isfinite(self.ratio) or self.ratio <= 0 or self.amount is not None:
                raise ValueError(f"{where}: a split needs a positive ratio (new shares per old) and no amount")
        elif self.kind == "dividend":
            if self.amount is None or not math.isfinite(self.amount) or self.amount <= 0 or self.ratio is not None:
                raise ValueError(f"{where}: a dividend needs a positive cash amount per share and no ratio")
            if not self.currency:
                raise ValueError(f"{where}: a dividend needs the currency of its amount")
        else:
            raise ValueError(f"{where}: kind must be 'split' or 'dividend'")

    @classmethod
    def split(cls, symbol: str, ex_date: date, ratio: float, *, source: str = "") -> CorporateAction:
        """A split of ``ratio`` new shares per old share (snapped, :func:`snap_ratio`) effective ``ex_date``."""
        return cls(symbol, ex_date, "split", ratio=snap_ratio(float(ratio)), source=source)

    @classmethod
    def dividend(cls, symbol: str, ex_date: date, amount: float, currency: str, *, source: str = "") -> CorporateAction:
        """A cash dividend of ``amount`` ``currency`` per share (ex-date basis), ex ``ex_date``."""
        return cls(symbol, ex_date, "dividend", amount=float(amount), currency=currency, source=source)

    @property
    def value_text(self) -> str:
        """The ratio as ``N:M`` for a split, the amount for a dividend (the ``value`` column of our CSV)."""
        return format_ratio(self.ratio) if self.ratio is not None else f"{self.amount:.12g}"

    @property
    def what(self) -> str:
        """``split 4:1`` or ``dividend 0.205 USD``."""
        return f"split {self.value_text}" if self.kind == "split" else f"dividend {self.value_text} {self.currency}"

    def describe(self) -> str:
        """One line: ``AAPL/USD 2020-08-31 split 4:1 (marketstack_splits.csv)``."""
        return f"{self.symbol} {self.ex_date.isoformat()} {self.what}" + (f" ({self.source})" if self.source else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``{"symbol", "ex_date" (ISO), "kind", "ratio" | "amount" and "currency", "source"}``."""
        out: dict[str, Any] = {"symbol": self.symbol, "ex_date": self.ex_date.isoformat(), "kind": self.kind}
        if self.kind == "split":
            out["ratio"] = self.ratio
        else:
            out["amount"], out["currency"] = self.amount, self.currency
        out["source"] = self.source
        return out

    def agrees_with(self, other: CorporateAction) -> bool:
        """Same symbol, ex-date and kind, and the same ratio, or amounts within :data:`AMOUNT_TOLERANCE`."""
        if (self.symbol, self.ex_date, self.kind) != (other.symbol, other.ex_date, other.kind):
            return False
        if self.kind == "split":
            return self.ratio == other.ratio
        assert self.amount is not None and other.amount is not None
        return self.currency == other.currency and math.isclose(self.amount, other.amount, rel_tol=AMOUNT_TOLERANCE)


@dataclass(frozen=True, slots=True)
class ActionConflict:
    """Sources that disagree about one (symbol, ex-date): every event each declared that day."""

    symbol: str
    ex_date: date
    actions: tuple[CorporateAction, ...]

    def describe(self) -> str:
        """``GOOGL/USD 2014-04-03: dividend 567.9717 USD (a.csv) vs split 2:1 (b.csv)``."""
        by_source: dict[str, list[str]] = defaultdict(list)
        for action in self.actions:
            by_source[action.source].append(action.what)
        sides = [f"{' + '.join(what)} ({source or 'no source'})" for source, what in by_source.items()]
        return f"{self.symbol} {self.ex_date.isoformat()}: " + " vs ".join(sides)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: symbol, ex_date, each source's events, and the one-line description."""
        return {
            "symbol": self.symbol,
            "ex_date": self.ex_date.isoformat(),
            "actions": [a.to_dict() for a in self.actions],
            "description": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class MergedActions:
    """:func:`merge_actions`' answer: agreed events (sorted by symbol, ex-date, kind) and the conflicts."""

    actions: tuple[CorporateAction, ...]
    conflicts: tuple[ActionConflict, ...] = field(default=())


class ConflictingActions(ValueError):
    """Sources disagree about events the adjuster would apply; the message names them and the fix."""

    def __init__(self, conflicts: Iterable[ActionConflict]) -> None:
        self.conflicts = tuple(conflicts)
        lines = "; ".join(c.describe() for c in self.conflicts)
        super().__init__(
            f"corporate-action sources disagree: {lines}. The adjuster applies declared events only and never "
            "picks a side: pass one event source for these symbols, or correct the event file"
        )


def _same_events(a: list[CorporateAction], b: list[CorporateAction]) -> bool:
    if len(a) != len(b):
        return False
    rest = list(b)
    for action in a:
        match = next((i for i, other in enumerate(rest) if action.agrees_with(other)), None)
        if match is None:
            return False
        rest.pop(match)
    return True


def merge_actions(actions: Iterable[CorporateAction]) -> MergedActions:
    """One set of events per (symbol, ex-date) from several sources.

    Events of one source on one day are all kept (a regular and a special dividend may share an ex-date).
    When several sources declare events for the same (symbol, ex-date), their sets must agree event for
    event (:meth:`CorporateAction.agrees_with`); the first source's events (by name) are kept with every
    agreeing source joined in ``source`` (``"a.csv + b.csv"``). Otherwise the day is an
    :class:`ActionConflict` and none of its events is kept. A source that declares nothing that day is
    not a disagreement: event lists cover different symbols and years.
    """
    days: dict[tuple[str, date], dict[str, list[CorporateAction]]] = defaultdict(lambda: defaultdict(list))
    for action in actions:
        days[(action.symbol, action.ex_date)][action.source].append(action)
    kept: list[CorporateAction] = []
    conflicts: list[ActionConflict] = []
    for (symbol, ex_date), by_source in sorted(days.items()):
        sources = sorted(by_source)
        first = by_source[sources[0]]
        if all(_same_events(first, by_source[s]) for s in sources[1:]):
            joined = " + ".join(s for s in sources if s)
            kept += [CorporateAction(a.symbol, a.ex_date, a.kind, a.ratio, a.amount, a.currency, joined) for a in first]
        else:
            conflicts.append(ActionConflict(symbol, ex_date, tuple(a for s in sources for a in by_source[s])))
    kept.sort(key=lambda a: (a.symbol, a.ex_date, a.kind))
    return MergedActions(tuple(kept), tuple(conflicts))


def _quote_currency(symbol: str) -> str:
    return symbol.partition("/")[2]


def read_action_csv(path: Path | str, *, text: str | None = None) -> list[CorporateAction]:
    """Our own event list (format in the module docstring), sorted by symbol and ex-date.

    ``text``: the file's content, when it is not read from ``path`` (``path`` still names the source).

    Raises:
        ValueError: a missing column or a bad row; the message names the file, the line and the fix.
    """
    path = Path(path)
    content = path.read_text(encoding="utf-8-sig") if text is None else text
    lines = [ln for ln in content.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines, skipinitialspace=True)
    missing = [c for c in ACTION_CSV_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(
            f"{path.name}: no {', '.join(missing)} column; an event list's header is "
            f"{','.join(ACTION_CSV_COLUMNS)} (see sdk.data.corporate_actions)"
        )
    found: list[CorporateAction] = []
    for number, row in enumerate(reader, start=2):
        where = f"{path.name} row {number}"
        try:
            symbol = canonical_symbol(row["symbol"])
            ex_date = date.fromisoformat(row["ex_date"].strip())
            source = (row.get("source") or "").strip() or path.name
            kind = row["kind"].strip().lower()
            if kind == "split":
                found.append(CorporateAction.split(symbol, ex_date, parse_ratio(row["value"]), source=source))
            elif kind == "dividend":
                currency = (row.get("currency") or "").strip().upper() or _quote_currency(symbol)
                found.append(CorporateAction.dividend(symbol, ex_date, float(row["value"]), currency, source=source))
            else:
                raise ValueError(f"kind {row['kind']!r} is neither split nor dividend")
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    return sorted(found, key=lambda a: (a.symbol, a.ex_date, a.kind))


def write_action_csv(path: Path | str, actions: Iterable[CorporateAction]) -> None:
    """Write ``actions`` as our own event list (readable by :func:`read_action_csv`), sorted, LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ACTION_CSV_COLUMNS)
    for a in sorted(actions, key=lambda a: (a.symbol, a.ex_date, a.kind, a.source)):
        writer.writerow([a.symbol, a.ex_date.isoformat(), a.kind, a.value_text, a.currency or "", a.source])
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
