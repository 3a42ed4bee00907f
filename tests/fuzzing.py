"""Hypothesis strategies for webhook posts, shared by the parser and whole-app fuzz tests.

Run length: a few hundred examples per test by default (CI, seconds). The long run documented in
docs/security.md sets `HYPOTHESIS_PROFILE=long` (100,000 examples per test) or an exact
`FUZZ_EXAMPLES=N`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (100_000 if LONG else 200))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    # The long run explores; replaying a saved database would only make runs differ.
    database=None if LONG else settings.default.database,
)

# Two webhooks, one of them mid-rotation (two keys at once). Letters, digits and '-' only, so a
# form encoding leaves them as they are and a byte search of a body or record finds them.
SECRETS = {"one": ("rot-old-Hq7Zt3Wx", "rot-new-Kp2Vn8Ls"), "two": ("two-secret-Bm5Jc9Rd",)}
ALL_SECRETS = tuple(s for keys in SECRETS.values() for s in keys)
SECRET_KEYS_TOML = "\n".join(
    f'[[webhooks]]\nname = "{name}"\nsecret_keys = {json.dumps(list(keys))}\n'
    for name, keys in SECRETS.items()
)

FIELD_NAMES = (
    "Type", "SecretKey", "MessageId", "Address", "DateTime", "ServerId", "TrackingType",
    "FailureType", "Reason", "ValidationKey", "Data", "MailingId", "Url", "FromAddress",
)  # fmt: skip
TYPES = ("Delivered", "Failed", "Queued", "Deferred", "Complaint", "Tracking", "Validation", "Sent")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
    "garbage/;;;=",
)


@st.composite
def casing(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.integers(0, 2 ** len(name) - 1))
    return "".join(c.swapcase() if flips >> i & 1 else c for i, c in enumerate(name))


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


_PROGRESS = os.environ.get("FUZZ_PROGRESS")  # a file the long run appends a line to every 1,000 cases
_count = 0


def progress(name: str) -> None:
    global _count
    _count += 1
    if _PROGRESS and _count % 1000 == 0:
        with open(_PROGRESS, "a") as out:
            out.write(f"{name} {_count}\n")


def record_failure(name: str, what: object) -> None:
    """The long run is stopped by hand; a failing case is written down the moment it is seen."""
    if _PROGRESS:
        with open(_PROGRESS, "a") as out:
            out.write(f"{name} FAILED after {_count}: {what!r}\n")


@dataclass
class Post:
    path: str
    body: bytes
    content_type: str
    secret: Any  # the SecretKey value put in the event (None: none)
    clean: bool  # an untouched JSON event with a string Type: a matching secret must give 200


@st.composite
def posts(draw: st.DrawFn) -> Post:
    """A webhook post: mostly plausible events in every encoding and casing, some plain noise."""
    path = draw(st.sampled_from(["/webhook", "/webhook/one", "/webhook/two", "/webhook/nope"]))
    content_type = draw(st.sampled_from(CONTENT_TYPES) | st.text(_HEADER_CHARS, max_size=30))
    if draw(st.integers(0, 9)) == 0:  # raw noise
        return Post(path, draw(st.binary(max_size=600)), content_type, None, clean=False)

    fields: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=8)):
        fields[draw(casing(name))] = draw(json_values)
    for extra in draw(st.lists(st.text(max_size=12), max_size=3)):
        fields[extra] = draw(json_scalars)
    fields = {k: v for k, v in fields.items() if k.lower() not in ("secretkey", "type")}
    string_type = draw(st.booleans())
    if string_type:
        fields[draw(casing("Type"))] = draw(st.sampled_from(TYPES) | st.text(min_size=1, max_size=12))
    secret = draw(
        st.sampled_from([*ALL_SECRETS, "wrong-secret-123", "", None])
        | st.sampled_from(ALL_SECRETS).map(lambda s: f" {s}")  # near misses
        | st.sampled_from(ALL_SECRETS).map(str.upper)
        | st.sampled_from(ALL_SECRETS).map(lambda s: s[:-1])
        | json_scalars
    )
    if secret is not None:
        fields[draw(casing("SecretKey"))] = secret
    if draw(st.integers(0, 4)) == 0:  # the {"data": {...}} wrapper of one SocketLabs sample
        fields = {draw(casing("Data")): fields}

    encoding = draw(st.sampled_from(["json", "json-ascii", "json-pretty", "form", "form-latin1"]))
    if encoding.startswith("json"):
        body = json.dumps(
            fields, ensure_ascii=encoding == "json-ascii", indent=2 if encoding == "json-pretty" else None
        )
        raw = body.encode("utf-8", "surrogatepass")
    else:
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        text = urlencode(flat, encoding="latin-1" if encoding == "form-latin1" else "utf-8", errors="replace")
        raw = text.encode("ascii")
    mutation = draw(st.sampled_from(["none"] * 6 + ["truncate", "append", "prefix", "bom", "pad"]))
    if mutation == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mutation == "append":
        raw += draw(st.binary(max_size=40))
    elif mutation == "prefix":
        raw = draw(st.binary(max_size=10)) + raw
    elif mutation == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif mutation == "pad":  # big bodies, some past BRIDGE_MAX_BODY_BYTES
        raw += b" " * draw(st.integers(0, 70_000))
    clean = encoding.startswith("json") and mutation in ("none", "pad") and string_type and _finite(fields)
    return Post(path, raw, content_type, secret, clean)


def _finite(fields: dict[str, Any]) -> bool:
    try:
        json.dumps(fields, allow_nan=False)
    except ValueError:
        return False
    return True


_HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def webhook_of(secret: Any) -> str | None:
    for name, keys in SECRETS.items():
        if secret in keys:
            return name
    return None
