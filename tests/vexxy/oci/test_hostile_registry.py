"""A registry is someone else's server: manifests, configs and token answers are read only up to a
bound, whether the server announces an oversized body or streams one without saying; its redirects
and token realms reach only hosts that may be contacted; the login goes only where it belongs."""

import pytest
from loopback_http import LoopbackServer, QuietHandler

from vexxy.errors import RegistryAuthError, RegistryError
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import MAX_DOCUMENT_BYTES, RegistryClient
from vexxy_pipelines.resources.registry import RegistryConfigurationError, RegistryResource

SEEN: list[tuple[str, str | None]] = []  # (path, Authorization) of every request the servers answered


def named(host: str) -> str:
    """A host[:port] as a repository path component (a repository cannot hold ':')."""
    return host.replace(":", "--")


DIGEST = "sha256:" + "a" * 64


class HostileRegistry(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(10 * 1024**3))  # a 10 GiB layer: HEAD carries no body
        self.send_header("Docker-Content-Digest", DIGEST)
        self.end_headers()

    def do_GET(self):
        SEEN.append((self.path, self.headers.get("Authorization")))
        if "/redirect-to/" in self.path:  # /v2/redirect-to/<host:port>/app/manifests/1
            target = self.path.split("/redirect-to/", 1)[1].split("/", 1)[0].replace("--", ":")
            return self.answer(307, Location=f"http://{target}/elsewhere")
        if "/realm-at/" in self.path and "Authorization" not in self.headers:
            target = self.path.split("/realm-at/", 1)[1].split("/", 1)[0].replace("--", ":")
            return self.answer(401, **{"WWW-Authenticate": f'Bearer realm="http://{target}/token"'})
        if "/basic/" in self.path:
            return self.answer(401, **{"WWW-Authenticate": 'Basic realm="hostile"'})
        if self.path == "/elsewhere":
            return self.answer(404)
        if self.path.startswith("/token"):
            return self.stream(b'{"token": "' + b"t" * (2 * 1024 * 1024) + b'"}')
        if "/bearer/" in self.path and "Authorization" not in self.headers:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{self.server.server_address[1]}/token"')
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if "/announced/" in self.path:
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024**3))
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.end_headers()
            try:
                return self.wfile.write(b"{" * 1024)
            except OSError:  # the client hung up, as it should
                return None
        return self.stream(b'{"layers": [' + b" " * (MAX_DOCUMENT_BYTES + 1) + b"]}")

    def answer(self, status: int, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def stream(self, body: bytes) -> None:
        """Chunked: no length announced, the body just keeps coming."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 1 << 16):
            chunk = body[start : start + (1 << 16)]
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def hostile():
    server = LoopbackServer()
    server.serve(HostileRegistry)
    yield server.url.removeprefix("http://")
    server.close()


@pytest.fixture(scope="module")
def bystander():
    """Another service on this host, which a registry must not be able to send vexxy to."""
    server = LoopbackServer()
    server.serve(HostileRegistry)
    yield server.url.removeprefix("http://")
    server.close()


def client_for(hostile: str, **kwargs) -> RegistryClient:
    """A client as the registry resource makes it: the hostile registry itself was allowed by name."""
    return RegistryClient(allowed_hosts=frozenset({hostile}), credential_registries=frozenset(), **kwargs)


def requests_to(path_part: str) -> list[tuple[str, str | None]]:
    return [seen for seen in SEEN if path_part in seen[0]]


def test_an_endless_manifest_is_refused_past_the_bound(hostile):
    with pytest.raises(RegistryError, match=f"sent more than {MAX_DOCUMENT_BYTES} bytes"):
        RegistryClient().get_manifest(parse_reference(f"{hostile}/streamed/app:1"))


def test_an_announced_oversized_manifest_is_refused_before_reading(hostile):
    with pytest.raises(RegistryError, match="announced 53687091200 bytes"):
        RegistryClient().get_manifest(parse_reference(f"{hostile}/announced/app:1"))


def test_an_oversized_config_blob_is_refused(hostile):
    with pytest.raises(RegistryError, match="sent more than"):
        RegistryClient().get_blob(parse_reference(f"{hostile}/streamed/app:1"), DIGEST)


def test_an_oversized_token_answer_is_refused(hostile):
    with pytest.raises(RegistryError, match="Token service of registry .* sent more than 1048576 bytes"):
        RegistryClient().get_manifest(parse_reference(f"{hostile}/bearer/app:1"))


def test_a_head_request_is_not_held_to_the_body_bound(hostile):
    assert RegistryClient().manifest_digest(parse_reference(f"{hostile}/streamed/app:1")) == DIGEST


@pytest.mark.parametrize("target", ["169.254.169.254", "metadata.google.internal", "10.0.0.1:5000"])
def test_a_redirect_to_an_internal_host_is_refused_before_contacting_it(hostile, target):
    with pytest.raises(RegistryError, match=f"redirected to {target}, which cannot be contacted"):
        client_for(hostile).get_manifest(parse_reference(f"{hostile}/redirect-to/{named(target)}/app:1"))


def test_a_redirect_to_another_local_service_is_refused_unless_the_operator_allowed_it(hostile, bystander):
    SEEN.clear()
    ref = parse_reference(f"{hostile}/redirect-to/{named(bystander)}/app:1")
    with pytest.raises(RegistryError, match="which cannot be contacted"):
        client_for(hostile).get_manifest(ref)
    assert not requests_to("/elsewhere")
    allowed = RegistryClient(allowed_hosts=frozenset({hostile, bystander}), username="ci", password="s3cret")
    allowed._authorization[(hostile, "repository:redirect-to/" + named(bystander) + "/app:pull")] = "Bearer registry-token"
    with pytest.raises(RegistryError, match="not found"):
        allowed.get_manifest(ref)
    assert requests_to("/elsewhere") == [("/elsewhere", None)]  # followed, without the registry's token


def test_a_token_realm_on_an_internal_host_is_refused(hostile, bystander):
    SEEN.clear()
    with pytest.raises(RegistryError, match="sent its token request to 169.254.169.254"):
        client_for(hostile).get_manifest(parse_reference(f"{hostile}/realm-at/169.254.169.254/app:1"))
    with pytest.raises(RegistryError, match=f"sent its token request to {bystander}"):
        client_for(hostile).get_manifest(parse_reference(f"{hostile}/realm-at/{named(bystander)}/app:1"))
    assert not requests_to("/token")


def test_the_login_goes_only_to_the_registries_it_belongs_to(hostile):
    SEEN.clear()
    stranger = RegistryClient(username="ci", password="s3cret", credential_registries=frozenset({"registry.example.com"}))
    with pytest.raises(RegistryAuthError, match="requires a login") as error:
        stranger.get_manifest(parse_reference(f"{hostile}/basic/app:1"))
    assert "VEXXY_REGISTRY_CREDENTIALS_FOR" in error.value.hint
    with pytest.raises(RegistryError):
        stranger.get_manifest(parse_reference(f"{hostile}/realm-at/{named(hostile)}/app:1"))
    assert SEEN and all(authorization is None for _, authorization in SEEN)


def test_a_login_without_the_registries_it_belongs_to_is_a_configuration_error():
    resource = RegistryResource(username="ci", password="s3cret")
    with pytest.raises(RegistryConfigurationError, match="VEXXY_REGISTRY_CREDENTIALS_FOR"):
        resource.client()
    scoped = RegistryResource(username="ci", password="s3cret", credentials_for="registry.example.com, 127.0.0.1:5000")
    assert scoped.client().credential_registries == frozenset({"registry.example.com", "127.0.0.1:5000"})
