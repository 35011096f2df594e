package cairn_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestGoGetFromModuleProxy checks the SDK as a user gets it: the repository's modules
// (gen/go and sdk/go) at the version in VERSION are laid out as a module proxy
// (scripts/goproxy, the files a release tag gives the go command), and a new module in a
// temporary directory `go get`s the SDK from it, with no replace directive, and runs the
// README's quickstart against a real member, which must print what the README shows.
// Everything else comes from the local module cache (GOPROXY has no network entry), into
// a module cache of the test's own so that a stale copy of this version cannot be used.
func TestGoGetFromModuleProxy(t *testing.T) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := "v" + strings.TrimSpace(string(raw))
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	goCmd(t, filepath.Join(root, "scripts", "goproxy"), nil, "run", ".", "-root", root, "-out", proxy, "-version", version, "gen/go", "sdk/go")

	app := filepath.Join(tmp, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "sdk", "go", "examples", "quickstart", "main.go"), filepath.Join(app, "main.go"))
	// The SDK's own go.sum vouches for its dependencies, so no checksum database is asked.
	copyFile(t, filepath.Join(root, "sdk", "go", "go.sum"), filepath.Join(app, "go.sum"))
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/quickstart\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostCache := strings.TrimSpace(goCmd(t, app, nil, "env", "GOMODCACHE"))
	env := []string{
		"GOPROXY=file://" + proxy + ",file://" + filepath.Join(hostCache, "cache", "download") + ",off",
		"GOMODCACHE=" + filepath.Join(tmp, "modcache"),
		// -trimpath keeps the build cache keys free of the temporary module cache's path.
		"GOFLAGS=-mod=mod -modcacherw -trimpath",
		"GONOSUMDB=github.com/cairn-dev/cairn",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	}
	goCmd(t, app, env, "get", "github.com/cairn-dev/cairn/sdk/go@"+version)
	mod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/cairn-dev/cairn/sdk/go "+version) || strings.Contains(string(mod), "replace") {
		t.Fatalf("go.mod after go get:\n%s", mod)
	}

	c := testcluster.Start(t, 1)
	c.WaitLeader(testcluster.LeaderWait)
	got := goCmd(t, app, append(env, "CAIRN_ENDPOINTS="+strings.Join(c.Endpoints(), ",")), "run", ".")
	if want := readmeOutput(t, filepath.Join(root, "sdk", "go", "README.md")); got != want {
		t.Fatalf("the quickstart printed\n%s\nthe README shows\n%s", got, want)
	}
}

// goCmd runs the go command in dir with extra environment and returns its standard output.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	t.Logf("go %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	return stdout.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readmeOutput is the quickstart's output as the README shows it: the block after
// "which prints".
func readmeOutput(t *testing.T, readme string) string {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "which prints\n\n```\n")
	if !ok {
		t.Fatalf("%s: no \"which prints\" block", readme)
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatalf("%s: the \"which prints\" block does not end", readme)
	}
	return block
}
