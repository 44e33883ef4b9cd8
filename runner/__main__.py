"""``python -m runner [OPTIONS]`` is ``trader run [OPTIONS]`` (settings from the environment and ``./.env``)."""

from __future__ import annotations

import sys


def main() -> None:
    from sdk.cli import app

    app(args=["run", *sys.argv[1:]], prog_name="python -m runner")


if __name__ == "__main__":
    main()
