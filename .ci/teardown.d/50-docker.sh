#!/usr/bin/env bash
# Stop the engine .ci/setup.d/50-docker.sh started (by its PID); its image cache stays on disk.
cd "$(dirname "$0")/../.." && scripts/ci-docker stop
