// Package clientv3compat is issue 17's acceptance with etcd's own Go client: clientv3 and
// its concurrency package (mutex and election under a leader kill, STM transactions), a
// watch resumed across a member restart, and a kube-apiserver-like access pattern, each run
// against a real etcd (which validates the test) and against Cairn. run-tests.sh runs it;
// npm test does, in its step etcd-go.
package clientv3compat
