"""The one module that reaches into prometheus-client's internals (checked on prometheus-client 0.26.0).

prometheus-client has no bulk observe, and each `Histogram.observe` takes a lock (in multiprocess
mode also an mmap write) per bucket and sum. `observe_all` reads the Histogram's `_upper_bounds`
and writes its `_buckets` and `_sum` as `observe` does, once per bucket touched;
tests/unit/telemetry/test_metrics.py checks the exposition equals the one of `observe` calls.
"""

from __future__ import annotations

from bisect import bisect_left
from importlib.metadata import version

from prometheus_client import Histogram

from bridge.core.versions import require

require("prometheus-client", version("prometheus-client"), ("0.26.0",), __name__)


def observe_all(histogram: Histogram, values: list[float]) -> None:
    """`histogram.observe(v)` for every v, with one write per bucket touched."""
    if len(values) == 1:
        histogram.observe(values[0])
        return
    bounds = histogram._upper_bounds  # observe() counts v in the first bucket with v <= bound
    counts: dict[int, int] = {}
    for value in values:
        index = bisect_left(bounds, value)
        counts[index] = counts.get(index, 0) + 1
    for index, count in counts.items():
        histogram._buckets[index].inc(count)
    histogram._sum.inc(sum(values))
