"""TLS, user/password and typed auth errors against real members: certificates made with
openssl at test time (sdk/scenario/make-test-certs.sh)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import grpc
import pytest

from cairn_client import AuthenticationError, CairnClient, PermissionDeniedError, TlsOptions, UnavailableError
from cairn_client._gen.cairn.v1 import auth_pb2, auth_pb2_grpc, errors_pb2, kv_pb2, kv_pb2_grpc

from cluster import REPO_ROOT, Cluster, client_credentials, make_test_certs, tls_member_args

SCENARIO = Path(__file__).resolve().parents[1] / "scenario.py"
# Bounds a wait for an event (a token's expiry); it only stops a stuck test.
EVENT_WAIT = 30.0


def start_tls_cluster(new_cluster: Callable[..., Cluster], certs: Path, size: int) -> Cluster:
    make_test_certs(certs, [f"n{i + 1}" for i in range(size)])
    return new_cluster(size=size, member_args=tls_member_args(certs), credentials=client_credentials(certs))


def test_tls_with_a_client_certificate_and_clear_failures(new_cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    cluster = start_tls_cluster(new_cluster, certs, 1)

    async def body() -> None:
        tls = TlsOptions(
            ca_file=str(certs / "ca.pem"), cert_file=str(certs / "client.pem"), key_file=str(certs / "client.key")
        )
        async with CairnClient(cluster.endpoints, tls=tls, call_timeout=30) as client:
            put = await client.put("tls/k", "v")
            watch = client.watch("tls/", prefix=True, start_revision=put.revision)
            assert (await client.get("tls/k")).kvs[0].value == b"v"
            async for event in watch:
                assert (event.key, event.revision) == (b"tls/k", put.revision)
                break
            await watch.aclose()

        async with CairnClient(cluster.endpoints, dial_timeout=1, max_attempts=1, discover=False) as plaintext:
            with pytest.raises(
                UnavailableError, match="connecting with plaintext: if the member serves TLS, give tls="
            ):
                await plaintext.get("tls/k")

        # The CA as bytes this time, but no client certificate: the member requires one.
        no_cert = TlsOptions(ca=(certs / "ca.pem").read_bytes())
        async with CairnClient(
            cluster.endpoints, tls=no_cert, dial_timeout=1, max_attempts=1, discover=False
        ) as client:
            with pytest.raises(UnavailableError, match="connecting with TLS: check .* a client certificate is given"):
                await client.get("tls/k")

    asyncio.run(body())


def set_up_users(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        auth.UserAdd(auth_pb2.UserAddRequest(name="root", password="root-pw"), timeout=30)
        auth.UserGrantRole(auth_pb2.UserGrantRoleRequest(user="root", role="root"), timeout=30)
        auth.RoleAdd(auth_pb2.RoleAddRequest(name="app"), timeout=30)
        perm = auth_pb2.Permission(type=auth_pb2.Permission.TYPE_READWRITE, key=b"app/", range_end=b"app0")
        auth.RoleGrantPermission(auth_pb2.RoleGrantPermissionRequest(name="app", perm=perm), timeout=30)
        auth.UserAdd(auth_pb2.UserAddRequest(name="alice", password="alice-pw"), timeout=30)
        auth.UserGrantRole(auth_pb2.UserGrantRoleRequest(user="alice", role="app"), timeout=30)
        auth.AuthEnable(auth_pb2.AuthEnableRequest(), timeout=30)


def wait_for_expiry(address: str, token: str) -> None:
    """Polls with `token` until the member refuses it (the event the test needs)."""
    with grpc.insecure_channel(address) as channel:
        kv = kv_pb2_grpc.KVServiceStub(channel)
        deadline = time.monotonic() + EVENT_WAIT
        while True:
            try:
                kv.Range(kv_pb2.RangeRequest(key=b"app/k"), metadata=(("token", token),), timeout=30)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err
                return
            assert time.monotonic() < deadline, "the token never expired"
            time.sleep(0.05)


def login(address: str) -> str:
    with grpc.insecure_channel(address) as channel:
        reply = auth_pb2_grpc.AuthServiceStub(channel).Authenticate(
            auth_pb2.AuthenticateRequest(name="alice", password="alice-pw"), timeout=30
        )
        return str(reply.token)


def test_user_password_typed_errors_and_transparent_token_renewal(new_cluster: Callable[..., Cluster]) -> None:
    cluster = new_cluster("--auth-token-ttl", "1500", size=1)
    address = cluster.endpoints[0]
    set_up_users(address)

    async def body() -> None:
        async with CairnClient(address, user="alice", password="alice-pw", call_timeout=30) as alice:
            await alice.put("app/k", "v1")
            assert (await alice.get("app/k")).kvs[0].value == b"v1"
            # Keep-alive streams carry the token too: a lease stays renewable with auth on.
            grant = await alice.lease.grant(30)
            assert (await alice.lease.keep_alive_once(grant.id)).ttl > 0
            async for renewal in alice.lease.keep_alive(grant.id):
                assert renewal.ttl > 0
                break
            with pytest.raises(PermissionDeniedError) as denied:
                await alice.get("other/k")
            assert denied.value.cairn_code == errors_pb2.ERROR_CODE_PERMISSION_DENIED
            assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(PermissionDeniedError):
                await alice.put("other/k", "x")

            async with CairnClient(address, user="alice", password="nope", call_timeout=10) as wrong:
                with pytest.raises(AuthenticationError) as failed:
                    await wrong.get("app/k")
                assert failed.value.cairn_code == errors_pb2.ERROR_CODE_AUTH_FAILED
            async with CairnClient(address, call_timeout=10) as anonymous:
                with pytest.raises(AuthenticationError) as required:
                    await anonymous.get("app/k")
                assert required.value.cairn_code == errors_pb2.ERROR_CODE_AUTH_REQUIRED

            # alice's token is older than this one: once this one is refused, hers is too.
            later = login(address)
            await asyncio.to_thread(wait_for_expiry, address, later)
            # A write with the expired token is refused before it applies: renewed, retried once.
            put = await alice.put("app/k", "v2", prev_kv=True)
            assert put.prev_kv is not None and put.prev_kv.value == b"v1"
            assert (await alice.get("app/k")).kvs[0].version == 2

            # A watch opened with an expired token: renewed, and created.
            await asyncio.to_thread(wait_for_expiry, address, login(address))
            watch = alice.watch("app/", prefix=True, start_revision=put.revision)
            async for event in watch:
                assert event.revision == put.revision
                break
            await watch.aclose()

    asyncio.run(body())


def test_scenario_over_tls_with_client_cert_auth(new_cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    """Issue 10's acceptance: the cross-SDK scenario against three members with --client-cert-auth."""
    certs = tmp_path / "certs"
    cluster = start_tls_cluster(new_cluster, certs, 3)
    env = {
        **os.environ,
        "CAIRN_ENDPOINTS": ",".join(cluster.endpoints),
        "CAIRN_CACERT": str(certs / "ca.pem"),
        "CAIRN_CERT": str(certs / "client.pem"),
        "CAIRN_KEY": str(certs / "client.key"),
    }
    result = subprocess.run([sys.executable, str(SCENARIO)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO_ROOT / "sdk" / "scenario" / "expected.txt").read_text()
