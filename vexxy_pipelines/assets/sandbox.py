"""One sandbox session, two assets: the execution profile and (when a scanner drives it) fuzz findings."""

import json

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pydantic import Field

from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, FUZZ_FINDINGS_SARIF, IMAGE, ROOTFS_SYMLINKS
from vexxy.fuzzing.coverage import coverage_gain
from vexxy.fuzzing.drive import drive
from vexxy.fuzzing.findings import FuzzReport
from vexxy.fuzzing.sarif import sarif_errors, to_sarif
from vexxy.oci.image import ResolvedImage
from vexxy.sandbox.launch import DEFAULT_ROLE
from vexxy.sandbox.redaction import redact
from vexxy.sandbox.roles import merge as merge_roles
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.checks import checked_images, image_check
from vexxy_pipelines.configured_analysis import configured_analysis
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.fuzzer import FuzzerResource
from vexxy_pipelines.resources.registry import RegistryResource, for_run
from vexxy_pipelines.resources.sandbox import SandboxResource, SandboxRun
from vexxy_pipelines.step_resources import SANDBOX_STEP
from vexxy_pipelines.versions import content_version


class AnalysisRunConfig(Config):
    """The analysis configuration's public form (JSON; secret values are digests, read encrypted from the app database)."""

    analysis_config: str = Field(default="", description="JSON: env, command, args, working_dir, ports, readiness, roles")


def analysis_run_config(public: dict | None) -> dict:
    """The run config carrying a configuration's public form to the sandbox step ({} for the default)."""
    if not public:
        return {}
    return {"ops": {"sandbox_session": {"config": {"analysis_config": json.dumps(public, sort_keys=True)}}}}


def redacting(log, secrets: tuple[str, ...]):
    return (lambda message: log(redact(message, secrets))) if secrets else log


def role_metadata(profile: dict) -> dict:
    """Per-role counts, when the analysis observed more than one role."""
    roles = profile.get("roles", [])
    if len(roles) < 2:
        return {}
    return {
        "roles": md_table(
            ["role", "completion", "readiness", "files opened", "programs executed", "window"],
            [
                (
                    r["name"],
                    "complete" if r["complete"] else f"partial: {r['incomplete_reason']}",
                    r["readiness"],
                    r["files_opened"],
                    r["programs_executed"],
                    f"{r['observed_seconds']} s, ended by {r['ended_by']}",
                )
                for r in roles
            ],
        ),
        **{f"files_opened_{r['name']}": MetadataValue.int(r["files_opened"]) for r in roles},
    }


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
        image_check("sarif_schema_valid", asset="fuzz_findings", description="The SARIF export validates against SARIF 2.1.0.")
    ],
    partitions_def=image_partitions,
    op_tags={"dagster/concurrency_key": "sandbox", **SANDBOX_STEP},
)
def sandbox_session(
    context: AssetExecutionContext,
    config: AnalysisRunConfig,
    app_db: AppDatabaseResource,
    sandbox: SandboxResource,
    fuzzer: FuzzerResource,
    registry: RegistryResource,
    evidence: EvidenceStore,
):
    """Run the image in the sandbox once, observing it while a web scanner drives it.

    It needs only the image, so it runs while Syft inventories the same image; which packages
    the observed files belong to is worked out downstream, in `filtered_sbom`. With an analysis
    configuration, each of its roles runs in turn and the profile is their union.
    """
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE))
    fuzzing: dict[str, FuzzReport] = {}
    tags = context.run.tags if context.run else {}  # per-analysis choices a submission made within its tier
    observation = int(tags[run_tags.OBSERVATION_SECONDS]) if tags.get(run_tags.OBSERVATION_SECONDS, "").isdigit() else None
    fuzz = tags.get(run_tags.FUZZING, "true") != "false"
    with fail_clearly(context.partition_key):
        configured = configured_analysis(config.analysis_config, tags.get(run_tags.SECRETS), app_db)
    secrets = configured.secret_values if configured else ()
    fuzz = fuzz and not (configured and configured.public.get("fuzzing") is False)
    log = redacting(context.log.info, secrets)
    scan = configured.public.get("scan", {}) if configured else {}  # the configuration's seeds for the fuzzer

    def drive_workload(workload) -> None:
        report = drive(
            workload,
            fuzzer.scan,
            fuzzer.idle_seconds,
            fuzzer.budget_seconds,
            log=log,
            seeds=list(scan.get("urls", [])) or None,
            openapi_path=scan.get("openapi_path"),
        )
        if "report" not in fuzzing or fuzzing["report"].status == "skipped":
            fuzzing["report"] = report

    runs: list[tuple[str, SandboxRun]] = []
    launches = configured.launches if configured else [None]
    try:
        with fail_clearly(context.partition_key):
            for launch in launches:
                if launch is not None and len(launches) > 1:
                    log(f"Role {launch.role}: starting")
                run = sandbox.run(
                    resolved,
                    for_run(registry, context),
                    log=log,
                    during=drive_workload if fuzz else None,
                    observation_seconds=(launch.observation_seconds if launch else None) or observation,
                    launch=launch,
                )
                runs.append((launch.role if launch else DEFAULT_ROLE, run))
    except Failure as failure:
        raise Failure(description=redact(failure.description, secrets), metadata=failure.metadata) from None
    if not fuzz:
        fuzzing["report"] = FuzzReport.skipped("fuzzing was not requested for this analysis", tool=fuzzer.tool)
    for note in sorted({note for _, run in runs for note in run.notes}):
        context.log.warning(redact(note, secrets))
    run = runs[0][1]
    provenance = {"hash": configured.hash, "public": configured.public} if configured else None
    profile = redact(merge_roles([(role, r.profile) for role, r in runs], provenance), secrets)
    if "report" in fuzzing:
        fuzzing["report"] = redact(fuzzing["report"], secrets)
    stored = evidence.write_json(context, EXECUTION_PROFILE, profile)
    stored_symlinks = evidence.write_json(context, ROOTFS_SYMLINKS, run.symlinks)
    execs = sorted(profile["container"]["execs"], key=lambda e: -profile["observations"]["execs"][e["path"]]["count"])
    readiness, window = profile["readiness"], profile["window"]
    yield MaterializeResult(
        asset_key="execution_profile",
        data_version=content_version(stored),
        metadata={
            "completion": profile["annotations"]["kubescape.io/completion"],
            "incomplete_reason": profile["incomplete_reason"] or "—",
            "readiness": f"{readiness['outcome']}: {readiness['detail']}",
            "window": f"{window['observed_seconds']} s of {window['configured_seconds']} s, ended by {window['ended_by']}",
            "files_opened": MetadataValue.int(len(profile["container"]["opens"])),
            "programs_executed": MetadataValue.int(len(execs)),
            "outbound_attempts": MetadataValue.int(len(profile["outbound_attempts"])),
            "profile_digest": profile["digest"],
            **role_metadata(profile),
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
        data_version=content_version(stored_findings),
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
                    **checked_images([context.partition_key]),
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
