"""The VEX an analysis continues from is its own organization's: an image's partition is shared by every
organization that analyzes it, and another's document (its times, version and inputs) is never carried on."""

from dagster import AssetMaterialization, DagsterInstance, job, op

from vexxy_pipelines import tags
from vexxy_pipelines.lineage import latest_materialization_of

KEY = "registry.example.com/team/app@0123456789abcdef"


def materialize(instance, organization: str | None) -> str:
    @op
    def record(context):
        context.log_event(AssetMaterialization(asset_key="vex_document", partition=KEY))

    @job
    def analysis():
        record()

    run_tags = {tags.ORGANIZATION: organization} if organization else {}
    return analysis.execute_in_process(instance=instance, tags=run_tags).run_id


def test_the_latest_vex_of_the_same_organization_only():
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("images", [KEY])
        assert latest_materialization_of(instance, "vex_document", KEY, "org-a") is None
        first_a = materialize(instance, "org-a")
        internal = materialize(instance, None)
        first_b = materialize(instance, "org-b")
        assert latest_materialization_of(instance, "vex_document", KEY, "org-a").run_id == first_a
        assert latest_materialization_of(instance, "vex_document", KEY, "org-b").run_id == first_b
        assert latest_materialization_of(instance, "vex_document", KEY, None).run_id == internal
        assert latest_materialization_of(instance, "vex_document", KEY, "org-c") is None
        again_a = materialize(instance, "org-a")
        assert latest_materialization_of(instance, "vex_document", KEY, "org-a").run_id == again_a
