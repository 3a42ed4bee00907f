# The client tools: kubectl v1.34.5, Helm v4.1.4 and Helm v3.19.0, the official binaries that
# scripts/k8s-tools fetches (pinned in .ci/tool-versions) into ~/.cache/socketlabs-kafka-bridge/bin.
# Sourced by scripts/kube.

kube_clients() {
    KUBECTL=$(scripts/k8s-tools path kubectl) || die "kubectl could not be had (scripts/k8s-tools)"
    HELM4=$(scripts/k8s-tools path helm v4.1.4) || die "Helm v4.1.4 could not be had (scripts/k8s-tools)"
    HELM3=$(scripts/k8s-tools path helm v3.19.0) || die "Helm v3.19.0 could not be had (scripts/k8s-tools)"
}
