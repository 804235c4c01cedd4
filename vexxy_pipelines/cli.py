"""`vexxy`: analyze an image through Dagster from a terminal, and manage the local demo parts."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vexxy.errors import VexxyError
from vexxy_pipelines.audit_commands import add_commands as add_audit_commands

console = Console(stderr=True, soft_wrap=True)
out = Console()


def _instance():
    """The configured Dagster instance; its PostgreSQL not answering is an error naming the variable, not a traceback."""
    from dagster import DagsterInstance
    from dagster_postgres.utils import DagsterPostgresException
    from sqlalchemy.exc import OperationalError

    from appdb.errors import dagster_storage_unreachable
    from vexxy_pipelines.instance import ensure_dagster_home, postgres_setting

    setting = postgres_setting()  # before ensure_dagster_home copies DATABASE_URL into DAGSTER_PG_URL
    ensure_dagster_home()
    logging.disable(logging.WARNING)  # dagster-postgres logs each connection retry with the driver's whole message
    try:
        return DagsterInstance.get()
    except (DagsterPostgresException, OperationalError) as exc:
        if setting is None:
            raise
        cause = exc.__cause__ if isinstance(exc, DagsterPostgresException) and exc.__cause__ else exc
        reason = str(getattr(cause, "orig", None) or cause)
        raise dagster_storage_unreachable(setting[1], reason, setting[0]) from None
    finally:
        logging.disable(logging.NOTSET)


def _run_job(
    instance,
    job_name: str,
    *,
    partition_key: str | None,
    tags: dict[str, str],
    steps: tuple[str, ...],
    extra_run_config: dict | None = None,
):
    """Execute a job from this process against `instance`, showing step progress; returns the result.

    `analyze_image` runs with its own executor (step processes, `sbom` beside the sandbox), so
    every step that is running at a moment is shown; other jobs run in this process.
    """
    from dagster import RunsFilter, execute_job, reconstructable

    from vexxy_pipelines import definitions
    from vexxy_pipelines import tags as run_tags
    from vexxy_pipelines.steps import step_progress

    invocation = uuid.uuid4().hex
    tags = {**tags, run_tags.INVOCATION: invocation}
    holder: dict = {}
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **(extra_run_config or {})}

    def work() -> None:
        try:
            if job_name == "analyze_image":
                holder["result"] = execute_job(
                    reconstructable(definitions.reconstructable_analyze_image),
                    instance=instance,
                    tags={**tags, **({run_tags.DAGSTER_PARTITION: partition_key} if partition_key else {})},
                    run_config=run_config,
                    raise_on_error=False,
                )
            else:
                holder["result"] = definitions.defs.resolve_job_def(job_name).execute_in_process(
                    instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False, run_config=run_config
                )
        except BaseException as exc:  # surfaced in the main thread
            holder["error"] = exc

    thread = threading.Thread(target=work, name="vexxy-run", daemon=True)
    thread.start()
    shown = 0
    with console.status(f"[bold]{job_name}[/] starting ...") as status:
        while thread.is_alive():
            thread.join(0.5)
            runs = instance.get_run_records(RunsFilter(tags={run_tags.INVOCATION: invocation}), limit=1)
            if not runs:
                continue
            run_id = runs[0].dagster_run.run_id
            progress = step_progress(instance, run_id)
            for step in progress.done[shown:]:
                console.print(f"  [green]✓[/] {step}")
            shown = len(progress.done)
            status.update(progress_line(job_name, progress.running, shown, len(steps), run_id))
    if "error" in holder:
        raise holder["error"]
    return holder["result"]


def _out_files() -> dict:
    from vexxy.evidence import documents

    return {
        "openvex.json": documents.OPENVEX,
        "cyclonedx-vex.json": documents.CYCLONEDX_VEX,
        "sbom.syft.json": documents.SYFT_SBOM,
        "sbom.cdx.json": documents.CYCLONEDX_SBOM,
        "vulnerabilities.json": documents.VULNERABILITIES,
        "sbom.filtered.cdx.json": documents.FILTERED_SBOM,
        "execution_profile.json": documents.EXECUTION_PROFILE,
        "openvex.intoto.dsse.json": documents.VEX_ATTESTATION,  # when the run signed and attached it
        "imports.json": documents.IMPORT_EVIDENCE,
    }


def _documents_of_run(instance, run_id: str, partition: str) -> dict:
    """Every catalogued document the run `run_id` wrote for `partition`: {document: (path, bytes)}, checked
    against the SHA-256 its materialization recorded."""
    from dagster import build_resources

    from vexxy.evidence.documents import CATALOGUE, Scope, run_location
    from vexxy_pipelines.environment import resources_for
    from vexxy_pipelines.lineage import materializations_in_run
    from vexxy_pipelines.partitions import digest_hex
    from vexxy_pipelines.resources.evidence_store import recorded_sha256

    found = {}
    records = materializations_in_run(instance, run_id, partition)
    with build_resources({"evidence": resources_for()["evidence"]}) as resources:
        store = resources.evidence.documents()
        for document in CATALOGUE:
            record = records.get(document.asset)
            sha256 = recorded_sha256(record, document) if record is not None and document.scope is Scope.RUN else None
            if sha256 is not None:
                location = run_location(document, digest_hex(instance, partition), run_id)
                found[document] = (store.path(location), store.get(location, sha256))
    return found


def progress_line(job_name: str, running: tuple[str, ...], done: int, total: int, run_id: str) -> str:
    """Every step started and not finished is named: `sbom` and `sandbox_session` run together."""
    return f"[bold]{job_name}[/] {done}/{total} steps · running {', '.join(running) or '...'} (run {run_id[:8]})"


def _failure_message(instance, result) -> str:
    from vexxy_pipelines.steps import failing_step

    step, message = failing_step(instance, result.run_id)
    return f"{step}: {message}"


def _ensure_vulnerability_db(instance, force: bool = False) -> None:
    from dagster import AssetKey

    if force or instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        from vexxy_pipelines.steps import VULNERABILITY_DB_STEPS

        result = _run_job(instance, "refresh_vulnerability_db", partition_key=None, tags={}, steps=VULNERABILITY_DB_STEPS)
        if not result.success:
            raise VexxyError(f"Loading the vulnerability database failed: {_failure_message(instance, result)}")


def resolve_reference(text: str):
    """Pin `text` to content with the configured registry settings; returns the resolved image."""
    from dagster import build_resources

    from vexxy.oci.reference import parse_reference
    from vexxy_pipelines.environment import resources_for

    ref = parse_reference(text)
    with build_resources({"registry": resources_for()["registry"]}) as resources:
        return resources.registry.resolve(ref)


def _sealed_config(args: argparse.Namespace):
    """The configuration the flags describe, split for storage; None when they describe none."""
    from vexxy.config.flags import from_flags
    from vexxy.config.model import AnalysisConfig
    from vexxy.config.secret_box import seal_config

    config = from_flags(
        config_file=args.config,
        env=args.env,
        secret_env=args.secret_env,
        env_files=args.env_file,
        command=args.command_override,
        workdir=args.workdir,
        ports=args.port,
        health=args.health,
        observation_seconds=args.observation_seconds,
        no_fuzzing=args.no_fuzzing,
    )
    return None if config == AnalysisConfig() else seal_config(config)


def _analysis_run_config(public: dict | None) -> dict:
    from vexxy_pipelines.assets.sandbox import analysis_run_config

    return analysis_run_config(public)


def _store_secrets(owner: str, secrets: bytes | None) -> None:
    """Keep the encrypted secret values for the run's sandbox step (`secrets`), or forget them (None)."""
    from appdb import lifecycle
    from appdb.models import AnalysisSecret
    from vexxy_pipelines.resources.app_database import AppDatabaseResource

    sessions = AppDatabaseResource().sessions()
    with sessions.begin() as session:
        if secrets is None:
            lifecycle.drop_secrets(session, [owner])
        else:
            session.add(AnalysisSecret(owner_id=owner, ciphertext=secrets))


def _out_directory(out: str | None) -> Path | None:
    """`--out`, created now: a path that cannot hold the results is said before the analysis, not after it."""
    if not out:
        return None
    destination = Path(out).resolve()
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        hint = "Name a directory (it is created if missing)."
        raise VexxyError(f"Cannot use {out} for the results: {exc.strerror}.", hint=hint) from None
    return destination


def cmd_analyze(args: argparse.Namespace) -> int:
    from appdb.engine import check_url_reachable
    from vexxy.oci.reference import parse_reference
    from vexxy_pipelines import tags as run_tags
    from vexxy_pipelines.partitions import image_partitions, key_for_image
    from vexxy_pipelines.steps import ANALYSIS_STEPS

    if args.platform:
        os.environ["VEXXY_PLATFORM"] = args.platform
    started = time.monotonic()
    destination = _out_directory(args.out)  # said now, not after the analysis
    check_url_reachable()  # billing_record writes the ledger there: a database that is down is said now, not at the end
    sealed = _sealed_config(args)  # a flag or file in error is said before the registry is contacted
    console.print(f"Resolving [bold]{escape(args.reference)}[/] ...")
    resolved = resolve_reference(args.reference)
    console.print(f"  [green]✓[/] {escape(str(resolved.platform))} manifest {escape(resolved.manifest_digest)}")
    instance = _instance()
    key = key_for_image(instance, parse_reference(resolved.canonical), args.reference)
    if key not in instance.get_dynamic_partitions(image_partitions.name):
        instance.add_dynamic_partitions(image_partitions.name, [key])
        console.print(f"  [green]✓[/] added partition {escape(key)}")
    else:
        console.print(f"  [green]✓[/] partition {escape(key)} already exists")
    _ensure_vulnerability_db(instance)
    tags = {
        run_tags.REFERENCE: args.reference,
        run_tags.MANIFEST_DIGEST: resolved.manifest_digest,
        **({run_tags.INDEX_DIGEST: resolved.index_digest} if resolved.index_digest else {}),
    }
    owner = f"cli-{uuid.uuid4().hex}"
    if sealed is not None:
        tags[run_tags.CONFIG_HASH] = sealed.hash
        console.print(f"  [green]✓[/] analysis configuration {escape(sealed.hash)}")
        if sealed.secrets is not None:
            tags[run_tags.SECRETS] = owner
    try:
        _store_secrets(owner, sealed.secrets if sealed else None)
        result = _run_job(
            instance,
            "analyze_image",
            partition_key=key,
            tags=tags,
            steps=ANALYSIS_STEPS,
            extra_run_config=_analysis_run_config(sealed.public if sealed else None),
        )
    finally:
        _store_secrets(owner, None)
    if not result.success:
        console.print(f"[red]Analysis of {escape(args.reference)} failed[/] — {escape(_failure_message(instance, result))}")
        console.print(f"Run {result.run_id} is in the Dagster instance at {escape(os.environ['DAGSTER_HOME'])}.")
        return 1

    from vexxy.evidence import documents

    written = {}
    run_documents = _documents_of_run(instance, result.run_id, key)
    for out_name, document in _out_files().items():
        if document not in run_documents:
            continue
        source, data = run_documents[document]
        if destination:
            (destination / out_name).write_bytes(data)
        written[out_name] = destination / out_name if destination else source
    statements = json.loads(run_documents[documents.VEX_STATEMENTS][1])
    matches = json.loads(run_documents[documents.VULNERABILITIES][1])["matches"]
    components = len(json.loads(run_documents[documents.SYFT_SBOM][1]).get("artifacts", []))

    table = Table(title=f"vexxy analysis of {escape(args.reference)}", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("partition", escape(key))
    table.add_row("image", escape(resolved.canonical))
    table.add_row("components", str(components))
    table.add_row("vulnerability matches", str(len(matches)))
    by_status: dict[str, int] = {}
    for statement in statements:
        by_status[statement["status"]] = by_status.get(statement["status"], 0) + 1
    table.add_row("VEX statements", ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none")
    for name, path in written.items():
        table.add_row(name, escape(str(path)))
    table.add_row("took", f"{time.monotonic() - started:.1f} s (run {result.run_id[:8]})")
    out.print(table)
    if "openvex.json" in written:
        out.print(f"VEX: {escape(str(written['openvex.json']))}", soft_wrap=True)
    return 0


def cmd_db_update(args: argparse.Namespace) -> int:
    from dagster import AssetKey

    instance = _instance()
    _ensure_vulnerability_db(instance, force=True)
    event = instance.get_latest_materialization_event(AssetKey("vulnerability_db"))
    metadata = event.asset_materialization.metadata
    out.print(
        f"Vulnerability database {metadata['content_hash'].value[:16]}: {metadata['advisories'].value} advisories "
        f"({metadata['malformed_skipped'].value} malformed and {metadata['withdrawn_skipped'].value} withdrawn skipped) "
        f"from {escape(str(metadata['source'].value))}"
    )
    return 0


def _local_registry(args: argparse.Namespace):
    from vexxy.demo.registry import LocalRegistry
    from vexxy.settings import vexxy_home

    return LocalRegistry(root=Path(args.registry_dir or vexxy_home() / "registry"), port=args.port)


def cmd_registry(args: argparse.Namespace) -> int:
    registry = _local_registry(args)
    if args.action == "start":
        registry.start()
        out.print(f"Registry listening on {registry.address} (data in {escape(str(registry.root))})")
    else:
        registry.stop()
        out.print(f"Registry on {registry.address} stopped")
    return 0


def cmd_demo_build(args: argparse.Namespace) -> int:
    from vexxy.demo.images import DEMO, build_and_push

    registry = _local_registry(args).start()
    ref = build_and_push(DEMO, registry.address, log=lambda msg: console.print(f"  {escape(msg)}"))
    out.print(escape(str(ref)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vexxy.demo.images import DEMO, build_and_push

    registry = _local_registry(args).start()
    console.print(f"Local registry on {registry.address}")
    build_and_push(DEMO, registry.address, log=lambda msg: console.print(f"  {escape(msg)}"))
    reference = f"{registry.address}/{DEMO.repository}:{DEMO.tag}"
    # The demo analyzes the image as it is: `vexxy analyze`'s own defaults (its --port is a workload
    # port, the demo's the registry's).
    analyze = [
        "analyze",
        reference,
        *(["--out", args.out] if args.out else []),
        *(["--platform", args.platform] if args.platform else []),
    ]
    return cmd_analyze(build_parser().parse_args(analyze))


def cmd_sandbox_sweep(args: argparse.Namespace) -> int:
    from vexxy import settings
    from vexxy.sandbox.state import SandboxPaths
    from vexxy.sandbox.sweep import leftovers, sweep

    paths = SandboxPaths(settings.sandbox_state_dir())
    removed = sweep(paths, only_orphans=not args.all, reason="removed by `vexxy sandbox sweep --all`")
    remaining = {kind: found for kind, found in leftovers(paths).items() if found}
    out.print(f"Removed {len(removed)} sandbox(es){': ' + ', '.join(removed) if removed else ''}")
    if remaining:
        out.print(f"Still present (owned by running analyses): {remaining}")
    return 0


def cmd_partitions(args: argparse.Namespace) -> int:
    from vexxy_pipelines.partitions import image_for_partition, image_partitions, remove_image_partition

    instance = _instance()
    if args.action == "remove":
        out.print(escape(remove_image_partition(instance, args.key, force=args.force)))
        return 0
    for key in instance.get_dynamic_partitions(image_partitions.name):  # one line each: `key  image`
        try:
            out.print(f"{escape(key)}  {escape(image_for_partition(instance, key).canonical)}", soft_wrap=True)
        except VexxyError as exc:
            out.print(f"{escape(key)}  [red]{escape(exc.message)}[/]", soft_wrap=True)
    return 0


def cmd_appdb(args: argparse.Namespace) -> int:
    from appdb.engine import database_url
    from appdb.errors import shown as where
    from appdb.migrate import downgrade, upgrade

    url = database_url()
    shown = where(url)
    if args.action == "upgrade":
        upgrade(url)
        out.print(f"Application database at {escape(shown)} is at the latest schema.")
    else:
        downgrade(url, args.revision)
        out.print(f"Application database at {escape(shown)} downgraded to {escape(args.revision)}.")
    return 0


def cmd_organization(args: argparse.Namespace) -> int:
    from appdb.organizations import create_organization, require_organization
    from vexxy_api.auth import issue_token
    from vexxy_api.settings import ApiSettings
    from vexxy_pipelines.resources.app_database import AppDatabaseResource

    sessions = AppDatabaseResource().sessions()
    with sessions.begin() as session:
        if args.organization_command == "create":
            out.print(create_organization(session, args.name, args.tier))
            return 0
        require_organization(session, args.organization)
    out.print(issue_token(ApiSettings(), args.organization, args.subject, args.role, args.minutes * 60), soft_wrap=True)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from appdb.engine import check_url_reachable

    _instance()  # Dagster's storage and the application database (the sensors') answer, or the CLI says which does not
    check_url_reachable()
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    beside = Path(sys.executable).parent / "dagster"
    command = [
        str(beside) if beside.exists() else shutil.which("dagster") or "dagster",
        "dev",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    if workspace.exists():
        command += ["-w", str(workspace)]
    else:
        command += ["-m", "vexxy_pipelines.definitions"]
    os.execvp(command[0], command)
    return 0


def cmd_attestation_verify(args) -> int:
    """Which OpenVEX attestations attached to the image verify with the public key (exit 1 when none does)."""
    from collections import Counter

    from dagster import build_resources

    from vexxy.attest.keys import load_public_key
    from vexxy.attest.verify import attached_vex
    from vexxy.oci.reference import ImageReference, parse_reference
    from vexxy_pipelines.environment import resources_for

    try:
        public_key = load_public_key(Path(args.key).read_bytes())
    except OSError as exc:
        raise VexxyError(f"The public key {args.key} cannot be read ({exc.strerror}).") from exc
    resolved = resolve_reference(args.reference)
    base = parse_reference(resolved.name)
    image = ImageReference(base.registry, base.repository, None, resolved.manifest_digest)
    with build_resources({"registry": resources_for()["registry"]}) as resources:
        client = resources.registry.client()
        try:
            found = attached_vex(client, image, public_key)
        finally:
            client.close()
    for reason in found.rejected:
        console.print(f"[red]✗[/] {escape(reason)}")
    for statement in found.verified:
        vex = statement["predicate"]
        by_status = Counter(str(s.get("status")) for s in vex.get("statements") or [] if isinstance(s, dict))
        counts = ", ".join(f"{status} {count}" for status, count in sorted(by_status.items())) or "no statements"
        console.print(
            f"[green]✓[/] {escape(image.canonical())}: OpenVEX {escape(str(vex.get('@id')))} "
            f"version {escape(str(vex.get('version')))} ({escape(counts)}) verifies with {escape(args.key)}"
        )
    if not found.verified:
        console.print(f"[red]no OpenVEX attestation of {escape(image.canonical())} verifies with {escape(args.key)}[/]")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vexxy", description="Runtime-evidence VEX for container images.")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="Analyze an image: SBOM, vulnerabilities and VEX, as Dagster assets.")
    analyze.add_argument("reference", help="registry/repository:tag or registry/repository@sha256:<digest>")
    analyze.add_argument("--out", help="Directory to copy the VEX, SBOM and matches into.")
    analyze.add_argument("--platform", help="Platform of a multi-platform image (default linux/amd64).")
    configuration = analyze.add_argument_group("analysis configuration (see README: Configuring an analysis)")
    configuration.add_argument("--config", help="JSON file: env, secret_env, command, args, ports, readiness, roles ...")
    configuration.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="Set a variable.")
    configuration.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME[=@FILE]",
        help="Set a secret variable (never stored) from the environment variable NAME, or from FILE's content "
        "(one trailing newline dropped). NAME=value is refused: a value on the command line shows in `ps`.",
    )
    configuration.add_argument("--env-file", action="append", default=[], metavar="FILE", help="NAME=value lines.")
    configuration.add_argument("--command", dest="command_override", help="Replace the image's ENTRYPOINT and CMD.")
    configuration.add_argument("--workdir", help="Working directory of the process.")
    configuration.add_argument("--port", action="append", type=int, default=[], help="A TCP port to probe and scan.")
    configuration.add_argument("--health", metavar="PATH", help="Ready when GET PATH answers 200 (e.g. /healthz).")
    configuration.add_argument("--observation-seconds", type=int, help="Observation window of each role.")
    configuration.add_argument("--no-fuzzing", action="store_true", help="Do not drive the workload with a scanner.")
    analyze.set_defaults(func=cmd_analyze)

    db = sub.add_parser("db", help="The vulnerability database.")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("update", help="Reload OSV advisories from VEXXY_OSV_SOURCE.").set_defaults(func=cmd_db_update)

    def registry_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", type=int, default=int(os.environ.get("VEXXY_DEMO_REGISTRY_PORT", "5000")))
        p.add_argument("--registry-dir", help="Where the local registry keeps its data (default ~/.vexxy/registry).")

    registry = sub.add_parser("registry", help="The local Distribution registry used by the demo.")
    registry.add_argument("action", choices=["start", "stop"])
    registry_options(registry)
    registry.set_defaults(func=cmd_registry)

    demo = sub.add_parser("demo", help="Build the demo image, push it to the local registry and analyze it.")
    registry_options(demo)
    demo.add_argument("--out", default="out", help="Directory for the resulting documents (default ./out).")
    demo.add_argument("--platform", default=None)
    demo.set_defaults(func=cmd_demo)
    demo_build = sub.add_parser("demo-image", help="Only build and push the demo image; prints its reference.")
    registry_options(demo_build)
    demo_build.set_defaults(func=cmd_demo_build)

    sandbox = sub.add_parser("sandbox", help="The local sandbox.")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    sweep = sandbox_sub.add_parser(
        "sweep", help="Remove what killed analyses left behind (containers, mounts, namespaces, cgroups)."
    )
    sweep.add_argument("--all", action="store_true", help="Also stop sandboxes whose analysis is still running.")
    sweep.set_defaults(func=cmd_sandbox_sweep)

    partitions = sub.add_parser("partitions", help="Image partitions: list them with their images, remove one.")
    partitions_sub = partitions.add_subparsers(dest="action", required=True)
    partitions_sub.add_parser("list", help="Every image partition key and the image it stands for.").set_defaults(
        func=cmd_partitions
    )
    remove = partitions_sub.add_parser("remove", help="Remove a partition (one that names no image, or --force).")
    remove.add_argument("key", help="The partition key, exactly as listed.")
    remove.add_argument("--force", action="store_true", help="Also remove a partition with analyses (documents stay).")
    remove.set_defaults(func=cmd_partitions)

    appdb = sub.add_parser("appdb", help="The application database (organizations, billing): schema migrations.")
    appdb.add_argument("action", choices=["upgrade", "downgrade"])
    appdb.add_argument("--revision", default="base", help="Target of a downgrade (default: base, i.e. empty).")
    appdb.set_defaults(func=cmd_appdb)

    add_audit_commands(sub)

    attestation = sub.add_parser("attestation", help="Signed VEX attached to images in their registry.")
    attestation_sub = attestation.add_subparsers(dest="attestation_command", required=True)
    verify = attestation_sub.add_parser("verify", help="Verify the OpenVEX attestations attached to an image with a public key.")
    verify.add_argument("reference", help="registry/repository:tag or registry/repository@sha256:<digest>")
    verify.add_argument("--key", required=True, help="PEM public key (ECDSA P-256) the attestations must verify with.")
    verify.set_defaults(func=cmd_attestation_verify)

    organization = sub.add_parser("organization", help="Organizations the API serves: create one, issue a token to try the API.")
    organization_sub = organization.add_subparsers(dest="organization_command", required=True)
    create = organization_sub.add_parser("create", help="Create an organization on a tier; prints its id.")
    create.add_argument("name")
    create.add_argument("--tier", default="free", help="free, team or enterprise (default free).")
    token = organization_sub.add_parser("token", help="Print a bearer token signed with VEXXY_JWT_KEY (a shared secret).")
    token.add_argument("organization", help="The organization's id.")
    token.add_argument("--subject", default="admin@localhost", help="The token's user (sub claim).")
    token.add_argument("--role", default="admin", choices=("admin", "member"))
    token.add_argument("--minutes", type=int, default=60, help="Lifetime (default 60).")
    organization.set_defaults(func=cmd_organization)

    ui = sub.add_parser("ui", help="Start the Dagster UI (and daemon) on this instance.")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def _default_termination() -> None:
    """Let SIGTERM end the processes this command starts (Dagster's compute-log `tail -F`s among them).

    A launcher that ignores SIGTERM (nohup-style supervisors, some CI runners) passes that on to every
    child; Dagster stops its log tails with SIGTERM, so they would outlive the command and hold its
    output pipe open, and a caller reading that pipe (`$(vexxy db update)`) would wait forever."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    _default_termination()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VexxyError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"[yellow]what to do:[/] {escape(exc.hint)}")
        return 2
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
