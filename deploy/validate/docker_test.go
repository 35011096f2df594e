package validate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"
	"sigs.k8s.io/yaml"
)

const dockerfilePath = "../docker/Dockerfile"

// offlineImages answers base-image lookups with an empty linux/amd64 image: no registry is
// reachable here, and the checks need no more than that an image exists.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers"}}`)
	return ref, digest.FromBytes(config), config, nil
}

// lintDockerfile runs BuildKit's Dockerfile checks (what `docker build --check` runs; no
// daemon needed) and returns the problems found.
func lintDockerfile(t *testing.T, data []byte) []string {
	t.Helper()
	source := llb.NewSourceMap(nil, dockerfilePath, "Dockerfile", data)
	source.Definition = &llb.Definition{} // no build graph: only the checks run
	results, err := dockerfile2llb.DockerfileLint(context.Background(), data, dockerfile2llb.ConvertOpt{
		SourceMap:    source,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, w := range results.Warnings {
		problems = append(problems, w.RuleName+": "+w.Detail)
	}
	if results.Error != nil {
		problems = append(problems, "error: "+results.Error.Message)
	}
	return problems
}

func TestDockerfilePassesBuildKitChecks(t *testing.T) {
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	if problems := lintDockerfile(t, data); len(problems) > 0 {
		t.Fatalf("%s:\n%s", dockerfilePath, strings.Join(problems, "\n"))
	}
}

func TestBuildKitChecksReportProblems(t *testing.T) {
	// What the test above relies on: a known bad pattern is reported.
	bad := []byte("FROM node:20-bookworm-slim as build\nCMD node x.js\n")
	if problems := lintDockerfile(t, bad); len(problems) == 0 {
		t.Fatalf("BuildKit's checks reported nothing for a lower-case AS and a shell-form CMD")
	}
}

func stages(t *testing.T) []instructions.Stage {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImageRunsServeAsANonRootUser(t *testing.T) {
	all := stages(t)
	if len(all) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(all))
	}
	for _, s := range all {
		if !strings.HasPrefix(s.BaseName, "node:20-") || !strings.HasSuffix(s.BaseName, "-slim") {
			t.Errorf("stage %q is FROM %s, want a Node 20 slim image", s.Name, s.BaseName)
		}
	}
	final := all[len(all)-1]
	var user, volume, entrypoint, cmd, health string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.VolumeCommand:
			volume = strings.Join(c.Volumes, " ")
		case *instructions.EntrypointCommand:
			entrypoint = strings.Join(c.CmdLine, " ")
		case *instructions.CmdCommand:
			cmd = strings.Join(c.CmdLine, " ")
		case *instructions.HealthCheckCommand:
			health = strings.Join(c.Health.Test, " ")
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("the image must run as a non-root user, USER is %q", user)
	}
	if !strings.HasSuffix(entrypoint, "bin/cairn.js serve") {
		t.Errorf("ENTRYPOINT must be `cairn serve`, is %q", entrypoint)
	}
	flags, err := Flags(strings.Fields(cmd))
	if err != nil {
		t.Fatal(err)
	}
	if flags["data-dir"] == "" || volume != flags["data-dir"] {
		t.Errorf("VOLUME %q must be the --data-dir %q", volume, flags["data-dir"])
	}
	metrics := port(t, flags["metrics-listen"])
	if !strings.Contains(health, "/healthz") || !strings.Contains(health, ":"+strconv.Itoa(int(metrics))+"/") {
		t.Errorf("HEALTHCHECK must GET /healthz on the --metrics-listen port %d: %q", metrics, health)
	}
}

// composeFile is the part of the Compose format the member services use.
type composeFile struct {
	Services map[string]struct {
		Command []string `json:"command"`
		Volumes []string `json:"volumes"`
	} `json:"services"`
}

func TestComposeMembersAgree(t *testing.T) {
	data, err := os.ReadFile("../docker/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	known := serveFlags(t)
	cluster := ""
	for name, svc := range compose.Services {
		flags, err := Flags(svc.Command)
		if err != nil {
			t.Fatal(err)
		}
		for f := range flags {
			if !known[f] {
				t.Errorf("%s: --%s is not a flag of cairn serve", name, f)
			}
		}
		if flags["name"] != name {
			t.Errorf("%s: --name %q must be the service name (its peers dial it by that name)", name, flags["name"])
		}
		if cluster == "" {
			cluster = flags["initial-cluster"]
		}
		if flags["initial-cluster"] != cluster {
			t.Errorf("%s: --initial-cluster differs between members", name)
		}
		if !strings.Contains(cluster, name+"="+name+":"+strconv.Itoa(int(port(t, flags["listen"])))) {
			t.Errorf("%s: --initial-cluster %q does not list it at its --listen port", name, cluster)
		}
		mounts := strings.Join(svc.Volumes, " ")
		if !strings.Contains(mounts, ":"+flags["data-dir"]) {
			t.Errorf("%s: --data-dir %s is not a volume (%s)", name, flags["data-dir"], mounts)
		}
		for _, f := range []string{"cert-file", "key-file", "trusted-ca-file"} {
			if !strings.Contains(mounts, "certs:/etc/cairn/tls:ro") || !strings.HasPrefix(flags[f], "/etc/cairn/tls/") {
				t.Errorf("%s: --%s %q must be in the read-only certs mount /etc/cairn/tls", name, f, flags[f])
			}
		}
		if filepath.Base(flags["cert-file"]) != name+".pem" {
			t.Errorf("%s: must use its own certificate %s.pem, uses %s", name, name, flags["cert-file"])
		}
	}
	if len(compose.Services) != 3 || strings.Count(cluster, "=") != 3 {
		t.Errorf("want three members, got %d services and --initial-cluster %q", len(compose.Services), cluster)
	}
}
