"""Attestations attached cosign's way to images in a real Distribution registry, read back and verified."""

import json

import pytest
from attestation_keys import new_key, reference_verify
from loopback_http import LoopbackServer, QuietHandler
from securesystemslib.exceptions import VerificationError

from vexxy.attest import dsse
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE, serialize, vex_statement
from vexxy.attest.verify import attached_vex, read_back_problems
from vexxy.errors import ImageNotFound, RegistryError
from vexxy.oci.attestations import attach_attestation, attestation_tag, read_attestations
from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.egress import RegistryNotAllowed
from vexxy.oci.image import OCI_MANIFEST
from vexxy.oci.reference import ImageReference, parse_reference
from vexxy.oci.registry_client import RegistryClient

OPENVEX = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:test", "statements": []}


@pytest.fixture(scope="module")
def small_image(registry):
    ref = parse_reference(f"{registry.address}/attest/app:1")
    layer = layer_from_entries([file_entry("hello.txt", "hello")])
    digest, _ = push_image(RegistryClient(), ref, [layer], RuntimeConfig(cmd=["/bin/true"]), tag="1")
    return ImageReference(ref.registry, ref.repository, None, digest)


def envelope_for(image: ImageReference, key, openvex=OPENVEX) -> bytes:
    return dsse.sign(serialize(vex_statement(image.name, image.digest, openvex)), key).to_json()


def test_attached_the_way_cosign_reads_it_and_verifies_independently(registry, small_image):
    client, key = RegistryClient(), new_key()
    allowed = frozenset({registry.address})
    attached = attach_attestation(client, small_image, envelope_for(small_image, key), OPENVEX_PREDICATE_TYPE, allowed)
    tag = attestation_tag(small_image.digest)
    assert tag == "sha256-" + small_image.digest.split(":")[1] + ".att" and attached.tag == tag
    assert (attached.layers, attached.replaced) == (1, 0)

    raw, media_type, digest = client.get_manifest(ImageReference(small_image.registry, small_image.repository, tag))
    manifest = json.loads(raw)
    assert (
        digest == attached.manifest_digest and media_type == manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    )
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
    assert layer["annotations"] == {"dev.cosignproject.cosign/signature": "", "predicateType": "https://openvex.dev/ns"}
    config = json.loads(client.get_blob(small_image, manifest["config"]["digest"]))
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}

    statement = reference_verify(client.get_blob(small_image, layer["digest"]), key.public_key())
    assert statement["subject"][0] == {"name": small_image.name, "digest": {"sha256": small_image.digest.split(":")[1]}}
    with pytest.raises(VerificationError):
        reference_verify(client.get_blob(small_image, layer["digest"]), new_key().public_key())


def test_a_new_vex_replaces_the_old_one_and_keeps_other_attestations(registry, small_image):
    client, key = RegistryClient(), new_key()
    allowed = frozenset({registry.address})
    other = dsse.sign(b'{"predicateType": "https://slsa.dev/provenance/v1"}', key).to_json()
    attach_attestation(client, small_image, other, "https://slsa.dev/provenance/v1", allowed)
    first = attach_attestation(client, small_image, envelope_for(small_image, key), OPENVEX_PREDICATE_TYPE, allowed)
    newer = {**OPENVEX, "@id": "urn:test:2"}
    second = attach_attestation(client, small_image, envelope_for(small_image, key, newer), OPENVEX_PREDICATE_TYPE, allowed)
    assert second.replaced == 1 and second.layers == 2 and second.manifest_digest != first.manifest_digest
    stored = read_attestations(client, small_image)
    assert sorted(a.predicate_type for a in stored) == sorted([OPENVEX_PREDICATE_TYPE, "https://slsa.dev/provenance/v1"])
    (vex,) = [a for a in stored if a.predicate_type == OPENVEX_PREDICATE_TYPE]
    assert reference_verify(vex.envelope, key.public_key())["predicate"]["@id"] == "urn:test:2"


def test_an_internal_registry_not_allowed_is_never_contacted(registry, small_image):
    client = RegistryClient()
    image = ImageReference(small_image.registry, "attest/never", None, small_image.digest)
    with pytest.raises(RegistryNotAllowed):
        attach_attestation(client, image, envelope_for(image, new_key()), OPENVEX_PREDICATE_TYPE, frozenset())
    with pytest.raises(ImageNotFound):
        client.get_manifest(ImageReference(image.registry, image.repository, attestation_tag(image.digest)))
    assert read_attestations(client, small_image)  # the allowed image still has its own
    with pytest.raises(ValueError):
        attach_attestation(client, parse_reference(f"{registry.address}/attest/app:1"), b"{}", "x", frozenset({registry.address}))


def test_only_a_verified_vex_about_this_image_counts(registry, small_image):
    client, key = RegistryClient(), new_key()
    allowed = frozenset({registry.address})
    image = ImageReference(small_image.registry, "attest/borrowed", None, small_image.digest)
    elsewhere = ImageReference(image.registry, image.repository, None, "sha256:" + "cd" * 32)
    # A genuine signature over another image's VEX, copied onto this image's tag, proves nothing about it.
    attach_attestation(client, image, envelope_for(elsewhere, key), OPENVEX_PREDICATE_TYPE, allowed)
    found = attached_vex(client, image, key.public_key())
    assert found.verified == [] and "do not name" in found.rejected[0]
    attach_attestation(client, image, envelope_for(image, key), OPENVEX_PREDICATE_TYPE, allowed)
    assert len(attached_vex(client, image, key.public_key()).verified) == 1
    found = attached_vex(client, image, new_key().public_key())
    assert found.verified == [] and "No signature" in found.rejected[0]


class HostileRegistry:
    """A registry a customer runs, answering the `.att` tag with whatever manifest it likes (Distribution itself
    refuses such manifests on push, but an image's registry is the customer's choice)."""

    def __init__(self, manifest: bytes):
        class Handler(QuietHandler):
            def do_GET(self):
                body = manifest if "/manifests/" in self.path else b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = LoopbackServer()
        self.server.serve(Handler)
        self.address = self.server.url.removeprefix("http://")


def manifest_with(layers) -> bytes:
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": "sha256:" + "c" * 64}
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}).encode()


@pytest.mark.parametrize(
    "manifest",
    [
        manifest_with([{"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 2, "annotations": "predicateType"}]),
        manifest_with([{"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 2, "annotations": ["x"]}]),
        manifest_with([{"mediaType": "x", "size": 2, "annotations": {"predicateType": "https://slsa.dev/provenance/v1"}}]),
        manifest_with([{"mediaType": "x", "digest": ["sha256:" + "a" * 64], "size": 2}]),
        b'["schemaVersion", 2]',
        b'{"schemaVersion": 2, "layers": [{"digest": 1}], "config": {}',
    ],
    ids=["annotations-string", "annotations-list", "no-digest", "digest-list", "json-array", "truncated"],
)
def test_a_malformed_attestation_manifest_in_the_customers_registry_is_a_registry_error(manifest):
    """Never an unexpected exception: the attestation fails with a reason, the analysis goes on."""
    hostile = HostileRegistry(manifest)
    image = ImageReference(hostile.address, "team/app", None, "sha256:" + "b" * 64)
    client, allowed = RegistryClient(), frozenset({hostile.address})
    try:
        with pytest.raises(RegistryError):
            attach_attestation(client, image, envelope_for(image, new_key()), OPENVEX_PREDICATE_TYPE, allowed)
        with pytest.raises(RegistryError):
            read_attestations(client, image)
    finally:
        client.close()
        hostile.server.close()


def test_the_read_back_names_an_older_signed_vex_put_back_in_place_of_the_one_attached(registry, small_image):
    """A VEX vexxy signed earlier for this very image verifies: only comparing it with what was attached tells."""
    client, key = RegistryClient(), new_key()
    allowed = frozenset({registry.address})
    image = ImageReference(small_image.registry, "attest/replayed", None, small_image.digest)
    older, newer = envelope_for(image, key), envelope_for(image, key, {**OPENVEX, "@id": "urn:test:newer"})
    attach_attestation(client, image, newer, OPENVEX_PREDICATE_TYPE, allowed)
    assert read_back_problems(client, image, key.public_key(), newer) == []
    attach_attestation(client, image, older, OPENVEX_PREDICATE_TYPE, allowed)  # someone with push access puts it back
    (problem,) = read_back_problems(client, image, key.public_key(), newer)
    assert "is not the one attached" in problem
