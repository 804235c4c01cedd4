"""Lineage, audit report and diff of an image's VEX, from Dagster's event log: what `vex_document` stores
beside the VEX, and what `vexxy explain` and `vexxy diff` read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    EventLogRecord,
    MetadataValue,
)

from vexxy.audit.diff import VexDiff, diff_statements
from vexxy.audit.explain import AnalysisDocuments, explain_all
from vexxy.audit.report import render_report
from vexxy.audit.stored import digest_folder, load_documents
from vexxy.evidence.documents import AUDIT_REPORT, VEX_LINEAGE, VEX_STATEMENTS, produced_by
from vexxy.evidence.store import EvidenceCorrupted, EvidenceMissing
from vexxy_pipelines.lineage import consumed_materialization, latest_materialization
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.resources.evidence_store import EvidenceStore, StoredObject, recorded_sha256
from vexxy_pipelines.tags import REFERENCE

# What a VEX is made from, upstream first (`vulnerability_db` is not partitioned).
INPUT_ASSETS = ("image", "sbom", "execution_profile", "fuzz_findings", "filtered_sbom", "vulnerabilities", "vulnerability_db")
CODE_VERSION_TAG, DATA_VERSION_TAG = "dagster/code_version", "dagster/data_version"


def vexxy_version() -> str:
    try:
        return version("vexxy")
    except PackageNotFoundError:
        return "unknown"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def step_of(record: EventLogRecord) -> dict[str, Any]:
    """One materialization as the lineage shows it: run, time, versions and the documents it recorded."""
    materialization = record.asset_materialization
    asset = record.asset_key.to_user_string()
    return {
        "asset": asset,
        "run_id": record.run_id,
        "materialized_at": _when(record.timestamp),
        "data_version": materialization.tags.get(DATA_VERSION_TAG) if materialization.tags else None,
        "code_version": materialization.tags.get(CODE_VERSION_TAG) if materialization.tags else None,
        "documents": {d.name: sha for d in produced_by(asset) if (sha := recorded_sha256(record, d)) is not None},
    }


_RUN: dict[str, tuple] = {}  # the last run read: its materializations and creation time (a step asks once per image)


def _run_facts(instance: DagsterInstance, run_id: str) -> tuple[dict[tuple[str, str | None], EventLogRecord], float | None, bool]:
    """({(asset, partition): last materialization in the run}, the run's creation time, whether it re-executes another).

    Read once per run and kept: a VEX is written after every input it cites has materialized."""
    if run_id not in _RUN:
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        by_key = {(r.asset_key.to_user_string(), r.partition_key): r for r in records if r.asset_key}
        run_record = instance.get_run_record_by_id(run_id)
        created = run_record.create_timestamp.timestamp() if run_record and run_record.create_timestamp else None
        parent = bool(run_record and run_record.dagster_run.parent_run_id)
        _RUN.clear()
        _RUN[run_id] = (by_key, created, parent)
    return _RUN[run_id]


def inputs_of(instance: DagsterInstance, run_id: str, partition: str) -> list[dict[str, Any]]:
    """The upstream materializations the run `run_id` consumed for `partition` (its own, or the latest before it),
    as `lineage.consumed_materialization` finds them, with one read of the run for all of its images."""
    in_run, created, reexecution = _run_facts(instance, run_id)
    steps = []
    for asset in INPUT_ASSETS:
        key = None if asset == "vulnerability_db" else partition
        record = in_run.get((asset, key))
        if record is None and reexecution:
            record = consumed_materialization(instance, run_id, asset, key)
        elif record is None:
            found = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[key] if key else None, before_timestamp=created),
                limit=1,
            ).records
            record = found[0] if found else None
        if record is not None:
            steps.append(step_of(record))
    return steps


def lineage_of(instance: DagsterInstance, vex: EventLogRecord) -> dict[str, Any]:
    """The lineage of a recorded `vex_document` materialization, rebuilt from the event log (a VEX stored
    before lineage documents existed)."""
    run = instance.get_run_by_id(vex.run_id)
    step = step_of(vex)
    metadata = vex.asset_materialization.metadata
    db = metadata.get("vulnerability_db_version")
    return {
        "partition": vex.partition_key,
        "reference": run.tags.get(REFERENCE) if run else None,
        "run_id": vex.run_id,
        "job": run.job_name if run else None,
        "materialized_at": step["materialized_at"],
        "vexxy_version": None,
        "code_version": step["code_version"],
        "vulnerability_db": db.value if db is not None else None,
        "inputs": inputs_of(instance, vex.run_id, vex.partition_key),
        "documents": step["documents"],
    }


def stored_lineage(evidence: EvidenceStore, instance: DagsterInstance, vex: EventLogRecord) -> dict[str, Any]:
    """The lineage `vex_document` stored with this VEX, else rebuilt from the event log."""
    data = evidence.read_recorded(instance, vex, VEX_LINEAGE)
    return json.loads(data) if data is not None else lineage_of(instance, vex)


def write_audit(
    context: AssetExecutionContext,
    evidence: EvidenceStore,
    key: str,
    stored: list[StoredObject],
    vulnerability_db: str,
) -> tuple[list[StoredObject], dict[str, Any]]:
    """Store the VEX's lineage and audit report, and diff it against the partition's previous VEX.

    Returns the stored objects and the metadata that leads a reader to them."""
    run = context.run
    code_version = context.assets_def.code_versions_by_key.get(context.asset_key) or run.run_id
    previous_record, previous = _previous(context, evidence, key)
    lineage = {
        "partition": key,
        "image_digest": "sha256:" + digest_folder(stored[0].path),
        "reference": run.tags.get(REFERENCE),
        "run_id": run.run_id,
        "job": run.job_name,
        "materialized_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "vexxy_version": vexxy_version(),
        "code_version": code_version,
        "vulnerability_db": vulnerability_db,
        "inputs": inputs_of(context.instance, run.run_id, key),
        "previous": {"run_id": previous_record.run_id, "materialized_at": _when(previous_record.timestamp)}
        if previous_record
        else None,
        "documents": {s.document.name: s.sha256 for s in stored},
    }
    lineage_object = evidence.write_json(context, VEX_LINEAGE, lineage, key)
    documents = load_documents(evidence.documents(), digest_folder(lineage_object.path), run.run_id, lineage)
    statements = documents.statements
    diff = (
        diff_statements(previous, statements, {"run_id": previous_record.run_id}, {"run_id": run.run_id})
        if previous is not None
        else None
    )
    report = render_report(about_for(lineage), explanations_for(documents, lineage), lineage["inputs"], diff)
    report_object = evidence.write(context, AUDIT_REPORT, report.encode(), key)
    return [lineage_object, report_object], diff_metadata(diff)


def about_for(lineage: dict[str, Any]) -> dict[str, Any]:
    return {
        "partition": lineage.get("partition"),
        "reference": lineage.get("reference"),
        "run": f"{lineage.get('run_id')} ({lineage.get('job')})",
        "materialized_at": lineage.get("materialized_at"),
        "vexxy_version": lineage.get("vexxy_version"),
        "code_version": lineage.get("code_version"),
        "advisory_snapshot": lineage.get("vulnerability_db"),
    }


def explanations_for(documents: AnalysisDocuments, lineage: dict[str, Any]):
    return explain_all(documents, lineage)


def _previous(context: AssetExecutionContext, evidence: EvidenceStore, key: str):
    """The partition's VEX materialization before this run, and its statements (None, None: the first VEX)."""
    record = latest_materialization(context.instance, VEX_STATEMENTS.asset, key)
    if record is None or record.run_id == context.run.run_id:
        return None, None
    try:
        data = evidence.read_recorded(context.instance, record, VEX_STATEMENTS)
    except (
        EvidenceMissing,
        EvidenceCorrupted,
        ValueError,
    ) as exc:  # an unreadable earlier document ends the diff history, never this VEX
        context.log.warning(f"The previous VEX of {key} cannot be read ({exc}); no diff against it.")
        return None, None
    return (record, json.loads(data)) if data is not None else (None, None)


def diff_metadata(diff: VexDiff | None) -> dict[str, Any]:
    if diff is None:
        return {"diff_previous": "first VEX of this image"}
    counts = diff.counts()
    return {
        "diff_previous": f"{diff.summary()} since run {diff.before.get('run_id')}",
        "statements_added": MetadataValue.int(counts["added"]),
        "statements_removed": MetadataValue.int(counts["removed"]),
        "statements_changed": MetadataValue.int(counts["changed"]),
        **(
            {
                "diff_table": md_table(
                    ["vulnerability", "package", "change"],
                    [(c.vulnerability, c.package, f"{c.kind}: {'; '.join(c.what)}") for c in diff.changes],
                )
            }
            if diff.changes
            else {}
        ),
    }
