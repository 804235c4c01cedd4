"""Syft pulls the image through vexxy's registry client: what it finds is unchanged, and a redirect that Syft's
own client would follow to a host vexxy may not contact is refused before that host is asked anything."""

import json

import pytest
from loopback_http import LoopbackServer, QuietHandler

from vexxy.errors import SbomError
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sbom.syft import SyftScanner

pytestmark = pytest.mark.slow  # real registry and Syft

ASKED: list[str] = []  # paths the bystander was asked for


class Bystander(QuietHandler):
    """Another service on this host (a metadata endpoint, an admin API)."""

    def do_GET(self):
        ASKED.append(self.path)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET


def redirecting_to(target: str):
    class Redirecting(QuietHandler):
        """A customer's registry that sends every read of its image elsewhere."""

        def do_GET(self):
            self.send_response(200 if self.path == "/v2/" else 307)
            if self.path != "/v2/":
                self.send_header("Location", f"http://{target}/latest/meta-data{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

    return Redirecting


@pytest.fixture
def servers():
    bystander, hostile = LoopbackServer(), LoopbackServer()
    bystander.serve(Bystander)
    hostile.serve(redirecting_to(bystander.url.removeprefix("http://")))
    ASKED.clear()
    yield hostile.url.removeprefix("http://"), bystander.url.removeprefix("http://")
    hostile.close()
    bystander.close()


def test_syft_through_the_mirror_finds_what_it_finds_from_the_registry(demo_image, demo_syft_json):
    output = SyftScanner(timeout_seconds=300).scan_through_mirror(RegistryClient(), demo_image, "linux/amd64")
    mirrored = json.loads(output.native)

    def packages(document):
        return sorted((a["name"], a["version"], len(a.get("metadata", {}).get("files") or [])) for a in document["artifacts"])

    assert len(mirrored["artifacts"]) > 50 and packages(mirrored) == packages(demo_syft_json)
    # The documents name the image where it lives, not the mirror Syft read it from.
    assert mirrored["source"]["name"] == demo_image.name and mirrored["source"]["metadata"]["userInput"] == demo_image.canonical()
    cyclonedx = json.loads(output.cyclonedx)
    assert cyclonedx["metadata"]["component"]["name"] == demo_image.name
    assert output.native.count(b"127.0.0.1:") == output.native.count(demo_image.registry.encode())


def test_a_redirect_to_another_host_is_refused_before_that_host_is_asked(servers):
    hostile, bystander = servers
    ref = parse_reference(f"{hostile}/team/app@sha256:{'a' * 64}")
    client = RegistryClient(allowed_hosts=frozenset({hostile}))  # the customer's registry allowed, nothing else
    with pytest.raises(SbomError, match=f"redirected to {bystander}, which cannot be contacted"):
        SyftScanner(timeout_seconds=60).scan_through_mirror(client, ref, "linux/amd64")
    assert ASKED == []
    # Syft on its own follows the redirect: this is what the mirror is for.
    with pytest.raises(SbomError):
        SyftScanner(timeout_seconds=60).scan_registry_image(ref.canonical(), hostile, "linux/amd64")
    assert ASKED and ASKED[0].startswith("/latest/meta-data/v2/team/app/")
