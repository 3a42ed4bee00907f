#!/usr/bin/env bash
# Build the cluster's Kubernetes binaries from the official k8s.io/kubernetes module (Go module
# proxy), once per version: cached under $KUBE_CACHE/$KUBE_VERSION/bin. Prints which path ran and
# how long it took. Sourced by scripts/kube.
#
# `go install k8s.io/kubernetes/cmd/...@vX` is refused: the module's go.mod replaces every k8s.io/*
# staging module with ./staging/... paths that its zip lacks. So: copy the module, drop the replace
# block, require the published staging modules of the same minor (v0.34.4 for v1.34.4), build.

kube_components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

kube_build_ldflags() {
    local v=$KUBE_VERSION major minor
    major=${v#v}; major=${major%%.*}
    minor=${v#v*.}; minor=${minor%%.*}
    local flags="-s -w"
    # Unstamped, the server says v0.0.0-master and helm refuses a chart's kubeVersion constraint.
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    echo "$flags"
}

kube_build_binaries() {
    local out=$KUBE_CACHE/$KUBE_VERSION/bin missing=() c
    for c in "${kube_components[@]}"; do [[ -x $out/$c ]] || missing+=("$c"); done
    if ((${#missing[@]} == 0)); then
        say "kubernetes $KUBE_VERSION: cached ($out)"
        return 0
    fi
    local started=$SECONDS staging=v0.${KUBE_VERSION#v1.} src
    say "kubernetes $KUBE_VERSION: building ${missing[*]} (cold: about 10-25 min on 2 cores)"
    src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    local work
    work=$(mktemp -d /tmp/kube-build.XXXXXX)
    cp -r "$src/." "$work/"
    chmod -R u+w "$work"
    # Drop the replace block; pin each staging module at the published version of the same minor.
    python3 - "$work/go.mod" "$staging" <<'PY'
import re, sys
path, staging = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"\nreplace \((?:.|\n)*?\n\)\n", "\n", text)
text = re.sub(r"(\tk8s\.io/[\w.-]+) v0\.0\.0\n", rf"\1 {staging}\n", text)
open(path, "w").write(text)
PY
    mkdir -p "$out"
    local pkgs=()
    for c in "${missing[@]}"; do pkgs+=("./cmd/$c"); done
    (cd "$work" && rm -f go.work go.work.sum && GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 \
        go build -trimpath -ldflags "$(kube_build_ldflags)" -o "$out/.partial/" "${pkgs[@]}")
    for c in "${missing[@]}"; do mv "$out/.partial/$c" "$out/$c"; done
    rmdir "$out/.partial"
    rm -rf "$work"
    say "kubernetes $KUBE_VERSION: built ${missing[*]} in $((SECONDS - started)) s"
}

# The cluster's own images: each a static binary in a one-layer image (scripts/kube.d/image-archive.py),
# written as an archive for `ctr images import`, named localhost/NAME:VERSION.
kube_build_image() { # kube_build_image NAME VERSION USER ENTRYPOINT BUILD_FUNCTION
    local name=$1 version=$2 user=$3 entrypoint=$4 build=$5
    local archive=$IMAGES/$name-$version.tar
    if [[ -f $archive ]]; then
        say "image localhost/$name:$version: cached ($archive)"
        return 0
    fi
    local started=$SECONDS scratch
    scratch=$(mktemp -d /tmp/kube-image.XXXXXX)
    "$build" "$scratch" "$version"
    mkdir -p "$IMAGES"
    python3 scripts/kube.d/image-archive.py "$archive.partial" "localhost/$name:$version" \
        --user "$user" --entrypoint "$entrypoint" "$scratch/$name=$entrypoint"
    mv "$archive.partial" "$archive"
    rm -rf "$scratch"
    say "image localhost/$name:$version: built in $((SECONDS - started)) s"
}

build_pause() { # Kubernetes' own build/pause source, compiled as its Makefile does
    local src
    src=$(GOWORK=off go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    gcc -Os -Wall -Werror -static -DVERSION="v$2-slkb" -o "$1/pause" "$src/build/pause/linux/pause.c"
}

build_local_main() { # build_local_main DIR NAME: the Go module in scripts/kube.d/NAME (pinned go.sum)
    (cd "scripts/kube.d/$2" && GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0 \
        go build -trimpath -ldflags "-s -w" -o "$1/$2" .)
}
build_coredns() { build_local_main "$1" coredns; }
build_metrics_server() { build_local_main "$1" metrics-server; }

kube_build_all() {
    command -v go >/dev/null || die "go is not installed: the cluster's binaries are built from source"
    command -v gcc >/dev/null || die "gcc is not installed: the pause image is compiled from C"
    local started=$SECONDS
    kube_build_binaries
    kube_build_image pause "$PAUSE_VERSION" 65535:65535 /pause build_pause
    kube_build_image coredns "$COREDNS_VERSION" 65532:65532 /coredns build_coredns
    kube_build_image metrics-server "$METRICS_SERVER_VERSION" 65534:65534 /metrics-server build_metrics_server
    say "build: $((SECONDS - started)) s in all"
}
