"""A real three-member etcd cluster on loopback (the etcd scripts/install-etcd-tools.sh
builds), for comparing Cairn's etcd-compatible API with etcd's own; cf.
test/etcd-compat/etcd-cluster.ts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from cluster import REPO_ROOT, free_port

# A member is ready once it serves clients; generous, for CI's two busy cores.
READY_TIMEOUT = 60.0


def etcd_binary() -> Path:
    tools = os.environ.get("CAIRN_ETCD_TOOLS")
    if tools is None:
        go_mod = (REPO_ROOT / "scripts" / "etcd-tools" / "go.mod").read_text()
        match = re.search(r"go\.etcd\.io/etcd/server/v3 (v\S+)", go_mod)
        assert match is not None, "scripts/etcd-tools/go.mod pins no etcd server version"
        tools = str(Path.home() / ".cache" / "cairn" / "etcd-tools" / match.group(1))
    binary = Path(tools) / "etcd"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run scripts/install-etcd-tools.sh (npm test does)")
    return binary


class EtcdCluster:
    def __init__(self, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cairn-etcd-"))
        self.names = [f"n{i + 1}" for i in range(size)]
        self.client_ports = [free_port() for _ in self.names]
        self.peer_ports = [free_port() for _ in self.names]
        self.procs: list[subprocess.Popen[str]] = []
        self.output: list[str] = []

    @property
    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.client_ports]

    def start(self) -> EtcdCluster:
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer_ports, strict=True))
        ready = [threading.Event() for _ in self.names]
        for i, name in enumerate(self.names):
            client, peer = f"http://127.0.0.1:{self.client_ports[i]}", f"http://127.0.0.1:{self.peer_ports[i]}"
            proc = subprocess.Popen(
                [str(etcd_binary()), "--name", name, "--data-dir", str(self.root / name)]
                + ["--listen-client-urls", client, "--advertise-client-urls", client]
                + ["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer]
                + ["--initial-cluster", initial, "--initial-cluster-token", str(self.root)]
                + ["--listen-metrics-urls", ""],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            self.procs.append(proc)

            def pump(proc: subprocess.Popen[str], event: threading.Event) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    self.output.append(line)
                    if "serving client traffic" in line:
                        event.set()

            threading.Thread(target=pump, args=(proc, ready[i]), daemon=True).start()
        for i, event in enumerate(ready):
            if not event.wait(READY_TIMEOUT):
                self.stop()
                raise RuntimeError(
                    f"etcd {self.names[i]} not serving within {READY_TIMEOUT} s:\n{''.join(self.output)}"
                )
        return self

    def stop(self) -> None:
        """Kills every member by its pid and removes the data."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
