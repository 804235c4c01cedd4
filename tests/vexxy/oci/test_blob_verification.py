"""A registry whose stored bytes no longer match their digests: every read is refused.

The real Distribution registry serves whatever is in its storage; these tests change one byte of
a stored manifest, config and layer (keeping the size) and expect the client to notice.
"""

import io
import uuid

import pytest
from ports import free_port

from vexxy.demo.registry import LocalRegistry
from vexxy.errors import RegistryError
from vexxy.oci.build import RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    server = LocalRegistry(root=tmp_path_factory.mktemp("tampered-registry"), port=free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tampered(registry):
    """An image of its own (no blob shared with another test's), pushed and read back intact."""
    client, marker = RegistryClient(), uuid.uuid4().hex
    ref = parse_reference(f"{registry.address}/vexxy/tampered:{marker[:12]}")
    layers = [
        layer_from_entries([directory_entry("app"), file_entry("app/a.txt", f"first layer {marker}")]),
        layer_from_entries([file_entry("app/b.txt", f"second layer {marker}")]),
    ]
    digest, _ = push_image(client, ref, layers, RuntimeConfig(entrypoint=["true"]), tag=marker[:12])
    resolved = client.resolve(ref.with_digest(digest))
    intact = {"manifest": digest, "config": resolved.config_digest, "layer": resolved.layers[1].digest}
    assert client.get_blob(ref, intact["config"]) and client.get_blob(ref, intact["layer"])  # intact before tampering
    return registry, client, ref, intact, resolved


def alter(server: LocalRegistry, digest: str) -> None:
    """Change one byte of a stored blob, keeping its size and, for JSON, its validity."""
    hex_ = digest.split(":", 1)[1]
    data = server.root / "data" / "docker/registry/v2/blobs/sha256" / hex_[:2] / hex_ / "data"
    content = bytearray(data.read_bytes())
    if content[:1] == b"{":  # one hex digit of the last digest it names: still a well-formed document
        position = content.rindex(b"sha256:") + len("sha256:")
        content[position] = ord("1") if content[position] != ord("1") else ord("2")
    else:
        content[len(content) // 2] ^= 0x01
    data.write_bytes(bytes(content))


def test_a_layer_whose_bytes_differ_from_its_digest_is_refused(tampered):
    server, client, ref, intact, _ = tampered
    alter(server, intact["layer"])
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.stream_blob(ref, intact["layer"], io.BytesIO())
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.get_blob(ref, intact["layer"])


def test_a_config_whose_bytes_differ_from_its_digest_is_refused(tampered):
    server, client, ref, intact, _ = tampered
    alter(server, intact["config"])
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.get_blob(ref, intact["config"])
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.resolve(ref.with_digest(intact["manifest"]))


def test_a_manifest_whose_bytes_differ_from_its_digest_is_refused(tampered):
    server, client, ref, intact, _ = tampered
    alter(server, intact["manifest"])
    with pytest.raises(RegistryError, match=f"is not {intact['manifest']}"):
        client.resolve(ref.with_digest(intact["manifest"]))
