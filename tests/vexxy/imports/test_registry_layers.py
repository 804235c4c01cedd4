"""An image's files read from its blobs in a real registry: verified against digests and diff_ids, bounded."""

import gzip

import pytest

from vexxy.imports.registry_layers import read_image_files
from vexxy.oci.build import LayerBlob, RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.layers.digests import ImageIntegrityError
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient

BASE = layer_from_entries(
    [directory_entry("app"), file_entry("app/main.py", "import yaml\n"), file_entry("app/old.py", "import redis\n")]
)
UPPER = layer_from_entries([file_entry("app/.wh.old.py", ""), file_entry("app/extra.py", "x = 1\n" * 4000)])


def pushed(registry, name, layers):
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/imports/{name}:1")
    digest, _ = push_image(client, ref, layers, RuntimeConfig(entrypoint=["python3", "/app/main.py"]), tag="1")
    return client, client.resolve(ref.with_digest(digest))


def test_layers_are_read_in_order_with_their_whiteouts(registry):
    client, image = pushed(registry, "plain", [BASE, UPPER])
    files = read_image_files(client, image)
    assert files.listdir("/app") == ["extra.py", "main.py"] and files.read_bytes("/app/main.py") == b"import yaml\n"
    assert files.incomplete == []


def test_a_layer_that_is_not_its_diff_id_refuses_the_image(registry):
    forged = LayerBlob(UPPER.data, BASE.diff_id)  # claims another layer's content
    client, image = pushed(registry, "forged", [BASE, forged])
    with pytest.raises(ImageIntegrityError) as refused:
        read_image_files(client, image)
    message = str(refused.value)
    assert f"layer 2 of 2 ({UPPER.digest}) unpacks to {UPPER.diff_id}" in message
    assert f"diff_id is {BASE.diff_id}; the image is refused" in message


def test_uncompressed_bytes_are_bounded(registry):
    client, image = pushed(registry, "large", [BASE, UPPER])
    limit = len(gzip.decompress(BASE.data))  # the first layer fits exactly, the second does not
    with pytest.raises(UnsafeLayer, match=rf"layer 2 of 2 \({UPPER.digest}\) unpacks to more than {limit} bytes"):
        read_image_files(client, image, max_uncompressed_bytes=limit)
