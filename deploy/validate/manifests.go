// Package validate checks the deployment files in deploy/ without a cluster: every
// Kubernetes manifest decodes strictly into the API types (unknown or duplicate fields are
// errors, as `kubectl apply --validate=strict` would make them), and the values that must
// agree across files (member list, Service names, ports, probe targets, certificate paths)
// do agree.
package validate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Manifests holds every object found in a directory of manifests, by kind.
type Manifests struct {
	StatefulSets    []appsv1.StatefulSet
	Services        []corev1.Service
	Budgets         []policyv1.PodDisruptionBudget
	NetworkPolicies []networkingv1.NetworkPolicy
	// Files are the manifest files read (base names), kustomization.yaml excluded.
	Files []string
}

// Kustomization is the part of kustomize's type the manifests use; any other field is an
// error, so that a typo does not pass silently.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
}

// LoadManifests decodes every *.yaml file of dir except kustomization.yaml, strictly.
func LoadManifests(dir string) (*Manifests, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	m := &Manifests{}
	for _, path := range paths {
		if filepath.Base(path) == "kustomization.yaml" {
			continue
		}
		m.Files = append(m.Files, filepath.Base(path))
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := reader.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			if err := m.add(doc); err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
			}
		}
	}
	sort.Strings(m.Files)
	return m, nil
}

func (m *Manifests) add(doc []byte) error {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return err
	}
	switch meta.APIVersion + " " + meta.Kind {
	case "apps/v1 StatefulSet":
		var o appsv1.StatefulSet
		if err := yaml.UnmarshalStrict(doc, &o); err != nil {
			return err
		}
		m.StatefulSets = append(m.StatefulSets, o)
	case "v1 Service":
		var o corev1.Service
		if err := yaml.UnmarshalStrict(doc, &o); err != nil {
			return err
		}
		m.Services = append(m.Services, o)
	case "policy/v1 PodDisruptionBudget":
		var o policyv1.PodDisruptionBudget
		if err := yaml.UnmarshalStrict(doc, &o); err != nil {
			return err
		}
		m.Budgets = append(m.Budgets, o)
	case "networking.k8s.io/v1 NetworkPolicy":
		var o networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict(doc, &o); err != nil {
			return err
		}
		m.NetworkPolicies = append(m.NetworkPolicies, o)
	default:
		return fmt.Errorf("unexpected kind %q of apiVersion %q", meta.Kind, meta.APIVersion)
	}
	return nil
}

// LoadKustomization decodes dir/kustomization.yaml strictly.
func LoadKustomization(dir string) (*Kustomization, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("kustomization.yaml: %w", err)
	}
	return &k, nil
}

// Flags parses `--name=value` and bare `--name` arguments (the only forms the manifests
// use) into a map; a repeated flag is an error.
func Flags(args []string) (map[string]string, error) {
	flags := map[string]string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if _, dup := flags[name]; dup {
			return nil, fmt.Errorf("flag --%s given twice", name)
		}
		flags[name] = value
	}
	return flags, nil
}
