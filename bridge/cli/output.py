"""What the `socketlabs` commands print: indented JSON for scripts, and answers with secrets masked."""

from __future__ import annotations

import sys
from typing import Any

import orjson

from bridge.core.settings import MASK


def masked(value: Any) -> Any:
    """`value` with every field whose name mentions a secret masked, at any depth."""
    if isinstance(value, dict):
        return {k: MASK if "secret" in str(k).lower() and v else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def emit(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
