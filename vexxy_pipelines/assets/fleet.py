"""The `fleet_posture` asset: every analyzed image's latest VEX added up (pandas), refreshed after each analysis."""

import io
import json
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    EventLogRecord,
    MaterializeResult,
    MetadataValue,
    asset,
)

from vexxy.evidence.documents import (
    FLEET_IMAGES,
    FLEET_IMAGES_CSV,
    FLEET_VULNERABILITIES,
    FLEET_VULNERABILITIES_CSV,
    VEX_STATEMENTS,
)
from vexxy.evidence.store import EvidenceCorrupted, EvidenceMissing
from vexxy.fleet.posture import ImageOutcome, to_csv
from vexxy.fleet.posture import fleet_posture as posture_of
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

_BATCH = 500


def latest_by_partition(instance: DagsterInstance, asset_name: str, partitions: set[str]) -> dict[str, EventLogRecord]:
    """The latest materialization of `asset_name` for each of `partitions` (a query per 500 partitions)."""
    key = AssetKey(asset_name)
    # Every partition's latest id, filtered here: a list of thousands of keys in the query would pass
    # SQLite's limit on bound variables.
    ids = instance.get_latest_storage_id_by_partition(key, DagsterEventType.ASSET_MATERIALIZATION)
    storage_ids = sorted(storage_id for partition, storage_id in ids.items() if partition in partitions)
    records: dict[str, EventLogRecord] = {}
    for start in range(0, len(storage_ids), _BATCH):
        batch = storage_ids[start : start + _BATCH]
        found = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, storage_ids=batch), limit=len(batch))
        records.update({r.partition_key: r for r in found.records if r.partition_key})
    return records


def _value(record: EventLogRecord | None, name: str, default=None):
    entry = record.asset_materialization.metadata.get(name) if record and record.asset_materialization else None
    return entry.value if entry is not None else default


def image_outcomes(instance: DagsterInstance, evidence: EvidenceStore, log) -> tuple[list[ImageOutcome], list[str]]:
    """Every current partition's latest VEX statements, read back checked against their SHA-256; and the unreadable ones."""
    partitions = set(image_partitions.get_partition_keys(dynamic_partitions_store=instance))
    vex = latest_by_partition(instance, "vex_document", partitions)
    images = latest_by_partition(instance, "image", set(vex))
    observed = latest_by_partition(instance, "filtered_sbom", set(vex))
    outcomes, unreadable = [], []
    for key, record in sorted(vex.items()):
        try:
            data = evidence.read_recorded(instance, record, VEX_STATEMENTS)
        except (EvidenceMissing, EvidenceCorrupted) as exc:
            log.warning(f"{key}: {exc.message}")
            data = None
        if data is None:
            unreadable.append(key)
            continue
        complete = _value(observed.get(key), "profile_complete")
        outcomes.append(
            ImageOutcome(
                image=key,
                reference=str(_value(images.get(key), "reference", key)),
                statements=json.loads(data),
                profile_complete=bool(complete) if complete is not None else None,
                analyzed_at=datetime.fromtimestamp(record.timestamp, UTC),
                run_id=record.run_id,
                openvex_version=int(_value(record, "openvex_version", 0)),
            )
        )
    return outcomes, unreadable


def _parquet(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


@asset(group_name="fleet", deps=[vex_document], kinds={"pandas", "parquet"})
def fleet_posture(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """Outcome at a glance: statements by status per image; per vulnerability, the images where it runs or is never reached."""
    outcomes, unreadable = image_outcomes(context.instance, evidence, context.log)
    posture = posture_of(outcomes)
    images, vulnerabilities = posture.images, posture.vulnerabilities
    stored = [
        evidence.write_fleet(context, FLEET_IMAGES, _parquet(images)),
        evidence.write_fleet(context, FLEET_IMAGES_CSV, to_csv(images)),
        evidence.write_fleet(context, FLEET_VULNERABILITIES, _parquet(vulnerabilities)),
        evidence.write_fleet(context, FLEET_VULNERABILITIES_CSV, to_csv(vulnerabilities)),
    ]
    totals = posture.totals()
    return MaterializeResult(
        metadata={
            **{
                name: MetadataValue.float(value) if isinstance(value, float) else MetadataValue.int(value)
                for name, value in totals.items()
            },
            "images_unreadable": MetadataValue.int(len(unreadable)),
            "images_table": md_table(
                ["image", "affected", "not affected", "under investigation", "noise reduction", "complete", "last analyzed"],
                [
                    (
                        row.reference,
                        row.affected,
                        row.not_affected,
                        row.under_investigation,
                        f"{row.noise_reduction:.0%}",
                        "—" if pd.isna(row.profile_complete) else ("yes" if row.profile_complete else "no"),
                        row.last_analyzed.strftime("%Y-%m-%d %H:%M UTC"),
                    )
                    for row in images.itertuples()
                ],
                limit=15,
            ),
            "vulnerabilities_table": md_table(
                ["vulnerability", "images affected", "not reached", "under investigation", "components"],
                [
                    (
                        row.vulnerability,
                        row.images_affected,
                        row.images_not_affected,
                        row.images_under_investigation,
                        row.components,
                    )
                    for row in vulnerabilities.itertuples()
                ],
                limit=15,
            ),
            **{k: v for obj in stored for k, v in obj.metadata().items()},
        }
    )
