// CoreDNS with only the plugins the cluster's Corefile uses (scripts/kube.d/addons.yaml), instead
// of the upstream binary's ~60: the kubernetes plugin's client-go is then the one the Kubernetes
// build already compiled, and a cold build takes a minute, not ten. The plugins run in the order of
// dnsserver.Directives, as in the full binary.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
