"""Jobs an operator launches from the Launchpad with a typed config: analyze an image by reference, and
remove a partition that names no image.

`analyze_reference` does what `POST /api/v1/analyses` does (the registry judged against
`VEXXY_ALLOWED_REGISTRIES`, the tier's limits, quota reserved, a queued submission) and also adds
the image's partition at once, so it is in the UI's partition list before the analysis starts;
`submission_sensor` then starts `analyze_image` exactly as for a customer's submission (priority,
concurrency, billing); the two runs name each other in tags (`tags.LAUNCHED_BY`, `tags.ANALYSIS_RUN`).
Its default config is a launch that works as it is: the demo image when the local registry holds it,
the first organization created (both read when the definitions load, from files and the application
database, never from a registry). A user's mistake fails the run with one line, not a traceback.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from dagster import Config, Failure, MetadataValue, OpExecutionContext, in_process_executor, job, op
from pydantic import Field
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from appdb.engine import database_url
from appdb.models import Organization
from billing.errors import UnknownOrganization
from submissions.organizations import first_organization
from submissions.service import SubmissionRequest, submit
from vexxy import settings as library_settings
from vexxy.config.model import AnalysisConfig, parse
from vexxy.demo.images import DEMO
from vexxy.errors import VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.image import Platform
from vexxy.oci.reference import parse_reference
from vexxy_pipelines import settings, tags
from vexxy_pipelines.partitions import add_image_partition, remove_image_partition
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

PLACEHOLDER_REFERENCE = "<registry>/<repository>:<tag>"  # no demo image pushed: say what goes here
PLACEHOLDER_ORGANIZATION = "<organization name or id: `vexxy organization list`>"
DATABASE_TIMEOUT_SECONDS = 3  # the definitions load waits no longer for an organization to name


def demo_reference(registry_root: Path | None = None) -> str | None:
    """The demo image's reference when the local registry (`vexxy demo`, `vexxy demo-image`) holds it: read from the
    registry's files, never asked over the network, so the definitions load stays fast with no registry running."""
    root = registry_root or library_settings.vexxy_home() / "registry"
    tag = root / "data/docker/registry/v2/repositories" / DEMO.repository / "_manifests/tags" / DEMO.tag / "current/link"
    if not tag.is_file():
        return None
    try:  # the address the registry last started on (`--port`), else the configured one
        address = re.search(r"^  addr: (\S+)$", (root / "config.yml").read_text(), re.MULTILINE)
    except OSError:
        address = None
    if address is not None:
        registry = address.group(1)
    else:
        try:
            registry = f"127.0.0.1:{settings.demo_registry_port()}"
        except VexxyError:  # said when the registry is started; the Launchpad shows its placeholder
            return None
    return f"{registry}/{DEMO.repository}:{DEMO.tag}"


def default_organization(url: str | None = None) -> str | None:
    """The name of the first organization created, if the application database answers at once (else None: the
    Launchpad shows a placeholder). A SQLite file that does not exist yet is not created here."""
    try:
        url = database_url(url)
    except OSError:  # the SQLite default's directory cannot be made (a read-only home): nothing to read
        return None
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or not Path(path).is_file():
            return None
        engine = create_engine(url, connect_args={"timeout": DATABASE_TIMEOUT_SECONDS})
    else:
        engine = create_engine(url, connect_args={"connect_timeout": DATABASE_TIMEOUT_SECONDS})
    try:
        with Session(engine) as session:
            return first_organization(session)
    except SQLAlchemyError:  # not reachable, not migrated: no example, not a failed load
        return None
    finally:
        engine.dispose()


def launchpad_defaults(registry_root: Path | None = None, database: str | None = None) -> dict:
    """`analyze_reference`'s default config: a run an operator can launch as it is once the demo image is pushed
    and an organization exists, every field shown (None: the deployment's platform, the tier's window)."""
    return {
        "reference": demo_reference(registry_root) or PLACEHOLDER_REFERENCE,
        "organization": default_organization(database) or PLACEHOLDER_ORGANIZATION,
        "platform": None,
        "fuzzing": True,
        "observation_seconds": None,
        "priority": 0,
    }


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
    """An organization by id or by name (names are unique)."""
    found = session.get(Organization, wanted)
    if found is not None:
        return found.id
    named = session.scalar(select(Organization.id).where(Organization.name == wanted))
    if named is None:
        raise UnknownOrganization(
            f"Organization {wanted!r} is not known.",
            hint="Give an organization's name or id as `vexxy organization list` shows them.",
        )
    return named


@contextmanager
def _refused_as_one_line(subject: str) -> Iterator[None]:
    """A user's mistake fails the run with one line saying what and what to do; the error it came from is not
    chained (its traceback is vexxy's insides, not the operator's business)."""
    try:
        yield
    except VexxyError as exc:
        raise Failure(
            description=" ".join(str(exc).split()),
            metadata={
                "subject": subject,
                "error": MetadataValue.text(exc.__class__.__name__),
                **({"what_to_do": MetadataValue.text(exc.hint)} if exc.hint else {}),
            },
            allow_retries=False,
        ) from None


def analysis_runs_link(run_id: str) -> str:
    """The UI's run list filtered to the runs launched for Launchpad run `run_id`."""
    return "/runs?" + quote("q[0]") + "=" + quote(f"tag:{tags.LAUNCHED_BY}={run_id}", safe="")


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
    with _refused_as_one_line(config.reference):
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
            "next": MetadataValue.md(
                f"`submission_sensor` starts `analyze_image` for partition `{key}`, tagged `{tags.LAUNCHED_BY}` "
                f"with this run's id; this run gets the tag `{tags.ANALYSIS_RUN}` with that run's id."
            ),
            "analysis_runs": MetadataValue.url(analysis_runs_link(context.run_id)),
        }
    )


@job(
    description="Analyze an image by reference (tag or digest) for an organization, as an API submission would.",
    config={"ops": {"submit_analysis": {"config": launchpad_defaults()}}},
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
        raise Failure(description=str(exc), metadata={"what_to_do": exc.hint or ""}, allow_retries=False) from None
    context.log.info(message)


@job(
    name="remove_image_partition",
    description="Remove an image partition (a key added by hand that names no image content).",
    executor_def=in_process_executor,
)
def remove_image_partition_job():
    remove_partition()
