#!/usr/bin/env bash
# A single-node Kubernetes cluster (scripts/kube up: kubectl, Helm 3 and Helm 4 too) for tests/kube/,
# with the bridge image built by the Docker engine of 50-docker.sh and imported into the cluster.
# Stopped by .ci/teardown.d/70-kube.sh.
#
# When something here cannot be had, SLKB_KUBE says why in one sentence and every cluster test
# fails with it; the rest of CI still runs.
set -uo pipefail
cd "$(dirname "$0")/../.."

unavailable() {
    printf 'SLKB_KUBE=%q\n' "unavailable: $1" >>"$CI_ENV"
    echo "[kube] $1: the cluster tests will fail with this sentence"
    exit 0
}

started=$SECONDS
scripts/kube up || unavailable "scripts/kube up failed (its output is above)"
echo "[kube] cluster start (builds or cache included): $((SECONDS - started)) s"
scripts/kube env >>"$CI_ENV"

# The bridge image from this tree, built by the Docker engine of 50-docker.sh.
docker_env=/tmp/socketlabs-bridge-docker/env
[[ -f $docker_env ]] || unavailable "no Docker engine (scripts/ci-docker) to build the bridge image with"
started=$SECONDS
tag=socketlabs-kafka-bridge:kube-$(git rev-parse --short=12 HEAD 2>/dev/null || echo local)
(set -a && source "$docker_env" && scripts/build-image "$tag") || unavailable "scripts/build-image failed"
scripts/kube load "$tag" || unavailable "the bridge image could not be imported into the cluster"
echo "SLKB_KUBE_BRIDGE_IMAGE=localhost/$tag" >>"$CI_ENV"
echo "[kube] bridge image built and imported in $((SECONDS - started)) s"
