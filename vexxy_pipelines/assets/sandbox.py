"""One sandbox session, two assets: the execution profile and (when a scanner drives it) fuzz findings."""

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from vexxy.evidence.mapping import map_profile
from vexxy.oci.image import ResolvedImage
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.image import IMAGE_JSON, image
from vexxy_pipelines.assets.sbom import SYFT_JSON, sbom
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import digest_hex, image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.resources.sandbox import SandboxResource

PROFILE_JSON = "execution_profile.json"
SYMLINKS_JSON = "rootfs.symlinks.json"
FUZZ_FINDINGS_JSON = "fuzz_findings.json"


@multi_asset(
    specs=[
        AssetSpec(
            "execution_profile", deps=[image, sbom], group_name="runtime", kinds={"runc"},
            description="What the workload really executed and opened, observed in the sandbox.",
        ),
        AssetSpec("fuzz_findings", deps=[image], group_name="runtime", description="Findings of the web scanner that drove the workload."),
    ],
    partitions_def=image_partitions,
    op_tags={"dagster/concurrency_key": "sandbox"},
)
def sandbox_session(context: AssetExecutionContext, sandbox: SandboxResource, registry: RegistryResource, evidence: EvidenceStore):
    """Run the image in the sandbox once, observing it (and letting a scanner drive it)."""
    scope = digest_hex(context.partition_key)
    resolved = ResolvedImage.from_dict(evidence.get_json(scope, IMAGE_JSON))
    with fail_clearly(context.partition_key):
        run = sandbox.run(resolved, registry, log=context.log.info)
    for note in run.notes:
        context.log.warning(note)
    profile = run.profile
    stored = evidence.put_json(scope, PROFILE_JSON, profile)
    evidence.put_json(scope, SYMLINKS_JSON, run.symlinks)
    usage = map_profile(components_from_syft(evidence.get_json(scope, SYFT_JSON)), profile, run.symlinks)
    per_package = sorted((u for u in usage.components if u.files_loaded), key=lambda u: -len(u.files_loaded))
    execs = sorted(profile["container"]["execs"], key=lambda e: -profile["observations"]["execs"][e["path"]]["count"])
    readiness, window = profile["readiness"], profile["window"]
    yield MaterializeResult(
        asset_key="execution_profile",
        metadata={
            "completion": profile["annotations"]["kubescape.io/completion"],
            "incomplete_reason": profile["incomplete_reason"] or "—",
            "readiness": f"{readiness['outcome']}: {readiness['detail']}",
            "window": f"{window['observed_seconds']} s of {window['configured_seconds']} s, ended by {window['ended_by']}",
            "files_opened": MetadataValue.int(len(profile["container"]["opens"])),
            "programs_executed": MetadataValue.int(len(execs)),
            "packages_loaded": MetadataValue.int(len(per_package)),
            "outbound_attempts": MetadataValue.int(len(profile["outbound_attempts"])),
            "profile_digest": profile["digest"],
            "top_executed": md_table(["program", "args", "count"], [(e["path"], " ".join(e["args"]), profile["observations"]["execs"][e["path"]]["count"]) for e in execs], limit=10),
            "files_per_package": md_table(["package", "files loaded", "of", "shared objects"], [(u.purl, len(u.files_loaded), u.files_known, u.shared_objects_loaded) for u in per_package], limit=20),
            **({"resource_events": MetadataValue.text("\n".join(profile["resource_events"]))} if profile["resource_events"] else {}),
            **({"blocked_connections": md_table(["address", "protocol", "port", "packets"], [(a["address"], a["protocol"], a["port"], a["packets"]) for a in profile["outbound_attempts"]])} if profile["outbound_attempts"] else {}),
            **stored.metadata("profile"),
        },
    )
    findings = evidence.put_json(scope, FUZZ_FINDINGS_JSON, {"status": "skipped", "reason": "no web scanner is configured", "findings": []})
    yield MaterializeResult(
        asset_key="fuzz_findings",
        metadata={"status": "skipped: no web scanner is configured", "findings": MetadataValue.int(0), **findings.metadata("findings")},
    )

