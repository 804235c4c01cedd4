"""Jobs an operator launches from the Launchpad with a typed config: analyze an image by reference, and
remove a partition that names no image.

`analyze_reference` does what `POST /api/v1/analyses` does (the registry judged against
`VEXXY_ALLOWED_REGISTRIES`, the tier's limits, quota reserved, a queued submission) and also adds
the image's partition at once, so it is in the UI's partition list before the analysis starts;
`submission_sensor` then starts `analyze_image` exactly as for a customer's submission (priority,
concurrency, billing).
"""

from dagster import Config, Failure, MetadataValue, OpExecutionContext, RunConfig, in_process_executor, job, op
from pydantic import Field
from sqlalchemy import select

from appdb.models import Organization
from billing.errors import UnknownOrganization
from submissions.service import SubmissionRequest, submit
from vexxy.config.model import AnalysisConfig, parse
from vexxy.errors import VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.image import Platform
from vexxy.oci.reference import parse_reference
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.partitions import add_image_partition, remove_image_partition
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

EXAMPLE_REFERENCE = "127.0.0.1:5000/vexxy/demo:1.0"  # what `scripts/demo` pushes
EXAMPLE_ORGANIZATION = "name or id of the organization"


class LaunchpadReadiness(Config):
    """The API's `readiness`; left-out fields keep the API's defaults."""

    kind: str | None = Field(default=None, description="tcp (default), http or alive")
    port: int | None = None
    path: str | None = Field(default=None, description="the HTTP path, e.g. /healthz (kind http)")
    expect_status: int | None = None
    timeout_seconds: int | None = None


class LaunchpadScan(Config):
    urls: list[str] | None = Field(default=None, description="paths like /api/items, crawled first")
    openapi_path: str | None = None


class _LaunchpadLaunch(Config):
    """How a workload is started and watched: what a role and the whole configuration both set."""

    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] | None = Field(default=None, description="plain variables, stored and shown as given")
    working_dir: str | None = None
    ports: list[int] | None = None
    readiness: LaunchpadReadiness | None = None
    observation_seconds: int | None = None


class LaunchpadRole(_LaunchpadLaunch):
    """A role as the API takes it, without secret_env (this schema has no place for a secret value)."""

    name: str


class LaunchpadConfiguration(_LaunchpadLaunch):
    """The API's `config` without secret_env: Dagster checks run config against this schema before it stores a
    run, so a secret value is refused at launch instead of kept in clear with the run."""

    fuzzing: bool | None = None
    scan: LaunchpadScan | None = None
    roles: list[LaunchpadRole] | None = None


class AnalyzeReferenceConfig(Config):
    """What to analyze and for whom; the same choices a customer has through the API."""

    reference: str = Field(
        description="Image reference as people write it: registry/repository:tag or registry/repository@sha256:<digest>."
    )
    organization: str = Field(description="Organization (id or exact name) the analysis is for: its quota and its bill.")
    platform: str | None = Field(default=None, description="Platform of a multi-platform image, e.g. linux/arm64.")
    fuzzing: bool = Field(default=True, description="Drive the image's HTTP ports with the web scanner (if the tier has it).")
    observation_seconds: int | None = Field(
        default=None, ge=10, le=3600, description="Observation window; default 60 s or the tier's longest, if shorter."
    )
    priority: int = Field(default=0, ge=0, le=9, description="0-9 within the tier's priority band.")
    configuration: LaunchpadConfiguration | None = Field(
        default=None,
        description="The analysis configuration, as the API's `config` takes it (its JSON is YAML here too), "
        "without secret_env: Dagster keeps run config in clear, so a config naming secret_env is refused at launch.",
    )


def _organization_id(session, wanted: str) -> str:
    found = session.get(Organization, wanted)
    if found is not None:
        return found.id
    named = session.scalars(select(Organization).where(Organization.name == wanted).limit(2)).all()
    if len(named) != 1:
        raise UnknownOrganization(
            f"Organization {wanted!r} is {'not unique' if named else 'not known'}.",
            hint="Give the organization's id (the `organizations` table of the application database).",
        )
    return named[0].id


def _given(value):
    """The fields an operator gave (None is a field left out, so a role inherits it from the top level)."""
    if isinstance(value, dict):
        return {key: _given(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_given(item) for item in value]
    return value


def _configuration(given: LaunchpadConfiguration | None) -> AnalysisConfig | None:
    body = _given(given.model_dump()) if given is not None else {}
    return parse(body) if body else None


@op(description="Resolve the reference, add the image's partition and queue a submission for it.")
def submit_analysis(
    context: OpExecutionContext, config: AnalyzeReferenceConfig, registry: RegistryResource, app_db: AppDatabaseResource
) -> None:
    with fail_clearly(config.reference):
        configuration = _configuration(config.configuration)
        ref = parse_reference(config.reference)
        check_registry(ref.registry, registry.allowed)
        with app_db.sessions()() as session:  # pulled as the organization's own analysis would be
            registry = registry.for_organization(_organization_id(session, config.organization))
        client = registry.client()
        try:
            platform = Platform.parse(config.platform or registry.platform)
            resolved = client.resolve(ref, platform, default=platform)
        finally:
            client.close()
        pinned = parse_reference(resolved.canonical)
        key = add_image_partition(context.instance, pinned, config.reference)
        # The sensor resolves the submission's reference again: a chosen platform is kept by pinning it.
        submitted = config.reference if config.platform is None else resolved.canonical
        with app_db.sessions().begin() as session:
            organization_id = _organization_id(session, config.organization)
            submission = submit(
                session,
                SubmissionRequest(
                    organization_id=organization_id,
                    image_reference=submitted,
                    source="launchpad",
                    submitted_by=f"dagster-run:{context.run_id}",
                    correlation_id=f"launchpad:{context.run_id}",
                    observation_seconds=config.observation_seconds,
                    fuzzing=config.fuzzing,
                    fuzzing_asked=False,  # a Launchpad default: on a tier without fuzzing it is simply off
                    priority=config.priority,
                    config=configuration,
                ),
            )
            submission_id = submission.id
    context.log.info(f"Submission {submission_id} queued for {resolved.canonical} (partition {key}).")
    context.add_output_metadata(
        {
            "partition": key,
            "image": resolved.canonical,
            "manifest_digest": resolved.manifest_digest,
            "submission": submission_id,
            "organization": organization_id,
            "next": MetadataValue.md(f"`submission_sensor` starts `analyze_image` for partition `{key}`."),
        }
    )


@job(
    description="Analyze an image by reference (tag or digest) for an organization, as an API submission would.",
    config=RunConfig(
        ops={"submit_analysis": AnalyzeReferenceConfig(reference=EXAMPLE_REFERENCE, organization=EXAMPLE_ORGANIZATION)}
    ),
    executor_def=in_process_executor,
)
def analyze_reference():
    submit_analysis()


class RemovePartitionConfig(Config):
    key: str = Field(description="The partition key to remove, exactly as the UI lists it.")
    force: bool = Field(default=False, description="Also remove a partition that has analyses (their documents stay).")


@op(description="Remove an image partition: one that names no image, or (with force) any.")
def remove_partition(context: OpExecutionContext, config: RemovePartitionConfig) -> None:
    try:
        message = remove_image_partition(context.instance, config.key, force=config.force)
    except VexxyError as exc:
        raise Failure(description=str(exc), metadata={"what_to_do": exc.hint or ""}, allow_retries=False) from exc
    context.log.info(message)


@job(
    name="remove_image_partition",
    description="Remove an image partition (a key added by hand that names no image content).",
    executor_def=in_process_executor,
)
def remove_image_partition_job():
    remove_partition()
