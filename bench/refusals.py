"""What a refused post costs by shape and size: the bridge's parse and authentication of hostile
bodies (tests/hostile.py) at several sizes, against an orjson parse of a SocketLabs-shaped event of
the same size, timed interleaved as tests/unit/core/test_refusal_cost.py times them.

Run: python -m bench.refusals   (about a minute; prints one line per shape and size)
"""

from __future__ import annotations

from tests.hostile import FORM, JSON, form_fields, json_keys, reference_json
from tests.unit.core.test_refusal_cost import _nested, _refuse, interleaved

SWEEP = (
    ("JSON keys", json_keys, JSON, (0, 20, 80, 150, 250, 1000)),
    ("empty form fields", form_fields, FORM, (0, 20, 100, 200, 400, 900)),
    ("nested arrays", _nested, JSON, (10, 100, 200, 300, 1000)),
)


def main() -> None:
    for name, build, content_type, counts in SWEEP:
        for count in counts:
            body = build(count)
            refuse, parse = interleaved(
                body, content_type, reference_json(len(body)), within=float("inf"), batches=40
            )
            status = _refuse(body, content_type)
            print(
                f"{name:18s} {count:6,d} {len(body):7,d} B  {status}  {refuse * 1e6:7.1f} µs  "
                f"orjson {parse * 1e6:7.1f} µs  {refuse / parse:5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
