// Package cairn is the Go client for Cairn, a Raft-replicated configuration store with an
// etcd v3 style API.
//
// A Client talks to one member of the cluster at a time. It learns the other members
// through ClusterService.MemberList when it is created and fails over to the next one when
// the member in use becomes unreachable, with capped exponential backoff between attempts.
// Reads are retried on failover; writes are retried only when the server said the write
// was not applied (NO_LEADER, STOPPING) or when the client never reached a member, unless
// the caller opts in with WithRetryUnsafe.
//
// Every call runs under a deadline: the caller's context, or Config.CallTimeout when the
// context has none. Failures are returned as *Error values that carry the gRPC status code
// and the server's error code (the generated cairn.v1.ErrorCode, read from the ErrorInfo in
// the status details); they match the sentinels of this package with errors.Is (for
// example ErrCompacted, ErrNoLeader).
//
// Leases (Grant, KeepAlive, Revoke, TimeToLive, Leases; WithLease on Put) carry the
// recipes built on them with etcd's concurrency key layout, shared with the other SDKs and
// the CLI: Session (a lease kept alive in the background, Done when lost), Session.Register
// and Client.Discover for service discovery, Mutex with fencing tokens, and Election.
package cairn
