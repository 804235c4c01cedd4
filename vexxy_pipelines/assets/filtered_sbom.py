"""The `filtered_sbom` asset: the SBOM components whose files the workload actually loaded."""

import json

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.evidence.filtered_sbom import filter_cyclonedx, missing_from_full
from vexxy.evidence.mapping import LOADED, NOT_LOADED, UNKNOWN, map_profile
from vexxy.sbom.components import components_from_syft
from vexxy.vex.validation import cyclonedx_errors
from vexxy_pipelines.assets.sandbox import PROFILE_JSON, SYMLINKS_JSON
from vexxy_pipelines.assets.sbom import CYCLONEDX_JSON, SYFT_JSON, sbom
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import digest_hex, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore

FILTERED_CYCLONEDX_JSON = "sbom.filtered.cdx.json"
USAGE_JSON = "component_usage.json"


@asset(
    partitions_def=image_partitions,
    group_name="runtime",
    deps=[sbom, "execution_profile"],
    kinds={"cyclonedx"},
    check_specs=[
        AssetCheckSpec(
            "subset_of_sbom", asset="filtered_sbom", description="Every component of the filtered SBOM is in the full SBOM."
        ),
        AssetCheckSpec(
            "cyclonedx_schema_valid", asset="filtered_sbom", description="The filtered SBOM validates against CycloneDX 1.6."
        ),
    ],
)
def filtered_sbom(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """The SBOM cut down to components with at least one file loaded at runtime, with that evidence."""
    scope = digest_hex(context.partition_key)
    profile = evidence.get_json(scope, PROFILE_JSON)
    usage = map_profile(
        components_from_syft(evidence.get_json(scope, SYFT_JSON)), profile, evidence.get_json(scope, SYMLINKS_JSON)
    )
    full = evidence.get_json(scope, CYCLONEDX_JSON)
    filtered = filter_cyclonedx(full, usage)
    text = json.dumps(filtered, indent=2)
    stored = evidence.put(scope, FILTERED_CYCLONEDX_JSON, text.encode())
    usage_stored = evidence.put_json(scope, USAGE_JSON, usage.to_dict())
    counts = {status: sum(1 for c in usage.components if c.status == status) for status in (LOADED, NOT_LOADED, UNKNOWN)}
    missing = missing_from_full(filtered, full)
    schema_errors = cyclonedx_errors(text)
    return MaterializeResult(
        metadata={
            "components_kept": MetadataValue.int(len(filtered["components"])),
            "components_in_sbom": MetadataValue.int(len(full.get("components", []))),
            "components_loaded": MetadataValue.int(counts[LOADED]),
            "components_not_loaded": MetadataValue.int(counts[NOT_LOADED]),
            "components_unknown": MetadataValue.int(counts[UNKNOWN]),
            "files_not_owned_by_any_package": MetadataValue.int(len(usage.unowned_paths)),
            "profile_complete": profile["complete"],
            "profile_digest": profile["digest"],
            "loaded": md_table(
                ["component", "files loaded", "first seen (s)"],
                [
                    (c.purl, f"{len(c.files_loaded)}/{c.files_known}", c.first_seen)
                    for c in usage.components
                    if c.status == LOADED
                ],
            ),
            **stored.metadata("filtered_sbom"),
            **usage_stored.metadata("usage"),
        },
        check_results=[
            AssetCheckResult(
                check_name="subset_of_sbom", passed=not missing, metadata={"missing": MetadataValue.int(len(missing))}
            ),
            AssetCheckResult(
                check_name="cyclonedx_schema_valid",
                passed=not schema_errors,
                metadata={
                    "errors": MetadataValue.int(len(schema_errors)),
                    **({"first_errors": MetadataValue.text("\n".join(schema_errors[:5]))} if schema_errors else {}),
                },
            ),
        ],
    )
