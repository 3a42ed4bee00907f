"""Secret hygiene end to end: two secret keys valid at once (rotation), and no secret anywhere else.

A bridge at DEBUG with BRIDGE_SECRET_KEY="old,new" against the real broker: both keys produce,
a third does not; the keys (and the one wrongly offered) never appear in the records, the log,
an error body or `check-config`; neither does the Kafka SASL password given to check-config.
Time: one bridge start and stop (~3-6 s) and one topic creation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.helpers import SAMPLE_SECRET, sample
from tests.integration.bridge_process import RunningBridge, read_records

pytestmark = pytest.mark.integration
OLD, NEW, WRONG = "old-key-Vb3Nq8Xe", "new-key-Jm6Tr1Lw", "wrong-key-Gh4Ks9Pa"
SASL_PASSWORD, VALIDATION_KEY = "sasl-pw-Yt5Rc2Dn", "validation-Zq8Wm3Fb"


def _post(bridge: RunningBridge, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(
        bridge.url + "/webhook", data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _with_secret(name: str, secret: str) -> tuple[bytes, str]:
    body, content_type = sample(name)
    return body.replace(SAMPLE_SECRET.encode(), secret.encode()), content_type


async def test_rotation_and_no_secret_in_records_logs_errors_or_config(kafka_bootstrap: str) -> None:
    bridge = RunningBridge(kafka_bootstrap, BRIDGE_SECRET_KEY=f"{OLD},{NEW}", BRIDGE_LOG_LEVEL="DEBUG")
    config = bridge.run(
        "check-config",
        check=False,
    )
    bridge.env.update(
        BRIDGE_KAFKA_SASL_PASSWORD=SASL_PASSWORD, BRIDGE_VALIDATION_KEY=VALIDATION_KEY
    )  # for check-config only: the broker here is PLAINTEXT
    masked = bridge.run("check-config", check=False)
    del bridge.env["BRIDGE_KAFKA_SASL_PASSWORD"], bridge.env["BRIDGE_VALIDATION_KEY"]
    assert config.returncode == 0 and masked.returncode == 0, masked.stderr
    for output in (config.stdout + config.stderr, masked.stdout + masked.stderr):
        for secret in (OLD, NEW, SASL_PASSWORD, VALIDATION_KEY):
            assert secret not in output, f"check-config printed a secret: {output[:500]}"
    assert "**********" in masked.stdout

    bridge.run("topics", "create")
    bridge.start()
    try:
        bridge.wait_ready()
        answers = {}
        for key in (OLD, NEW, WRONG):
            answers[key] = _post(bridge, *_with_secret("delivered.json", key))
        form_status, form_body = _post(bridge, *_with_secret("legacy-failed.form", NEW))
        broken = _post(bridge, b'{"Type": "Delivered", "SecretKey": "' + OLD.encode() + b'",')
        missing_type = _post(bridge, b'{"SecretKey": "' + NEW.encode() + b'"}')
    finally:
        code, stderr = bridge.stop()
    assert code == 0, stderr[-2000:]

    assert answers[OLD][0] == 200 and answers[NEW][0] == 200, answers
    assert answers[WRONG][0] == 401 and form_status == 200
    assert broken[0] == 400 and missing_type[0] == 400
    for _status, body in (answers[WRONG], broken, missing_type):
        assert set(json.loads(body)) == {"error", "message"}
    for _status, body in (*answers.values(), (form_status, form_body), broken, missing_type):
        for secret in (OLD, NEW, WRONG):
            assert secret.encode() not in body, f"a reply carried a secret: {body[:300]!r}"

    records = await read_records(
        kafka_bootstrap, [f"{bridge.prefix}.delivered", f"{bridge.prefix}.failed"], 3
    )
    assert len(records) == 3
    for record in records:
        everything = record.value + (record.key or b"") + b"".join(v for _, v in record.headers)
        for secret in (OLD, NEW, WRONG):
            assert secret.encode() not in everything, "a secret reached Kafka"

    assert '"level": "DEBUG"' in stderr or '"level":"DEBUG"' in stderr, "the bridge did not log at DEBUG"
    for secret in (OLD, NEW, WRONG):
        assert secret not in stderr, "a secret reached the log"
