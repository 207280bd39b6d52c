// Command etcd is the real etcd server, the storage kube-apiserver needs for
// the integration tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
