"""The `vulnerabilities` asset: the image's components matched against the advisory snapshot."""

from functools import lru_cache

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from vexxy.evidence.documents import ADVISORY_SNAPSHOT, SYFT_SBOM, VULNERABILITIES, snapshot_location
from vexxy.evidence.store import DocumentStore
from vexxy.matching.matcher import match_components
from vexxy.osv.database import AdvisoryDatabase
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.lineage import consumed_materialization
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore, recorded_sha256


@lru_cache(maxsize=2)
def _load_database(root: str, content_hash: str, sha256: str | None) -> AdvisoryDatabase:
    data = DocumentStore(root).get(snapshot_location(ADVISORY_SNAPSHOT, content_hash), sha256)
    return AdvisoryDatabase.from_snapshot(data)


def current_database(context: AssetExecutionContext, evidence: EvidenceStore) -> tuple[str, AdvisoryDatabase]:
    """The advisory snapshot of the `vulnerability_db` materialization this run consumes."""
    record = consumed_materialization(context.instance, context.run.run_id, ADVISORY_SNAPSHOT.asset, None)
    if record is None:
        raise Failure(
            description="The vulnerability database has not been loaded yet.",
            metadata={"what_to_do": "Materialize `vulnerability_db` first (or run `vexxy db update`)."},
            allow_retries=False,
        )
    content_hash = str(record.asset_materialization.metadata["content_hash"].value)
    return content_hash, _load_database(evidence.root, content_hash, recorded_sha256(record, ADVISORY_SNAPSHOT))


@asset(partitions_def=image_partitions, group_name="analysis", deps=[sbom, vulnerability_db], kinds={"osv"})
def vulnerabilities(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """Known vulnerabilities of the image's components, with the range that matched and the fix."""
    db_version, database = current_database(context, evidence)
    components = components_from_syft(evidence.read_json(context, SYFT_SBOM))
    report = match_components(components, database)
    for purl, why in report.unorderable[:20]:
        context.log.warning(f"Could not order the version of {purl}: {why}")
    stored = evidence.write_json(
        context,
        VULNERABILITIES,
        {
            "vulnerability_db": db_version,
            "components_checked": report.components_checked,
            "components_without_ecosystem": report.components_without_ecosystem,
            "unorderable": report.unorderable,
            "matches": [m.to_dict() for m in report.matches],
        },
    )
    return MaterializeResult(
        metadata={
            "matches": MetadataValue.int(len(report.matches)),
            "vulnerable_components": MetadataValue.int(len({m.purl for m in report.matches})),
            "components_checked": MetadataValue.int(report.components_checked),
            "unorderable_versions": MetadataValue.int(len(report.unorderable)),
            "vulnerability_db_version": db_version,
            "by_ecosystem": md_table(["ecosystem", "matches"], report.by_ecosystem().items()),
            "matches_table": md_table(
                ["vulnerability", "advisory", "component", "matched", "fixed in"],
                [(m.vulnerability, m.advisory_id, m.purl, m.matched, m.fixed or "—") for m in report.matches],
            ),
            **stored.metadata(),
        }
    )
