"""One image analyzed from the terminal, its documents copied out and summed up: `vexxy analyze` and `vexxy demo`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from vexxy.evidence import documents
from vexxy.oci.reference import parse_reference
from vexxy_pipelines import settings
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.cli.common import console, dagster_instance, out, out_directory, resolve_reference
from vexxy_pipelines.cli.runs import ensure_vulnerability_db, failure_message, run_job

if TYPE_CHECKING:
    from vexxy.config.secret_box import Sealed


def out_files() -> dict:
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


def documents_of_run(instance, run_id: str, partition: str) -> dict:
    """Every catalogued document the run `run_id` wrote for `partition`: {document: (path, bytes)}, checked
    against the SHA-256 its materialization recorded."""
    from dagster import build_resources

    from vexxy_pipelines.environment import resources_for
    from vexxy_pipelines.lineage import materializations_in_run
    from vexxy_pipelines.partitions import digest_hex
    from vexxy_pipelines.resources.evidence_store import recorded_sha256

    found = {}
    records = materializations_in_run(instance, run_id, partition)
    with build_resources({"evidence": resources_for()["evidence"]}) as resources:
        store = resources.evidence.documents()
        for document in documents.CATALOGUE:
            record = records.get(document.asset)
            sha256 = recorded_sha256(record, document) if record is not None and document.scope is documents.Scope.RUN else None
            if sha256 is not None:
                location = documents.run_location(document, digest_hex(instance, partition), run_id)
                found[document] = (store.path(location), store.get(location, sha256))
    return found


def store_secrets(owner: str, secrets: bytes | None) -> None:
    """Keep the encrypted secret values for the run's sandbox step (`secrets`), or forget them (None)."""
    from submissions import secrets as secret_rows
    from vexxy_pipelines.resources.app_database import AppDatabaseResource

    sessions = AppDatabaseResource().sessions()
    with sessions.begin() as session:
        if secrets is None:
            secret_rows.drop_secrets(session, [owner])
        else:
            secret_rows.store_secrets(session, owner, secrets)


def analyze(
    reference: str,
    *,
    out_dir: str | None,
    platform: str | None,
    configuration: Callable[[], Sealed | None] = lambda: None,
) -> int:
    """Analyze `reference` with the sealed `configuration` (read after the results directory and the
    database are checked, before the registry is contacted); prints the summary, returns the exit status."""
    from appdb.engine import check_url_reachable
    from vexxy_pipelines.assets.sandbox import analysis_run_config
    from vexxy_pipelines.partitions import image_partitions, key_for_image
    from vexxy_pipelines.steps import ANALYSIS_STEPS

    if platform:
        settings.use_platform(platform)
    started = time.monotonic()
    destination = out_directory(out_dir)  # said now, not after the analysis
    check_url_reachable()  # billing_record writes the ledger there: a database that is down is said now, not at the end
    sealed = configuration()  # a flag or file in error is said before the registry is contacted
    console.print(f"Resolving [bold]{escape(reference)}[/] ...")
    resolved = resolve_reference(reference)
    console.print(f"  [green]✓[/] {escape(str(resolved.platform))} manifest {escape(resolved.manifest_digest)}")
    instance = dagster_instance()
    key = key_for_image(instance, parse_reference(resolved.canonical), reference)
    if key not in instance.get_dynamic_partitions(image_partitions.name):
        instance.add_dynamic_partitions(image_partitions.name, [key])
        console.print(f"  [green]✓[/] added partition {escape(key)}")
    else:
        console.print(f"  [green]✓[/] partition {escape(key)} already exists")
    ensure_vulnerability_db(instance)
    tags = {
        run_tags.REFERENCE: reference,
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
        store_secrets(owner, sealed.secrets if sealed else None)
        result = run_job(
            instance,
            "analyze_image",
            partition_key=key,
            tags=tags,
            steps=ANALYSIS_STEPS,
            extra_run_config=analysis_run_config(sealed.public if sealed else None),
        )
    finally:
        store_secrets(owner, None)
    if not result.success:
        console.print(f"[red]Analysis of {escape(reference)} failed[/] — {escape(failure_message(instance, result))}")
        console.print(f"Run {result.run_id} is in the Dagster instance at {escape(instance.root_directory)}.")
        return 1

    written = {}
    run_documents = documents_of_run(instance, result.run_id, key)
    for out_name, document in out_files().items():
        if document not in run_documents:
            continue
        source, data = run_documents[document]
        if destination:
            (destination / out_name).write_bytes(data)
        written[out_name] = destination / out_name if destination else source
    statements = json.loads(run_documents[documents.VEX_STATEMENTS][1])
    matches = json.loads(run_documents[documents.VULNERABILITIES][1])["matches"]
    components = len(json.loads(run_documents[documents.SYFT_SBOM][1]).get("artifacts", []))

    table = Table(title=f"vexxy analysis of {escape(reference)}", show_header=False)
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
