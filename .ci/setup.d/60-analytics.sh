#!/usr/bin/env bash
# The PyFlink virtualenv and the Flink Kafka connector jar for tests/integration/test_analytics.py,
# cached under ~/.cache/socketlabs-kafka-bridge/flink/<version>/ by scripts/flink-env; a cold
# install takes minutes (docs/consuming.md, "Flink SQL"), a cached one nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
scripts/flink-env >>"$CI_ENV"
echo "[flink-env] ready in $((SECONDS - started)) s"
