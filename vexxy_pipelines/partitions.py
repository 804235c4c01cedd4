"""One partition per analyzed image, keyed `repository@<16+ hex of the manifest digest>`.

The key is readable (see `vexxy.oci.partition_key`); the image it stands for (registry, repository,
full manifest digest, the reference first written for it) is recorded in the Dagster instance's
key-value store, written once before the partition is added, so steps, sensors and the CLI resolve a
key through the instance and never parse a digest out of a shortened key. Keys of the earlier form
(`registry/repository@sha256:<64 hex>`) name content by themselves and keep working; an image that
already has such a partition keeps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance, DynamicPartitionsDefinition
from sqlalchemy.exc import IntegrityError

from vexxy.errors import InvalidReference
from vexxy.oci.partition_key import KeyCollision, candidate_keys, is_short_key, legacy_reference, not_content_message
from vexxy.oci.reference import ImageReference

image_partitions = DynamicPartitionsDefinition(name="images")
_KV_PREFIX = "vexxy/partition/"
_known: dict[str, PartitionImage] = {}  # written once, never changed: safe to keep for the process


@dataclass(frozen=True)
class PartitionImage:
    """What a partition key stands for."""

    registry: str
    repository: str
    digest: str  # sha256:<64 hex>, the platform manifest's
    reference: str  # as first written (a tag reference, or the canonical form)

    @property
    def ref(self) -> ImageReference:
        return ImageReference(self.registry, self.repository, None, self.digest)

    @property
    def canonical(self) -> str:
        return self.ref.canonical()

    def to_json(self) -> str:
        return json.dumps(
            {"registry": self.registry, "repository": self.repository, "digest": self.digest, "reference": self.reference}
        )


def _stored(instance: DagsterInstance, keys: set[str]) -> dict[str, PartitionImage]:
    values = instance.run_storage.get_cursor_values({_KV_PREFIX + key for key in keys})
    return {name[len(_KV_PREFIX) :]: PartitionImage(**json.loads(value)) for name, value in values.items()}


def _insert_once(instance: DagsterInstance, key: str, image: PartitionImage) -> PartitionImage:
    """Record `image` for `key` unless the key already stands for something: the first writer wins, atomically
    (the key-value table's key is unique); returns what the key stands for afterwards."""
    storage = instance.run_storage
    try:
        from dagster._core.storage.runs.schema import KeyValueStoreTable

        with storage.connect() as connection:
            connection.execute(KeyValueStoreTable.insert().values(key=_KV_PREFIX + key, value=image.to_json()))
    except IntegrityError:
        pass
    return _stored(instance, {key})[key]


def image_for_partition(instance: DagsterInstance, key: str) -> PartitionImage:
    """The image `key` stands for; raises InvalidReference when it stands for none (a key typed in the UI)."""
    if key in _known:
        return _known[key]
    legacy = legacy_reference(key)
    if legacy is not None:
        image = PartitionImage(legacy.registry, legacy.repository, legacy.digest, key)
    elif is_short_key(key) and (found := _stored(instance, {key})):
        image = found[key]
    else:
        raise not_content_message(key)
    _known[key] = image
    return image


def reference_for_partition(instance: DagsterInstance, key: str) -> ImageReference:
    """The content-addressed reference a partition key stands for."""
    return image_for_partition(instance, key).ref


def digest_hex(instance: DagsterInstance, key: str) -> str:
    return image_for_partition(instance, key).digest.split(":", 1)[1]


def names_content(instance: DagsterInstance, key: str) -> bool:
    try:
        image_for_partition(instance, key)
    except Exception:  # noqa: BLE001 - any key that does not resolve is refused
        return False
    return True


def key_for_image(instance: DagsterInstance, ref: ImageReference, reference: str | None = None) -> str:
    """The partition key of the content `ref` names, recorded in `instance` (not yet added as a partition).

    An image keeps a full-digest partition it already has; otherwise the first readable key that is
    free or already stands for this image, else its full-digest key when every readable one stands for the
    same content under another name. Refused (KeyCollision) when they stand for other content.
    """
    image = PartitionImage(ref.registry, ref.repository, ref.digest or "", reference or ref.canonical())
    if instance.has_dynamic_partition(image_partitions.name, image.canonical):
        return image.canonical
    taken, other_content = [], False
    for key in candidate_keys(ref):
        held = _insert_once(instance, key, image)
        if (held.registry, held.repository, held.digest) == (image.registry, image.repository, image.digest):
            _known[key] = held
            return key
        taken.append(f"{key} ({held.canonical})")
        other_content = other_content or held.digest != image.digest
    if not other_content:
        # This very content under other names that shorten alike (mirrors with long paths, or copies pushed to
        # squat its keys): nothing is wrong with the image, and its full-digest key names it on its own.
        return image.canonical
    raise KeyCollision(
        f"Every readable partition key for {image.canonical} already stands for another image: {', '.join(taken)}.",
        hint="Its digest shares 128 bits with images already analyzed under every such key; check where it came from.",
    )


def add_image_partition(instance: DagsterInstance, ref: ImageReference, reference: str | None = None) -> str:
    """Record the image and add its partition (once); returns the key."""
    key = key_for_image(instance, ref, reference)
    if not instance.has_dynamic_partition(image_partitions.name, key):
        instance.add_dynamic_partitions(image_partitions.name, [key])
    return key


def remove_image_partition(instance: DagsterInstance, key: str, *, force: bool = False) -> str:
    """Remove the partition `key`; one that names an image and has materializations only with `force` (its
    documents and runs stay). Returns what was done."""
    if not instance.has_dynamic_partition(image_partitions.name, key):
        raise InvalidReference(f"There is no image partition {key!r}.", hint="Copy the key from the partition list.")
    if names_content(instance, key) and not force:
        materialized = instance.get_materialized_partitions(AssetKey("image")) & {key}
        if materialized:
            raise InvalidReference(
                f"Partition {key!r} names an analyzed image.",
                hint="Remove it with force if you mean it; its runs and documents stay.",
            )
    instance.delete_dynamic_partition(image_partitions.name, key)
    return f"Removed partition {key!r}."


def partitions_naming_no_content(instance: DagsterInstance, keys: list[str]) -> list[str]:
    """The keys among `keys` that stand for no image (typed in the UI's "Add partition"), in batches."""
    unknown = [k for k in keys if k not in _known and legacy_reference(k) is None]
    found: dict[str, PartitionImage] = {}
    for start in range(0, len(unknown), 500):
        batch = {k for k in unknown[start : start + 500] if is_short_key(k)}
        found.update(_stored(instance, batch) if batch else {})
    _known.update(found)
    return [k for k in unknown if k not in found]
