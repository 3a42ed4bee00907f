#!/usr/bin/env bash
# compose-check (.ci/compose-check, compose-go: the parser `docker compose` uses) for the compose
# test, built once with Go and cached under ~/.cache/socketlabs-kafka-bridge/bin, keyed by the hash
# of its source and go.sum, so editing it rebuilds it and a rerun costs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="${XDG_CACHE_HOME:-$HOME/.cache}/socketlabs-kafka-bridge/bin"
key=$(cat .ci/compose-check/main.go .ci/compose-check/go.mod .ci/compose-check/go.sum | sha256sum | cut -c1-12)
target="$bin/compose-check-$key"
if [[ -x "$target" ]]; then
    echo "compose-check $key: cached"
    exit 0
fi
command -v go >/dev/null || {
    echo "compose-check cannot be built: Go is not installed (golang-go 1.24 or later)." >&2
    exit 1
}
mkdir -p "$bin"
(cd .ci/compose-check && GOFLAGS=-trimpath go build -o "$target.tmp" . && mv "$target.tmp" "$target")
echo "compose-check $key: built"
