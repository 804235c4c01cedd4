"""Data versions are the SHA-256 of each asset's document, and consumers record exactly those versions as inputs."""

import hashlib

import pytest

from vexxy.evidence.documents import (
    EXECUTION_PROFILE,
    FILTERED_SBOM,
    FUZZ_FINDINGS,
    IMAGE,
    SYFT_SBOM,
    VEX_STATEMENTS,
    VULNERABILITIES,
)
from vexxy_pipelines.lineage import latest_materialization, materializations_in_run
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.versions import input_version_of

pytestmark = pytest.mark.slow

MAIN_DOCUMENT = {
    "image": IMAGE,
    "sbom": SYFT_SBOM,
    "execution_profile": EXECUTION_PROFILE,
    "fuzz_findings": FUZZ_FINDINGS,
    "filtered_sbom": FILTERED_SBOM,
    "vulnerabilities": VULNERABILITIES,
    "vex_document": VEX_STATEMENTS,
}
CONSUMES = {
    "sbom": ["image"],
    "execution_profile": ["image"],
    "filtered_sbom": ["sbom", "execution_profile"],
    "vulnerabilities": ["sbom"],
    "vex_document": ["vulnerabilities", "filtered_sbom", "image"],
}


def test_an_analysis_records_content_versions_that_its_consumers_cite(instance, analyzed_demo, demo_image):
    key = add_image_partition(instance, demo_image)
    run_id = latest_materialization(instance, "sbom", key).run_id  # a whole analysis: every asset in one run
    records = materializations_in_run(instance, run_id, key)
    tags = {asset: records[asset].asset_materialization.tags for asset in MAIN_DOCUMENT}
    for asset, document in MAIN_DOCUMENT.items():
        recorded = records[asset].asset_materialization.metadata[f"{document.key}_sha256"].value
        assert tags[asset]["dagster/data_version"] == recorded, asset
    path = records["sbom"].asset_materialization.metadata[f"{SYFT_SBOM.key}_path"].value
    assert tags["sbom"]["dagster/data_version"] == hashlib.sha256(open(path, "rb").read()).hexdigest()  # sha256sum
    for consumer, upstreams in CONSUMES.items():
        for upstream in upstreams:
            cited = tags[consumer][f"dagster/input_data_version/{upstream}"]
            assert cited == input_version_of(tags[upstream]["dagster/data_version"]), (consumer, upstream)
