"""EagerAcceptSite under uvloop: a burst of waiting connections is taken in one go, not one per pass.

The connections are opened while the loop is not running, so they all wait in the kernel's accept
queue; then the loop gets a few passes. (HTTPS, limits and shutdown through this site are tested
on the running bridge, tests/integration/test_transport.py and test_logs_and_shutdown.py.)
"""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest
import uvloop
from aiohttp import web

from bridge.http import listener
from bridge.http.listener import EagerAcceptSite
from tests.helpers import free_port

BURST = 50
PASSES = 10


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serving(site_class: type[web.BaseSite]) -> tuple[web.AppRunner, web.BaseSite, int]:
    """An app answering "ok" on GET /, started on a `site_class` site at a free port."""
    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = site_class(runner, "127.0.0.1", port)  # type: ignore[call-arg]
    await site.start()
    return runner, site, port


async def connected_after_a_burst(site_class: type[web.BaseSite]) -> int:
    """How many of BURST waiting connections the server has taken after PASSES loop passes."""
    runner, site, port = await serving(site_class)
    # Blocking connects: the kernel completes them into the accept queue while the loop waits here.
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(BURST)]
    try:
        for _ in range(PASSES):
            await asyncio.sleep(0)
        assert runner.server is not None
        connected = len(runner.server.connections)
        await site.stop()
        with pytest.raises(ConnectionRefusedError):  # stopped: no longer listening
            socket.create_connection(("127.0.0.1", port), timeout=5)
        return connected
    finally:
        for client in clients:
            client.close()
        await runner.cleanup()


def test_a_burst_of_waiting_connections_is_accepted_at_once() -> None:
    assert uvloop.run(connected_after_a_burst(EagerAcceptSite)) == BURST


def test_uvloop_alone_accepts_one_connection_per_pass() -> None:
    # Why EagerAcceptSite exists. Should uvloop accept greedily again one day, this fails and the
    # site can go.
    assert uvloop.run(connected_after_a_burst(web.TCPSite)) <= PASSES


async def test_a_failed_accept_pauses_accepting_instead_of_spinning(monkeypatch, caplog) -> None:
    # EMFILE leaves the listening socket readable: retrying at once would spin the loop.
    monkeypatch.setattr(listener, "ACCEPT_RETRY_DELAY", 0.2)
    original_accept = socket.socket.accept
    failures: list[int] = []

    def accept_failing_once(self: socket.socket) -> tuple[socket.socket, object]:
        if self.type == socket.SOCK_STREAM and not failures:
            failures.append(1)
            raise OSError(errno.EMFILE, "Too many open files")
        return original_accept(self)

    monkeypatch.setattr(socket.socket, "accept", accept_failing_once)
    runner, _, port = await serving(EagerAcceptSite)
    try:
        started = asyncio.get_running_loop().time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
        assert asyncio.get_running_loop().time() - started >= 0.2  # served after the pause
        assert failures == [1]
        assert [r.getMessage() for r in caplog.records].count("cannot accept a connection") == 1
    finally:
        await runner.cleanup()
