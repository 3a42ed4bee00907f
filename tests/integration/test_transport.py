"""The public listener of a running `socketlabs-bridge serve`: HTTPS, certificate renewal, limits.

No Kafka is needed: the bootstrap address is a closed port, and the posts are Validation events,
which are answered without producing. Raw sockets play the slow and oversized clients.
Time: two bridge starts (~2-5 s each), the timeouts below (1-2 s each), certificate making (~1 s).
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certs import CertificateAuthority, Pair
from tests.helpers import free_port, sample
from tests.integration.bridge_process import RunningBridge

pytestmark = pytest.mark.integration
READ_TIMEOUT, KEEPALIVE_TIMEOUT, MAX_HEADER_BYTES = 1.0, 2.0, 1024


def _wait_listening(bridge: RunningBridge, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert bridge.process is not None and bridge.process.poll() is None, "the bridge exited"
        try:
            socket.create_connection(("127.0.0.1", bridge.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the bridge did not listen within {timeout}s")


@dataclass
class Https:
    bridge: RunningBridge
    ca: CertificateAuthority
    cert: Path  # the files the bridge serves, rewritten on "renewal"
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca.cert))

    def served_serial(self) -> int:
        with (
            socket.create_connection(("127.0.0.1", self.bridge.port), timeout=10) as raw,
            self.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            return int(tls.getpeercert()["serialNumber"], 16)

    def post_validation(self) -> int:
        body, content_type = sample("validation.json")
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.bridge.port, context=self.client_context(), timeout=10
        )
        try:
            connection.request("POST", "/webhook", body, {"Content-Type": content_type})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def _install(pair: Pair, cert: Path, key: Path) -> None:
    shutil.copyfile(pair.cert, cert)
    shutil.copyfile(pair.key, key)


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Https]:
    directory = tmp_path_factory.mktemp("https")
    ca = CertificateAuthority(directory)
    cert, key = directory / "tls.crt", directory / "tls.key"
    _install(ca.issue("first", 5001), cert, key)
    bridge = RunningBridge(
        f"127.0.0.1:{free_port()}",
        BRIDGE_TLS_CERT_FILE=str(cert),
        BRIDGE_TLS_KEY_FILE=str(key),
        BRIDGE_TLS_RELOAD_INTERVAL="0.3",
    )
    bridge.start()
    _wait_listening(bridge)
    yield Https(bridge, ca, cert, key)
    code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]


def test_https_serves_the_webhook(https: Https) -> None:
    assert https.post_validation() == 200
    assert https.served_serial() == 5001
    with pytest.raises(ssl.SSLError):  # plain HTTP to the HTTPS port gets nowhere
        ssl.create_default_context(cafile=str(https.ca.cert)).wrap_socket(
            socket.create_connection(("127.0.0.1", https.bridge.port), timeout=5),
            server_hostname="nope.invalid",
        )


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_older_than_1_2_is_refused(https: Https, version: ssl.TLSVersion) -> None:
    context = https.client_context()
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer the old versions at all
    context.minimum_version = context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", https.bridge.port), timeout=10) as raw,
        pytest.raises(ssl.SSLError) as refused,
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    # Refused by the server (an alert or a closed connection), not a client unable to offer it.
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value).upper(), refused.value
    tls12 = https.client_context()
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", https.bridge.port), timeout=10) as raw,
        tls12.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.2"


def test_renewed_certificate_is_served_without_restart_or_failed_requests(https: Https) -> None:
    before = https.served_serial()
    statuses: list[int | str] = []
    stop = threading.Event()

    def keep_posting() -> None:
        while not stop.is_set():
            try:
                statuses.append(https.post_validation())
            except Exception as exc:  # a failed handshake or request during the renewal
                statuses.append(repr(exc))

    poster = threading.Thread(target=keep_posting)
    poster.start()
    try:
        renewed = https.ca.issue(f"renewed-{before}", before + 1)
        # A renewal as a file copy does it: certificate first, the key a moment later. In between
        # the pair does not match; the bridge must keep serving the old one.
        shutil.copyfile(renewed.cert, https.cert)
        time.sleep(1.0)
        assert https.served_serial() == before
        shutil.copyfile(renewed.key, https.key)
        deadline = time.monotonic() + 20
        while https.served_serial() != renewed.serial:
            assert time.monotonic() < deadline, "the renewed certificate was not picked up in 20 s"
            time.sleep(0.2)
        time.sleep(0.5)  # a few more requests on the new certificate
    finally:
        stop.set()
        poster.join()
    assert statuses and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert https.post_validation() == 200


# --- limits, on a plain HTTP listener --------------------------------------------------------


@pytest.fixture(scope="module")
def plain() -> Iterator[RunningBridge]:
    bridge = RunningBridge(
        f"127.0.0.1:{free_port()}",
        BRIDGE_READ_TIMEOUT=str(READ_TIMEOUT),
        BRIDGE_KEEPALIVE_TIMEOUT=str(KEEPALIVE_TIMEOUT),
        BRIDGE_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
    )
    bridge.start()
    _wait_listening(bridge)
    yield bridge
    code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]


def _connect(bridge: RunningBridge) -> socket.socket:
    return socket.create_connection(("127.0.0.1", bridge.port), timeout=30)


def _head(body: bytes, *extra: str) -> bytes:
    lines = ["POST /webhook HTTP/1.1", "Host: bridge", "Content-Type: application/json", *extra]
    return ("\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""])).encode()


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection; fails past `seconds`."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the connection was still open after {seconds} s") from None
    return time.monotonic() - started


def test_oversized_header_is_refused(plain: RunningBridge) -> None:
    body, _ = sample("validation.json")
    with _connect(plain) as sock:
        sock.sendall(_head(body, "X-Fits: " + "a" * (MAX_HEADER_BYTES - 100)) + body)
        assert _response(sock)[0] == 200
    with _connect(plain) as sock:
        sock.sendall(_head(body, "X-Big: " + "a" * (MAX_HEADER_BYTES * 2)) + body)
        status, headers, answer = _response(sock)
    assert status == 400
    assert headers["content-type"].startswith("application/json")  # as every error body
    assert json.loads(answer)["error"] == "bad_request"


def test_client_sending_headers_slowly_is_cut_off(plain: RunningBridge) -> None:
    with _connect(plain) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: bridge\r\n")
        started = time.monotonic()
        cut_off = None
        for n in range(200):  # one header line every 0.25 s, never finishing the header block
            time.sleep(0.25)
            try:
                sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
            except OSError:
                cut_off = time.monotonic() - started
                break
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    cut_off = time.monotonic() - started
                    break
            except TimeoutError:
                pass
    assert cut_off is not None, "a slowloris client was never cut off"
    assert KEEPALIVE_TIMEOUT * 0.5 <= cut_off <= KEEPALIVE_TIMEOUT + 8


def test_stalled_body_gets_408_after_the_read_timeout(plain: RunningBridge) -> None:
    body, _ = sample("validation.json")
    with _connect(plain) as sock:
        sock.sendall(_head(body) + body[:10])  # and then nothing
        started = time.monotonic()
        status, _, reply = _response(sock)
        elapsed = time.monotonic() - started
    assert status == 408
    assert json.loads(reply)["error"] == "request_timeout"
    assert READ_TIMEOUT * 0.9 <= elapsed <= READ_TIMEOUT + 8


def test_trickled_body_gets_408_although_bytes_keep_coming(plain: RunningBridge) -> None:
    body, _ = sample("validation.json")
    with _connect(plain) as sock:
        sock.sendall(_head(body))
        started = time.monotonic()
        sock.settimeout(0.2)
        answer = b""
        for byte in body:  # one byte every 0.2 s: each read is quick, the whole is not
            try:
                sock.sendall(bytes([byte]))
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert elapsed <= READ_TIMEOUT + 8


def test_idle_keepalive_connection_is_closed(plain: RunningBridge) -> None:
    body, _ = sample("validation.json")
    with _connect(plain) as sock:
        sock.sendall(_head(body) + body)
        status, headers, _ = _response(sock)
        assert status == 200 and headers.get("connection", "keep-alive").lower() != "close"
        idle = _closed_within(sock, KEEPALIVE_TIMEOUT + 8)
    assert idle >= KEEPALIVE_TIMEOUT * 0.5
