"""The `filtered_sbom` asset: the SBOM components whose files the workload actually loaded."""

import dataclasses
import hashlib
import json

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.evidence.documents import (
    COMPONENT_USAGE,
    CYCLONEDX_SBOM,
    EXECUTION_PROFILE,
    FILTERED_SBOM,
    IMAGE_CODE,
    ROOTFS_SYMLINKS,
    SYFT_SBOM,
)
from vexxy.evidence.filtered_sbom import filter_cyclonedx, missing_from_full
from vexxy.evidence.mapping import LOADED, NOT_LOADED, UNKNOWN, map_profile
from vexxy.fuzzing.coverage import package_coverage_gain
from vexxy.oci.layers.identity import CodeIdentity
from vexxy.sandbox.roles import restricted, role_names
from vexxy.sbom.components import components_from_syft
from vexxy.vex.validation import cyclonedx_errors
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.checks import checked_images, image_check
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.versions import content_version


def _by_content(usage) -> bool:
    """Whether a component was loaded through a copy of its files (a path its package does not list)."""
    return any(" (same content as " in loaded for loaded in usage.files_loaded)


@asset(
    partitions_def=image_partitions,
    group_name="runtime",
    deps=[sbom, "execution_profile", "first_party_imports"],
    kinds={"cyclonedx"},
    check_specs=[
        image_check(
            "subset_of_sbom", asset="filtered_sbom", description="Every component of the filtered SBOM is in the full SBOM."
        ),
        image_check(
            "cyclonedx_schema_valid", asset="filtered_sbom", description="The filtered SBOM validates against CycloneDX 1.6."
        ),
    ],
)
def filtered_sbom(context: AssetExecutionContext, evidence: EvidenceStore) -> MaterializeResult:
    """The SBOM cut down to components with at least one file loaded at runtime, with that evidence."""
    profile_bytes = evidence.read(context, EXECUTION_PROFILE)
    profile = json.loads(profile_bytes)
    components, symlinks = (
        components_from_syft(evidence.read_json(context, SYFT_SBOM)),
        evidence.read_json(context, ROOTFS_SYMLINKS),
    )
    code = evidence.read_json(context, IMAGE_CODE)
    image_code = {path: CodeIdentity.from_dict(found) for path, found in code["files"].items()}
    usage = map_profile(components, profile, symlinks, image_code)
    # Statements cite the profile by the SHA-256 of execution_profile.json itself: `sha256sum` recomputes it.
    usage = dataclasses.replace(usage, profile_digest="sha256:" + hashlib.sha256(profile_bytes).hexdigest())
    by_role = {  # which role loaded which package, when the analysis ran more than one
        role: sorted(
            c.purl for c in map_profile(components, restricted(profile, role), symlinks, image_code).components if c.files_loaded
        )
        for role in (role_names(profile) if len(role_names(profile)) > 1 else [])
    }
    per_package = sorted((u for u in usage.components if u.files_loaded), key=lambda u: -len(u.files_loaded))
    fuzzing_gain = package_coverage_gain(usage)
    full = evidence.read_json(context, CYCLONEDX_SBOM)
    filtered = filter_cyclonedx(full, usage)
    text = json.dumps(filtered, indent=2)
    stored = evidence.write(context, FILTERED_SBOM, text.encode())
    usage_stored = evidence.write_json(
        context,
        COMPONENT_USAGE,
        {**usage.to_dict(), "fuzzing": fuzzing_gain.to_dict(), **({"packages_loaded_by_role": by_role} if by_role else {})},
    )
    counts = {status: sum(1 for c in usage.components if c.status == status) for status in (LOADED, NOT_LOADED, UNKNOWN)}
    missing = missing_from_full(filtered, full)
    schema_errors = cyclonedx_errors(text)
    return MaterializeResult(
        data_version=content_version(stored),
        metadata={
            "components_kept": MetadataValue.int(len(filtered["components"])),
            "components_in_sbom": MetadataValue.int(len(full.get("components", []))),
            "components_loaded": MetadataValue.int(counts[LOADED]),
            "components_not_loaded": MetadataValue.int(counts[NOT_LOADED]),
            "components_unknown": MetadataValue.int(counts[UNKNOWN]),
            "files_not_owned_by_any_package": MetadataValue.int(len(usage.unowned_paths)),
            "packages_loaded_by_content": MetadataValue.int(
                sum(1 for c in usage.components if any(" (same content as " in f for f in c.files_loaded))
            ),
            "packages_looked_like": MetadataValue.int(sum(1 for c in usage.components if c.lookalikes)),
            "unattributed_code_loaded": MetadataValue.int(len(usage.unattributed)),
            **({"unattributed": MetadataValue.text("\n".join(usage.unattributed[:20]))} if usage.unattributed else {}),
            "packages_first_loaded_while_fuzzing": MetadataValue.int(len(fuzzing_gain.packages_first_loaded_fuzzing)),
            "profile_complete": profile["complete"],
            "profile_digest": usage.profile_digest,
            "loaded": md_table(
                ["component", "files loaded", "first seen (s)"],
                [
                    (c.purl, f"{len(c.files_loaded)}/{c.files_known}", c.first_seen)
                    for c in usage.components
                    if c.status == LOADED
                ],
            ),
            "files_per_package": md_table(
                ["package", "files loaded", "of", "shared objects"],
                [(u.purl, len(u.files_loaded), u.files_known, u.shared_objects_loaded) for u in per_package],
                limit=20,
            ),
            **{f"packages_loaded_{role}": MetadataValue.int(len(purls)) for role, purls in by_role.items()},
            **(
                {"packages_by_role": md_table(["role", "packages loaded"], [(r, ", ".join(p)) for r, p in by_role.items()])}
                if by_role
                else {}
            ),
            **stored.metadata(),
            **usage_stored.metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="subset_of_sbom",
                passed=not missing,
                metadata={"missing": MetadataValue.int(len(missing)), **checked_images([context.partition_key])},
            ),
            AssetCheckResult(
                check_name="cyclonedx_schema_valid",
                passed=not schema_errors,
                metadata={
                    "errors": MetadataValue.int(len(schema_errors)),
                    **({"first_errors": MetadataValue.text("\n".join(schema_errors[:5]))} if schema_errors else {}),
                    **checked_images([context.partition_key]),
                },
            ),
        ],
    )
