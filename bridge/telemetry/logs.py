"""Logging: JSON lines (or text), with email addresses masked.

Fields passed as `extra=` become JSON keys. Masking runs in the formatter, on every string of the
entry (the text format: on the whole line), so no code path can forget it; the secret key never
reaches a log call in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# A match starts only where a run of address characters starts (linear time: starting anywhere
# made a long run like a logged 8 KB path quadratic), and the local part may run over an earlier
# "@": in "x@ana@example.net" all of "x@ana" is masked, so ana@example.net does not stay readable.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+@-])(@*[A-Za-z0-9._%+-])[A-Za-z0-9._%+@-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
)
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
        if not self.mask:
            return orjson.dumps(entry, default=str).decode()
        # Masked before serializing, not on the JSON line: there a control character escaped as
        # \u001b right before an address would lose its digits to the mask, breaking the JSON.
        # Anything else (dataclasses included) is written as its masked str().
        return orjson.dumps(
            _masked(entry),
            default=lambda value: mask_emails(str(value)),
            option=orjson.OPT_PASSTHROUGH_DATACLASS,
        ).decode()


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_emails(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


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


class RepeatFilter(logging.Filter):
    """Let the same message through at most once per `interval` seconds.

    While a broker is down aiokafka logs every reconnect attempt (ten a second); one line every
    so often says as much and keeps the log readable.
    """

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        last = self._last.get(key)
        if last is not None and record.created - last < self.interval:
            return False
        if len(self._last) > 1000:  # messages are templates, but stay bounded whatever comes
            self._last.clear()
        self._last[key] = record.created
        return True


def configure_logging(level: str = "INFO", fmt: str = "json", mask: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(mask) if fmt == "json" else TextFormatter(mask))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka is chatty at INFO (every connection); its warnings and errors still come through.
    aiokafka = logging.getLogger("aiokafka")
    aiokafka.setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    if level != "DEBUG":
        handler.addFilter(_AiokafkaRepeats())


class _AiokafkaRepeats(RepeatFilter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("aiokafka") or super().filter(record)
