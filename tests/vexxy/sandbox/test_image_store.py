"""The image store against a real registry: verified layers, safe cache paths, shared layers, LRU eviction."""

import dataclasses
import os
import subprocess
import sys

import pytest

from vexxy.oci.build import LayerBlob, RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.layers.digests import ImageIntegrityError
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.image_store import ImageStore, StoreLimits

RUNTIME = RuntimeConfig(entrypoint=["/app/run"])


def layer(name: str, size: int = 10) -> LayerBlob:
    return layer_from_entries([directory_entry("app"), file_entry(f"app/{name}", name.encode() * size)])


def push(registry, repository: str, layers: list[LayerBlob]):
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/{repository}:1")
    digest, _ = push_image(client, ref, layers, RUNTIME, tag="1")
    return client.resolve(ref.with_digest(digest))


def files_under(directory) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")} if directory.exists() else set()


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "cache", RegistryClient(), StoreLimits(max_cache_bytes=1 << 30))


def test_layers_are_verified_and_shared_between_images(registry, store):
    base = layer("base", 1000)
    first = push(registry, "store/first", [base, layer("one")])
    second = push(registry, "store/second", [base, layer("two")])
    with store.prepared(first, "a") as one, store.prepared(second, "b") as two:
        assert one.layers[0] == two.layers[0]  # one unpacked directory for the shared diff_id
        assert one.layers[0].parent.name == base.diff_id.removeprefix("sha256:")
        assert (one.layers[1] / "app" / "one").exists() and (two.layers[1] / "app" / "two").exists()
        assert one.report.files == 2 and one.report.entries == 4
    assert len(store.layers.entries()) == 3
    assert not list((store.cache_dir / "downloads").iterdir())  # blobs are not kept once unpacked


def test_a_config_that_borrows_another_images_diff_ids_is_refused(registry, store):
    victim_app, attacker_app = layer("victim"), layer("attacker")
    victim = push(registry, "store/victim", [victim_app])
    attacker = push(registry, "store/attacker", [LayerBlob(attacker_app.data, victim_app.diff_id)])
    with pytest.raises(ImageIntegrityError) as refused:
        with store.prepared(attacker, "attacker"):
            pass
    message = str(refused.value)
    assert attacker.canonical in message and "layer 1 of 1" in message and attacker.layers[0].digest in message
    assert f"unpacks to {attacker_app.diff_id}" in message and f"diff_id is {victim_app.diff_id}" in message
    assert store.layers.entries() == []  # nothing cached under the borrowed key
    with store.prepared(victim, "victim") as prepared:
        assert (prepared.layers[0] / "app" / "victim").exists()
    # The victim is cached now: the attacker still gets nothing of it.
    with pytest.raises(ImageIntegrityError, match=f"unpacks to {attacker_app.diff_id}"):
        with store.prepared(attacker, "attacker"):
            pass


@pytest.mark.parametrize(
    "diff_id",
    ["/tmp/vexxy-diffid-escape", "sha256:../../../../tmp/vexxy-diffid-escape", "../vexxy-diffid-escape", "SHA256:" + "A" * 64],
)
def test_a_diff_id_that_is_not_a_digest_is_refused_before_any_path_is_built(registry, store, tmp_path, diff_id):
    image = push(registry, "store/forged", [LayerBlob(layer("forged").data, diff_id)])
    outside = set(os.listdir("/tmp"))
    with pytest.raises(ImageIntegrityError, match="diff_id of layer 1 .* is not a sha256 digest"):
        with store.prepared(image, "forged"):
            pass
    assert set(os.listdir("/tmp")) - outside == set()
    assert files_under(store.cache_dir) <= {"layers", "layers/.lock", "leases"}
    with pytest.raises(ValueError):
        store.layers.path(diff_id)  # direct calls refuse it too


def test_one_diff_id_per_layer(registry, store):
    one, two = layer("one"), layer("two")
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/store/short:1")
    push_image(client, ref, [one, two], RUNTIME, tag="1")
    image = client.resolve(ref)
    short = push(registry, "store/short", [one])  # a config with one diff_id...
    forged = dataclasses.replace(image, config_digest=short.config_digest)  # ...for two layers
    with pytest.raises(ImageIntegrityError, match="lists 1 diff_ids for 2 layers"):
        with store.prepared(forged, "short"):
            pass


def test_the_entry_limit_covers_the_whole_image(registry, tmp_path):
    flood = layer_from_entries([directory_entry("d")] + [file_entry(f"d/{i}", b"") for i in range(100_000)])
    image = push(registry, "store/flood", [layer("base"), flood])
    store = ImageStore(tmp_path / "cache", RegistryClient(), StoreLimits())
    with pytest.raises(UnsafeLayer, match="more than 65536 files and directories \\(layer 2 of 2"):
        with store.prepared(image, "flood"):
            pass
    assert [name for _, name, _ in store.layers.entries()] == [layer("base").diff_id.removeprefix("sha256:")]


def test_eviction_keeps_the_cache_under_its_setting_and_spares_leased_layers(registry, tmp_path):
    images = [push(registry, f"store/lru-{i}", [layer(f"lru{i}", 40_000)]) for i in range(4)]
    probe = ImageStore(tmp_path / "probe", RegistryClient(), StoreLimits())
    with probe.prepared(images[0], "probe"):
        one_layer = probe.layers.size()
    store = ImageStore(tmp_path / "cache", RegistryClient(), StoreLimits(max_cache_bytes=2 * one_layer))
    for image in images:
        with store.prepared(image, "run"):
            assert store.layers.size() <= 2 * one_layer
        assert store.layers.size() <= 2 * one_layer
    diff_ids = [store.diff_ids(image)[0] for image in images]
    assert {f"sha256:{name}" for _, name, _ in store.layers.entries()} == set(diff_ids[2:])  # the least recent went
    # A layer in use is never evicted, even past the setting; it goes once released.
    tight = ImageStore(tmp_path / "cache", RegistryClient(), StoreLimits(max_cache_bytes=0))
    with tight.prepared(images[3], "live") as live:
        assert tight.layers.evict() == []  # entering already evicted everything else
        assert [f"sha256:{name}" for _, name, _ in tight.layers.entries()] == [diff_ids[3]]
        assert (live.layers[0] / "app" / "lru3").exists()
    assert tight.layers.entries() == []


def test_empty_files_count_against_the_cache_by_entries(registry, tmp_path):
    """Layers of empty files take almost no blocks; the entry setting still bounds the cache's inodes."""
    images = [
        push(registry, f"store/inodes-{i}", [layer_from_entries([file_entry(f"e{i}-{n}", b"") for n in range(2000)])])
        for i in range(4)
    ]
    store = ImageStore(tmp_path / "cache", RegistryClient(), StoreLimits(max_cache_bytes=1 << 40, max_cache_entries=4500))
    for image in images:
        with store.prepared(image, "run"):
            assert store.layers.entry_count() <= 4500
    assert store.layers.size() < 4500 * 4096  # the bytes alone would never have evicted anything
    diff_ids = [store.diff_ids(image)[0] for image in images]
    assert {f"sha256:{name}" for _, name, _ in store.layers.entries()} == set(diff_ids[2:])  # the least recent went
    assert store.layers.entry_count() == 4000


def test_a_lease_of_a_dead_process_does_not_pin_layers(registry, tmp_path):
    image = push(registry, "store/stale", [layer("stale", 1000)])
    cache = tmp_path / "cache"
    script = (
        "import os, sys\n"
        "from vexxy.oci.reference import parse_reference\n"
        "from vexxy.oci.registry_client import RegistryClient\n"
        "from vexxy.sandbox.image_store import ImageStore\n"
        "store = ImageStore(sys.argv[1], RegistryClient())\n"
        "image = RegistryClient().resolve(parse_reference(sys.argv[2]))\n"
        "with store.prepared(image, 'killed'):\n"
        "    os._exit(9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(cache), image.canonical], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    assert (cache / "leases" / "killed.json").exists()
    store = ImageStore(cache, RegistryClient(), StoreLimits(max_cache_bytes=0))
    assert len(store.layers.evict()) == 1 and store.layers.entries() == []
