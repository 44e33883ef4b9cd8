"""Logging: a run id on every line, text and JSON, secrets and account numbers redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sdk.logs import configure_logging, get_run_id
from sdk.redaction import mask_account, redact, register_secret


@pytest.fixture
def buffer() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream, run_id="run-test-1")
    yield stream
    logging.getLogger().removeHandler(handler)


def test_text_lines_carry_the_run_id_and_extras(buffer: io.StringIO) -> None:
    log = logging.getLogger("sdk.test")
    log.info("order sent", extra={"conId": 8644, "exchange": "ASX"})
    log.warning("second line")
    lines = buffer.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert all("[run=run-test-1]" in line for line in lines)
    assert "order sent conId=8644 exchange=ASX" in lines[0]
    assert get_run_id() == "run-test-1"


def test_json_lines_are_objects_with_run_id() -> None:
    stream = io.StringIO()
    handler = configure_logging("INFO", json_format=True, stream=stream, run_id="run-json")
    try:
        logging.getLogger("sdk.test").info("fill", extra={"execId": "0001f4e8.01", "shares": 100})
    finally:
        logging.getLogger().removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["run_id"] == "run-json"
    assert record["msg"] == "fill" and record["execId"] == "0001f4e8.01" and record["shares"] == 100
    assert record["level"] == "INFO" and record["ts"].endswith("Z")


def test_secrets_and_accounts_are_redacted_everywhere(buffer: io.StringIO) -> None:
    register_secret("sk-live-0123456789abcdef")
    log = logging.getLogger("sdk.test")
    log.info("key %s for account %s", "sk-live-0123456789abcdef", "DU1234567")
    log.info("connect", extra={"account": "U7654321", "token": "Bearer sk-live-0123456789abcdef"})
    try:
        raise RuntimeError("auth failed for sk-live-0123456789abcdef on DU1234567")
    except RuntimeError:
        log.exception("boom")
    out = buffer.getvalue()
    assert "sk-live-0123456789abcdef" not in out
    assert "DU1234567" not in out and "U7654321" not in out
    assert "DU****567" in out and "U****321" in out
    assert out.count("***") >= 3


@pytest.mark.parametrize(
    ("account", "masked"),
    [("DU1234567", "DU****567"), ("U1234567", "U****567"), ("F12345", "F**345"), ("abc", "***"), (None, None)],
)
def test_mask_account(account: str | None, masked: str | None) -> None:
    assert mask_account(account) == masked


def test_a_registered_account_never_mangles_a_longer_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from sdk.settings import load_settings

    monkeypatch.setenv("IB_ACCOUNT_ID", "U2345678")
    load_settings()
    assert redact("DU2345678 and U2345678") == "DU****678 and U****678"


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "BHP/AUD bought 400 @ 45.10, conId 4036812, orderId 12"
    assert redact(text) == text


def test_structured_extras_and_arguments_are_redacted_in_text_and_json() -> None:
    """A dict or list extra (nested too), and a dict argument, are masked like a string one."""
    for json_format in (False, True):
        stream = io.StringIO()
        handler = configure_logging("INFO", json_format=json_format, stream=stream, run_id="run-redact")
        params = {"apiKey": "KEY-unregistered-0001", "account": "DU1234567", "nested": {"token": "tok-0002"}}
        try:
            log = logging.getLogger("sdk.test")
            log.info("request", extra={"params": params, "accounts": ["DU1234567", ("U7654321",)]})
            log.info("sent %s", {"api_key": "KEY-unregistered-0003", "acct": "F123456"})
            log.info("glued", extra={"ref": "account_DU1234567", "camel": "acctU7654321"})
        finally:
            logging.getLogger().removeHandler(handler)
        out = stream.getvalue()
        leaks = ("KEY-unregistered-0001", "tok-0002", "KEY-unregistered-0003", "DU1234567", "U7654321", "F123456")
        for leaked in leaks:
            assert leaked not in out, (json_format, leaked, out)
        assert "DU****567" in out and "U****321" in out and "F***456" in out
        assert params["apiKey"] == "KEY-unregistered-0001", "the caller's dict is not changed"
        if json_format:
            first, _, third = (json.loads(line) for line in out.strip().splitlines())
            assert first["params"] == {"apiKey": "***", "account": "DU****567", "nested": {"token": "***"}}
            assert first["accounts"] == ["DU****567", ["U****321"]]
            assert third["ref"] == "account_DU****567" and third["camel"] == "acctU****321"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("account_DU1234567", "account_DU****567"),
        ("acct=DU1234567;", "acct=DU****567;"),
        ("acctU1234567", "acctU****567"),
        ("DU1234567_paper", "DU****567_paper"),
        ("CPU12345 and orderId 1234567", "CPU12345 and orderId 1234567"),  # not an account
        ("DU12345678901", "DU12345678901"),  # too many digits to be one
    ],
)
def test_accounts_are_masked_where_they_touch_words(text: str, masked: str) -> None:
    assert redact(text) == masked
