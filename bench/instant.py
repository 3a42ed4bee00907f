"""The bridge's request handling alone: its aiohttp app with a publisher that answers at once.

No Kafka, so the CPU per request is the HTTP server's plus the bridge's own work (read, parse,
authenticate, record, metrics, reply), with far less noise than the full benchmark. `--bare`
serves the smallest aiohttp handler instead (read, orjson.loads, reply): the floor of the stack.

Run: python -m bench.instant PORT [--bare]
then drive it with wrk and read the process's CPU from /proc (docs/performance.md, "Second round").
"""

from __future__ import annotations

import asyncio
import sys

import orjson
import uvloop
from aiohttp import web

from bench.harness import SECRET
from bridge.core.records import Record
from bridge.core.settings import load_settings
from bridge.http.app import create_app
from bridge.kafka.client import Delivery
from bridge.process.server import tune_gc


class InstantPublisher:
    ready = True
    not_ready_reason = ""

    async def publish(self, record: Record) -> Delivery:
        await asyncio.sleep(0)  # one loop pass, as a real acknowledgement takes at least that
        return Delivery(record.topic, 0, 1)


async def bare(request: web.Request) -> web.Response:
    event = orjson.loads(await request.read())
    await asyncio.sleep(0)
    return web.Response(body=b'{"status":"ok","event_id":"%s"}' % event["MessageId"].encode())


async def main(port: int, bare_handler: bool) -> None:
    if bare_handler:
        app = web.Application()
        app.router.add_post("/webhook", bare)
    else:
        environ = {"BRIDGE_SECRET_KEY": SECRET, "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "unused:9092"}
        app = create_app(load_settings(None, environ), publisher=InstantPublisher())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    if not bare_handler:
        tune_gc()  # as serve() does
    print("instant ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), "--bare" in sys.argv[2:]))
