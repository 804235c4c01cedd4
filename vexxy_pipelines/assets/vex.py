"""The `vex_document` asset: OpenVEX 0.2.0 and CycloneDX 1.6 VEX, checked against their schemas."""

import hashlib
import json
from collections import Counter

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetObservation,
    MaterializeResult,
    MetadataValue,
    asset,
)

from vexxy.evidence.documents import (
    COMPONENT_USAGE,
    CYCLONEDX_SBOM,
    CYCLONEDX_VEX,
    EXECUTION_PROFILE,
    IMAGE,
    IMPORT_EVIDENCE,
    OPENVEX,
    VEX_STATEMENTS,
    VULNERABILITIES,
)
from vexxy.evidence.mapping import ProfileEvidence, UsageReport
from vexxy.imports.evidence import ImportEvidence, RunImports, against_run
from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.oci.image import ResolvedImage
from vexxy.vex.confidence import Reason, label
from vexxy.vex.cyclonedx import render_cyclonedx_vex
from vexxy.vex.openvex import render_openvex, statement_times
from vexxy.vex.provenance import Provenance, SbomIdentity, vex_author
from vexxy.vex.statements import NoRuntimeEvidence, Status, build_statements
from vexxy.vex.validation import cyclonedx_errors, openvex_errors
from vexxy_pipelines.assets.filtered_sbom import filtered_sbom
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.imports import dynamic_loads_table, first_party_imports, not_loaded_table
from vexxy_pipelines.assets.vulnerabilities import vulnerabilities
from vexxy_pipelines.audit import write_audit
from vexxy_pipelines.checks import checked_images, image_check
from vexxy_pipelines.lineage import consumed_materialization
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore, recorded_sha256
from vexxy_pipelines.versions import recorded_version

# The schema checks block: a document that fails its schema fails the step, so nothing downstream of
# `vex_document` (billing) runs on it; the invalid document stays stored, with the failed check beside it.
# Each result is recorded against the image's partition (a range run's names its images).
CHECKS = [
    image_check(
        "openvex_schema_valid",
        asset="vex_document",
        description="The OpenVEX document validates against the OpenVEX 0.2.0 JSON schema (blocking).",
        blocking=True,
    ),
    image_check(
        "cyclonedx_schema_valid",
        asset="vex_document",
        description="The CycloneDX VEX validates against the CycloneDX 1.6 JSON schema (blocking).",
        blocking=True,
    ),
    image_check(
        "one_statement_per_vulnerability",
        asset="vex_document",
        description="Every matched (vulnerability, component) has exactly one statement.",
    ),
]


def _errors_result(name: str, errors: list[str], keys: list[str]) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=name,
        passed=not errors,
        metadata={
            **checked_images(keys),
            "errors": MetadataValue.int(len(errors)),
            **({"first_errors": MetadataValue.text("\n".join(errors[:10]))} if errors else {}),
        },
    )


@asset(
    partitions_def=image_partitions,
    group_name="analysis",
    deps=[vulnerabilities, filtered_sbom, first_party_imports, image],
    check_specs=CHECKS,
    kinds={"openvex", "cyclonedx"},
)
def vex_document(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """The VEX for the image: one statement per (vulnerability, component), with the evidence behind it."""
    keys = context.partition_keys  # one image, or a range of them when a fleet is re-evaluated
    problems: dict[str, dict[str, list[str]]] = {"openvex_schema_valid": {}, "cyclonedx_schema_valid": {}}
    uncovered: dict[str, list[str]] = {}
    totals = Counter()
    for key in keys:
        metadata, openvex_problems, cyclonedx_problems, missing, counts = _vex_for(context, evidence, key)
        context.add_asset_metadata(metadata, partition_key=key)
        problems["openvex_schema_valid"][key], problems["cyclonedx_schema_valid"][key] = openvex_problems, cyclonedx_problems
        uncovered[key] = missing
        totals.update(counts)
    prefix = (lambda key: f"{key}: ") if len(keys) > 1 else (lambda key: "")
    return MaterializeResult(
        metadata={"images_in_run": MetadataValue.int(len(keys))},
        data_version=recorded_version(metadata, VEX_STATEMENTS) if len(keys) == 1 else None,
        check_results=[
            *(
                _errors_result(name, [prefix(key) + error for key, errors in by_key.items() for error in errors], keys)
                for name, by_key in problems.items()
            ),
            AssetCheckResult(
                check_name="one_statement_per_vulnerability",
                passed=not any(uncovered.values()),
                metadata={
                    **checked_images(keys),
                    "matches": MetadataValue.int(totals["matches"]),
                    "statements": MetadataValue.int(totals["statements"]),
                    **(
                        {
                            "uncovered": MetadataValue.text(
                                "\n".join(prefix(k) + u for k, us in uncovered.items() for u in us)[:4000]
                            )
                        }
                        if any(uncovered.values())
                        else {}
                    ),
                },
            ),
        ],
    )


def _evidence_source(usage: UsageReport | None, imports: ImportEvidence | None, run_imports: RunImports | None):
    if usage is None:
        return NoRuntimeEvidence()
    if imports is None or run_imports is None:
        return ProfileEvidence(usage)
    return ProfileEvidence(usage, run_imports.imported_by, run_imports.checked, run_imports.note, run_imports.dynamic_loads)


def _provenance(context: AssetExecutionContext, evidence: EvidenceStore, key: str, snapshot: str, observed: bool) -> Provenance:
    """The inputs this run's VEX is derived from, each named by its stored file and that file's SHA-256."""
    sbom_bytes = evidence.find(context, CYCLONEDX_SBOM, key)
    sbom = (
        SbomIdentity.from_cyclonedx(CYCLONEDX_SBOM.name, hashlib.sha256(sbom_bytes).hexdigest(), json.loads(sbom_bytes))
        if sbom_bytes is not None
        else None
    )
    profile = consumed_materialization(context.instance, context.run.run_id, EXECUTION_PROFILE.asset, key) if observed else None
    profile_sha256 = recorded_sha256(profile, EXECUTION_PROFILE) if profile is not None else None
    return Provenance(
        advisory_snapshot=snapshot,
        sbom=sbom,
        profile_name=EXECUTION_PROFILE.name if profile_sha256 else None,
        profile_sha256=profile_sha256,
        author=vex_author(),
    )


def _vex_for(context: AssetExecutionContext, evidence: EvidenceStore, key: str):
    """Build and store one image's VEX: (metadata, OpenVEX errors, CycloneDX errors, uncovered matches, counts)."""
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE, key))
    matched = evidence.read_json(context, VULNERABILITIES, key)
    matches = [VulnerabilityMatch.from_dict(m) for m in matched["matches"]]
    usage_document = evidence.find_json(context, COMPONENT_USAGE, key)
    usage = UsageReport.from_dict(usage_document) if usage_document is not None else None
    imports_document = evidence.find_json(context, IMPORT_EVIDENCE, key)
    imports = ImportEvidence.from_dict(imports_document) if imports_document is not None else None
    run_imports = against_run(imports, usage) if imports and usage else None
    statements = build_statements(matches, _evidence_source(usage, imports, run_imports))
    if run_imports is not None:
        # The same list on `execution_profile`: the paths its observation did not reach.
        context.log_event(
            AssetObservation(
                asset_key="execution_profile",
                partition=key,
                metadata={
                    "imported_not_loaded": MetadataValue.int(len(run_imports.not_loaded)),
                    "imported_not_loaded_table": not_loaded_table(run_imports.not_loaded),
                },
            )
        )
    profile = evidence.find_json(context, EXECUTION_PROFILE, key) or {}
    configured = (profile.get("analysis_config") or {}).get("hash")  # the configuration the image ran with
    provenance = _provenance(context, evidence, key, matched["vulnerability_db"], usage is not None)

    stored = [evidence.write_json(context, VEX_STATEMENTS, [s.to_dict() for s in statements], key)]
    if statements:
        # The VEX this organization published before this one: the image's partition is shared by every
        # organization analyzing it, and another's document (times, version, inputs) is never carried on.
        previous = evidence.latest_json(context, OPENVEX, key, own=True)
        openvex = render_openvex(resolved, statements, previous=previous, config_hash=configured, provenance=provenance)
        openvex_problems = openvex_errors(openvex)
        stored.append(evidence.write_json(context, OPENVEX, openvex, key))
        openvex_version = openvex["version"]
    else:
        # OpenVEX requires at least one statement: with nothing matched there is nothing to publish.
        openvex, openvex_problems, openvex_version = None, [], 0
    cyclonedx = render_cyclonedx_vex(
        resolved, statements, config_hash=configured, provenance=provenance, statement_times=statement_times(openvex)
    )
    stored.append(evidence.write(context, CYCLONEDX_VEX, cyclonedx.encode(), key))
    audit_stored, audit_metadata = write_audit(context, evidence, key, stored, matched["vulnerability_db"])

    statement_keys = Counter((s.vulnerability, s.component_purl) for s in statements)
    uncovered = sorted({f"{m.advisory_id} on {m.purl}" for m in matches if statement_keys.get(m.key) != 1})
    by_status = Counter(s.status.value for s in statements)
    by_confidence = Counter(s.confidence for s in statements)
    imported_not_loaded = sum(1 for s in statements if s.confidence_reason == Reason.IMPORTED_NOT_LOADED.value)
    dynamic_not_loaded = sum(1 for s in statements if s.confidence_reason == Reason.DYNAMIC_IMPORT_NOT_LOADED.value)
    # a loose file the run loaded can leave the imports unchecked: the run's verdict once there is one
    imports_checked = run_imports.checked if run_imports else bool(imports and imports.checked)
    imports_note = run_imports.note if run_imports else imports.note if imports else "not analyzed"
    shown = (Status.AFFECTED, Status.NOT_AFFECTED, Status.UNDER_INVESTIGATION, Status.FIXED)
    metadata = {  # the outcome first: the UI lists metadata in this order
        "outcome": MetadataValue.text(" · ".join(f"{by_status.get(status.value, 0)} {status.value}" for status in shown)),
        **{f"status_{status.value}": MetadataValue.int(by_status.get(status.value, 0)) for status in shown},
        "statements": MetadataValue.int(len(statements)),
        **{f"confidence_{level}": MetadataValue.int(by_confidence.get(level, 0)) for level in ("high", "medium", "low")},
        "statements_imported_not_loaded": MetadataValue.int(imported_not_loaded),
        "components_imported_not_loaded": MetadataValue.int(len(run_imports.not_loaded) if run_imports else 0),
        "statements_dynamic_import_not_loaded": MetadataValue.int(dynamic_not_loaded),
        "components_dynamic_import_not_loaded": MetadataValue.int(len(run_imports.dynamic_loads) if run_imports else 0),
        "imports_checked": "yes" if imports_checked else f"no: {imports_note}",
        **({"dynamic_loads": dynamic_loads_table(run_imports.dynamic)} if run_imports and run_imports.dynamic else {}),
        **({"imported_not_loaded": not_loaded_table(run_imports.not_loaded)} if run_imports and run_imports.not_loaded else {}),
        "openvex_version": MetadataValue.int(openvex_version),
        "vulnerability_db_version": matched["vulnerability_db"],
        "sbom_sha256": provenance.sbom.sha256 if provenance.sbom else "none",
        "profile_digest": usage.profile_digest if usage else "none (no runtime evidence)",
        "analysis_config_hash": configured or "default (the image as it says to run)",
        "vex_author": provenance.author,
        "vexxy_version": provenance.version,
        "statements_table": md_table(
            ["vulnerability", "component", "status", "confidence", "why"],
            [
                (s.vulnerability, s.component_purl, s.status.value, label(s.confidence, s.confidence_reason), s.status_notes)
                for s in statements
            ],
        ),
        **audit_metadata,
        **{k: v for obj in [*stored, *audit_stored] for k, v in obj.metadata().items()},
    }
    counts = {"matches": len(matches), "statements": len(statements)}
    return metadata, openvex_problems, cyclonedx_errors(cyclonedx), uncovered, counts
