package cairn_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestTLS: a member with TLS and --client-cert-auth serves a client with the CA and a
// client certificate (made by openssl at test time); plaintext and a missing client
// certificate fail with an error that says what to check.
func TestTLS(t *testing.T) {
	certs := testcluster.MakeTestCerts(t, 1)
	cluster := testcluster.StartTLS(t, 1, certs)
	cluster.WaitLeader(testcluster.LeaderWait)
	ctx := timeout(t, testBound)

	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints(), TLS: &cairn.TLSOptions{
		CAFile:   filepath.Join(certs, "ca.pem"),
		CertFile: filepath.Join(certs, "client.pem"),
		KeyFile:  filepath.Join(certs, "client.key"),
	}})
	put, err := c.Put(ctx, "tls/k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, ctx, c, "tls/k"); got != "v" {
		t.Fatalf("get tls/k = %q", got)
	}
	wr := <-c.Watch(ctx, "tls/", cairn.WithPrefix(), cairn.FromRevision(put.Header.Revision))
	if wr.Err != nil || len(wr.Events) != 1 || wr.Events[0].KV.Key != "tls/k" {
		t.Fatalf("watch over TLS: %+v", wr)
	}

	short := func() context.Context { return timeout(t, 5*time.Second) }
	_, err = cairn.New(short(), cairn.Config{Endpoints: cluster.Endpoints(), DialTimeout: time.Second, DisableDiscovery: true})
	if err == nil || !strings.Contains(err.Error(), "connecting with plaintext: if the member serves TLS, set Config.TLS or CAIRN_CACERT") {
		t.Fatalf("plaintext to a TLS member: %v", err)
	}
	ca, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cairn.New(short(), cairn.Config{Endpoints: cluster.Endpoints(), DialTimeout: time.Second, DisableDiscovery: true, TLS: &cairn.TLSOptions{CA: ca}})
	if err == nil || !strings.Contains(err.Error(), "connecting with TLS: check") {
		t.Fatalf("no client certificate: %v", err)
	}
}

// setUpUsers makes root and alice (readwrite on app/), then enables authentication.
func setUpUsers(t *testing.T, ctx context.Context, address string) {
	t.Helper()
	cc, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	auth := cairnv1.NewAuthServiceClient(cc)
	steps := []func() error{
		func() error {
			_, err := auth.UserAdd(ctx, &cairnv1.UserAddRequest{Name: "root", Password: "root-pw"})
			return err
		},
		func() error {
			_, err := auth.UserGrantRole(ctx, &cairnv1.UserGrantRoleRequest{User: "root", Role: "root"})
			return err
		},
		func() error { _, err := auth.RoleAdd(ctx, &cairnv1.RoleAddRequest{Name: "app"}); return err },
		func() error {
			perm := &cairnv1.Permission{Type: cairnv1.Permission_TYPE_READWRITE, Key: []byte("app/"), RangeEnd: []byte("app0")}
			_, err := auth.RoleGrantPermission(ctx, &cairnv1.RoleGrantPermissionRequest{Name: "app", Perm: perm})
			return err
		},
		func() error {
			_, err := auth.UserAdd(ctx, &cairnv1.UserAddRequest{Name: "alice", Password: "alice-pw"})
			return err
		},
		func() error {
			_, err := auth.UserGrantRole(ctx, &cairnv1.UserGrantRoleRequest{User: "alice", Role: "app"})
			return err
		},
		func() error { _, err := auth.AuthEnable(ctx, &cairnv1.AuthEnableRequest{}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("auth set-up step %d: %v", i, err)
		}
	}
}

// waitForExpiry logs in as alice and polls with that token until the member refuses it:
// every token alice's client got before then has expired too.
func waitForExpiry(t *testing.T, ctx context.Context, address string) {
	t.Helper()
	cc, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := cairnv1.NewAuthServiceClient(cc).Authenticate(ctx, &cairnv1.AuthenticateRequest{Name: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	kv := cairnv1.NewKVServiceClient(cc)
	tctx := metadata.AppendToOutgoingContext(ctx, "token", resp.GetToken())
	for {
		_, err := kv.Range(tctx, &cairnv1.RangeRequest{Key: []byte("app/k")})
		if status.Code(err) == codes.Unauthenticated {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the token never expired: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUserPassword: calls and watches carry the token, PermissionDenied and
// Unauthenticated are typed, and an expired token is renewed without the caller noticing.
func TestUserPassword(t *testing.T) {
	cluster := testcluster.Start(t, 1, "--auth-token-ttl", "1500")
	cluster.WaitLeader(testcluster.LeaderWait)
	ctx := timeout(t, testBound)
	address := cluster.Endpoints()[0]
	setUpUsers(t, ctx, address)

	alice := newClient(t, cairn.Config{Endpoints: []string{address}, User: "alice", Password: "alice-pw", CallTimeout: 30 * time.Second})
	if _, err := alice.Put(ctx, "app/k", "v1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, ctx, alice, "app/k"); got != "v1" {
		t.Fatalf("get app/k = %q", got)
	}
	_, err := alice.Get(ctx, "other/k")
	if !errors.Is(err, cairn.ErrPermissionDenied) || !cairn.IsPermissionDenied(err) || status.Code(err) != codes.PermissionDenied {
		t.Fatalf("read outside the role: %v", err)
	}
	if _, err := alice.Put(ctx, "other/k", "x"); !errors.Is(err, cairn.ErrPermissionDenied) {
		t.Fatalf("write outside the role: %v", err)
	}

	_, err = cairn.New(ctx, cairn.Config{Endpoints: []string{address}, User: "alice", Password: "nope"})
	if !errors.Is(err, cairn.ErrAuthFailed) || !errors.Is(err, cairn.ErrAuthentication) {
		t.Fatalf("wrong password: %v", err)
	}
	anonymous := newClient(t, cairn.Config{Endpoints: []string{address}})
	_, err = anonymous.Get(ctx, "app/k")
	var e *cairn.Error
	if !errors.Is(err, cairn.ErrAuthentication) || !errors.As(err, &e) || e.CairnCode != cairnv1.ErrorCode_ERROR_CODE_AUTH_REQUIRED {
		t.Fatalf("no credentials: %v", err)
	}

	// A write with an expired token is refused before it applies: renewed and sent once more.
	waitForExpiry(t, ctx, address)
	put, err := alice.Put(ctx, "app/k", "v2", cairn.WithPrevKV())
	if err != nil {
		t.Fatalf("put after the token expired: %v", err)
	}
	if put.PrevKV == nil || string(put.PrevKV.Value) != "v1" {
		t.Fatalf("prev kv %+v", put.PrevKV)
	}
	resp, err := alice.Get(ctx, "app/k")
	if err != nil || resp.Kvs[0].Version != 2 {
		t.Fatalf("applied once: %+v %v", resp, err)
	}

	// A watch opened with an expired token: renewed, and created.
	waitForExpiry(t, ctx, address)
	wr := <-alice.Watch(ctx, "app/", cairn.WithPrefix(), cairn.FromRevision(put.Header.Revision))
	if wr.Err != nil || len(wr.Events) != 1 || wr.Events[0].KV.ModRevision != put.Header.Revision {
		t.Fatalf("watch after the token expired: %+v", wr)
	}
}
