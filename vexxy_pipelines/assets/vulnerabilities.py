"""The `vulnerabilities` asset: the image's components matched against the advisory snapshot's index."""

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from vexxy.audit.explain import files_of_matched
from vexxy.evidence.documents import ADVISORY_INDEX, ADVISORY_SNAPSHOT, SYFT_SBOM, VULNERABILITIES
from vexxy.matching.index import AdvisoryIndex, open_verified
from vexxy.matching.matcher import match_components
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.lineage import consumed_materialization
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore, recorded_sha256
from vexxy_pipelines.versions import recorded_version

_OPEN: dict[tuple, AdvisoryIndex] = {}


def open_index(evidence: EvidenceStore, content_hash: str, index_sha256: str, snapshot_sha256: str, log) -> AdvisoryIndex:
    """The snapshot's index, its checksum verified once per process (and whenever the file changes); rebuilt if damaged."""
    path = evidence.snapshot_path(ADVISORY_INDEX, content_hash)
    stat = path.stat() if path.exists() else None
    key = (str(path), index_sha256, stat and (stat.st_ino, stat.st_size, stat.st_mtime_ns))
    if key in _OPEN:
        return _OPEN[key]
    with fail_clearly(f"advisory index {content_hash[:12]}"):
        index, _rebuilt = open_verified(
            path, index_sha256, evidence.snapshot_path(ADVISORY_SNAPSHOT, content_hash), snapshot_sha256, content_hash, log=log
        )
    for stale in list(_OPEN):
        _OPEN.pop(stale).close()
    final = path.stat()
    _OPEN[(str(path), index_sha256, (final.st_ino, final.st_size, final.st_mtime_ns))] = index
    return index


def current_database(context: AssetExecutionContext, evidence: EvidenceStore) -> tuple[str, AdvisoryIndex]:
    """The advisory index of the `vulnerability_db` materialization this run consumes."""
    record = consumed_materialization(context.instance, context.run.run_id, ADVISORY_SNAPSHOT.asset, None)
    if record is None:
        raise Failure(
            description="The vulnerability database has not been loaded yet.",
            metadata={"what_to_do": "Materialize `vulnerability_db` first (or run `vexxy db update`)."},
            allow_retries=False,
        )
    content_hash = str(record.asset_materialization.metadata["content_hash"].value)
    index_sha256, snapshot_sha256 = recorded_sha256(record, ADVISORY_INDEX), recorded_sha256(record, ADVISORY_SNAPSHOT)
    if index_sha256 is None or snapshot_sha256 is None:
        raise Failure(
            description="The vulnerability database was loaded by an earlier version, without an index.",
            metadata={"what_to_do": "Materialize `vulnerability_db` again (or run `vexxy db update`)."},
            allow_retries=False,
        )
    return content_hash, open_index(evidence, content_hash, index_sha256, snapshot_sha256, context.log.warning)


def _match_one(context: AssetExecutionContext, evidence: EvidenceStore, key: str, db_version: str, database) -> dict:
    """Match one image's components and store the matches; returns that partition's metadata."""
    components = components_from_syft(evidence.read_json(context, SYFT_SBOM, key))
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
            # the files each matched component owns: what explanations and audit reports cite, without the whole SBOM
            "component_files": files_of_matched(components, report.matches),
        },
        key,
    )
    return {
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


@asset(partitions_def=image_partitions, group_name="analysis", deps=[sbom, vulnerability_db], kinds={"osv"})
def vulnerabilities(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """Known vulnerabilities of the image's components, with the range that matched and the fix."""
    db_version, database = current_database(context, evidence)
    keys = context.partition_keys  # one image, or a range of them when a fleet is re-evaluated
    for key in keys:
        metadata = _match_one(context, evidence, key, db_version, database)
        context.add_asset_metadata(metadata, partition_key=key)
    return MaterializeResult(
        metadata={"images_in_run": MetadataValue.int(len(keys))},
        data_version=recorded_version(metadata, VULNERABILITIES) if len(keys) == 1 else None,
    )
