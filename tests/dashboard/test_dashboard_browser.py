"""End to end: `trader dashboard` on a loopback port, opened in headless Debian Chromium.

The account page must render the seeded account (masked), its equity, the day's PnL, buying power
and cash with the AUD conversion and its rate, and the screenshot must be a real render.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_seed import ACCOUNT, MASKED, seed
from support.browser import chromium

from sdk.ledger import open_ledger, upgrade

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

TRADER = Path(sys.executable).with_name("trader")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise AssertionError(f"trader dashboard exited with {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"trader dashboard did not answer on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`trader dashboard` serving a seeded SQLite ledger on a free loopback port; yields its URL."""
    url = f"sqlite:///{tmp_path}/data/trader.db"
    upgrade(url)
    with open_ledger(url) as ledger:
        seed(ledger)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "CCXT_", "MCP_"))}
    env["DATABASE_URL"] = url
    process = subprocess.Popen(
        [str(TRADER), "--env-file", "/nonexistent/.env", "dashboard", "--port", str(port), "--address", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(process, port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_account_page_in_chromium(served: str, chromium_path: str, tmp_path: Path) -> None:
    from PIL import Image

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with chromium(chromium_path, profile) as page:
        page.call("Page.navigate", url=served)
        expected = [
            "Account",
            f"IB {MASKED}",
            "101,530.75 AUD",  # equity (NetLiquidation)
            "+1,290.75 AUD",  # PnL on 2025-11-21 against its first snapshot (not the 100,180 close)
            "326,000.00 AUD",  # buying power
            "-8,991.03 AUD",  # -5,903.50 USD in AUD
            "1 USD = 1.5230 AUD",  # the rate used
            "Orders & fills",  # the navigation
        ]
        text = page.wait_for_text(expected)
        assert ACCOUNT not in text
        time.sleep(0.5)  # let the last frame paint
        png = page.screenshot(tmp_path / "account.png")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == 1400 and image.height > 600  # the viewport of a 1400x1000 window
    assert len(png) > 20_000  # a blank page compresses to a few KB
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 100  # text, badges, table borders: anti-aliased glyphs give many shades
    dark = sum(count for count, (r, g, b) in colours if r + g + b < 200)
    assert dark > 2_000  # dark text pixels, not an empty white page
