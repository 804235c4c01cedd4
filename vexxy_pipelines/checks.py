"""Asset checks tied to the image partition they judge.

A check result of a one-image run is recorded against that image's partition (Dagster's partitioned
asset checks); a re-evaluation run covering a range of images records one result for the range,
so every result also names its image(s) in its metadata.
"""

from __future__ import annotations

import warnings

from dagster import AssetCheckSpec, MetadataValue

from vexxy_pipelines.partitions import image_partitions


def image_check(name: str, asset: str, description: str, blocking: bool = False) -> AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are a preview feature of this Dagster release
        warnings.simplefilter("ignore")
        return AssetCheckSpec(name, asset=asset, description=description, blocking=blocking, partitions_def=image_partitions)


def checked_images(keys: list[str]) -> dict[str, MetadataValue]:
    """`image` for one partition; `images` (and how many) for a range."""
    if len(keys) == 1:
        return {"image": MetadataValue.text(keys[0])}
    shown = ", ".join(keys[:50]) + (f" and {len(keys) - 50} more" if len(keys) > 50 else "")
    return {"images": MetadataValue.text(shown), "images_checked": MetadataValue.int(len(keys))}
