#!/usr/bin/env bash
# Build the pinned helm and kustomize (.ci/tool-versions) and compose-check (.ci/compose-check,
# compose-go) with `go install`/`go build`, once: each binary is cached under
# ~/.cache/socketlabs-kafka-bridge/bin with its version in the name, so a rerun costs nothing.
# A cold build of all three takes minutes on 2 cores (see docs/deployment.md, "CI").
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v go >/dev/null || { echo "go is not installed: the deployment checks need Go to build helm and kustomize" >&2; exit 1; }
bin="${XDG_CACHE_HOME:-$HOME/.cache}/socketlabs-kafka-bridge/bin"
mkdir -p "$bin"
export GOFLAGS=-trimpath

# What helm's own Makefile sets at link time: its version, and the Kubernetes version of its
# client-go (v0.37 in helm v3.22.0's go.mod) as the default for capabilities and lint; without
# them a `go install`ed helm claims Kubernetes 1.20.
ldflags() {
    case "$1" in
        helm) echo "-X helm.sh/helm/v3/internal/version.version=$2 \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37" ;;
        *) echo "" ;;
    esac
}

while read -r name package version; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    target="$bin/$name-$version"
    if [[ -x "$target" ]]; then
        echo "$name $version: cached"
        continue
    fi
    started=$SECONDS
    scratch=$(mktemp -d)
    GOBIN="$scratch" go install -ldflags "$(ldflags "$name" "$version")" "$package@$version"
    mv "$scratch/$name" "$target"
    rmdir "$scratch"
    echo "$name $version: built in $((SECONDS - started)) s"
done < .ci/tool-versions

# compose-check: keyed by the hash of its source and go.sum, so editing it rebuilds it.
key=$(cat .ci/compose-check/main.go .ci/compose-check/go.mod .ci/compose-check/go.sum | sha256sum | cut -c1-12)
target="$bin/compose-check-$key"
if [[ -x "$target" ]]; then
    echo "compose-check $key: cached"
else
    started=$SECONDS
    (cd .ci/compose-check && go build -o "$target.tmp" . && mv "$target.tmp" "$target")
    echo "compose-check $key: built in $((SECONDS - started)) s"
fi
