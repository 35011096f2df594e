// Command etcdctl is etcd's own command-line client, built from the released module at the
// version go.mod pins, for the etcd-compatibility tests (scripts/install-etcd-tools.sh
// builds it into a cache directory; see etcd/main.go for why not `go install`).
package main

import (
	"go.etcd.io/etcd/etcdctl/v3/ctlv3"
)

func main() {
	ctlv3.MustStart()
}
