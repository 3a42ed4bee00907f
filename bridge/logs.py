"""Logging: JSON lines (or text), with email addresses masked.

Fields passed as `extra=` become JSON keys. Masking runs on the formatted line, so no code path
can forget it; the secret key never reaches a log call in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
# LogRecord's own attributes; everything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def mask_emails(text: str) -> str:
    """`ana.lima@example.net` becomes `a***@example.net`: enough to debug, not enough to mail."""
    return _EMAIL.sub(r"\1***@\2", text)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def __init__(self, mask: bool = True) -> None:
        super().__init__()
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str).decode()
        return mask_emails(line) if self.mask else line


class TextFormatter(logging.Formatter):
    def __init__(self, mask: bool = True) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return mask_emails(line) if self.mask else line


def configure_logging(level: str = "INFO", fmt: str = "json", mask: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(mask) if fmt == "json" else TextFormatter(mask))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka is chatty at INFO (every connection); its warnings and errors still come through.
    logging.getLogger("aiokafka").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
