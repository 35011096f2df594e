"""A real Jaeger for tests (cf. test/helpers/jaeger-process.ts): the all-in-one binary that
scripts/install-observability-deps.sh builds into $(go env GOPATH)/bin, with a generated
config (OTLP/HTTP receiver and query service on free loopback ports, in-memory storage),
killed by pid at the end. Traces are read through the query service's HTTP API."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster import free_port

READY_TIMEOUT = 60.0


@dataclass
class Span:
    span_id: str
    operation: str
    parent: str | None
    service: str
    instance: str | None
    tags: dict[str, Any]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status), bytes(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), b""


class Jaeger:
    def __init__(self) -> None:
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=True).stdout.strip()
        self.binary = Path(gopath) / "bin" / "jaeger"
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: run scripts/install-observability-deps.sh (npm test does)")
        self.dir = tempfile.TemporaryDirectory(prefix="cairn-jaeger-")
        query, query_grpc, otlp = free_port(), free_port(), free_port()
        self.query_url = f"http://127.0.0.1:{query}"
        self.otlp_endpoint = f"http://127.0.0.1:{otlp}"
        config = Path(self.dir.name) / "jaeger.yaml"
        config.write_text(
            f"""service:
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
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""
        )
        self.proc = subprocess.Popen(
            [str(self.binary), "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jaeger exited ({self.proc.returncode}) before it was ready")
            try:
                if _get(f"{self.query_url}/api/services")[0] == 200:
                    _get(f"{self.otlp_endpoint}/v1/traces")  # listening (405 to a GET)
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("jaeger not ready in time")
            time.sleep(0.1)

    def trace(self, trace_id: str) -> list[Span]:
        code, body = _get(f"{self.query_url}/api/traces/{trace_id}")
        if code != 200:
            return []
        data = json.loads(body).get("data") or []
        if not data:
            return []
        d = data[0]
        spans: list[Span] = []
        for s in d["spans"]:
            process = d["processes"].get(s["processID"], {})
            parent = next((r["spanID"] for r in s.get("references") or [] if r["refType"] == "CHILD_OF"), None)
            instance = next((t["value"] for t in process.get("tags") or [] if t["key"] == "service.instance.id"), None)
            spans.append(
                Span(
                    span_id=s["spanID"],
                    operation=s["operationName"],
                    parent=parent,
                    service=process.get("serviceName", "?"),
                    instance=instance,
                    tags={t["key"]: t["value"] for t in s.get("tags") or []},
                )
            )
        return spans

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.dir.cleanup()
