package validate

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitPath = "../systemd/cairn.service"

// unitKeys reads a unit file's Key=Value lines into section -> key -> values.
func unitKeys(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string]map[string][]string{}
	section := ""
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			sections[section] = map[string][]string{}
		default:
			key, value, _ := strings.Cut(line, "=")
			sections[section][key] = append(sections[section][key], value)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return sections
}

// verify runs systemd-analyze verify on a unit; it prints problems such as unknown keys
// without failing, so any output is a failure too.
func verify(t *testing.T, path string) (string, error) {
	t.Helper()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the unit is not verified")
	}
	out, err := exec.Command(tool, "verify", path).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestSystemdUnitVerifies(t *testing.T) {
	out, err := verify(t, unitPath)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
}

func TestSystemdVerifyReportsAMisplacedKey(t *testing.T) {
	// What the test above relies on: a key in the wrong section is reported.
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "cairn.service")
	broken := strings.Replace(string(data), "[Service]\n", "[Service]\nStartLimitBurstt=5\n", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(t, bad); err == nil && !strings.Contains(out, "StartLimitBurstt") {
		t.Fatalf("systemd-analyze verify did not report an unknown key: %q", out)
	}
}

func TestSystemdUnitIsHardened(t *testing.T) {
	service := unitKeys(t, unitPath)["Service"]
	want := map[string]string{
		"User":            "cairn",
		"ProtectSystem":   "strict",
		"NoNewPrivileges": "true",
		"PrivateTmp":      "true",
		"Restart":         "on-failure",
		"KillSignal":      "SIGTERM",
	}
	for key, value := range want {
		if got := service[key]; len(got) != 1 || got[0] != value {
			t.Errorf("%s=%v, want %s", key, got, value)
		}
	}
	if got := service["LimitNOFILE"]; len(got) != 1 || got[0] == "" {
		t.Errorf("LimitNOFILE must be set, is %v", got)
	}
}

func TestSystemdEnvironmentFileMatchesTheUnit(t *testing.T) {
	service := unitKeys(t, unitPath)["Service"]
	env, err := os.ReadFile("../systemd/cairn.env")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(env), "\n") {
		if strings.HasPrefix(l, "CAIRN_FLAGS=") {
			line = strings.TrimPrefix(l, "CAIRN_FLAGS=")
		}
	}
	if !strings.Contains(service["ExecStart"][0], "serve $CAIRN_FLAGS") {
		t.Fatalf("ExecStart must pass $CAIRN_FLAGS (split on spaces) to serve: %v", service["ExecStart"])
	}
	flags, err := Flags(strings.Fields(line))
	if err != nil {
		t.Fatal(err)
	}
	known := serveFlags(t)
	for name := range flags {
		if !known[name] {
			t.Errorf("cairn.env: --%s is not a flag of cairn serve", name)
		}
	}
	// ProtectSystem=strict makes everything read-only but the data directory.
	dataDir := flags["data-dir"]
	if got := service["ReadWritePaths"]; len(got) != 1 || got[0] != dataDir {
		t.Errorf("ReadWritePaths=%v must be --data-dir %s", got, dataDir)
	}
	if got := service["StateDirectory"]; len(got) != 1 || "/var/lib/"+got[0] != dataDir {
		t.Errorf("StateDirectory=%v must create --data-dir %s", got, dataDir)
	}
	for _, name := range []string{"cert-file", "key-file", "trusted-ca-file", "peer-trusted-ca-file"} {
		if !strings.HasPrefix(flags[name], "/etc/cairn/") {
			t.Errorf("--%s=%q must be under /etc/cairn (the ConfigurationDirectory)", name, flags[name])
		}
	}
	members := strings.Split(flags["initial-cluster"], ",")
	if len(members) != 3 || !strings.HasPrefix(flags["initial-cluster"], flags["name"]+"=") &&
		!strings.Contains(flags["initial-cluster"], ","+flags["name"]+"=") {
		t.Errorf("--initial-cluster %q must list three members including --name %s", flags["initial-cluster"], flags["name"])
	}
	if !strings.Contains(flags["initial-cluster"], flags["name"]+"="+flags["listen"]) {
		t.Errorf("--initial-cluster must give member %s its --listen address %s", flags["name"], flags["listen"])
	}
}
