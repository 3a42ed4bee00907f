"""client_address and is_allowed: X-Forwarded-For only from trusted proxies, SocketLabs' ranges."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from bridge.core.settings import load_settings
from bridge.core.sources import client_address, is_allowed

PROXIES = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))
SOCKETLABS = load_settings(
    None,
    {
        "BRIDGE_KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "BRIDGE_SECRET_KEY": "s",
        "BRIDGE_ALLOWED_SOURCES": "socketlabs",
    },
).allowed_sources
assert SOCKETLABS is not None


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        # no trusted proxies: the header is never believed
        ("203.0.113.7", None, (), "203.0.113.7"),
        ("203.0.113.7", "142.0.180.1", (), "203.0.113.7"),
        ("10.0.0.2", "142.0.180.1", (), "10.0.0.2"),
        # a trusted proxy's header is believed
        ("10.0.0.2", "142.0.180.1", PROXIES, "142.0.180.1"),
        ("10.0.0.2", " 142.0.180.1 ", PROXIES, "142.0.180.1"),
        ("10.0.0.2", None, PROXIES, "10.0.0.2"),
        ("10.0.0.2", "", PROXIES, "10.0.0.2"),
        # several hops: the right-most address that is not itself a trusted proxy
        ("10.0.0.2", "142.0.180.1, 10.0.0.9", PROXIES, "142.0.180.1"),
        ("10.0.0.2", "142.0.180.1,10.1.1.1,10.2.2.2", PROXIES, "142.0.180.1"),
        # spoofed left-most entries (the client wrote them) are ignored
        ("10.0.0.2", "52.152.150.178, 203.0.113.50, 10.0.0.9", PROXIES, "203.0.113.50"),
        ("10.0.0.2", "52.152.150.178, 142.0.176.1, 203.0.113.50", PROXIES, "203.0.113.50"),
        # an untrusted peer's header is ignored, whatever it claims
        ("203.0.113.9", "52.152.150.178", PROXIES, "203.0.113.9"),
        ("203.0.113.9", "10.0.0.5, 52.152.150.178", PROXIES, "203.0.113.9"),
        # IPv4-mapped IPv6 peers (dual-stack sockets) are their IPv4 address
        ("::ffff:10.0.0.2", "142.0.180.1", PROXIES, "142.0.180.1"),
        ("::ffff:203.0.113.7", "142.0.180.1", PROXIES, "203.0.113.7"),
        ("::ffff:203.0.113.7", None, (), "203.0.113.7"),
        ("10.0.0.2", "::ffff:142.0.180.1", PROXIES, "142.0.180.1"),
        # IPv6 all the way
        ("fd00::1", "2001:db8::7", PROXIES, "2001:db8::7"),
        ("fd00::1", "[2001:db8::7]", PROXIES, "2001:db8::7"),
        ("2001:db8::9", "142.0.180.1", PROXIES, "2001:db8::9"),
    ],
)
def test_client_address(peer: str, forwarded_for: str | None, trusted: tuple, expected: str) -> None:
    address = client_address(peer, forwarded_for, trusted)
    assert address == ip_address(expected)


def test_mapped_peer_becomes_an_ipv4_address() -> None:
    address = client_address("::ffff:142.0.180.1", None, ())
    assert isinstance(address, IPv4Address)
    assert is_allowed(address, SOCKETLABS)


def test_ipv6_peer_stays_ipv6() -> None:
    assert isinstance(client_address("2001:db8::1", None, ()), IPv6Address)


@pytest.mark.parametrize("peer", [None, "", "not-an-ip", "10.0.0.300"])
def test_unknown_peer_is_none(peer: str | None) -> None:
    assert client_address(peer, "142.0.180.1", PROXIES) is None


@pytest.mark.parametrize("forwarded_for", ["garbage", "142.0.180.1, garbage", "unknown, 10.0.0.9"])
def test_garbled_header_from_trusted_proxy_trusts_nothing(forwarded_for: str) -> None:
    address = client_address("10.0.0.2", forwarded_for, PROXIES)
    assert address is None
    assert not is_allowed(address, SOCKETLABS)
    assert is_allowed(address, None)  # no allow-list: anyone may post


def test_garbled_header_from_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.9", "garbage", PROXIES) == ip_address("203.0.113.9")


def test_header_of_only_trusted_hops_never_yields_an_outside_address() -> None:
    address = client_address("10.0.0.2", "10.0.0.7, 10.0.0.8", PROXIES)
    assert address is not None
    assert any(address in network for network in PROXIES)


def test_socketlabs_preset_networks() -> None:
    assert (ip_network("142.0.176.0/20"), ip_network("52.152.150.178/32")) == SOCKETLABS


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("142.0.176.0", True),
        ("142.0.181.40", True),
        ("142.0.191.255", True),
        ("142.0.175.255", False),
        ("142.0.192.0", False),
        ("52.152.150.178", True),
        ("52.152.150.177", False),
        ("52.152.150.179", False),
        ("203.0.113.7", False),
        ("127.0.0.1", False),
        ("2001:db8::1", False),
        ("::ffff:142.0.180.1", False),  # an unmapped IPv6 address is not in an IPv4 range
    ],
)
def test_is_allowed_socketlabs(address: str, allowed: bool) -> None:
    assert is_allowed(ip_address(address), SOCKETLABS) is allowed


@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8::1", None])
def test_no_allow_list_allows_everyone(address: str | None) -> None:
    assert is_allowed(ip_address(address) if address else None, None)


def test_empty_allow_list_allows_no_one() -> None:
    assert not is_allowed(ip_address("142.0.180.1"), ())


def test_unknown_address_is_not_allowed_by_a_list() -> None:
    assert not is_allowed(None, SOCKETLABS)


def test_end_to_end_behind_a_proxy() -> None:
    """A SocketLabs post through the load balancer is allowed; a direct spoof is not."""
    via_proxy = client_address("10.0.0.2", "198.51.100.1, 142.0.180.1", PROXIES)
    assert is_allowed(via_proxy, SOCKETLABS)
    spoofed = client_address("198.51.100.1", "142.0.180.1", PROXIES)
    assert not is_allowed(spoofed, SOCKETLABS)
    spoofed_through_proxy = client_address("10.0.0.2", "142.0.180.1, 198.51.100.1", PROXIES)
    assert not is_allowed(spoofed_through_proxy, SOCKETLABS)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # ports written by some proxies (Azure Application Gateway, IIS ARR)
        ("10.0.0.2", "142.0.180.1:5678", "142.0.180.1"),
        ("10.0.0.2", "203.0.113.5:1, 142.0.180.1:5678", "142.0.180.1"),
        ("10.0.0.2", "142.0.180.1:5678, 10.0.0.9:443", "142.0.180.1"),
        ("10.0.0.2", "[2001:db8::7]:5678", "2001:db8::7"),
        ("10.0.0.2", "[2001:db8::7]:5678, [fd00::3]:80", "2001:db8::7"),
        ("10.0.0.2", "[::ffff:142.0.180.1]:443", "142.0.180.1"),
        # a bare IPv6 address is never mistaken for address:port
        ("10.0.0.2", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.2", "2001:db8::7, fd00::3", "2001:db8::7"),
        # IPv6 proxies and IPv6 hops
        ("fd00::1", "142.0.180.1, fd00::2, fd00::3", "142.0.180.1"),
        ("fd00::1", "2001:db8::1, 10.0.0.4", "2001:db8::1"),
        ("[fd00::1]", "142.0.180.1", "142.0.180.1"),
        # many hops: only the right-most untrusted one counts
        ("10.0.0.2", ", ".join(["198.51.100.1"] * 20 + ["142.0.180.1"] + ["10.9.9.9"] * 5), "142.0.180.1"),
    ],
)
def test_client_address_with_ports_ipv6_and_hops(peer: str, forwarded_for: str, expected: str) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == ip_address(expected)


@pytest.mark.parametrize("forwarded_for", ["142.0.180.1:port", "[2001:db8::7", "1.2.3.4:5:6", "unknown"])
def test_garbled_hop_with_port_trusts_nothing(forwarded_for: str) -> None:
    assert client_address("10.0.0.2", forwarded_for, PROXIES) is None


def test_ipv6_allow_list() -> None:
    allowed = (ip_network("2001:db8:1::/48"),)
    assert is_allowed(client_address("2001:db8:1::5", None, ()), allowed)
    assert not is_allowed(client_address("2001:db8:2::5", None, ()), allowed)
    assert is_allowed(client_address("fd00::1", "[2001:db8:1::9]:443", PROXIES), allowed)
    assert not is_allowed(client_address("2001:db8:2::5", "2001:db8:1::9", PROXIES), allowed)
