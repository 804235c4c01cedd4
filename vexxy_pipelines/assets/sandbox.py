"""One sandbox session, two assets: the execution profile and (when a scanner drives it) fuzz findings."""

import json

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, FUZZ_FINDINGS_SARIF, IMAGE, ROOTFS_SYMLINKS
from vexxy.fuzzing.coverage import coverage_gain
from vexxy.fuzzing.drive import drive
from vexxy.fuzzing.findings import FuzzReport
from vexxy.fuzzing.sarif import sarif_errors, to_sarif
from vexxy.oci.image import ResolvedImage
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.fuzzer import FuzzerResource
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.resources.sandbox import SandboxResource
from vexxy_pipelines.step_resources import SANDBOX_STEP


@multi_asset(
    specs=[
        AssetSpec(
            "execution_profile",
            deps=[image],
            group_name="runtime",
            kinds={"runc"},
            description="What the workload really executed and opened, observed in the sandbox.",
        ),
        AssetSpec(
            "fuzz_findings",
            deps=[image],
            group_name="runtime",
            description="Findings of the web scanner that drove the workload.",
        ),
    ],
    check_specs=[
        AssetCheckSpec("sarif_schema_valid", asset="fuzz_findings", description="The SARIF export validates against SARIF 2.1.0.")
    ],
    partitions_def=image_partitions,
    op_tags={"dagster/concurrency_key": "sandbox", **SANDBOX_STEP},
)
def sandbox_session(
    context: AssetExecutionContext,
    sandbox: SandboxResource,
    fuzzer: FuzzerResource,
    registry: RegistryResource,
    evidence: EvidenceStore,
):
    """Run the image in the sandbox once, observing it while a web scanner drives it.

    It needs only the image, so it runs while Syft inventories the same image; which packages
    the observed files belong to is worked out downstream, in `filtered_sbom`.
    """
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE))
    fuzzing: dict[str, FuzzReport] = {}
    tags = context.run.tags if context.run else {}  # per-analysis choices a submission made within its tier
    observation = int(tags[run_tags.OBSERVATION_SECONDS]) if tags.get(run_tags.OBSERVATION_SECONDS, "").isdigit() else None
    fuzz = tags.get(run_tags.FUZZING, "true") != "false"

    def drive_workload(workload) -> None:
        fuzzing["report"] = drive(workload, fuzzer.scan, fuzzer.idle_seconds, fuzzer.budget_seconds, log=context.log.info)

    with fail_clearly(context.partition_key):
        run = sandbox.run(
            resolved, registry, log=context.log.info, during=drive_workload if fuzz else None, observation_seconds=observation
        )
    if not fuzz:
        fuzzing["report"] = FuzzReport.skipped("fuzzing was not requested for this analysis", tool=fuzzer.tool)
    for note in run.notes:
        context.log.warning(note)
    profile = run.profile
    stored = evidence.write_json(context, EXECUTION_PROFILE, profile)
    stored_symlinks = evidence.write_json(context, ROOTFS_SYMLINKS, run.symlinks)
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
            "outbound_attempts": MetadataValue.int(len(profile["outbound_attempts"])),
            "profile_digest": profile["digest"],
            "top_executed": md_table(
                ["program", "args", "count"],
                [(e["path"], " ".join(e["args"]), profile["observations"]["execs"][e["path"]]["count"]) for e in execs],
                limit=10,
            ),
            **(
                {"resource_events": MetadataValue.text("\n".join(profile["resource_events"]))}
                if profile["resource_events"]
                else {}
            ),
            **(
                {
                    "blocked_connections": md_table(
                        ["address", "protocol", "port", "packets"],
                        [(a["address"], a["protocol"], a["port"], a["packets"]) for a in profile["outbound_attempts"]],
                    )
                }
                if profile["outbound_attempts"]
                else {}
            ),
            **stored.metadata(),
            **stored_symlinks.metadata(),
        },
    )
    report = fuzzing.get("report") or FuzzReport.skipped(
        f"the workload never became ready ({readiness['outcome']})", tool=fuzzer.tool
    )
    if report.status in ("failed", "partial"):
        context.log.warning(f"Web scan {report.status}: {report.reason}")
    gain = coverage_gain(profile)
    sarif = to_sarif(report)
    problems = sarif_errors(sarif)
    stored_findings = evidence.write_json(context, FUZZ_FINDINGS, {**report.to_dict(), "coverage": gain.to_dict()})
    stored_sarif = evidence.write(context, FUZZ_FINDINGS_SARIF, json.dumps(sarif, indent=2).encode())
    yield MaterializeResult(
        asset_key="fuzz_findings",
        metadata={
            "status": report.headline(),
            "tool": f"{report.tool} {report.tool_version}".strip() or "none",
            "findings": MetadataValue.int(len(report.findings)),
            **{f"risk_{risk}": MetadataValue.int(count) for risk, count in report.by_risk().items()},
            "files_first_seen_while_fuzzing": MetadataValue.int(gain.files_first_seen_fuzzing),
            "files_seen_while_idle": MetadataValue.int(gain.files_idle),
            "file_coverage_gain_percent": MetadataValue.float(gain.file_gain_percent),
            "out_of_scope_findings_dropped": MetadataValue.int(report.out_of_scope_dropped),
            **route_coverage_metadata(report),
            "top_findings": md_table(
                ["risk", "finding", "CWE", "method", "url", "parameter"],
                [
                    (f.risk, f.name, f"CWE-{f.cwe}" if f.cwe else "—", f.method, f.url, f.parameter)
                    for f in sorted(report.findings, key=lambda f: ("high", "medium", "low", "info").index(f.risk))
                ],
                limit=15,
            ),
            **stored_findings.metadata(),
            **stored_sarif.metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="sarif_schema_valid",
                asset_key="fuzz_findings",
                passed=not problems,
                metadata={
                    "errors": MetadataValue.int(len(problems)),
                    **({"first_errors": MetadataValue.text("\n".join(problems[:5]))} if problems else {}),
                },
            )
        ],
    )


def route_coverage_metadata(report: FuzzReport) -> dict:
    """Routes the workload declares (by source), how many were exercised, and those not reached."""
    coverage = report.route_coverage
    if coverage is None:
        return {}
    summary = coverage.to_dict()
    return {
        "routes_declared": MetadataValue.int(coverage.declared_total),
        **{f"routes_declared_{source}": MetadataValue.int(count) for source, count in summary["declared"].items()},
        "routes_exercised": MetadataValue.int(len(coverage.exercised)),
        "openapi_document": coverage.document or "none found",
        "routes_not_reached": MetadataValue.text("\n".join(coverage.not_reached) or "none"),
        "declared_routes": md_table(
            ["method", "path", "declared by", "outcome"],
            [(r["method"], r["path"], ", ".join(r["sources"]), r["outcome"]) for r in summary["routes"]],
            limit=20,
        ),
        **({"declared_routes_dropped": MetadataValue.text("\n".join(coverage.dropped[:20]))} if coverage.dropped else {}),
    }
