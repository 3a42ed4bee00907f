"""The library versions the bridge's uses of private internals were checked against.

A few speed-ups and answers lean on attributes a library does not document; each library's uses
live in one module (`bridge/http/aiohttp_internals.py`, `bridge/kafka/aiokafka_internals.py`,
`bridge/telemetry/prometheus_internals.py`), which calls `require` when it is imported. On any
other version the bridge stops at once with one sentence, instead of misbehaving later.
"""

from __future__ import annotations


class UnsupportedVersion(Exception):
    """An installed library differs from the version whose internals the bridge was checked on."""


def require(library: str, installed: str, checked: tuple[str, ...], module: str) -> None:
    if installed not in checked:
        raise UnsupportedVersion(
            f"{module} relies on internals of {library} {' or '.join(checked)}, but {library} "
            f"{installed} is installed: install a checked version, or re-check {module} against it."
        )
