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
