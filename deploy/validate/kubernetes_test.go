package validate

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const kubeDir = "../kubernetes"

// serveFlags are the flags `cairn serve` declares, read from its source so that a renamed
// flag breaks this test rather than a deployment.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("../../server/cli/serve.ts")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`'--([a-z][a-z-]*)[ ']`).FindAllStringSubmatch(string(src), -1) {
		known[m[1]] = true
	}
	// The per-limit flags are generated from LIMIT_HELP; the manifests use none of them.
	if len(known) < 10 {
		t.Fatalf("found only %d flags in serve.ts: the pattern no longer matches", len(known))
	}
	return known
}

func load(t *testing.T) *Manifests {
	t.Helper()
	m, err := LoadManifests(kubeDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.StatefulSets) != 1 {
		t.Fatalf("want one StatefulSet, got %d", len(m.StatefulSets))
	}
	return m
}

func member(t *testing.T, sts *appsv1.StatefulSet) (*corev1.Container, map[string]string) {
	t.Helper()
	containers := sts.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	flags, err := Flags(containers[0].Args)
	if err != nil {
		t.Fatal(err)
	}
	if len(containers[0].Args) == 0 || containers[0].Args[0] != "serve" {
		t.Fatalf("the container must run `serve`, args are %v", containers[0].Args)
	}
	return &containers[0], flags
}

func port(t *testing.T, hostPort string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// containerPort resolves a named or numbered port of the container.
func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("no container port named %q", p.StrVal)
	return 0
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	if len(m.Services) != 2 || len(m.Budgets) != 1 || len(m.NetworkPolicies) != 1 {
		t.Fatalf("want 2 Services, 1 PodDisruptionBudget, 1 NetworkPolicy; got %d, %d, %d",
			len(m.Services), len(m.Budgets), len(m.NetworkPolicies))
	}
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	// The guarantee the other tests stand on: a misspelt field is an error, not ignored.
	dir := t.TempDir()
	doc := "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {maxUnavailabel: 1}\n"
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifests(dir); err == nil || !strings.Contains(err.Error(), "maxUnavailabel") {
		t.Fatalf("want an unknown-field error naming maxUnavailabel, got %v", err)
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := load(t)
	k, err := LoadKustomization(kubeDir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
		if _, err := os.Stat(filepath.Join(kubeDir, r)); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}
	for _, f := range m.Files {
		if !listed[f] {
			t.Errorf("%s is not in kustomization.yaml's resources", f)
		}
	}
}

func TestMemberFlagsAgreeWithTheManifests(t *testing.T) {
	m := load(t)
	sts := &m.StatefulSets[0]
	c, flags := member(t, sts)
	known := serveFlags(t)
	for name := range flags {
		if !known[name] {
			t.Errorf("--%s is not a flag of cairn serve", name)
		}
	}
	for _, required := range []string{"name", "listen", "initial-cluster", "initial-cluster-token", "data-dir", "metrics-listen",
		"cert-file", "key-file", "trusted-ca-file", "peer-trusted-ca-file"} {
		if flags[required] == "" {
			t.Errorf("--%s is missing or empty", required)
		}
	}

	// The member name is the pod's name, which the StatefulSet makes <name>-<ordinal>.
	if flags["name"] != "$(POD_NAME)" {
		t.Errorf("--name must be the pod name $(POD_NAME), is %q", flags["name"])
	}
	if len(c.Env) == 0 || c.Env[0].Name != "POD_NAME" || c.Env[0].ValueFrom == nil ||
		c.Env[0].ValueFrom.FieldRef == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME must come first from metadata.name, env is %+v", c.Env)
	}

	// --initial-cluster: one entry per replica, each the pod's stable name under the
	// headless Service, on the port the member listens on.
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Fatalf("want 3 replicas, got %v", sts.Spec.Replicas)
	}
	listen := port(t, flags["listen"])
	var want []string
	for i := int32(0); i < *sts.Spec.Replicas; i++ {
		pod := fmt.Sprintf("%s-%d", sts.Name, i)
		want = append(want, fmt.Sprintf("%s=%s.%s:%d", pod, pod, sts.Spec.ServiceName, listen))
	}
	if got := flags["initial-cluster"]; got != strings.Join(want, ",") {
		t.Errorf("--initial-cluster is %q, want %q", got, strings.Join(want, ","))
	}
	if containerPort(t, c, intstr.FromString("client")) != listen {
		t.Errorf("container port client is not the --listen port %d", listen)
	}
	metricsPort := port(t, flags["metrics-listen"])
	if containerPort(t, c, intstr.FromString("metrics")) != metricsPort {
		t.Errorf("container port metrics is not the --metrics-listen port %d", metricsPort)
	}

	// Probes: readiness on /readyz, liveness on /healthz, both on the metrics port.
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("want an HTTP probe on %s", p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("probe path %s, want %s", p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, c, p.probe.HTTPGet.Port); got != metricsPort {
			t.Errorf("probe %s targets port %d, want the metrics port %d", p.path, got, metricsPort)
		}
	}

	// Graceful termination: the member hands over leadership on SIGTERM.
	if g := sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 10 {
		t.Errorf("terminationGracePeriodSeconds must give the member time to hand over leadership, is %v", g)
	}
}

func TestVolumesMatchTheFlags(t *testing.T) {
	m := load(t)
	sts := &m.StatefulSets[0]
	c, flags := member(t, sts)
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm
	}

	// The data directory is a per-pod claim.
	var claim string
	for _, tpl := range sts.Spec.VolumeClaimTemplates {
		claim = tpl.Name
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || mounts[claim].MountPath != flags["data-dir"] {
		t.Errorf("--data-dir %s must be the mount of the one volumeClaimTemplate (%q at %q)",
			flags["data-dir"], claim, mounts[claim].MountPath)
	}

	// Every certificate flag names a file of the Secret's mount; the Secret holds ca.pem and
	// one <pod>.pem/.key per member.
	var secretVolume string
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secretVolume = v.Name
			if len(v.Secret.Items) != 0 {
				t.Errorf("the Secret volume must mount every key (no items), so each pod finds its own certificate")
			}
		}
	}
	tlsMount, ok := mounts[secretVolume]
	if !ok {
		t.Fatalf("no mount of a Secret volume")
	}
	if !tlsMount.ReadOnly {
		t.Errorf("the certificate mount must be read-only")
	}
	for _, name := range []string{"cert-file", "key-file", "trusted-ca-file", "peer-trusted-ca-file", "peer-cert-file", "peer-key-file"} {
		file, given := flags[name]
		if !given {
			continue
		}
		if filepath.Dir(file) != tlsMount.MountPath {
			t.Errorf("--%s=%s is not in the Secret's mount %s", name, file, tlsMount.MountPath)
		}
	}
	if filepath.Base(flags["cert-file"]) != "$(POD_NAME).pem" || filepath.Base(flags["key-file"]) != "$(POD_NAME).key" {
		t.Errorf("each member must use its own certificate, <pod>.pem / <pod>.key")
	}
}

func TestServicesAndPoliciesSelectTheMembers(t *testing.T) {
	m := load(t)
	sts := &m.StatefulSets[0]
	c, flags := member(t, sts)
	pods := labels.Set(sts.Spec.Template.Labels)
	selector := labels.SelectorFromSet(sts.Spec.Selector.MatchLabels)
	if !selector.Matches(pods) {
		t.Fatalf("the StatefulSet's selector does not match its pods")
	}
	listen := port(t, flags["listen"])

	byName := map[string]corev1.Service{}
	for _, s := range m.Services {
		byName[s.Name] = s
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(pods) {
			t.Errorf("Service %s does not select the members", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if p.Name == "client" && containerPort(t, c, p.TargetPort) != listen {
				t.Errorf("Service %s port client targets %v, not the --listen port %d", s.Name, p.TargetPort, listen)
			}
		}
	}
	peer, ok := byName[sts.Spec.ServiceName]
	if !ok {
		t.Fatalf("no Service named %s (the StatefulSet's serviceName)", sts.Spec.ServiceName)
	}
	if peer.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service %s must be headless for stable pod names", peer.Name)
	}
	if !peer.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s must publish not-ready pods: members must find each other before there is a leader", peer.Name)
	}
	clients := 0
	for _, s := range m.Services {
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			clients++
		}
	}
	if clients != 1 {
		t.Errorf("want one client Service, got %d", clients)
	}

	pdb := m.Budgets[0]
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable must be 1, is %v", pdb.Spec.MaxUnavailable)
	}
	if !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(pods) {
		t.Errorf("the PodDisruptionBudget does not select the members")
	}

	anti := sts.Spec.Template.Spec.Affinity
	if anti == nil || anti.PodAntiAffinity == nil || len(anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Fatalf("want required pod anti-affinity")
	}
	term := anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	if term.TopologyKey != "kubernetes.io/hostname" || !labels.SelectorFromSet(term.LabelSelector.MatchLabels).Matches(pods) {
		t.Errorf("anti-affinity must keep members on different nodes, is %+v", term)
	}

	np := m.NetworkPolicies[0]
	if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(pods) {
		t.Errorf("the NetworkPolicy does not select the members")
	}
	allowed := map[int32]bool{}
	peersAllowed := false
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			allowed[p.Port.IntVal] = true
			if p.Port.IntVal == listen {
				for _, from := range rule.From {
					if from.PodSelector != nil && labels.SelectorFromSet(from.PodSelector.MatchLabels).Matches(pods) {
						peersAllowed = true
					}
				}
			}
		}
	}
	if !peersAllowed {
		t.Errorf("the NetworkPolicy must let members reach each other on %d", listen)
	}
	if !allowed[port(t, flags["metrics-listen"])] {
		t.Errorf("the NetworkPolicy must let scrapers reach the metrics port")
	}
}
