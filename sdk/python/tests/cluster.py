"""A real three-member Cairn cluster on loopback, for tests (cf. test/helpers/cluster-process.ts)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import grpc

from cairn_client._gen.cairn.v1 import maintenance_pb2, maintenance_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[3]
CAIRN_BIN = REPO_ROOT / "bin" / "cairn.js"
READY_TIMEOUT = 30.0
# Bounds a wait for an election: many election timeouts (1 s), because CI shares two busy
# cores with other work (RELIABILITY.md 14). It only stops a test that is stuck.
LEADER_WAIT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MemberProcess:
    name: str
    address: str
    args: list[str]
    proc: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    paused: bool = False
    credentials: grpc.ChannelCredentials | None = None
    """How the helper's status checks connect (TLS members); plaintext when None."""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(CAIRN_BIN), *self.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        ready = threading.Event()

        def pump(stream: subprocess.Popen[str]) -> None:
            assert stream.stdout is not None
            for line in stream.stdout:
                self.output.append(line)
                if re.search(r"serving on \S+", line):
                    ready.set()

        threading.Thread(target=pump, args=(self.proc,), daemon=True).start()
        if not ready.wait(READY_TIMEOUT):
            self.kill()
            raise RuntimeError(f"{self.name} not ready:\n{''.join(self.output)}")

    def kill(self) -> None:
        """SIGKILL, by pid: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            if self.paused:
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def status(self, timeout: float = 1.0) -> maintenance_pb2.StatusResponse | None:
        channel = (
            grpc.insecure_channel(self.address)
            if self.credentials is None
            else grpc.secure_channel(self.address, self.credentials)
        )
        with channel:
            try:
                return maintenance_pb2_grpc.MaintenanceServiceStub(channel).Status(
                    maintenance_pb2.StatusRequest(), timeout=timeout
                )
            except grpc.RpcError:
                return None


class Cluster:
    def __init__(
        self,
        size: int = 3,
        extra_args: list[str] | None = None,
        member_args: Callable[[str], list[str]] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.root = tempfile.mkdtemp(prefix="cairn-py-")
        ports = [free_port() for _ in range(size)]
        names = [f"n{i + 1}" for i in range(size)]
        initial = ",".join(f"{n}=127.0.0.1:{p}" for n, p in zip(names, ports, strict=True))
        self.members = [
            MemberProcess(
                n,
                f"127.0.0.1:{p}",
                [
                    "serve",
                    "--name",
                    n,
                    "--listen",
                    f"127.0.0.1:{p}",
                    "--initial-cluster",
                    initial,
                    # Each test cluster is its own: the temp dir's unique name is its token.
                    "--initial-cluster-token",
                    os.path.basename(self.root),
                    "--data-dir",
                    os.path.join(self.root, n),
                    "--log-level",
                    "warn",
                    *(member_args(n) if member_args else []),
                    *(extra_args or []),
                ],
                credentials=credentials,
            )
            for n, p in zip(names, ports, strict=True)
        ]

    @property
    def endpoints(self) -> list[str]:
        return [m.address for m in self.members]

    def member(self, name: str) -> MemberProcess:
        return next(m for m in self.members if m.name == name)

    def start(self) -> Cluster:
        threads = [threading.Thread(target=m.start) for m in self.members]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for m in self.members:
            if m.proc is None or m.proc.poll() is not None:
                raise RuntimeError(f"{m.name} failed to start:\n{self.logs()}")
        self.wait_for_leader()
        return self

    def wait_for_leader(self, timeout: float = LEADER_WAIT) -> MemberProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = [
                s
                for m in self.members
                if not m.paused and m.proc and m.proc.poll() is None
                for s in [m.status(0.5)]
                if s is not None
            ]
            leaders = [s for s in statuses if s.role == "leader"]
            if leaders and len({s.leader for s in statuses}) == 1 and len(statuses) > len(self.members) // 2:
                return self.member(leaders[0].name)
            time.sleep(0.05)
        raise RuntimeError(f"no leader within {timeout}s\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {m.name} ---\n{''.join(m.output)}" for m in self.members)

    def stop(self) -> None:
        for m in self.members:
            m.kill()
        shutil.rmtree(self.root, ignore_errors=True)


async def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Waits, polling, until cond() holds: for a condition no event announces. `timeout`
    only stops a test that is stuck; it is not a guess at how long the condition takes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.01)


def make_test_certs(directory: Path, members: list[str]) -> Path:
    """CA, member and client certificates in `directory` (sdk/scenario/make-test-certs.sh)."""
    script = REPO_ROOT / "sdk" / "scenario" / "make-test-certs.sh"
    subprocess.run(["bash", str(script), str(directory), *members], check=True, timeout=60)
    return directory


def tls_member_args(certs: Path) -> Callable[[str], list[str]]:
    """`cairn serve` flags for a member with its own certificate and --client-cert-auth."""
    return lambda name: [
        "--cert-file",
        str(certs / f"{name}.pem"),
        "--key-file",
        str(certs / f"{name}.key"),
        "--trusted-ca-file",
        str(certs / "ca.pem"),
        "--client-cert-auth",
    ]


def client_credentials(certs: Path) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        (certs / "ca.pem").read_bytes(), (certs / "client.key").read_bytes(), (certs / "client.pem").read_bytes()
    )


def run(coro: "asyncio.Future[object] | object") -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
