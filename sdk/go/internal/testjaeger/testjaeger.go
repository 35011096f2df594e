// Package testjaeger runs a real Jaeger (the all-in-one binary that
// scripts/install-observability-deps.sh builds into $(go env GOPATH)/bin) for the SDK's
// tracing tests: a generated config with an OTLP/HTTP receiver and the query service on
// free loopback ports, in-memory storage, killed at cleanup. The TypeScript twin is
// test/helpers/jaeger-process.ts.
package testjaeger

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Jaeger is one running Jaeger.
type Jaeger struct {
	// OTLPEndpoint is the OTEL_EXPORTER_OTLP_ENDPOINT for exporters (OTLP over HTTP).
	OTLPEndpoint string
	QueryURL     string
	output       *syncBuffer
}

// Span is a span as the query API returns it, with its service and member resolved.
type Span struct {
	SpanID    string
	Operation string
	// Parent is the CHILD_OF reference's span id ("" for a root).
	Parent string
	// Links are the other references' span ids.
	Links    []string
	Service  string
	Instance string
	Tags     map[string]any
}

// Start runs Jaeger until the test ends.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOPATH: %v", err)
	}
	binary := filepath.Join(strings.TrimSpace(string(out)), "bin", "jaeger")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("%s is missing: run scripts/install-observability-deps.sh (npm test does)", binary)
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "jaeger.yaml")
	yaml := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, ports[0], ports[1], ports[2])
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	j := &Jaeger{
		OTLPEndpoint: fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		QueryURL:     fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		output:       &syncBuffer{},
	}
	cmd := exec.Command(binary, "--config", config)
	cmd.Stdout, cmd.Stderr = j.output, j.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("jaeger exited before it was ready:\n%s", j.output)
		default:
		}
		if r, err := http.Get(j.QueryURL + "/api/services"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				if r2, err := http.Get(j.OTLPEndpoint + "/v1/traces"); err == nil {
					r2.Body.Close()
					return j
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger not ready within 60 s:\n%s", j.output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Output is what Jaeger printed, for failure messages.
func (j *Jaeger) Output() string { return j.output.String() }

// Trace returns the spans of a trace, or none while Jaeger has none of it.
func (j *Jaeger) Trace(traceID string) ([]Span, error) {
	r, err := http.Get(j.QueryURL + "/api/traces/" + traceID)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	if r.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	type tag struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	var body struct {
		Data []struct {
			Spans []struct {
				SpanID        string `json:"spanID"`
				OperationName string `json:"operationName"`
				References    []struct {
					RefType string `json:"refType"`
					SpanID  string `json:"spanID"`
				} `json:"references"`
				ProcessID string `json:"processID"`
				Tags      []tag  `json:"tags"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
				Tags        []tag  `json:"tags"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, err
	}
	if len(body.Data) == 0 {
		return nil, nil
	}
	d := body.Data[0]
	spans := make([]Span, 0, len(d.Spans))
	for _, s := range d.Spans {
		span := Span{SpanID: s.SpanID, Operation: s.OperationName, Tags: map[string]any{}}
		for _, ref := range s.References {
			if ref.RefType == "CHILD_OF" && span.Parent == "" {
				span.Parent = ref.SpanID
			} else {
				span.Links = append(span.Links, ref.SpanID)
			}
		}
		p := d.Processes[s.ProcessID]
		span.Service = p.ServiceName
		for _, tg := range p.Tags {
			if tg.Key == "service.instance.id" {
				span.Instance, _ = tg.Value.(string)
			}
		}
		for _, tg := range s.Tags {
			span.Tags[tg.Key] = tg.Value
		}
		spans = append(spans, span)
	}
	return spans, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
