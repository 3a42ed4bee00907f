"""The baseline: the smallest aiohttp + aiokafka server doing the bridge's core job.

Parse the JSON, produce it to the topic of its kind, await the acknowledgement, reply. No
authentication, no event id, no metrics, no logging: what the stack costs with nothing on top.
The producer is configured like the bridge's (acks=all, idempotence, same linger and batch size), and the reply
carries the MessageId under `event_id` so the benchmark's wrk script can record it.

Run: python -m bench.baseline PORT BOOTSTRAP TOPIC_PREFIX [LINGER_MS] [WORKERS]
WORKERS > 1 starts that many processes sharing the port (SO_REUSEPORT), as `serve --workers` does:
what two processes of the bare stack get on this machine, to compare the bridge's scaling with.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import orjson
import uvloop
from aiohttp import web
from aiokafka import AIOKafkaProducer

KINDS = {"queued": "queued", "deferred": "deferred", "delivered": "delivered", "failed": "failed",
         "complaint": "complaint"}  # fmt: skip
TRACKING = ("click", "open", "unsubscribe")


async def main(port: int, bootstrap: str, prefix: str, linger_ms: int, reuse_port: bool) -> None:
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
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024, reuse_port=reuse_port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("baseline ready", flush=True)
    await stop.wait()
    await runner.cleanup()
    await producer.stop()


def run_workers(workers: int, linger: int) -> int:
    command = [sys.executable, "-m", "bench.baseline", *sys.argv[1:4], str(linger), "1"]
    children = [subprocess.Popen(command) for _ in range(workers)]
    signal.signal(signal.SIGTERM, lambda *_: [c.terminate() for c in children])
    return max(c.wait() for c in children)


if __name__ == "__main__":
    port, bootstrap, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    linger = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # aiokafka's default, and the bridge's
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 0  # 1: one process, port shared
    if workers > 1:
        sys.exit(run_workers(workers, linger))
    uvloop.run(main(port, bootstrap, prefix, linger, reuse_port=workers == 1))
