#!/usr/bin/env bash
# A private Docker engine, the local base images and the Kafka image (scripts/ci-docker), so the
# integration suite runs Kafka through testcontainers and the built bridge image is tested.
# Stopped by .ci/teardown.d/50-docker.sh. Where no engine can be started at all, CI still runs:
# the suite falls back to the local Apache Kafka and says that the container tests did not run.
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
scripts/ci-docker start
status=$?
echo "[ci-docker] setup took $((SECONDS - started)) s"
case $status in
0) scripts/ci-docker env >>"$CI_ENV" ;;
3)
    why="scripts/ci-docker could not install or start a Docker engine on this machine (its output is above)"
    printf 'BRIDGE_TEST_CONTAINERS=%q\n' "unavailable: $why" >>"$CI_ENV"
    echo "[ci-docker] $why: the container tests will not run"
    ;;
*) exit "$status" ;;  # the engine runs but an image could not be made: a real failure
esac
