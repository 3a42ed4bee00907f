# `scripts/kube down`: stop the cluster and undo everything `up` did to the machine. Sourced by
# scripts/kube. Each step tolerates a half-started cluster, so `down` also cleans up after a failed
# `up`, and running it twice is harmless.

stop_process() { # stop_process NAME [GRACE]: SIGTERM, then SIGKILL after GRACE seconds
    local name=$1 grace=${2:-15} pid
    pid=$(cat "$RUN/pids/$name" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + grace))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        say "$name stopped (pid $pid)"
    fi
    rm -f "$RUN/pids/$name"
}

remove_containers() {
    # Without the kubelet nothing stops the pods: kill every task of our containerd, then remove the
    # containers and the network namespaces of their sandboxes (their veths go with them).
    running containerd || return 0
    local id netns=()
    mapfile -t netns < <(ctr_ containers ls -q 2>/dev/null | while read -r id; do
        ctr_ containers info "$id" 2>/dev/null | python3 -c '
import json, sys
spec = json.load(sys.stdin).get("Spec") or {}
for ns in (spec.get("linux") or {}).get("namespaces") or []:
    if ns.get("type") == "network" and ns.get("path"):
        print(ns["path"])'
    done | sort -u)
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true; done
    local deadline=$((SECONDS + 20))
    while [[ -n $(ctr_ tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"') ]] && ((SECONDS < deadline)); do sleep 0.2; done
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true; done
    for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
    local path
    for path in "${netns[@]}"; do
        umount "$path" 2>/dev/null || true
        rm -f "$path"
    done
    ((${#netns[@]})) && say "removed ${#netns[@]} pod network namespace(s)"
    return 0
}

unmount_below() { # every mount under a directory, deepest first
    awk -v root="$1/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do
        umount "$mount" 2>/dev/null || umount -l "$mount"
    done
}

remove_cgroups() {
    # The kubelet's kubepods hierarchy (cgroup v1: one per controller), deepest first.
    local controller
    for controller in /sys/fs/cgroup/*/; do
        [[ -d ${controller}kubepods ]] || continue
        find "${controller}kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    local left
    left=$(find /sys/fs/cgroup/*/ -maxdepth 1 -name kubepods 2>/dev/null | head -1)
    [[ -z $left ]] || say "warning: $left could not be removed"
}

remove_iptables_rules() {
    # kube-proxy --cleanup removes kube-proxy's own chains; the kubelet's KUBE-FIREWALL and canary
    # chains (iptables and ip6tables) and our guard are left: remove every jump to a KUBE-* or
    # SLKB-* chain from the built-in chains, then those chains themselves.
    [[ -x $BIN/kube-proxy ]] && "$BIN/kube-proxy" --cleanup --proxy-mode iptables >/dev/null 2>&1 || true
    local tool table rule chain
    for tool in iptables ip6tables; do
        command -v "$tool" >/dev/null || continue
        for table in filter nat mangle raw; do
            "$tool-save" -t "$table" 2>/dev/null | { grep -E '^-A [A-Z]+ .*-j (KUBE|SLKB)-' || true; } | while read -r rule; do
                eval "$tool -w -t $table -D ${rule#-A }" 2>/dev/null || true
            done
            for chain in $("$tool-save" -t "$table" 2>/dev/null | awk '/^:(KUBE|SLKB)-/ { print substr($1, 2) }'); do
                "$tool" -w -t "$table" -F "$chain" 2>/dev/null || true
            done
            for chain in $("$tool-save" -t "$table" 2>/dev/null | awk '/^:(KUBE|SLKB)-/ { print substr($1, 2) }'); do
                "$tool" -w -t "$table" -X "$chain" 2>/dev/null || true
            done
        done
    done
}

restore_sysctls() {
    [[ -f $RUN/sysctls ]] || return 0
    local line
    while read -r line; do sysctl -qw "$line" || true; done <"$RUN/sysctls"
}

down() {
    require_root
    local started=$SECONDS
    [[ -d $RUN ]] || { say "not running"; return 0; }
    stop_process kube-proxy
    stop_process kubelet 20
    remove_containers
    stop_process containerd
    # A shim whose containerd is gone would keep the container running: stop any left by a crash.
    local shim
    for shim in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -address $CTR_SOCK" || true); do
        kill -KILL "$shim" 2>/dev/null || true
    done
    stop_process kube-scheduler
    stop_process kube-controller-manager
    stop_process kube-apiserver
    stop_process etcd
    unmount_below "$RUN"
    remove_cgroups
    remove_iptables_rules
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
    restore_sysctls
    rm -rf --one-file-system "$RUN"
    say "cluster down in $((SECONDS - started)) s"
}
