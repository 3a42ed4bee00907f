"""The hostile bodies of issue 21: refused posts that cost the bridge as much work as they can.

Each is under the default 256 KiB body limit and carries a wrong secret, so the right answer is a
refusal (401, or 400 where a limit applies). `reference_json(size)` is what the cost of a refusal
is measured against: a SocketLabs-shaped event of the same number of bytes (the delivered sample
with Meta pairs added), whose orjson parse is the cheapest honest reading of those bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from tests.helpers import SAMPLE_SECRET, sample

WRONG_SECRET = "not-the-secret-Zx81"


def real_event(secret: str = WRONG_SECRET) -> bytes:
    body, _ = sample("delivered.json")
    return body.replace(SAMPLE_SECRET.encode(), secret.encode())


def _event_fields(secret: str = WRONG_SECRET) -> dict[str, object]:
    fields: dict[str, object] = orjson.loads(real_event(secret))
    return fields


def form_fields(count: int = 20_000) -> bytes:
    head = f"Type=Delivered&ServerId=30117&SecretKey={WRONG_SECRET}"
    return (head + "".join(f"&f{i}=" for i in range(count))).encode()


def form_escapes(count: int = 80_000) -> bytes:
    return f"Type=Delivered&ServerId=30117&SecretKey={WRONG_SECRET}&Subject=".encode() + b"%41" * count


def json_floats(count: int = 10_000) -> bytes:
    fields = _event_fields()
    fields["Data"] = {"Meta": [], "Tags": [], "Scores": [i + 0.5 for i in range(count)]}
    return orjson.dumps(fields)


def json_keys(count: int = 15_000) -> bytes:
    fields = _event_fields()
    fields.update({f"k{i}": i for i in range(count)})
    return orjson.dumps(fields)


@dataclass(frozen=True)
class Shape:
    name: str
    body: Callable[[], bytes]
    content_type: str


FORM, JSON = "application/x-www-form-urlencoded", "application/json"
SHAPES = (
    Shape("form body, 20,000 fields", form_fields, FORM),
    Shape("form body, one field of 80,000 %41 escapes", form_escapes, FORM),
    Shape("JSON with 10,000 floats in Data", json_floats, JSON),
    Shape("JSON with 15,000 keys", json_keys, JSON),
    Shape("a real SocketLabs event, wrong secret", real_event, JSON),
)


def reference_json(size: int) -> bytes:
    """A SocketLabs-shaped JSON event of exactly `size` bytes (at least the sample's size)."""
    fields = _event_fields()
    meta: list[dict[str, str]] = []
    fields["Data"] = {"Meta": meta, "Tags": ["promo"]}
    pair = 0
    while len(orjson.dumps(fields)) < size:
        meta.append({"Key": f"Key{pair}", "Value": f"value-{pair:06d}"})
        pair += 1
    if meta:
        meta.pop()
    short = size - len(orjson.dumps(fields))
    fields["Data"]["Tags"].append("x" * max(short - 4, 0))  # type: ignore[index]
    body = orjson.dumps(fields)
    return body + b" " * (size - len(body))
