"""A broker a network away, for tests: a LocalKafka with a listener advertised at a delaying proxy.

A plain proxy in front of a broker is bypassed after the first metadata answer (the client then
connects where the broker says it is), so the broker advertises the proxy's address on a listener
of its own. The proxy holds every chunk `one_way` seconds in each direction, in order; it never
waits for its writer, so the delay is latency, not a bandwidth limit (as bench/delay/ does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bridge.tools.localkafka import LocalKafka, free_ports

DELAYED = "DELAYED"  # the listener's name


class DelayedListenerKafka(LocalKafka):
    def __init__(self) -> None:
        super().__init__(extra_listeners={DELAYED: "PLAINTEXT"})
        (self.proxy_port,) = free_ports(1)

    @property
    def delayed_bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy_port}"

    def _properties(self) -> dict[str, str]:
        props = super()._properties()
        advertised = {name: f"127.0.0.1:{port}" for name, port in self.listener_ports.items()}
        advertised[DELAYED] = self.delayed_bootstrap
        props["advertised.listeners"] = ",".join(f"{n}://{a}" for n, a in advertised.items())
        return props


@contextlib.asynccontextmanager
async def delaying_proxy(kafka: DelayedListenerKafka, one_way: float) -> AsyncIterator[None]:
    """Serve kafka.delayed_bootstrap, forwarding to the broker's DELAYED listener."""
    host, _, port = kafka.listener_address(DELAYED).rpartition(":")
    loop = asyncio.get_running_loop()
    connections: set[asyncio.Task[None]] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await held.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)

        delivering = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                held.put_nowait((loop.time() + one_way, data))
        except ConnectionError:
            pass
        held.put_nowait((loop.time() + one_way, b""))
        await delivering

    async def connection(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            broker_reader, broker_writer = await asyncio.open_connection(host, int(port))
            await asyncio.gather(pump(client_reader, broker_writer), pump(broker_reader, client_writer))
        finally:
            connections.discard(task)
            client_writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", kafka.proxy_port)
    try:
        yield
    finally:
        server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await server.wait_closed()
