"""Which registries a customer may make vexxy contact.

A customer-submitted reference makes vexxy's own network identity connect to its registry, so a
reference to loopback, link-local (cloud metadata endpoints live at 169.254.169.254), private or
otherwise internal addresses would let a customer probe the inside of the deployment. Such
registries are refused unless the operator allows them by name (`VEXXY_ALLOWED_REGISTRIES`);
a hostname is judged by every address it resolves to. The registry client judges again when it
connects, and connects only to the addresses it judged (`egress_backend.py`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

from vexxy import settings
from vexxy.errors import VexxyError

ALLOWED_REGISTRIES_VARIABLE = "VEXXY_ALLOWED_REGISTRIES"
# Names that mean "this host" or a metadata service whatever DNS says (or whether it answers).
INTERNAL_NAMES = ("localhost", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal")
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local")
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Python does not call it private

Resolver = Callable[[str], Iterable[str]]


class RegistryNotAllowed(VexxyError):
    """The reference's registry is internal to the deployment and not explicitly allowed."""


def allowed_registries_from_env() -> frozenset[str]:
    return parse_allowed(settings.allowed_registries())


def parse_allowed(text: str) -> frozenset[str]:
    """`host[:port]` entries, comma-separated; an entry without a port allows every port of that host."""
    return frozenset(entry.strip().lower() for entry in text.split(",") if entry.strip())


def split_host(registry: str) -> tuple[str, str | None]:
    """(host, port) of `host`, `host:port`, `[v6]` or `[v6]:port`."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        return host, (rest[1:] if rest.startswith(":") else None)
    host, sep, port = registry.rpartition(":")
    return (host, port) if sep else (registry, None)


def system_resolver(host: str) -> list[str]:
    try:
        return [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]
    except (socket.gaierror, UnicodeError, ValueError):
        return []  # unresolvable now: nothing can be reached through it now either


def internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour):
        ip = ip.ipv4_mapped or ip.sixtofour
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or (ip.version == 4 and ip in _SHARED_ADDRESS_SPACE)
        or (ip.version == 6 and ip.is_site_local)  # fec0::/10: deprecated, still routed inside some networks
    )


def check_registry(registry: str, allowed: frozenset[str], resolve: Resolver = system_resolver) -> None:
    """Raise RegistryNotAllowed if `registry` (host[:port]) is internal and not in `allowed`."""
    external_addresses(registry, allowed, resolve)


def external_addresses(registry: str, allowed: frozenset[str], resolve: Resolver = system_resolver) -> list[str] | None:
    """Every address `registry` (host[:port]) resolves to, resolved once and each judged external;
    None when the operator allowed the registry by name. A connection made with these very addresses
    cannot be sent elsewhere by a second answer from DNS.

    Raises RegistryNotAllowed, naming the internal addresses, if any of them is internal."""
    host, port = split_host(registry.strip().lower())
    if registry.strip().lower() in allowed or host in allowed:
        return None
    if host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES):
        reason = f"{host} names this host or an internal service"
    else:
        try:
            addresses = [host] if ipaddress.ip_address(host) else []
        except ValueError:
            addresses = list(resolve(host))
        internal = sorted({a for a in addresses if internal_address(a)})
        if not internal:
            return addresses
        shown = host if internal == [host] else f"{host} (resolves to {', '.join(internal)})"
        reason = f"{shown} is a loopback, link-local, private or reserved address"
    raise RegistryNotAllowed(
        f"Registry {registry} cannot be used: {reason}.",
        hint=f"Use a registry reachable on the internet, or ask the operator to allow it in {ALLOWED_REGISTRIES_VARIABLE}.",
    )
