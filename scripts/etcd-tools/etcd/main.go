// Command etcd is etcd's own server, built from the released module at the version go.mod
// pins, for the etcd-compatibility tests (scripts/install-etcd-tools.sh builds it into a
// cache directory). `go install go.etcd.io/etcd/server/v3@v3.7.3` is refused because that
// module's go.mod has replace directives; as the main module's dependency it builds.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
