"""`fleet_posture` adds up the fleet's latest VEX documents, refreshed by its sensor after new ones."""

import io
import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunRequest, SkipReason, build_sensor_context, materialize
from fleet import fleet_of

from vexxy import settings
from vexxy.evidence.documents import OPENVEX
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.lineage import latest_materialization
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.sensors.fleet import fleet_posture_sensor

pytestmark = pytest.mark.slow


def openvex_of(instance, key: str) -> dict:
    record = latest_materialization(instance, "vex_document", key)
    return json.loads(Path(record.asset_materialization.metadata[f"{OPENVEX.key}_path"].value).read_bytes())


def refresh(instance, cursor=None):
    """One sensor tick and, when it asks for one, the run it requests; returns (request or skip, new cursor)."""
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    answer = fleet_posture_sensor(context)
    if isinstance(answer, RunRequest):
        assert defs.resolve_job_def("refresh_fleet_posture").execute_in_process(instance=instance, tags=answer.tags).success
    return answer, context.cursor


def test_fleet_posture_numbers_equal_the_per_image_documents(instance, analyzed_demo, demo_image):
    fleet_instance = DagsterInstance.ephemeral()  # other tests read the session's instance: the fleet lives apart
    fleet = fleet_of(instance, add_image_partition(instance, demo_image), 2, fleet_instance, label="posture")
    first, cursor = refresh(fleet_instance)
    assert isinstance(first, RunRequest)
    assert isinstance(refresh(fleet_instance, cursor)[0], SkipReason)  # nothing new since

    # One image is re-evaluated against fewer advisories (PyYAML's disappears): the fleet is no longer uniform.
    evidence = EvidenceStore(root=os.environ["VEXXY_EVIDENCE_DIR"])
    jinja_only = OsvSourceResource(source=str(settings.BUNDLED_OSV / "pypa" / "jinja2"))
    assert materialize([vulnerability_db], resources={"osv": jinja_only, "evidence": evidence}, instance=fleet_instance).success
    changed = fleet[1]
    assert defs.resolve_job_def("reevaluate_image").execute_in_process(instance=fleet_instance, partition_key=changed).success
    # While a refresh has not finished the sensor waits, keeping its cursor; then it asks for a new one.
    queued = fleet_instance.create_run_for_job(
        job_def=defs.resolve_job_def("refresh_fleet_posture"), status=DagsterRunStatus.NOT_STARTED
    )
    waiting, kept = refresh(fleet_instance, cursor)
    assert isinstance(waiting, SkipReason) and queued.run_id in waiting.skip_message and kept == cursor
    fleet_instance.delete_run(queued.run_id)
    second, _ = refresh(fleet_instance, cursor)
    assert isinstance(second, RunRequest) and second.run_key != first.run_key

    record = latest_materialization(fleet_instance, "fleet_posture", None)
    metadata = record.asset_materialization.metadata
    images = pd.read_parquet(Path(metadata["images_parquet_path"].value)).set_index("image")
    vulnerabilities = pd.read_parquet(Path(metadata["vulnerabilities_parquet_path"].value)).set_index("vulnerability")
    csv = pd.read_csv(io.BytesIO(Path(metadata["images_csv_path"].value).read_bytes())).set_index("image")
    assert sorted(images.index) == sorted(fleet) and sorted(csv.index) == sorted(fleet)

    documents = {key: openvex_of(fleet_instance, key) for key in fleet}
    affected_in, not_reached_in = Counter(), Counter()
    for key, document in documents.items():
        by_status = Counter(s["status"] for s in document["statements"])
        row = images.loc[key]
        assert row["statements"] == len(document["statements"]) == csv.loc[key, "statements"]
        for status in ("affected", "not_affected", "under_investigation", "fixed"):
            assert row[status] == by_status[status]
        assert row["openvex_version"] == document["version"] and bool(row["profile_complete"])
        assert row["noise_reduction"] == by_status["not_affected"] / len(document["statements"])
        for s in document["statements"]:
            (affected_in if s["status"] == "affected" else not_reached_in)[s["vulnerability"]["name"]] += 1
    assert images.loc[changed, "statements"] == 1 and images.loc[fleet[0], "statements"] == 2
    assert dict(vulnerabilities["images_affected"][vulnerabilities["images_affected"] > 0]) == dict(affected_in)
    assert dict(vulnerabilities["images_not_affected"][vulnerabilities["images_not_affected"] > 0]) == dict(not_reached_in)
    assert vulnerabilities.loc["CVE-2020-14343", "images"] == len(fleet) - 1  # PyYAML's: gone from the re-evaluated one

    assert metadata["images"].value == len(fleet)
    assert metadata["statements"].value == sum(len(d["statements"]) for d in documents.values())
    assert metadata["statements_affected"].value == sum(affected_in.values())
    assert metadata["vulnerabilities_never_reached"].value == 1 and metadata["images_unreadable"].value == 0
    assert f"| CVE-2020-28493 | {len(fleet)} | 0 | 0 |" in metadata["vulnerabilities_table"].value
    assert fleet_instance.get_latest_materialization_event(AssetKey("fleet_posture")).run_id == record.run_id
