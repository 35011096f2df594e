package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestScenarioMatchesExpected runs the scenario command, with its endpoints from
// CAIRN_ENDPOINTS, on a fresh cluster and compares its output with
// sdk/scenario/expected.txt, byte for byte.
func TestScenarioMatchesExpected(t *testing.T) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "sdk", "scenario", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := testcluster.Start(t, 3)
	cluster.WaitLeader(testcluster.LeaderWait)

	t.Setenv("CAIRN_ENDPOINTS", strings.Join(cluster.Endpoints(), ","))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("scenario: %v\noutput so far:\n%s", err, out.String())
	}
	if got := out.String(); got != string(want) {
		t.Fatalf("scenario output differs from expected.txt\n--- got ---\n%s--- want ---\n%s--- diff ---\n%s", got, want, diffLines(got, string(want)))
	}
}

// diffLines lists the lines that differ, with their numbers.
func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d: got %q, want %q\n", i+1, gl, wl)
		}
	}
	return b.String()
}

// TestScenarioOverTLS is issue 10's acceptance: the same scenario against three members
// with TLS and --client-cert-auth, the certificates given through CAIRN_CACERT,
// CAIRN_CERT and CAIRN_KEY as for the CLI.
func TestScenarioOverTLS(t *testing.T) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "sdk", "scenario", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	certs := testcluster.MakeTestCerts(t, 3)
	cluster := testcluster.StartTLS(t, 3, certs)
	cluster.WaitLeader(testcluster.LeaderWait)

	t.Setenv("CAIRN_ENDPOINTS", strings.Join(cluster.Endpoints(), ","))
	t.Setenv("CAIRN_CACERT", filepath.Join(certs, "ca.pem"))
	t.Setenv("CAIRN_CERT", filepath.Join(certs, "client.pem"))
	t.Setenv("CAIRN_KEY", filepath.Join(certs, "client.key"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("scenario: %v\noutput so far:\n%s", err, out.String())
	}
	if got := out.String(); got != string(want) {
		t.Fatalf("scenario output differs from expected.txt\n--- got ---\n%s--- want ---\n%s--- diff ---\n%s", got, want, diffLines(got, string(want)))
	}
}
