"""TLS options: the CA the members' certificates chain to and, for members started with
--client-cert-auth, the client's own certificate and key. Each may be a file or the PEM
bytes; unset ones default to CAIRN_CACERT / CAIRN_CERT / CAIRN_KEY (file paths, as the CLI
reads them). With none of them the client speaks plaintext."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True)
class TlsOptions:
    ca_file: str | None = None
    """PEM file of the CA the members' certificates chain to (default CAIRN_CACERT)."""
    ca: bytes | None = None
    """The CA as PEM bytes, instead of ca_file."""
    cert_file: str | None = None
    """PEM file of the client certificate (default CAIRN_CERT); needs a key."""
    cert: bytes | None = None
    key_file: str | None = None
    """PEM file of the client certificate's private key (default CAIRN_KEY)."""
    key: bytes | None = None
    server_name: str | None = None
    """The name to check the member's certificate against, when it is not the address's host."""


@dataclass(frozen=True)
class Transport:
    credentials: grpc.ChannelCredentials | None
    """None: plaintext."""
    options: list[tuple[str, str]]

    @property
    def secure(self) -> bool:
        return self.credentials is not None


def _pem(data: bytes | None, file: str | None, what: str) -> bytes | None:
    if data is not None:
        return data
    if not file:
        return None
    try:
        return Path(file).read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read the {what} file {file}: {err}") from err


def transport_for(tls: TlsOptions | None) -> Transport:
    """The channel credentials the options (or the environment) ask for."""
    o = tls or TlsOptions()
    ca = _pem(o.ca, o.ca_file or os.environ.get("CAIRN_CACERT"), "CA")
    cert = _pem(o.cert, o.cert_file or os.environ.get("CAIRN_CERT"), "client certificate")
    key = _pem(o.key, o.key_file or os.environ.get("CAIRN_KEY"), "client key")
    if (cert is None) != (key is None):
        raise ValueError("a client certificate needs its key, and a key its certificate")
    if tls is None and ca is None and cert is None:
        return Transport(None, [])
    # Without a CA, the system's trusted roots check the member's certificate.
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    options = [] if o.server_name is None else [("grpc.ssl_target_name_override", o.server_name)]
    return Transport(creds, options)
