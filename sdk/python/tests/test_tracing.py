"""With OpenTelemetry set up by the application, a Put through the Python SDK to a FOLLOWER
is one trace in a real Jaeger: the application's span, the SDK's client span (the grpc
instrumentation), the follower's server and forward spans, and the leader's propose, fsync
and apply spans, with their parent/child links (cf. test/e2e/jaeger-trace.test.ts)."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import pytest
from jaeger import Jaeger, Span
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from cairn_client import CairnClient

from cluster import Cluster, run

VALUE = "the-value-never-in-a-span"


@pytest.fixture
def jaeger() -> Iterator[Jaeger]:
    j = Jaeger()
    yield j
    j.stop()


def describe(spans: list[Span]) -> str:
    return ", ".join(f"{s.service}/{s.instance}:{s.operation}#{s.span_id}<-{s.parent}" for s in spans) or "(none)"


def test_put_to_a_follower_is_one_trace_down_to_the_leaders_fsync(
    jaeger: Jaeger, new_cluster: Callable[..., Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The members inherit these: tracing on, spans exported soon.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "cairn")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    cluster = new_cluster()
    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.members if m is not leader)

    # The application's own OpenTelemetry setup (process-wide, as an application does).
    provider = TracerProvider(resource=Resource.create({"service.name": "py-sdk-test-app"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{jaeger.otlp_endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)

    async def main() -> str:
        async with CairnClient([follower.address], discover=False) as client:
            with trace.get_tracer("test").start_as_current_span("app.update-config") as span:
                await client.put("traced/py", VALUE)
                return format(span.get_span_context().trace_id, "032x")

    try:
        trace_id = run(main())
        assert isinstance(trace_id, str)
        provider.force_flush()
    finally:
        # The provider stays the process's global one (OpenTelemetry sets it once), and its
        # SimpleSpanProcessor exports synchronously: left running, every later test's calls
        # would block the event loop retrying an export to this Jaeger once it is gone.
        provider.shutdown()

    def complete(spans: list[Span]) -> bool:
        on_leader = {s.operation for s in spans if s.instance == leader.name}
        return {"raft.propose", "raft.log.fsync", "raft.apply"} <= on_leader and any(
            s.operation == "raft.forward" for s in spans
        )

    deadline = time.monotonic() + 60
    spans = jaeger.trace(trace_id)
    while not complete(spans):
        assert time.monotonic() < deadline, f"trace {trace_id} incomplete: {describe(spans)}\n{cluster.logs()}"
        time.sleep(0.2)
        spans = jaeger.trace(trace_id)

    def one(what: str, pred: Callable[[Span], bool]) -> Span:
        found = [s for s in spans if pred(s)]
        assert len(found) == 1, f"want one {what}: {describe(spans)}"
        return found[0]

    app = one("app span", lambda s: s.operation == "app.update-config")
    client = one(
        "SDK client span",
        lambda s: s.service == "py-sdk-test-app" and s.operation.lstrip("/") == "cairn.v1.KVService/Put",
    )
    server = one("server span", lambda s: s.service == "cairn" and s.operation == "cairn.v1.KVService/Put")
    forward = one("forward span", lambda s: s.operation == "raft.forward")
    propose = one("leader propose", lambda s: s.operation == "raft.propose" and s.instance == leader.name)
    fsync = one("leader fsync", lambda s: s.operation == "raft.log.fsync" and s.instance == leader.name)
    apply = one("leader apply", lambda s: s.operation == "raft.apply" and s.instance == leader.name)

    assert client.parent == app.span_id
    assert client.tags.get("span.kind") == "client"
    assert server.parent == client.span_id, "traceparent in the call's metadata"
    assert server.instance == follower.name
    assert forward.parent == server.span_id
    assert propose.parent == forward.span_id, "trace context carried to the leader in the proposal"
    assert fsync.parent == propose.span_id
    assert apply.parent == propose.span_id
    assert all(VALUE not in str(s.tags) for s in spans)
