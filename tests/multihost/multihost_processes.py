"""Programs started on the test's hosts (``multihost_lan.Host``), each with its output in a log file.

``await fleet.start(host, "runner-1", argv, env=...)`` starts ``argv`` on ``host`` (its namespace and hostname);
``proc.pid`` is the program's own pid (``Host.command`` only ever ``exec``s), so ``proc.signal(SIGKILL)`` kills
the program and its lease names that pid. ``fleet.stop_all()`` kills, by pid, whatever of them still runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from multihost_lan import Host

__all__ = ["Fleet", "HostProcess"]


class HostProcess:
    """One program on one host: ``name``, ``host``, the asyncio process and its log (stdout and stderr)."""

    def __init__(self, name: str, host: Host, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.host = host
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def describe(self, tail: int = 4000) -> str:
        """``name on host (pid, exit status)`` and the end of its log, for failure messages."""
        state = "running" if self.running else f"exit {self.proc.returncode}"
        return f"{self.name} on {self.host.hostname} (pid {self.pid}, {state}); its log:\n{self.output[-tail:]}"

    async def wait(self, timeout: float = 60) -> int:
        """Its exit status (``-N`` for signal N); after ``timeout`` wall seconds it is killed and AssertionError
        raised with its log."""
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.proc.wait()
            raise AssertionError(f"did not exit within {timeout} s: {self.describe()}") from None

    def signal(self, sig: int) -> None:
        if self.running:
            os.kill(self.proc.pid, sig)


class Fleet:
    """Every program one test started, logs under ``directory``; each host's working directory is
    ``directory/<host name>`` (its ``./data`` is that host's own, as on a machine of its own)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[HostProcess] = []

    def workdir(self, host: Host) -> Path:
        path = self.directory / host.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def start(self, host: Host, name: str, argv: list[str], *, env: dict[str, str]) -> HostProcess:
        """Start ``argv`` on ``host`` with exactly ``env``; its output goes to ``directory/<name>.log``."""
        log = self.directory / f"{name}.log"
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                *host.command(*argv), stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink, env=env,
                cwd=self.workdir(host),
            )  # fmt: skip
        started = HostProcess(name, host, proc, log)
        self.started.append(started)
        return started

    async def stop_all(self) -> None:
        """SIGKILL, by pid, every program of this fleet still running, and reap it."""
        for proc in self.started:
            if proc.running:
                proc.signal(signal.SIGKILL)
                await proc.proc.wait()
