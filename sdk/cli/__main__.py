"""``python -m sdk.cli ARGS`` is ``trader ARGS`` (for a program that starts ``trader`` with its own interpreter)."""

from __future__ import annotations

from sdk.cli import main

if __name__ == "__main__":
    main()
