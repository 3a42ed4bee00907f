"""Which address a post came from, and whether it may post at all (BRIDGE_ALLOWED_SOURCES).

`X-Forwarded-For` is believed only when the peer is a trusted proxy; the client is then the
right-most address in that header that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from bridge.core.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    text = text.strip()
    # Some proxies (Azure Application Gateway, IIS ARR) write the client's port as well:
    # `1.2.3.4:5678` and `[2001:db8::1]:5678`. A bare IPv6 address has more than one colon.
    port = ""
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
    if port and not port.isdigit():
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[Network]
) -> Address | None:
    address = _address(peer)
    if address is None or not forwarded_for or not _within(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _address(hop)
        if hop_address is None:
            return None  # a garbled header from a trusted proxy: trust nothing
        if not _within(hop_address, trusted_proxies):
            return hop_address
    return address


def is_allowed(address: Address | None, allowed: Sequence[Network] | None) -> bool:
    if allowed is None:
        return True
    return address is not None and _within(address, allowed)
