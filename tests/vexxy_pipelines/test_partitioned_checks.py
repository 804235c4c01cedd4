"""Check results are recorded against the image partition they judge, and name it."""

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType

from vexxy_pipelines.definitions import defs
from vexxy_pipelines.lineage import latest_materialization
from vexxy_pipelines.partitions import add_image_partition

pytestmark = pytest.mark.slow

PARTITIONED = {
    ("vex_document", "openvex_schema_valid"),
    ("vex_document", "cyclonedx_schema_valid"),
    ("vex_document", "one_statement_per_vulnerability"),
    ("filtered_sbom", "subset_of_sbom"),
    ("filtered_sbom", "cyclonedx_schema_valid"),
    ("fuzz_findings", "sarif_schema_valid"),
}


def test_the_image_checks_are_partitioned_like_their_assets():
    graph = defs.resolve_asset_graph()
    for asset, name in PARTITIONED:
        spec = graph.get_check_spec(AssetCheckKey(AssetKey(asset), name))
        assert spec.partitions_def == graph.get(AssetKey(asset)).partitions_def and spec.partitions_def.name == "images"


def test_an_analysis_records_each_check_result_against_its_image(instance, analyzed_demo, demo_image):
    key = add_image_partition(instance, demo_image)
    run_id = latest_materialization(instance, "vex_document", key).run_id
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in (r.event_log_entry.dagster_event.event_specific_data for r in records)
    }
    assert PARTITIONED <= set(evaluations)
    for name in PARTITIONED:
        assert evaluations[name].partition == key and evaluations[name].metadata["image"].value == key
        assert evaluations[name].passed
