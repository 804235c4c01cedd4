"""Run-tag keys are spelled in `vexxy_pipelines.tags` only, and the Dagster keys there are Dagster's own."""

import re
from pathlib import Path

from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    PRIORITY_TAG,
)

from vexxy_pipelines import tags

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appdb", "billing", "vexxy", "vexxy_api", "vexxy_pipelines")
NOT_TAGS = {"vexxy/demo", "vexxy/partition/"}  # the demo image's repository; the instance's key-value prefix
TAG_LITERAL = re.compile(r"""["'](vexxy/[\w./-]*|dagster/(?:partition|priority|asset_partition_range_\w+))["']""")


def test_dagster_keys_are_dagsters_own():
    assert (tags.DAGSTER_PARTITION, tags.DAGSTER_PRIORITY) == (PARTITION_NAME_TAG, PRIORITY_TAG)
    assert (tags.RANGE_START, tags.RANGE_END) == (ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)


def test_no_module_but_tags_spells_a_run_tag_key():
    spelled = [
        f"{path.relative_to(ROOT)}: {literal}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "vexxy_pipelines" / "tags.py"
        for literal in TAG_LITERAL.findall(path.read_text())
        if literal not in NOT_TAGS
    ]
    assert spelled == []
