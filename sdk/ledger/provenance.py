"""Where a run came from: the hash of its settings and the git commit of the code.

Stored on the run's ``sessions`` row, so a row in the ledger can be traced to the configuration and
code that produced it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from sdk.settings import Settings

__all__ = ["SessionFields", "config_hash", "git_sha", "session_fields"]

_REPO = Path(__file__).resolve().parents[2]


def config_hash(settings: Settings) -> str:
    """sha256 (hex) of the settings as JSON, secrets and the account number left out.

    Two runs with the same hash ran with the same settings. Secrets (``SecretStr``) and
    ``IB_ACCOUNT_ID`` (a short number a hash would not hide) are excluded, not hashed.
    """
    data = settings.model_dump(mode="json", exclude={"ib_account_id", "ccxt_api_key", "ccxt_secret", "mcp_http_token"})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def git_sha(repo: Path = _REPO) -> str | None:
    """The commit checked out in ``repo`` (40 hex characters), or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if len(sha) == 40 else None


class SessionFields(TypedDict):
    """The :meth:`~sdk.ledger.writer.LedgerWriter.start_session` arguments that settings determine."""

    venue: str
    account: str | None
    base_currency: str
    mode: str
    config_hash: str


def session_fields(settings: Settings) -> SessionFields:
    """Venue, account, base currency, mode and config hash of a run with ``settings``.

    Mode: ``shadow`` unless ``EXECUTE_ORDERS=true``; then ``paper`` or ``live`` from the facts the settings
    give (:func:`sdk.venues.mode.settings_mode`: ``IB_PAPER``, ``IB_PORT``, ``IB_ACCOUNT_ID``, ``CCXT_SANDBOX``;
    facts that disagree raise ``ModeConflict``). Use as
    ``writer.start_session(**session_fields(settings), program="runner", git_sha=git_sha())``.
    """
    if not settings.execute_orders:
        mode = "shadow"
    else:
        from sdk.venues.mode import settings_mode  # deferred: the ledger does not import venues at load

        mode = settings_mode(settings).mode
    return {
        "venue": settings.active_exchange,
        "account": settings.ib_account_id if settings.active_exchange == "IB" else None,
        "base_currency": settings.base_currency,
        "mode": mode,
        "config_hash": config_hash(settings),
    }
