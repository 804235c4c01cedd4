"""The network backend customer-facing registry clients connect through.

The egress check judges every address a registry's name resolves to, but an HTTP client that
resolves the name again when it connects can be answered differently (DNS rebinding: a public
address to the check, 127.0.0.1 or 169.254.169.254 to the connection). Here each connection
resolves the name once, judges every address with the same policy and allow-list as egress.py,
and opens the socket to one of those addresses. The request keeps its host name, so TLS still
sends it as SNI and verifies the certificate against it (httpcore takes both from the URL, not
from the address connected to).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field

import httpcore
import httpx

from vexxy.oci.egress import RegistryNotAllowed, Resolver, external_addresses, system_resolver


@dataclass(frozen=True)
class EgressCheckedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the egress check judged external."""

    allowed: frozenset[str]
    resolve: Resolver = system_resolver
    inner: httpcore.NetworkBackend = field(default_factory=httpcore.SyncBackend)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        registry = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            addresses = external_addresses(registry, self.allowed, self.resolve)
        except RegistryNotAllowed as exc:
            raise RegistryNotAllowed(
                f"vexxy did not connect to {registry} (its addresses are judged again when connecting): {exc.message}",
                hint=exc.hint,
            ) from None
        if addresses is None:  # allowed by name: the operator vouches for whatever the name resolves to
            return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        failure: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("Registries are reached over TCP only.")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class EgressCheckedTransport(httpx.HTTPTransport):
    """httpx's default transport over a connection pool that connects through `EgressCheckedBackend`.

    httpx 0.28 takes no network backend, so the pool it built is replaced by one made with
    httpcore's public constructor and httpx's own defaults (TLS verification on, default limits).
    """

    def __init__(self, allowed: frozenset[str], resolve: Resolver = system_resolver) -> None:
        super().__init__()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=EgressCheckedBackend(allowed, resolve),
        )
