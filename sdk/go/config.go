package cairn

import (
	"os"
	"strings"
	"time"
)

// DefaultEndpoint is used when neither Config.Endpoints nor CAIRN_ENDPOINTS name one.
const DefaultEndpoint = "127.0.0.1:7379"

// Defaults applied by New to zero Config fields; the same in every Cairn SDK.
const (
	// DefaultDialTimeout bounds connecting to one member before the next is tried.
	DefaultDialTimeout = 2 * time.Second
	// DefaultCallTimeout is the deadline of a call whose context has none, retries
	// included: with no member answering, a call (New included) fails this long after it
	// was made.
	DefaultCallTimeout = 5 * time.Second
	// DefaultWatchProbe is how often an idle watch asks its member for progress.
	DefaultWatchProbe = 5 * time.Second
)

// Config configures a Client.
type Config struct {
	// Endpoints are host:port addresses of cluster members. When empty, the comma-separated
	// CAIRN_ENDPOINTS environment variable is used, else DefaultEndpoint. The client starts
	// with the first endpoint and adds the members it discovers.
	Endpoints []string
	// DialTimeout bounds connecting to one member before failing over to the next
	// (default DefaultDialTimeout).
	DialTimeout time.Duration
	// CallTimeout is the deadline of a call, retries included, whose context has none
	// (default DefaultCallTimeout).
	CallTimeout time.Duration
	// WatchProbeInterval is how often an idle watch asks its member for progress; a
	// member that leaves two probes unanswered is considered hung and the watch resumes on
	// another one (default DefaultWatchProbe).
	WatchProbeInterval time.Duration
	// DisableDiscovery keeps the client on Endpoints only, without asking for the member
	// list.
	DisableDiscovery bool
	// TLS connects with TLS; its unset fields default to CAIRN_CACERT, CAIRN_CERT and
	// CAIRN_KEY. When it is nil and none of those is set, the client speaks plaintext.
	TLS *TLSOptions
	// User authenticates as this user (default CAIRN_USER, which may be NAME:PASSWORD as
	// for the CLI); the token is sent with every call and stream and renewed when a member
	// refuses it (expired or revoked).
	User string
	// Password is the user's password (default CAIRN_PASSWORD).
	Password string
}

// endpoints returns the configured endpoints, applying the environment and the default.
func (c Config) endpoints() []string {
	eps := c.Endpoints
	if len(eps) == 0 {
		eps = splitEndpoints(os.Getenv("CAIRN_ENDPOINTS"))
	}
	if len(eps) == 0 {
		eps = []string{DefaultEndpoint}
	}
	return dedupe(eps)
}

func splitEndpoints(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
