"""A VEX that fails its schema stops the run at `vex_document`: `billing_record` never runs on it."""

import secrets

import pytest
from dagster import AssetCheckKey, materialize
from invalid_vex import NAME, image_documents, vulnerability_documents
from sqlalchemy import select

from appdb.models import BillingEvent
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import image_partitions

pytestmark = pytest.mark.slow  # a Dagster run


def test_an_invalid_vex_fails_its_blocking_check_and_billing_record_never_runs(instance, app_sessions):
    key = f"{NAME}@sha256:{secrets.token_hex(32)}"
    submission = f"sub-invalid-vex-{secrets.token_hex(4)}"
    instance.add_dynamic_partitions(image_partitions.name, [key])
    try:
        result = materialize(
            [image_documents, vulnerability_documents, vex_document, billing_record],
            partition_key=key,
            instance=instance,
            resources=resources_for(),
            tags={"vexxy/submission": submission},
            raise_on_error=False,
        )
        assert not result.success
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert checks["openvex_schema_valid"].passed is False and checks["openvex_schema_valid"].blocking is True
        assert "is not a 'uri'" in checks["openvex_schema_valid"].metadata["first_errors"].value
        assert checks["cyclonedx_schema_valid"].passed is True
        assert result.is_node_failed("vex_document")
        assert result.is_node_untouched("billing_record")  # never started: no step event at all
        assert result.asset_materializations_for_node("billing_record") == []
        # The invalid document is kept and the failed check is recorded against vex_document in the instance.
        assert result.asset_materializations_for_node("vex_document")
        check_key = AssetCheckKey(vex_document.key, "openvex_schema_valid")
        assert instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key].run_id == (
            result.run_id
        )
        with app_sessions() as session:
            assert session.scalars(select(BillingEvent).where(BillingEvent.submission_id == submission)).all() == []
    finally:
        instance.delete_dynamic_partition(image_partitions.name, key)
