"""The bridge against a Kafka that wants TLS and SASL/SCRAM, or mutual TLS, as managed clusters do.

One LocalKafka (module) with three listeners: PLAINTEXT (for the test's own reads), SASL_SSL with
SCRAM-SHA-512 and SCRAM-SHA-256 (the user is created when the storage is formatted), and SSL that
requires a client certificate. The test's CA signs the broker's and the bridge's certificates.
Time: the broker start (~10-20 s) and one bridge start per test (~2-5 s).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.tools.localkafka import LocalKafka, LocalKafkaError
from tests.certs import CertificateAuthority, Pair
from tests.helpers import SAMPLE_SECRET, expected_value, sample
from tests.integration.bridge_process import RunningBridge, read_records

pytestmark = pytest.mark.integration
USER, PASSWORD = "bridge-producer", "scram-Pw-7Hq2-Zx9"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


class SecureKafka:
    def __init__(self, directory: Path) -> None:
        self.ca = CertificateAuthority(directory)
        broker: Pair = self.ca.issue("broker", 1001)
        self.client: Pair = self.ca.issue("bridge-client", 1002, common_name="bridge")
        self.password_file = directory / "kafka-password"
        self.password_file.write_text(PASSWORD + "\n")
        ca_pem = self.ca.cert.read_text()
        self.kafka = LocalKafka(
            extra_listeners={"SASL_SSL": "SASL_SSL", "SSL": "SSL"},
            extra_properties={
                "ssl.keystore.type": "PEM",
                "ssl.keystore.certificate.chain": broker.cert.read_text(),
                "ssl.keystore.key": broker.key.read_text(),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.certificates": ca_pem,
                "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM,
                "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": SCRAM,
                "listener.name.ssl.ssl.client.auth": "required",
            },
            format_args=[
                "--add-scram",
                f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]",
                "--add-scram",
                f"SCRAM-SHA-256=[name={USER},password={PASSWORD}]",
            ],
        )

    def sasl_env(self, mechanism: str = "SCRAM-SHA-512", password_file: Path | None = None) -> dict[str, str]:
        return {
            "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "BRIDGE_KAFKA_SASL_MECHANISM": mechanism,
            "BRIDGE_KAFKA_SASL_USERNAME": USER,
            "BRIDGE_KAFKA_SASL_PASSWORD_FILE": str(password_file or self.password_file),
            "BRIDGE_KAFKA_SSL_CAFILE": str(self.ca.cert),
        }


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    secure = SecureKafka(tmp_path_factory.mktemp("kafka-tls"))
    try:
        secure.kafka.start()
    except LocalKafkaError as exc:
        pytest.fail(f"The SASL_SSL LocalKafka did not start: {exc}", pytrace=False)
    try:
        yield secure
    finally:
        secure.kafka.stop()


def _post(bridge: RunningBridge, name: str) -> tuple[int, dict]:
    body, content_type = sample(name)
    request = urllib.request.Request(
        bridge.url + "/webhook", data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _readyz(bridge: RunningBridge) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(bridge.admin_url + "/readyz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def _produce_through(secure: SecureKafka, env: dict[str, str], address: str) -> None:
    bridge = RunningBridge(address, BRIDGE_LOG_LEVEL="DEBUG", **env)  # aiokafka logs at DEBUG too
    created = bridge.run("topics", "create")  # the admin client goes through the same listener
    assert f"{bridge.prefix}.delivered: created" in created.stdout, created.stdout + created.stderr
    bridge.start()
    try:
        bridge.wait_ready()
        status, reply = _post(bridge, "delivered.json")
        assert status == 200, reply
    finally:
        code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]
    assert PASSWORD not in stderr and SAMPLE_SECRET not in stderr
    # Read back over the broker's PLAINTEXT listener: the record is in Kafka.
    [record] = await read_records(secure.kafka.bootstrap_servers, [f"{bridge.prefix}.delivered"], 1)
    assert json.loads(record.value) == expected_value("delivered.json")
    assert record.offset == reply["offset"]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
async def test_bridge_produces_through_sasl_ssl_scram(secure_kafka: SecureKafka, mechanism: str) -> None:
    address = secure_kafka.kafka.listener_address("SASL_SSL")
    await _produce_through(secure_kafka, secure_kafka.sasl_env(mechanism), address)


async def test_bridge_produces_through_mutual_tls(secure_kafka: SecureKafka) -> None:
    env = {
        "BRIDGE_KAFKA_SECURITY_PROTOCOL": "SSL",
        "BRIDGE_KAFKA_SSL_CAFILE": str(secure_kafka.ca.cert),
        "BRIDGE_KAFKA_SSL_CERTFILE": str(secure_kafka.client.cert),
        "BRIDGE_KAFKA_SSL_KEYFILE": str(secure_kafka.client.key),
    }
    await _produce_through(secure_kafka, env, secure_kafka.kafka.listener_address("SSL"))


def _not_ready_reason(bridge: RunningBridge, timeout: float = 60) -> str:
    """The /readyz reason once a connection attempt has failed; asserts it never turned ready."""
    deadline = time.monotonic() + timeout
    reason = ""
    while time.monotonic() < deadline:
        assert bridge.process is not None and bridge.process.poll() is None, "the bridge exited"
        try:
            status, reason = _readyz(bridge)
        except OSError:
            status = 0  # not listening yet
        assert status != 200, f"ready although it should not be: {reason}"
        if "cannot connect" in reason:
            return reason
        time.sleep(0.5)
    raise AssertionError(f"no connection failure reported within {timeout}s: {reason}")


def test_wrong_password_leaves_the_bridge_not_ready_and_says_why(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    bridge = RunningBridge(
        secure_kafka.kafka.listener_address("SASL_SSL"), **secure_kafka.sasl_env(password_file=wrong)
    )
    bridge.start()
    try:
        reason = _not_ready_reason(bridge)
        status, reply = _post(bridge, "delivered.json")
    finally:
        _, stderr = bridge.stop()
    assert "authentication failed" in reason.lower(), reason
    assert status == 503 and reply["error"] == "unavailable"
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    said = [line for line in lines if "authentication failed" in json.dumps(line).lower()]
    assert said, stderr[-3000:]
    assert said[0]["level"] in ("WARNING", "ERROR")
    assert "not-the-password" not in stderr and PASSWORD not in stderr


def test_untrusted_broker_certificate_is_refused(secure_kafka: SecureKafka, tmp_path: Path) -> None:
    """Without the cluster's CA the bridge must not talk to it (no silent fallback to no checks)."""
    other = CertificateAuthority(tmp_path)
    env = {**secure_kafka.sasl_env(), "BRIDGE_KAFKA_SSL_CAFILE": str(other.cert)}
    bridge = RunningBridge(secure_kafka.kafka.listener_address("SASL_SSL"), **env)
    bridge.start()
    try:
        reason = _not_ready_reason(bridge)
    finally:
        bridge.stop()
    assert "TLS handshake failed: the broker's certificate is not trusted" in reason, reason
