"""A byte-for-byte stream forwarder, run as a process on one of the test's hosts (a network namespace).

``python forward.py LISTEN=TARGET [LISTEN=TARGET ...]`` listens on every ``LISTEN`` address and copies each
connection's bytes both ways to a fresh connection to its ``TARGET``, until either side closes. An address is
``HOST:PORT`` (TCP) or ``unix:PATH`` (a Unix socket file). Once every listener is bound it prints one line,
``ready``, on stdout, so a caller waits on that instead of on a guess; it runs until SIGTERM or SIGINT.

It stands in for what joins machines in a real deployment without changing any program under test:

* PostgreSQL listens on the root namespace's loopback and on ``/var/run/postgresql/.s.PGSQL.5432``; a file is
  reachable from every namespace, so ``10.x.y.4:5432=unix:/var/run/postgresql/.s.PGSQL.5432`` on the
  database host serves it over real TCP on the test's LAN;
* the offline gateway listens on loopback only (it has no authentication): ``10.x.y.4:4002=127.0.0.1:4002`` on
  its host exposes the TWS port on the LAN, as a firewall rule or an SSH tunnel would;
* ``127.0.0.1:4099=10.x.y.4:4099`` on another host is the SSH tunnel (``ssh -L``) a runner there needs for
  ``--clock http://127.0.0.1:4099``, which only takes a loopback URL.

Nothing here parses the bytes: the forwarder cannot make a protocol work that would not work directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

__all__ = ["Address", "parse_address", "serve"]

Address = tuple[str, str | int]  # ("unix", path) or (host, port)
_CHUNK = 65536


def parse_address(text: str) -> Address:
    """``unix:/path`` -> ``("unix", "/path")``; ``10.0.0.4:5432`` -> ``("10.0.0.4", 5432)``.

    Raises:
        ValueError: neither form; the message gives both examples.
    """
    if text.startswith("unix:") and len(text) > 5:
        return ("unix", text[5:])
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{text!r} is not an address: give HOST:PORT (10.0.0.4:5432) or unix:PATH")
    return (host, int(port))


async def _open(address: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    kind, where = address
    if kind == "unix":
        return await asyncio.open_unix_connection(str(where))
    return await asyncio.open_connection(kind, int(where))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then pass the EOF on (the other direction may still be talking)."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # reset by a peer that died (ConnectionResetError is one): close the other side too
        writer.close()


async def _relay(target: Address, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    try:
        upstream_reader, upstream = await _open(target)
    except OSError:
        client.close()  # the target is down: the client sees its connection closed, as with no forwarder
        return
    try:
        await asyncio.gather(_pipe(client_reader, upstream), _pipe(upstream_reader, client))
    finally:
        for writer in (client, upstream):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def serve(routes: list[tuple[Address, Address]]) -> None:
    """Listen on every route's first address, forward to its second, until cancelled."""
    servers = []
    for listen, target in routes:

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: Address = target) -> None:
            await _relay(target, reader, writer)

        kind, where = listen
        if kind == "unix":
            servers.append(await asyncio.start_unix_server(handle, path=str(where)))
        else:
            servers.append(await asyncio.start_server(handle, kind, int(where)))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str]) -> int:
    try:
        routes = []
        for arg in argv:
            listen, sep, target = arg.partition("=")
            if not sep:
                raise ValueError(
                    f"{arg!r}: give LISTEN=TARGET, e.g. 10.0.0.4:5432=unix:/var/run/postgresql/.s.PGSQL.5432"
                )
            routes.append((parse_address(listen), parse_address(target)))
        if not routes:
            raise ValueError("give at least one LISTEN=TARGET")
    except ValueError as exc:
        print(f"forward.py: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(routes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
