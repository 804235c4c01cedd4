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


def materialize_many(instance, events: list[tuple[str, str | None, int]]) -> str:
    """One run logging (asset, partition, n) materializations in this order; returns its run id."""

    @op
    def record(context):
        for asset, partition, n in events:
            context.log_event(AssetMaterialization(asset_key=asset, partition=partition, metadata={"n": n}))

    @job
    def many():
        record()

    return many.execute_in_process(instance=instance).run_id


def identity(record) -> tuple | None:
    """A materialization as both lookups see it (the sharded storage numbers its index and run copies apart)."""
    if record is None:
        return None
    return record.run_id, record.partition_key, record.asset_key, record.asset_materialization.metadata["n"].value


def test_a_runs_own_materialization_is_found_without_reading_the_whole_run(tmp_path):
    """The targeted lookup answers what reading every materialization of the run answers, on both
    the sharded SQLite storage (each run its own file) and a single database."""
    from vexxy_pipelines.lineage import consumed_materialization, materialization_in_run, materializations_in_run

    other = "registry.example.com/team/other@0123456789abcdef"
    for instance in (DagsterInstance.local_temp(str(tmp_path)), DagsterInstance.ephemeral()):
        with instance:
            instance.add_dynamic_partitions("images", [KEY, other])
            first = materialize_many(instance, [("sbom", KEY, 1), ("sbom", other, 2), ("sbom", KEY, 3), ("db", None, 4)])
            second = materialize_many(instance, [("sbom", other, 5), *[("vex", KEY, 10 + i) for i in range(120)]])
            third = materialize_many(instance, [("vex", other, 200)])
            for run_id in (first, second, third):
                for partition in (KEY, other, None):
                    expected = materializations_in_run(instance, run_id, partition)
                    for asset in ("sbom", "vex", "db", "absent"):
                        found = materialization_in_run(instance, run_id, asset, partition)
                        want = expected.get(asset)
                        assert identity(found) == identity(want), (run_id, asset, partition)
            assert materialization_in_run(instance, first, "sbom", KEY).asset_materialization.metadata["n"].value == 3
            assert materialization_in_run(instance, second, "vex", KEY).asset_materialization.metadata["n"].value == 129
            assert consumed_materialization(instance, third, "sbom", KEY).run_id == first  # the latest before the run
            assert consumed_materialization(instance, third, "sbom", other).run_id == second
