#!/usr/bin/env bash
# The PyFlink virtualenv and the Flink Kafka connector jar for tests/integration/test_analytics.py,
# cached under ~/.cache/socketlabs-kafka-bridge/flink/<version>/ by scripts/flink-env; a cold
# install takes minutes (docs/consuming.md, "Measured"), a cached one nothing. When it cannot be
# installed, CI goes on: the test runs scripts/flink-env itself and fails saying why.
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
if env_lines=$(scripts/flink-env); then
    echo "$env_lines" >>"$CI_ENV"
    echo "[flink-env] ready in $((SECONDS - started)) s"
else
    echo "[flink-env] scripts/flink-env failed (its output is above): the analytics test will fail"
fi
