"""Partition keys resolve through what the instance recorded when they were added, never from the key alone;
a key that would stand for two images is refused or lengthened; keys typed by hand are removed."""

import secrets

import pytest
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from vexxy.errors import InvalidReference
from vexxy.oci.partition_key import KeyCollision, candidate_keys
from vexxy.oci.reference import ImageReference
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.partitions import (
    add_image_partition,
    digest_hex,
    image_for_partition,
    image_partitions,
    key_for_image,
    names_content,
    reference_for_partition,
    remove_image_partition,
)
from vexxy_pipelines.sensors.partition_guard import partition_guard_sensor


def crafted(prefix: str, repository: str = "team/app") -> ImageReference:
    """An image whose digest starts with `prefix` (the rest random): what an attacker pushing many builds aims for."""
    rest = secrets.token_hex(32)[: 64 - len(prefix)]
    return ImageReference("registry.example.com", repository, None, f"sha256:{prefix}{rest}")


@pytest.fixture
def fresh():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def test_a_key_resolves_to_the_recorded_image(fresh):
    image = crafted(secrets.token_hex(8))
    key = add_image_partition(fresh, image, "registry.example.com/team/app:1.4")
    assert key == f"team/app@{image.digest[7:23]}"
    assert fresh.get_dynamic_partitions(image_partitions.name) == [key]
    assert reference_for_partition(fresh, key) == image
    assert digest_hex(fresh, key) == image.digest[7:]
    assert image_for_partition(fresh, key).reference == "registry.example.com/team/app:1.4"
    assert add_image_partition(fresh, image) == key  # same content, same partition
    assert fresh.get_dynamic_partitions(image_partitions.name) == [key]


def test_the_same_short_key_for_another_digest_gets_a_longer_one(fresh):
    shared = secrets.token_hex(8)  # 16 hex in common
    first, second = crafted(shared), crafted(shared)
    first_key, second_key = add_image_partition(fresh, first), add_image_partition(fresh, second)
    assert first_key == f"team/app@{shared}" and second_key == f"team/app@{second.digest[7:27]}"
    assert reference_for_partition(fresh, first_key) == first and reference_for_partition(fresh, second_key) == second
    third = crafted(second.digest[7:27])  # also shares the second's 20 hex
    assert key_for_image(fresh, third).endswith("@" + third.digest[7:31])


def test_an_image_sharing_128_bits_with_others_is_refused(fresh):
    shared = secrets.token_hex(16)
    keys = len(list(candidate_keys(crafted(shared))))  # longer prefixes, then with the registry (within 60)
    assert keys == 9
    for _ in range(keys):  # each takes the next free key
        add_image_partition(fresh, crafted(shared))
    attacker = crafted(shared)
    with pytest.raises(KeyCollision, match="already stands for another image"):
        key_for_image(fresh, attacker)
    assert len(fresh.get_dynamic_partitions(image_partitions.name)) == keys


def test_same_digest_in_another_repository_is_another_partition(fresh):
    image = crafted(secrets.token_hex(8))
    mirror = ImageReference("mirror.example.com", "team/app", None, image.digest)
    key, mirrored = add_image_partition(fresh, image), add_image_partition(fresh, mirror)
    assert mirrored == f"team/app@{image.digest[7:27]}" and key != mirrored
    assert reference_for_partition(fresh, mirrored) == mirror


def test_an_image_with_a_full_digest_partition_keeps_it(fresh):
    image = crafted(secrets.token_hex(8))
    fresh.add_dynamic_partitions(image_partitions.name, [image.canonical()])  # added by an earlier release
    assert add_image_partition(fresh, image) == image.canonical()
    assert reference_for_partition(fresh, image.canonical()) == image


@pytest.mark.parametrize("key", ["registry.example.com/team/app:1.4", "team/app@0123456789abcdef", "anything"])
def test_a_key_naming_no_recorded_image_is_refused(fresh, key):
    assert not names_content(fresh, key)
    with pytest.raises(InvalidReference, match="does not name image content") as raised:
        reference_for_partition(fresh, key)
    assert "analyze_reference" in raised.value.hint and "vexxy partitions remove" in raised.value.hint


def test_the_guard_removes_keys_added_by_hand_and_nothing_else(fresh):
    good = add_image_partition(fresh, crafted(secrets.token_hex(8)))
    legacy = crafted(secrets.token_hex(8)).canonical()
    typed = ["registry.example.com/team/app:1.4", "team/app@0123456789abcdef"]
    fresh.add_dynamic_partitions(image_partitions.name, [legacy, *typed])
    result = partition_guard_sensor(build_sensor_context(instance=fresh))
    assert isinstance(result, SensorResult)
    (request,) = result.dynamic_partitions_requests
    assert sorted(request.partition_keys) == sorted(typed)
    fresh.delete_dynamic_partition(image_partitions.name, typed[0])
    fresh.delete_dynamic_partition(image_partitions.name, typed[1])
    assert isinstance(partition_guard_sensor(build_sensor_context(instance=fresh)), SkipReason)
    assert sorted(fresh.get_dynamic_partitions(image_partitions.name)) == sorted([good, legacy])


def test_removing_a_partition(fresh):
    fresh.add_dynamic_partitions(image_partitions.name, ["registry.example.com/team/app:1.4"])
    assert "Removed" in remove_image_partition(fresh, "registry.example.com/team/app:1.4")
    with pytest.raises(InvalidReference, match="no image partition"):
        remove_image_partition(fresh, "registry.example.com/team/app:1.4")
    good = add_image_partition(fresh, crafted(secrets.token_hex(8)))
    assert "Removed" in remove_image_partition(fresh, good)  # never analyzed: nothing to lose
    assert fresh.get_dynamic_partitions(image_partitions.name) == []


def test_cli_lists_and_removes_partitions(instance, capsys):
    typed = f"registry.example.com/team/typed-{secrets.token_hex(3)}:1.0"
    instance.add_dynamic_partitions(image_partitions.name, [typed])
    assert main(["partitions", "list"]) == 0
    listed = capsys.readouterr().out
    assert typed in listed and "does not name image content" in listed
    assert main(["partitions", "remove", typed]) == 0
    assert not instance.has_dynamic_partition(image_partitions.name, typed)
    assert main(["partitions", "remove", typed]) == 2
    assert "no image partition" in capsys.readouterr().err


def test_one_image_under_long_names_that_shorten_alike_is_never_refused(fresh):
    """Mirrors of one image (or copies someone pushed to squat its keys) whose long names all shorten to the same
    readable name hold every readable key for that content: the next name still gets a partition, its full key."""
    digest = crafted(secrets.token_hex(8)).digest
    path = "mirror/docker-hub/library/a-rather-long-service"  # too long to keep whole: every key ends with it
    readable = len(list(candidate_keys(ImageReference("registry.example.com", f"n0/{path}", None, digest))))
    copies = [ImageReference("registry.example.com", f"n{i}/{path}", None, digest) for i in range(readable + 1)]
    keys = [add_image_partition(fresh, copy) for copy in copies]
    assert len(set(keys)) == readable + 1 and all(len(key) <= 60 for key in keys[:readable])
    assert keys[-1] == copies[-1].canonical() and reference_for_partition(fresh, keys[-1]) == copies[-1]


def test_an_analyzed_partition_is_removed_only_with_force(fresh):
    from dagster import AssetMaterialization, job, op

    key = add_image_partition(fresh, crafted(secrets.token_hex(8)))

    @op
    def record(context):
        context.log_event(AssetMaterialization(asset_key="image", partition=key))

    @job
    def analyzed():
        record()

    assert analyzed.execute_in_process(instance=fresh).success
    with pytest.raises(InvalidReference, match="names an analyzed image"):
        remove_image_partition(fresh, key)
    assert fresh.has_dynamic_partition(image_partitions.name, key)
    assert "Removed" in remove_image_partition(fresh, key, force=True)
    assert not fresh.has_dynamic_partition(image_partitions.name, key)


def test_a_run_of_a_typed_key_fails_in_its_first_step_saying_what_to_do(fresh):
    from vexxy_pipelines.definitions import defs

    typed = "registry.example.com/team/app:1.4"
    fresh.add_dynamic_partitions(image_partitions.name, [typed])
    result = defs.resolve_job_def("analyze_image").execute_in_process(instance=fresh, partition_key=typed, raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "image"
    assert "does not name image content" in failure.step_failure_data.user_failure_data.description
    assert "analyze_reference" in failure.step_failure_data.user_failure_data.metadata["what_to_do"].value
