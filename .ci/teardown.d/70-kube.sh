#!/usr/bin/env bash
# Stop the cluster of .ci/setup.d/70-kube.sh; the built binaries and images stay cached.
cd "$(dirname "$0")/../.." && scripts/kube down
