"""Canonical symbols: round trips, rejection of venue spellings, and the suggestions users see."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.errors import BadSymbol
from sdk.symbols import FIAT_CURRENCIES, Symbol, format_symbol, parse_symbol, suggest_symbol

tickers = st.from_regex(r"[A-Z0-9]{1,12}(\.[A-Z])?", fullmatch=True)
quotes = st.from_regex(r"[A-Z]{3,5}", fullmatch=True)
fiat = st.sampled_from(sorted(FIAT_CURRENCIES))


@given(base=tickers, quote=quotes)
def test_format_then_parse_round_trips(base: str, quote: str) -> None:
    text = format_symbol(base, quote)
    assert text == f"{base}/{quote}"
    assert parse_symbol(text) == Symbol(base, quote)
    assert str(parse_symbol(text)) == text


@given(base=fiat, quote=fiat)
def test_two_fiat_legs_are_fx(base: str, quote: str) -> None:
    assert parse_symbol(f"{base}/{quote}").is_fx


@given(base=tickers.filter(lambda t: t not in FIAT_CURRENCIES), quote=fiat)
def test_stock_in_a_currency_is_not_fx(base: str, quote: str) -> None:
    assert not parse_symbol(f"{base}/{quote}").is_fx


@given(base=fiat, quote=fiat)
def test_every_fx_spelling_suggests_the_canonical_pair(base: str, quote: str) -> None:
    for spelling in (
        f"{base}{quote}",
        f"{base}.{quote}",
        f"{base}-{quote}",
        f"{base}_{quote}",
        f"{base}{quote}=X",
        f"{base.lower()}/{quote.lower()}",
    ):
        assert suggest_symbol(spelling) == f"{base}/{quote}", spelling


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("BHP.AX", "BHP/AUD"),
        ("bhp", "BHP/AUD"),
        ("AUDUSD", "AUD/USD"),
        ("AUD.USD", "AUD/USD"),
        ("aapl/usd", "AAPL/USD"),
        ("ASX:CBA", "CBA/AUD"),
        ("VOD.L", "VOD/GBP"),
        (" csl ", "CSL/AUD"),
    ],
)
def test_mis_specified_symbols_name_the_intended_form(given_text: str, expected: str) -> None:
    with pytest.raises(BadSymbol) as err:
        parse_symbol(given_text)
    assert f"did you mean {expected!r}" in str(err.value)


def test_bare_ticker_suggestion_uses_the_base_currency() -> None:
    assert suggest_symbol("aapl", default_quote="USD") == "AAPL/USD"


@pytest.mark.parametrize("junk", ["", "/", "BHP/", "/AUD", "BHP//AUD", "B H P/AUD", "BHP/AU", "BTC/USD:USD", "???"])
def test_junk_is_rejected_with_examples(junk: str) -> None:
    with pytest.raises(BadSymbol, match="BASE/QUOTE"):
        parse_symbol(junk)


def test_share_class_keeps_its_letter() -> None:
    assert parse_symbol("BRK.B/USD") == Symbol("BRK.B", "USD")
