"""A name that resolves to a public address when it is checked and to an internal one when it is
connected to (DNS rebinding) reaches nothing: each connection resolves the name once, judges every
address, and connects only to one it judged; TLS keeps the name; registries the operator allowed
by name keep working."""

import datetime
import ssl
import threading
from http.server import ThreadingHTTPServer

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback_http import LoopbackServer, QuietHandler

from vexxy.errors import ImageNotFound
from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.egress import RegistryNotAllowed, check_registry
from vexxy.oci.egress_backend import EgressCheckedBackend
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.resources.registry import RegistryResource

PUBLIC = "93.184.216.34"
NOTHING_ALLOWED: frozenset[str] = frozenset()
INTERNAL_ANSWERS = ["127.0.0.1", "::ffff:127.0.0.1", "::1", "169.254.169.254", "10.0.0.1", f"{PUBLIC} 127.0.0.1"]


class Rebinding:
    """DNS as a rebinding attacker runs it: `name` answers a public address first and `then` afterwards."""

    def __init__(self, name: str, then: list[str]):
        self.name, self.then, self.asked = name, then, 0

    def __call__(self, host: str) -> list[str]:
        if host != self.name:
            return []
        self.asked += 1
        return [PUBLIC] if self.asked == 1 else self.then


class Recorder(QuietHandler):
    """A service inside the deployment: it writes down every request that reaches it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.seen.append((self.headers.get("Host"), self.path))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Sender(QuietHandler):
    """A registry that sends its clients to `server.target`: as its token realm, or by a redirect."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if "/realm/" in self.path:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="http://{self.server.target}/token",service="registry"')
        else:
            self.send_response(307)
            self.send_header("Location", f"http://{self.server.target}/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(handler, **attributes) -> LoopbackServer:
    server = LoopbackServer()
    server.serve(handler)
    for name, value in attributes.items():
        setattr(server.server, name, value)
    return server


@pytest.fixture
def internal():
    server = serve(Recorder, seen=[])
    yield server
    server.close()


def port_of(server: LoopbackServer) -> int:
    return server.server.server_address[1]


@pytest.mark.parametrize("answer", INTERNAL_ANSWERS)
def test_a_name_that_rebinds_passes_the_check_and_is_refused_when_connecting(internal, answer):
    registry = f"rebind.example.com:{port_of(internal)}"
    dns = Rebinding("rebind.example.com", answer.split())
    check_registry(registry, NOTHING_ALLOWED, dns)  # as at submission and in the intake sensor: a public address
    client = RegistryClient(
        allowed_hosts=NOTHING_ALLOWED, resolver=dns, insecure_registries=(registry,), credential_registries=frozenset()
    )
    with pytest.raises(RegistryNotAllowed) as refused:
        client.get_manifest(parse_reference(f"{registry}/team/app:1"))
    assert f"rebind.example.com (resolves to {answer.split()[-1]})" in refused.value.message
    assert "VEXXY_ALLOWED_REGISTRIES" in refused.value.hint
    assert dns.asked == 2  # once for the check, once for the connection, which used its own answer
    assert internal.server.seen == []


def test_the_internal_service_answers_whoever_reaches_it(internal):
    """What the refusals above are measured against: a request that gets through is written down."""
    allowed = RegistryClient(allowed_hosts=frozenset({f"127.0.0.1:{port_of(internal)}"}))
    with pytest.raises(ImageNotFound):
        allowed.get_manifest(parse_reference(f"127.0.0.1:{port_of(internal)}/team/app:1"))
    assert internal.server.seen == [(f"127.0.0.1:{port_of(internal)}", "/v2/team/app/manifests/1")]


@pytest.mark.parametrize("sent", ["realm", "redirect"])
def test_a_token_realm_or_redirect_to_a_name_that_rebinds_is_refused_when_connecting(internal, sent):
    target = f"rebind.example.com:{port_of(internal)}"
    sender = serve(Sender, target=target)
    try:
        registry = sender.url.removeprefix("http://")
        dns = Rebinding("rebind.example.com", ["127.0.0.1"])
        client = RegistryClient(allowed_hosts=frozenset({registry}), resolver=dns, credential_registries=frozenset())
        with pytest.raises(RegistryNotAllowed, match=r"did not connect to rebind\.example\.com.*resolves to 127\.0\.0\.1"):
            client.get_manifest(parse_reference(f"{registry}/{sent}/app:1"))
    finally:
        sender.close()
    assert dns.asked == 2  # the realm's or redirect's host passed the check by URL, then rebound
    assert internal.server.seen == []


# --- the connection itself: the judged address, and TLS on the name ------------------------------


class RouteToLoopback(httpcore.SyncBackend):
    """The network's route to PUBLIC, which this machine has no path to: it leads to a server on loopback."""

    def __init__(self, port: int):
        self.port, self.asked = port, []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.asked.append((host, port))
        assert host == PUBLIC, f"asked to connect to {host}"
        return super().connect_tcp("127.0.0.1", self.port, timeout, local_address, socket_options)


def certificate_for(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_registry(tmp_path):
    """A TLS server with a certificate for registry.test only; it writes down the SNI each handshake sent."""
    cert, key = certificate_for("registry.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads, server.seen, server.sni = True, [], []
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, ssl.create_default_context(cadata=cert.decode())
    server.shutdown()


def test_the_connection_goes_to_the_judged_address_and_tls_verifies_the_name(tls_registry):
    server, trusted = tls_registry
    names = {"registry.test": [PUBLIC], "other.test": [PUBLIC]}
    asked: list[str] = []
    route = RouteToLoopback(server.server_address[1])
    backend = EgressCheckedBackend(NOTHING_ALLOWED, lambda host: asked.append(host) or names.get(host, []), inner=route)
    with httpcore.ConnectionPool(ssl_context=trusted, network_backend=backend) as pool:
        response = pool.request("GET", "https://registry.test/v2/")
        assert response.status == 404  # the server's answer, over TLS verified for registry.test
        assert route.asked == [(PUBLIC, 443)] and asked == ["registry.test"]
        assert server.sni == ["registry.test"] and server.seen == [("registry.test", "/v2/")]
        with pytest.raises(httpcore.ConnectError, match="certificate verify failed"):
            pool.request("GET", "https://other.test/v2/")  # same address, a name the certificate is not for
    assert server.sni == ["registry.test", "other.test"] and len(server.seen) == 1


def test_a_name_that_does_not_resolve_is_not_connected_to():
    backend = EgressCheckedBackend(NOTHING_ALLOWED, lambda host: [])
    with pytest.raises(httpcore.ConnectError, match="gone.example.com does not resolve"):
        backend.connect_tcp("gone.example.com", 443)


# --- registries the operator allowed ------------------------------------------------------------


@pytest.mark.slow  # a real registry
def test_an_allowed_registry_on_loopback_still_works_and_an_unlisted_one_is_refused(registry):
    ref = parse_reference(f"{registry.address}/vexxy/egress-allowed:1")
    digest, _ = push_image(RegistryClient(), ref, [layer_from_entries([file_entry("hello", "hi")])], RuntimeConfig(), tag="1")
    for allowed in (registry.address, "127.0.0.1"):
        assert RegistryResource(allowed_registries=allowed).resolve(ref, pinned=True).manifest_digest == digest
    other_port = int(registry.address.rsplit(":", 1)[1]) + 1
    for allowed in ("", f"127.0.0.1:{other_port}"):
        with pytest.raises(RegistryNotAllowed, match=f"did not connect to {registry.address}.*loopback"):
            RegistryResource(allowed_registries=allowed).resolve(ref, pinned=True)
