"""Customer references may not point vexxy at loopback, link-local, private or reserved addresses."""

import socket

import pytest

from vexxy.oci.egress import RegistryNotAllowed, check_registry, parse_allowed, system_resolver

NOTHING_ALLOWED = frozenset()


@pytest.mark.parametrize(
    "registry",
    [
        "127.0.0.1:5000",
        "127.1.2.3",
        "[::1]:5000",
        "[::ffff:127.0.0.1]",
        "169.254.169.254",
        "169.254.169.254:80",
        "[fe80::1]",
        "[fd00::1]:5000",
        "[fc00::7]",
        "[fec0::1]",
        "[::ffff:169.254.169.254]",
        "[2002:a9fe:a9fe::]",
        "10.0.0.8:5000",
        "172.16.4.4",
        "192.168.1.10",
        "100.64.0.1",
        "0.0.0.0",
        "[::]",
        "224.0.0.1",
        "localhost:5000",
        "LOCALHOST",
        "registry.localhost",
        "metadata.google.internal",
        "metadata",
    ],
)
def test_internal_registries_are_refused(registry):
    with pytest.raises(RegistryNotAllowed) as refused:
        check_registry(registry, NOTHING_ALLOWED)
    assert registry in refused.value.message and "VEXXY_ALLOWED_REGISTRIES" in refused.value.hint


def test_a_hostname_resolving_to_loopback_is_refused_with_its_address():
    host = socket.gethostname()
    addresses = system_resolver(host)
    assert addresses, f"{host} resolves on this machine"
    if not any(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.fail(f"{host} resolves to {addresses}; this test needs a name that resolves to loopback")
    with pytest.raises(RegistryNotAllowed) as refused:
        check_registry(f"{host}:5000", NOTHING_ALLOWED)
    assert "resolves to 127." in refused.value.message


def test_one_internal_address_among_several_is_enough_to_refuse():
    resolver = {
        "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
        "ula.example.com": ["2606:4700::1111", "fd12:3456::1"],
        "public.example.com": ["93.184.216.34"],
    }.get
    with pytest.raises(RegistryNotAllowed, match="10.1.2.3"):
        check_registry("mixed.example.com", NOTHING_ALLOWED, resolver)
    with pytest.raises(RegistryNotAllowed, match="fd12:3456::1"):
        check_registry("ula.example.com:443", NOTHING_ALLOWED, resolver)
    check_registry("public.example.com:443", NOTHING_ALLOWED, resolver)


@pytest.mark.parametrize("registry", ["93.184.216.34", "[2606:4700::1111]:443", "registry.example.com", "ghcr.io"])
def test_public_registries_pass(registry):
    check_registry(registry, NOTHING_ALLOWED, lambda host: ["93.184.216.34"])


def test_an_allowed_registry_passes_by_host_and_port_or_by_host():
    allowed = parse_allowed(" 127.0.0.1:5000 , Registry.Internal ,")
    assert allowed == {"127.0.0.1:5000", "registry.internal"}
    check_registry("127.0.0.1:5000", allowed)
    check_registry("registry.internal:8443", allowed)
    with pytest.raises(RegistryNotAllowed):
        check_registry("127.0.0.1:5001", allowed)  # another port of an allowed host:port is not allowed
