#!/usr/bin/env bash
# helm (v3 and v4) and kubectl, official prebuilt binaries pinned in .ci/tool-versions: see scripts/k8s-tools.
set -euo pipefail
exec "$(dirname "$0")/../../scripts/k8s-tools"
