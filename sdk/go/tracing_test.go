package cairn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
	"github.com/cairn-dev/cairn/sdk/go/internal/testjaeger"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// TestTracePutThroughFollower: with OpenTelemetry set up by the application, a Put through
// the Go SDK to a FOLLOWER is one trace in a real Jaeger, from the application's span
// through the SDK's client span (otelgrpc) and the follower's server and forward spans to
// the leader's propose, fsync and apply spans. Not parallel: it sets the members'
// environment (tracing on) for its own cluster only.
func TestTracePutThroughFollower(t *testing.T) {
	jaeger := testjaeger.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.OTLPEndpoint)
	t.Setenv("OTEL_SERVICE_NAME", "cairn")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	cluster := testcluster.Start(t, 3)
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	var follower *testcluster.Member
	for _, ep := range cluster.Endpoints() {
		if m := cluster.Member(ep); m.Name != leader.Name {
			follower = m
			break
		}
	}

	// The application's OpenTelemetry setup.
	exporter, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(jaeger.OTLPEndpoint+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exporter),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("go-sdk-test-app"))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { tp.Shutdown(context.Background()) })

	c := newClient(t, cairn.Config{Endpoints: []string{follower.Address}, DisableDiscovery: true})
	ctx, span := tp.Tracer("test").Start(context.Background(), "app.update-config")
	if _, err := c.Put(ctx, "traced/go", "the-value-never-in-a-span"); err != nil {
		t.Fatal(err)
	}
	span.End()
	traceID := span.SpanContext().TraceID().String()
	tp.ForceFlush(context.Background())

	var spans []testjaeger.Span
	complete := func() bool {
		for _, op := range []string{"raft.propose", "raft.log.fsync", "raft.apply"} {
			if findSpan(spans, func(s testjaeger.Span) bool { return s.Operation == op && s.Instance == leader.Name }) == nil {
				return false
			}
		}
		return findSpan(spans, func(s testjaeger.Span) bool { return s.Operation == "raft.forward" }) != nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for spans, err = jaeger.Trace(traceID); !complete(); spans, err = jaeger.Trace(traceID) {
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s incomplete in Jaeger: %s\n%s", traceID, describeSpans(spans), cluster.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Log(describeSpans(spans))

	one := func(what string, pred func(testjaeger.Span) bool) testjaeger.Span {
		t.Helper()
		var found []testjaeger.Span
		for _, s := range spans {
			if pred(s) {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			t.Fatalf("want one %s, found %d: %s", what, len(found), describeSpans(spans))
		}
		return found[0]
	}
	app := one("app span", func(s testjaeger.Span) bool { return s.Operation == "app.update-config" })
	client := one("SDK client span", func(s testjaeger.Span) bool {
		return s.Service == "go-sdk-test-app" && s.Operation == "cairn.v1.KVService/Put"
	})
	server := one("server span", func(s testjaeger.Span) bool { return s.Service == "cairn" && s.Operation == "cairn.v1.KVService/Put" })
	forward := one("forward span", func(s testjaeger.Span) bool { return s.Operation == "raft.forward" })
	propose := one("leader propose span", func(s testjaeger.Span) bool { return s.Operation == "raft.propose" && s.Instance == leader.Name })
	fsync := one("leader fsync span", func(s testjaeger.Span) bool { return s.Operation == "raft.log.fsync" && s.Instance == leader.Name })
	apply := one("leader apply span", func(s testjaeger.Span) bool { return s.Operation == "raft.apply" && s.Instance == leader.Name })

	links := []struct {
		child, parent testjaeger.Span
		what          string
	}{
		{client, app, "SDK client span under the application span"},
		{server, client, "server span under the SDK span (traceparent in metadata)"},
		{forward, server, "forward span under the server span"},
		{propose, forward, "leader's propose under the follower's forward (context in the proposal)"},
		{fsync, propose, "fsync under propose"},
		{apply, propose, "apply under propose"},
	}
	for _, l := range links {
		if l.child.Parent != l.parent.SpanID {
			t.Errorf("%s: parent of %s is %q, want %q", l.what, l.child.Operation, l.child.Parent, l.parent.SpanID)
		}
	}
	if client.Tags["span.kind"] != "client" {
		t.Errorf("SDK span kind %v, want client", client.Tags["span.kind"])
	}
	if server.Instance != follower.Name {
		t.Errorf("server span on %q, want the follower %q", server.Instance, follower.Name)
	}
	for _, s := range spans {
		if strings.Contains(fmt.Sprint(s.Tags), "the-value-never-in-a-span") {
			t.Errorf("span %s carries the value", s.Operation)
		}
	}
}

func findSpan(spans []testjaeger.Span, pred func(testjaeger.Span) bool) *testjaeger.Span {
	for i := range spans {
		if pred(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

func describeSpans(spans []testjaeger.Span) string {
	var parts []string
	for _, s := range spans {
		parts = append(parts, fmt.Sprintf("%s/%s:%s#%s<-%s", s.Service, s.Instance, s.Operation, s.SpanID, s.Parent))
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}
