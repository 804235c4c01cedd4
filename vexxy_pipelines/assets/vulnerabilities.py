"""The `vulnerabilities` asset: the image's components matched against the advisory snapshot."""

from functools import lru_cache

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from vexxy.matching.matcher import match_components
from vexxy.osv.database import AdvisoryDatabase
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.sbom import SYFT_JSON, sbom
from vexxy_pipelines.assets.vulnerability_db import CURRENT, DB_SCOPE, vulnerability_db
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import digest_hex, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

VULNERABILITIES_JSON = "vulnerabilities.json"


@lru_cache(maxsize=2)
def _load_database(path: str, content_hash: str) -> AdvisoryDatabase:
    with open(path, "rb") as handle:
        return AdvisoryDatabase.from_snapshot(handle.read())


def current_database(evidence: EvidenceStore) -> tuple[str, AdvisoryDatabase]:
    if not evidence.exists(DB_SCOPE, CURRENT):
        raise Failure(
            description="The vulnerability database has not been loaded yet.",
            metadata={"what_to_do": "Materialize `vulnerability_db` first (or run `vexxy db update`)."},
            allow_retries=False,
        )
    pointer = evidence.get_json(DB_SCOPE, CURRENT)
    return pointer["content_hash"], _load_database(str(evidence.path(DB_SCOPE, pointer["snapshot"])), pointer["content_hash"])


@asset(partitions_def=image_partitions, group_name="analysis", deps=[sbom, vulnerability_db], kinds={"osv"})
def vulnerabilities(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """Known vulnerabilities of the image's components, with the range that matched and the fix."""
    scope = digest_hex(context.partition_key)
    db_version, database = current_database(evidence)
    components = components_from_syft(evidence.get_json(scope, SYFT_JSON))
    report = match_components(components, database)
    for purl, why in report.unorderable[:20]:
        context.log.warning(f"Could not order the version of {purl}: {why}")
    stored = evidence.put_json(
        scope,
        VULNERABILITIES_JSON,
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
            **stored.metadata("vulnerabilities_json"),
        }
    )
