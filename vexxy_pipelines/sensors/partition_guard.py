"""Partition keys that name no image (typed into the UI's "Add partition") are removed, saying why.

An image partition is added by vexxy once the reference is resolved and its image recorded (the
`analyze_reference` job, `vexxy analyze`, the submission sensor). A key added by hand, such as
`registry/repo:tag`, stands for nothing: a run of it fails in its first step, and this sensor
removes it from the list.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from vexxy_pipelines.partitions import image_partitions, partitions_naming_no_content


@sensor(minimum_interval_seconds=15, default_status=DefaultSensorStatus.RUNNING)
def partition_guard_sensor(context: SensorEvaluationContext):
    """Remove image partitions whose key names no image content (use `analyze_reference` instead)."""
    keys = context.instance.get_dynamic_partitions(image_partitions.name)
    bad = partitions_naming_no_content(context.instance, keys)
    if not bad:
        return SkipReason(f"All {len(keys)} image partitions name image content.")
    for key in bad:
        context.log.warning(
            f"Removed partition {key!r}: it names no image content. Launch the `analyze_reference` job with the "
            "reference in its config instead."
        )
    return SensorResult(dynamic_partitions_requests=[image_partitions.build_delete_request(bad)])
