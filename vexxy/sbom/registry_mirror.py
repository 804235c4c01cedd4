"""A loopback registry through which Syft pulls the image it scans.

Syft's own HTTP client follows whatever redirect or token realm a registry sends, to any host: a
customer's registry could send it to the cloud metadata endpoint or another internal service. Through
this mirror every request for the image goes out through vexxy's registry client instead, with its
checks on redirects and token realms, its credential scoping and its bounds, and Syft itself only
ever talks to 127.0.0.1. Only the one repository, and manifests and blobs by digest, are served.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vexxy.errors import VexxyError
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient

_DIGEST = r"sha256:[0-9a-f]{64}"


class RegistryMirror:
    """Serves `ref`'s repository from `client` on 127.0.0.1 while open; `failures` keeps what the upstream refused."""

    def __init__(self, client: RegistryClient, ref: ImageReference) -> None:
        self.client, self.ref = client, ref
        self.failures: list[str] = []
        path = re.escape(f"/v2/{ref.repository}/")
        self._manifest = re.compile(f"{path}manifests/({_DIGEST})")
        self._blob = re.compile(f"{path}blobs/({_DIGEST})")
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="vexxy-syft-mirror", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RegistryMirror:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET(body=False)

            def do_GET(self, body: bool = True) -> None:
                if self.path == "/v2/":
                    return self._send(200, b"{}", "application/json", body)
                try:
                    if found := mirror._manifest.fullmatch(self.path):
                        raw, media_type, digest = mirror.client.get_manifest(mirror.ref.with_digest(found[1]))
                        return self._send(200, raw, media_type, body, digest)
                    if found := mirror._blob.fullmatch(self.path):
                        return self._blob(found[1], body)
                except VexxyError as exc:
                    mirror.failures.append(exc.message)
                    return self._send(502, b'{"errors": [{"code": "UNKNOWN"}]}', "application/json", body)
                self._send(404, b'{"errors": [{"code": "NAME_UNKNOWN"}]}', "application/json", body)

            def _send(self, status: int, data: bytes, media_type: str, body: bool, digest: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                if digest:
                    self.send_header("Docker-Content-Digest", digest)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _blob(self, digest: str, body: bool) -> None:
                """Streamed chunk by chunk as it arrives (checked against its digest upstream, and by Syft)."""
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Docker-Content-Digest", digest)
                if not body:
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunked = _Chunked(self.wfile)
                try:
                    mirror.client.stream_blob(mirror.ref, digest, chunked)
                except VexxyError as exc:
                    mirror.failures.append(exc.message)
                    self.close_connection = True  # no last chunk: Syft sees a truncated body
                    return
                chunked.close()

        return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # Syft hanging up mid-answer (it has what it needs, or gave up) is not vexxy's error


class _Chunked:
    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, chunk: bytes) -> None:
        if chunk:
            self.stream.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    def close(self) -> None:
        self.stream.write(b"0\r\n\r\n")
