"""A registry is someone else's server: manifests, configs and token answers are read only up to a
bound, whether the server announces an oversized body or streams one without saying."""

import pytest
from loopback_http import LoopbackServer, QuietHandler

from vexxy.errors import RegistryError
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import MAX_DOCUMENT_BYTES, RegistryClient

DIGEST = "sha256:" + "a" * 64


class HostileRegistry(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(10 * 1024**3))  # a 10 GiB layer: HEAD carries no body
        self.send_header("Docker-Content-Digest", DIGEST)
        self.end_headers()

    def do_GET(self):
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
            return self.wfile.write(b"{" * 1024)
        return self.stream(b'{"layers": [' + b" " * (MAX_DOCUMENT_BYTES + 1) + b"]}")

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
