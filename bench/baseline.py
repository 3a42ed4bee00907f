"""The baseline: the smallest aiohttp + aiokafka server doing the bridge's core job.

Parse the JSON, produce it to the topic of its kind, await the acknowledgement, reply. No
authentication, no event id, no metrics, no logging: what the stack costs with nothing on top.
The producer is configured like the bridge's (acks=all, idempotence, same linger and batch size), and the reply
carries the MessageId under `event_id` so the benchmark's wrk script can record it.

Run: python -m bench.baseline PORT BOOTSTRAP TOPIC_PREFIX [LINGER_MS]
"""

from __future__ import annotations

import asyncio
import signal
import sys

import orjson
import uvloop
from aiohttp import web
from aiokafka import AIOKafkaProducer

KINDS = {"queued": "queued", "deferred": "deferred", "delivered": "delivered", "failed": "failed",
         "complaint": "complaint"}  # fmt: skip
TRACKING = ("click", "open", "unsubscribe")


async def main(port: int, bootstrap: str, prefix: str, linger_ms: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=262144,  # the bridge's kafka_max_batch_bytes default
    )
    await producer.start()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        event = orjson.loads(body)
        kind = KINDS.get(event["Type"].lower()) or TRACKING[event["TrackingType"]]
        message_id = event["MessageId"]
        await (await producer.send(f"{prefix}.{kind}", value=body, key=message_id.encode()))
        return web.Response(body=b'{"status":"ok","event_id":"%s"}' % message_id.encode())

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("baseline ready", flush=True)
    await stop.wait()
    await runner.cleanup()
    await producer.stop()


if __name__ == "__main__":
    port, bootstrap, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    linger = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    uvloop.run(main(port, bootstrap, prefix, linger))
