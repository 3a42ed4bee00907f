"""Refusal log lines, rate-limited per error code, so a flood of bad posts is not a flood of lines.

Per code, the first `burst` refusals of an interval are logged in full; the rest are only counted,
by source, and one summary line ("requests refused, not logged") says how many and from where
when the interval is over: at the next refusal of any code, at the next `tick()` (the app calls
it every second), or at `flush()` (shutdown). Fields taken from the request are cut to
`FIELD_CHARS`. The metrics are counted by the caller, not here, so they stay exact whatever is
logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

FIELD_CHARS = 200  # a path or message is logged up to this many characters
MAX_SOURCES = 1000  # distinct sources counted per window; the rest count as "other"
TOP_SOURCES = 3


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0
    sources: Counter[str] = field(default_factory=Counter)


class RefusalLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = 5,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._windows: dict[str, _Window] = {}  # keyed by error code: a fixed, small set

    def refused(self, code: str, remote: str | None, **fields: object) -> None:
        """Log one refusal with error code `code`, or count it if its code is over the burst."""
        now = self.clock()
        self._close_windows(now, every=False)
        window = self._windows.get(code)
        if window is None:
            window = self._windows[code] = _Window(started=now)
        if window.logged < self.burst:
            window.logged += 1
            extra = {key: _cut(value) for key, value in fields.items()}
            self.logger.warning("request refused", extra={**extra, "error": code, "remote": remote})
            return
        window.suppressed += 1
        source = (remote or "unknown")[:FIELD_CHARS]
        if source in window.sources or len(window.sources) < MAX_SOURCES:
            window.sources[source] += 1
        else:
            window.sources["other"] += 1

    def tick(self) -> None:
        """Write the summary of every interval that is over (the app calls it every second)."""
        self._close_windows(self.clock(), every=False)

    def flush(self) -> None:
        """Write the summary of every open window (at shutdown: nothing counted goes unsaid)."""
        self._close_windows(self.clock(), every=True)

    def _close_windows(self, now: float, *, every: bool) -> None:
        for code, window in list(self._windows.items()):
            if not every and now - window.started < self.interval:
                continue
            del self._windows[code]
            if window.suppressed:
                self.logger.warning(
                    "requests refused, not logged",
                    extra={
                        "error": code,
                        "count": window.suppressed,
                        "seconds": round(now - window.started, 3),
                        "top_sources": dict(window.sources.most_common(TOP_SOURCES)),
                    },
                )


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > FIELD_CHARS:
        return value[:FIELD_CHARS] + "..."
    return value
