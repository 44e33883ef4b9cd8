"""Several hosts on this machine: one network namespace per host, joined by a bridge on a private LAN.

``Lan.build(["a", "b", "d"])`` makes a namespace ``trd<pid><n>lan`` holding a bridge, and per host a namespace
``trd<pid><n><name>`` whose ``eth0`` (a veth pair to the bridge) has ``10.231.X.<i>/24`` (X random, i the host's
position from 1) and whose loopback is up. ``host.command(argv)`` runs ``argv`` on that host: in its namespace
(``ip netns exec``) and under a hostname of its own (a UTS namespace, ``unshare --uts``), so
``socket.gethostname()`` (the lease holder's host) differs from host to host; every ``exec`` keeps the pid, so
the pid the caller gets is the program's own. ``lan.destroy()`` deletes every namespace (their links go with
them). The root namespace's network is never touched: every link is made inside the test's namespaces.

Needs root and iproute2's ``ip`` and util-linux's ``unshare``: :func:`unavailable` says what is missing.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field

__all__ = ["Host", "Lan", "LanError", "unavailable"]

_COUNTER = itertools.count()
#: ``sh -c`` body: set the host name (in the new UTS namespace), then become the program (same pid).
_AS_HOST = 'hostname "$1" && shift && exec "$@"'


class LanError(RuntimeError):
    """An ``ip`` command failed while building the LAN; the message has the command and its stderr."""


def unavailable() -> str | None:
    """Why namespaces cannot be built here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux"), ("hostname", "hostname")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package})"
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise LanError(f"ip {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")


@dataclass(frozen=True, slots=True)
class Host:
    """One host of the LAN: ``name`` (``a``), its namespace, its LAN ``address`` and its ``hostname``."""

    name: str
    netns: str
    address: str
    hostname: str

    def command(self, *argv: str) -> list[str]:
        """``argv`` run on this host (its namespace and hostname); the pid of the returned command is argv's."""
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--", "sh", "-c", _AS_HOST, "sh",
                self.hostname, *argv]  # fmt: skip

    def pids(self) -> list[int]:
        """The pids of every process in this host's namespace now."""
        done = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False)
        return [int(p) for p in done.stdout.split()]


@dataclass
class Lan:
    """The namespaces of one test: ``hosts`` by name, the bridge's namespace ``lan_netns``, ``subnet`` (/24)."""

    prefix: str
    subnet: str
    hosts: dict[str, Host] = field(default_factory=dict)
    lan_netns: str = ""
    _made: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, names: list[str]) -> Lan:
        """The LAN with one host per name (addresses ``.1``, ``.2``, ... in that order).

        Raises:
            LanError: an ``ip`` command failed (whatever was made is deleted first).
        """
        prefix = f"trd{os.getpid()}{next(_COUNTER)}"
        lan = cls(prefix, f"10.231.{random.randint(1, 254)}")
        try:
            lan._build(names)
        except BaseException:
            lan.destroy()
            raise
        return lan

    def _add_netns(self, name: str) -> str:
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def _build(self, names: list[str]) -> None:
        self.lan_netns = self._add_netns(f"{self.prefix}lan")
        _ip("-n", self.lan_netns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.lan_netns, "link", "set", "br0", "up")
        for index, name in enumerate(names, start=1):
            netns = self._add_netns(f"{self.prefix}{name}")
            port = f"p{index}"  # the bridge's end of the host's cable, in the LAN's namespace
            _ip("-n", self.lan_netns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns)
            _ip("-n", self.lan_netns, "link", "set", port, "master", "br0", "up")
            address = f"{self.subnet}.{index}"
            _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", netns, "link", "set", "eth0", "up")
            self.hosts[name] = Host(name, netns, address, f"{self.prefix}-{name}")

    def destroy(self) -> None:
        """Delete every namespace this LAN made (their veths and the bridge go with them). Processes still
        inside are the caller's to stop first: a namespace lives on while a process holds it."""
        for netns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        self._made.clear()
