"""Instructions per event, A/B: the request path's pure part under valgrind's callgrind.

For each checkout (DIR) and each sample, runs the handler's steps on the sample N times (parse,
authenticate, kind, occurred_at, to_record for `accept`; parse and authenticate with a wrong
secret for `refuse`; orjson.loads of the body for `orjson`) and prints the instructions per
event: the count of a run with N events minus that of a run with none, over N. Instruction counts
do not depend on the machine's load, so two checkouts compare exactly on a shared machine.

Run: python -m bench.icount [--n 1000] [--op accept] [--sample delivered.json ...] DIR [DIR ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

SECRET = "sample-secret-Qw7Rt2Yp9Lk4"  # the secret in tests/samples
# Run in the child, with DIR first on sys.path: only what every checkout of the bridge has.
CHILD = """
import gc, sys
root, op, name, n, secret = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, root)
import orjson
from bridge.core.auth import authenticate
from bridge.core.errors import BridgeError
from bridge.core.events import Kind, parse_body
from bridge.core.records import to_record
from bridge.core.settings import Secret, Webhook
webhooks = (Webhook("default", (Secret(secret),)),)
topics = {kind: "t." + kind.value for kind in Kind}
body = open(root + "/tests/samples/" + name, "rb").read()
content_type = "application/json" if name.endswith(".json") else "application/x-www-form-urlencoded"
def accept():
    event = parse_body(body, content_type)
    webhook = authenticate(event, webhooks)
    kind = event.kind
    event.occurred_at()
    to_record(event, kind, webhook=webhook.name, topics=topics, received_us=1_700_000_000_000_000)
wrong = body.replace(secret.encode(), b"not-the-secret-Zx81")
def refuse():
    try:
        authenticate(parse_body(wrong, content_type), webhooks)
    except BridgeError:
        pass
work = {"accept": accept, "refuse": refuse, "orjson": lambda: orjson.loads(body)}[op]
work()  # warm: first-call caches (regex compilation, lru caches) are not per event
gc.collect()
gc.disable()
for _ in range(n):
    work()
"""


def instructions(root: Path, op: str, sample: str, n: int) -> int:
    """Instructions of one run of the child under callgrind (the whole process)."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-c", CHILD, str(root), op, sample, str(n), SECRET,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts, so the same counts
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"callgrind failed for {root} {op} {sample}: {done.stderr.strip()[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, metavar="DIR", help="a checkout of the bridge")
    parser.add_argument("--n", type=int, default=1000, help="events per counted run")
    parser.add_argument("--op", default="accept", choices=("accept", "refuse", "orjson"))
    parser.add_argument("--sample", action="append", help="a file of tests/samples (repeatable)")
    args = parser.parse_args()
    samples = args.sample or ["delivered.json", "legacy-delivered.form"]
    for sample in samples:
        counts = []
        for root in args.roots:
            root = root.resolve()
            per_event = (
                instructions(root, args.op, sample, args.n) - instructions(root, args.op, sample, 0)
            ) / args.n
            counts.append(per_event)
            ratio = f" ({per_event / counts[0] - 1:+.1%} on the first)" if len(counts) > 1 else ""
            print(f"{args.op} {sample} {root}: {per_event:,.0f} instructions per event{ratio}", flush=True)


if __name__ == "__main__":
    main()
