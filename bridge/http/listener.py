"""The public listener: an aiohttp site that accepts every waiting connection at once.

uvloop's libuv (since 1.45) accepts one connection per loop iteration. A saturated worker's
iterations are long, so a burst of new connections (a fresh pod taking its share, a proxy opening
its pool) waited in the kernel's accept queue, one connection per iteration, and the first
request on each waited as long (docs/performance.md, "Fourth round"). This site listens itself
and, each time the socket is readable, accepts until the queue is empty, as asyncio's own loop
does; uvloop still runs every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from aiohttp import web

log = logging.getLogger(__name__)
SSL_HANDSHAKE_TIMEOUT = 60.0  # seconds, asyncio's and aiohttp's default
ACCEPT_RETRY_DELAY = 1.0  # seconds without accepting after a failed accept (asyncio's own pause)


class EagerAcceptSite(web.BaseSite):
    """A TCP site like `web.TCPSite`, for the same host, port, TLS context and SO_REUSEPORT."""

    # Its own copies of what it gave BaseSite, rather than reading BaseSite's private attributes.
    __slots__ = (
        "_connecting",
        "_host",
        "_owner",
        "_port",
        "_queue_length",
        "_reuse_port",
        "_sockets",
        "_tls",
    )

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        reuse_port: bool = False,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host, self._port, self._reuse_port = host, port, reuse_port
        self._owner, self._tls, self._queue_length = runner, ssl_context, backlog
        self._sockets: list[socket.socket] = []
        self._connecting: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        addresses = await loop.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        try:
            for family, kind, proto, _, address in dict.fromkeys(addresses):
                listening = socket.socket(family, kind, proto)
                self._sockets.append(listening)
                listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if self._reuse_port:
                    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:  # as asyncio: an IPv6 socket serves IPv6 only
                    listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                listening.bind(address)
                listening.listen(self._queue_length)
                listening.setblocking(False)
        except OSError:
            self._close()
            raise
        for listening in self._sockets:
            loop.add_reader(listening.fileno(), self._accept_all, loop, listening)

    async def stop(self) -> None:
        self._close()
        await super().stop()

    def _close(self) -> None:
        loop = asyncio.get_running_loop()
        for listening in self._sockets:
            with contextlib.suppress(ValueError, OSError):  # never registered, or already closed
                loop.remove_reader(listening.fileno())
            listening.close()
        self._sockets.clear()

    def _accept_all(self, loop: asyncio.AbstractEventLoop, listening: socket.socket) -> None:
        while True:
            try:
                connection, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return  # the queue is empty
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError as exc:
                # Out of file descriptors or memory. The socket stays readable, so retrying at
                # once would spin the loop: pause accepting for a while, as asyncio's loop does.
                log.warning("cannot accept a connection", extra={"reason": str(exc)})
                loop.remove_reader(listening.fileno())
                loop.call_later(ACCEPT_RETRY_DELAY, self._resume, loop, listening)
                return
            connection.setblocking(False)
            task = loop.create_task(self._connect(loop, connection))
            self._connecting.add(task)  # a reference, so the task is not collected mid-way
            task.add_done_callback(self._connecting.discard)

    def _resume(self, loop: asyncio.AbstractEventLoop, listening: socket.socket) -> None:
        if listening in self._sockets:  # not stopped meanwhile
            loop.add_reader(listening.fileno(), self._accept_all, loop, listening)

    async def _connect(self, loop: asyncio.AbstractEventLoop, connection: socket.socket) -> None:
        server = self._owner.server
        if server is None:  # the runner is being cleaned up
            connection.close()
            return
        try:
            await loop.connect_accepted_socket(
                server,
                connection,
                ssl=self._tls,
                ssl_handshake_timeout=SSL_HANDSHAKE_TIMEOUT if self._tls else None,
            )
        except (OSError, TimeoutError):  # a failed TLS handshake, a client gone: as asyncio, quietly
            connection.close()
