// Command etcd is etcd's own server, built from the released module at the version go.mod
// pins (go install refuses go.etcd.io/etcd/server/v3 because its go.mod has replace
// directives). bench/compare.sh builds it into bench/.build/; nothing of etcd's source is
// kept in this repository.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
