"""Run every ``benchmarks/bench_*.py`` and write ``benchmarks/results/latest.json``.

Each module defines ``figures()`` (plain or ``async``) returning a list of
``{"name": str, "value": float, "unit": str, "target": str | None}``. The file written is
``{"figures": [...], "generated_at": ISO, "git_sha": str}``. A module that fails is reported
with its error and the others still run; the exit status is 1 if any failed.

Usage: ``python -m benchmarks.run [--only NAME_FRAGMENT] [--output PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _run_module(name: str) -> list[dict[str, Any]]:
    module = importlib.import_module(f"benchmarks.{name}")
    result = module.figures()
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    return list(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only modules whose name contains this")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args(argv)
    figures: list[dict[str, Any]] = []
    failed: list[str] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        print(f"-- {path.stem}", flush=True)
        try:
            for figure in _run_module(path.stem):
                print(f"   {figure['name']}: {figure['value']} {figure['unit']} (target {figure.get('target')})")
                figures.append(figure)
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {"figures": figures, "generated_at": datetime.now(UTC).isoformat(), "git_sha": _git_sha()}
    if failed:
        payload["failed"] = failed
    args.output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.output} ({len(figures)} figures{', failed: ' + ', '.join(failed) if failed else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
