"""User/password authentication: the client authenticates on first use, sends the token in
the "token" metadata of every call (unary and streams), and authenticates again when a
member says the token is no longer valid (expired, revoked, or auth re-enabled). Tokens
are valid on every member, so one token serves the whole cluster."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import grpc.aio

from ._gen.cairn.v1 import auth_pb2, auth_pb2_grpc, errors_pb2
from .errors import CairnError, from_rpc_error

TOKEN_METADATA_KEY = "token"
"""The metadata key Cairn (like etcd) reads the token from."""

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UserCredentials:
    user: str
    password: str


def user_credentials(user: str | None, password: str | None) -> UserCredentials | None:
    """User and password from the options, else CAIRN_USER (NAME or NAME:PASSWORD) and
    CAIRN_PASSWORD, as the CLI reads them."""
    name = user if user is not None else os.environ.get("CAIRN_USER")
    if not name:
        return None
    pw = password
    if user is None and pw is None and ":" in name:
        name, pw = name.split(":", 1)
    if pw is None:
        pw = os.environ.get("CAIRN_PASSWORD")
    if pw is None:
        raise ValueError(f"user {name} needs a password (password=, or CAIRN_PASSWORD)")
    return UserCredentials(name, pw)


def is_token_rejected(error: CairnError) -> bool:
    """Whether a failure means "authenticate again": the token was refused, nothing applied."""
    return error.cairn_code == errors_pb2.ERROR_CODE_INVALID_AUTH_TOKEN


def token_of(metadata: Metadata) -> str | None:
    return next((v for k, v in metadata if k == TOKEN_METADATA_KEY), None)


class TokenSource:
    def __init__(self, creds: UserCredentials | None) -> None:
        self._creds = creds
        self._token: str | None = None
        # Concurrent first calls authenticate once.
        self._lock = asyncio.Lock()

    async def metadata(self, channel: grpc.aio.Channel, timeout: float) -> Metadata:
        """The metadata a call on `channel` carries: the token, authenticating first if needed."""
        if self._creds is None:
            return ()
        async with self._lock:
            if self._token is None:
                stub = auth_pb2_grpc.AuthServiceStub(channel)
                request = auth_pb2.AuthenticateRequest(name=self._creds.user, password=self._creds.password)
                try:
                    reply: auth_pb2.AuthenticateResponse = await stub.Authenticate(request, timeout=timeout)
                except grpc.aio.AioRpcError as err:
                    raise from_rpc_error(err) from None
                self._token = reply.token
            return ((TOKEN_METADATA_KEY, self._token),)

    def invalidate(self, sent: Metadata) -> None:
        """Forgets the token a member refused, unless a newer one has replaced it already."""
        token = token_of(sent)
        if token is not None and token == self._token:
            self._token = None
