"""What every subcommand shares: settings loading with readable errors, and logging set-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from sdk.logs import configure_logging
from sdk.settings import Settings, SettingsError, load_settings

__all__ = ["CliState", "state"]


@dataclass
class CliState:
    """Options given before the subcommand (``trader --env-file prod.env run ...``)."""

    env_file: Path | None
    log_format: str | None = None
    log_level: str | None = None

    def settings(self, **overrides: Any) -> Settings:
        """Load settings (environment, then the .env file, then ``overrides``) and configure logging.

        On a bad value prints what is wrong and an example to stderr and exits with status 2.
        """
        env_file = self.env_file if self.env_file and self.env_file.is_file() else None
        if self.log_format:
            overrides.setdefault("log_format", self.log_format)
        if self.log_level:
            overrides.setdefault("log_level", self.log_level.upper())
        try:
            settings = load_settings(env_file, **overrides)
        except SettingsError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        configure_logging(settings.log_level, json_format=settings.log_format == "json")
        return settings


def state(ctx: typer.Context) -> CliState:
    """The root options of this invocation (defaults when a command is invoked directly in tests)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliState) else CliState(env_file=None)
