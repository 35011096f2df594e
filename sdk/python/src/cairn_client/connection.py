"""Endpoint selection: one channel per member, the member in use, discovery and failover."""

from __future__ import annotations

import asyncio
import os

import grpc
import grpc.aio
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from ._gen.cairn.v1 import cluster_pb2, cluster_pb2_grpc
from .auth import TokenSource, UserCredentials
from .errors import CairnError, UnavailableError
from .tls import Transport

DEFAULT_ENDPOINT = "127.0.0.1:7379"

# A member that comes back is reconnected to within a second, not grpc's default 2 minutes.
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),  # retries are ours: only we know which calls are safe
]


def default_endpoints() -> list[str]:
    env = os.environ.get("CAIRN_ENDPOINTS", "")
    parsed = [e.strip() for e in env.split(",") if e.strip()]
    return parsed or [DEFAULT_ENDPOINT]


class Connection:
    """Tracks the member in use. Every call asks for a ready channel; a failed member is
    left for the next one in the list."""

    def __init__(
        self,
        endpoints: list[str],
        dial_timeout: float,
        discover: bool,
        transport: Transport | None = None,
        user: UserCredentials | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is required")
        self.endpoints: list[str] = list(dict.fromkeys(endpoints))
        self._dial_timeout = dial_timeout
        self._discover = discover
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._current = 0
        self._closed = False
        self._transport = transport or Transport(None, [])
        self.tokens = TokenSource(user)

    @property
    def endpoint(self) -> str:
        """The member in use (or the next one to try)."""
        return self.endpoints[self._current]

    def _channel(self, endpoint: str) -> grpc.aio.Channel:
        if self._closed:
            raise RuntimeError("the client is closed")
        channel = self._channels.get(endpoint)
        if channel is None:
            options = [*_CHANNEL_OPTIONS, *self._transport.options]
            creds = self._transport.credentials
            # Client spans and W3C trace context, when the application set up OpenTelemetry
            # (the global tracer provider); no-ops otherwise.
            interceptors = aio_client_interceptors()
            channel = (
                grpc.aio.insecure_channel(endpoint, options=options, interceptors=interceptors)
                if creds is None
                else grpc.aio.secure_channel(endpoint, creds, options=options, interceptors=interceptors)
            )
            self._channels[endpoint] = channel
        return channel

    async def ready(self, budget: float | None = None) -> tuple[str, grpc.aio.Channel]:
        """The member in use and its channel once connected. Raises UnavailableError (the
        request was never sent) when it does not connect within the dial timeout (or the
        `budget` of seconds the call has left, if shorter), after moving on to the next
        member. The first connection also learns the other members, within the budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._dial_timeout if budget is None else budget)
        endpoint = self.endpoint
        channel = self._channel(endpoint)
        wait = min(self._dial_timeout, deadline - loop.time())
        if not await self._connect(channel, wait):
            self.fail(endpoint)
            raise UnavailableError(
                grpc.StatusCode.UNAVAILABLE,
                f"could not connect to {endpoint} within {wait:.3g}s"
                f" (dial timeout {self._dial_timeout:g}s){self._hint()}",
            )
        if self._discover:
            self._discover = False
            await self._learn_members(channel, max(0.001, min(self._dial_timeout, deadline - loop.time())))
        return endpoint, channel

    def _hint(self) -> str:
        """Plaintext against a TLS member (or the reverse) looks like a dead member; say what to check."""
        if self._transport.secure:
            return (
                "; connecting with TLS: check that the member serves TLS, that its certificate chains to"
                " the CA given, and that a client certificate is given if it requires one"
            )
        return (
            "; connecting with plaintext: if the member serves TLS, give tls= or CAIRN_CACERT,"
            " and a client certificate if it requires one"
        )

    async def _connect(self, channel: grpc.aio.Channel, wait: float) -> bool:
        """Waits up to `wait` seconds for the channel to be ready. When another member could
        be tried, a refused connection (a dead member) gives up at once rather than waiting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        state = channel.get_state(try_to_connect=True)
        while state != grpc.ChannelConnectivity.READY:
            remaining = deadline - loop.time()
            failed = state == grpc.ChannelConnectivity.TRANSIENT_FAILURE and len(self.endpoints) > 1
            if failed or remaining <= 0:
                return False
            try:
                await asyncio.wait_for(channel.wait_for_state_change(state), remaining)
            except asyncio.TimeoutError:
                return False
            state = channel.get_state(try_to_connect=True)
        return True

    def fail(self, endpoint: str) -> None:
        """Moves off `endpoint` if it is still the member in use."""
        if self.endpoints[self._current] == endpoint:
            self._current = (self._current + 1) % len(self.endpoints)

    async def _learn_members(self, channel: grpc.aio.Channel, timeout: float) -> None:
        # Best effort: the configured endpoints keep working if the list can't be fetched.
        try:
            metadata = await self.tokens.metadata(channel, timeout)
            reply: cluster_pb2.MemberListResponse = await cluster_pb2_grpc.ClusterServiceStub(channel).MemberList(
                cluster_pb2.MemberListRequest(), timeout=timeout, metadata=metadata
            )
        except (grpc.aio.AioRpcError, CairnError):
            return
        for member in reply.members:
            if member.address and member.address not in self.endpoints:
                self.endpoints.append(member.address)

    async def close(self) -> None:
        self._closed = True
        channels, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(c.close() for c in channels), return_exceptions=True)
