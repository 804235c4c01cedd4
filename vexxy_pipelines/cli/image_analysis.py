"""One image analyzed from the terminal, its documents copied out and summed up: `vexxy analyze` and `vexxy demo`."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vexxy import settings as library_settings
from vexxy.evidence import documents
from vexxy.oci.reference import parse_reference
from vexxy.vex import summary
from vexxy.vex.sarif import to_sarif
from vexxy_pipelines import settings
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.cli.common import check_settings, console, dagster_instance, out, out_directory, resolve_reference
from vexxy_pipelines.cli.runs import ensure_vulnerability_db, failure_message, output_to_log, run_job

if TYPE_CHECKING:
    from vexxy.config.secret_box import Sealed

FORMATS = ("table", "json", "openvex", "cyclonedx", "sarif")


def add_output_options(parser) -> None:
    """`--format` and `--fail-on`, the same for every command that analyzes an image."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="What stdout holds: the summary table (default), the statements as JSON, the OpenVEX or CycloneDX "
        "VEX the run wrote, or SARIF 2.1.0 of the affected and under-investigation statements. Progress goes to stderr.",
    )
    parser.add_argument(
        "--fail-on",
        choices=summary.FAIL_ON_CHOICES,
        metavar="STATUS_OR_SEVERITY",
        help=f"Exit with status {summary.FAIL_ON_EXIT_CODE} when a statement has this status "
        f"({', '.join(summary.FAIL_ON_CHOICES[:4])}), or is affected or under investigation with at least this severity "
        f"({', '.join(summary.FAIL_ON_CHOICES[4:])}).",
    )


LOG_NAME = "vexxy.log"  # in --out: Dagster's and the run's log output

# The names `--out` has always used; every other document a run writes keeps its catalogue name.
_OUT_NAMES = {
    documents.OPENVEX: "openvex.json",
    documents.CYCLONEDX_VEX: "cyclonedx-vex.json",
    documents.SYFT_SBOM: "sbom.syft.json",
    documents.CYCLONEDX_SBOM: "sbom.cdx.json",
    documents.VULNERABILITIES: "vulnerabilities.json",
    documents.FILTERED_SBOM: "sbom.filtered.cdx.json",
    documents.EXECUTION_PROFILE: "execution_profile.json",
    documents.VEX_ATTESTATION: "openvex.intoto.dsse.json",  # when the run signed and attached it
    documents.IMPORT_EVIDENCE: "imports.json",
}


def out_files() -> dict:
    """{name in --out: document} for every document an analysis run writes (the audit report and the lineage
    among them); a run copies those it wrote."""
    return {_OUT_NAMES.get(d, d.name): d for d in documents.CATALOGUE if d.scope is documents.Scope.RUN}


def log_path(destination: Path | None) -> Path:
    """Where the command's Dagster output goes: `vexxy.log` in --out, else a file of its own under VEXXY_HOME/logs."""
    if destination is not None:
        return destination / LOG_NAME
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return library_settings.vexxy_home() / "logs" / f"analyze-{stamp}-{uuid.uuid4().hex[:8]}.log"


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
    output_format: str = "table",
    fail_on: str | None = None,
) -> int:
    """Analyze `reference` with the sealed `configuration` (read after the results directory and the
    database are checked, before the registry is contacted); prints the result in `output_format`, returns
    the exit status: 0, 1 when the analysis failed, `summary.FAIL_ON_EXIT_CODE` when a statement matches `fail_on`.

    Dagster's own output goes to a log file (`log_path`), named at the end; progress goes to stderr, and
    stdout holds only the result (a machine format prints nothing else there)."""
    from appdb.engine import check_url_reachable

    if platform:
        settings.use_platform(platform)
    started = time.monotonic()
    check_settings()  # a setting in error is one line now, not a trace from inside a step
    destination = out_directory(out_dir)  # said now, not after the analysis
    check_url_reachable()  # billing_record writes the ledger there: a database that is down is said now, not at the end
    sealed = configuration()  # a flag or file in error is said before the registry is contacted
    console.print(f"Resolving [bold]{escape(reference)}[/] ...")
    resolved = resolve_reference(reference)
    console.print(f"  [green]✓[/] {escape(str(resolved.platform))} manifest {escape(resolved.manifest_digest)}")
    log = log_path(destination)
    try:
        with output_to_log(log):
            instance, key, result = _run_analysis(reference, resolved, sealed)
    except BaseException:
        console.print(f"Dagster's log: {escape(str(log))}", soft_wrap=True)
        raise
    if not result.success:
        console.print(f"[red]Analysis of {escape(reference)} failed[/] — {escape(failure_message(instance, result))}")
        console.print(f"Run {result.run_id} is in the Dagster instance at {escape(instance.root_directory)}.")
        console.print(f"Dagster's log: {escape(str(log))}", soft_wrap=True)
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
    rows = summary.rows(statements, matches)

    report = out if output_format == "table" else console  # a machine format keeps stdout for its document
    facts = Table(title=f"vexxy analysis of {escape(reference)}", show_header=False)
    facts.add_column(no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("partition", escape(key))
    facts.add_row("image", escape(resolved.canonical))
    facts.add_row("components", str(components))
    facts.add_row("vulnerability matches", str(len(matches)))
    by_status: dict[str, int] = {}
    for statement in statements:
        by_status[statement["status"]] = by_status.get(statement["status"], 0) + 1
    facts.add_row("VEX statements", ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none")
    if destination:
        facts.add_row("documents", f"{len(written)} in {escape(str(destination))}")
    else:
        for name, path in written.items():
            facts.add_row(name, escape(str(path)))
    facts.add_row("took", f"{time.monotonic() - started:.1f} s (run {result.run_id[:8]})")
    # A log or a pipe is read later, by someone who wants whole rows: there, tables are not squeezed into 80 columns.
    tables = report if report.is_terminal else Console(file=report.file, width=max(report.width, 160), soft_wrap=True)
    tables.print(facts)
    if rows:
        tables.print(statements_table(rows))
    if "openvex.json" in written:
        report.print(f"VEX: {escape(str(written['openvex.json']))}", soft_wrap=True)
    console.print(f"Dagster's log: {escape(str(log))}", soft_wrap=True)

    if output_format != "table":
        _write_stdout(_document(output_format, run_documents, statements, rows, resolved.canonical))
    if fail_on is None:
        return 0
    matching = summary.failing(rows, fail_on)
    if matching:
        listed = ", ".join(f"{r.vulnerability} ({r.package})" for r in matching[:5]) + (" ..." if len(matching) > 5 else "")
        console.print(f"[red]--fail-on {escape(fail_on)}:[/] {len(matching)} statement(s): {escape(listed)}", soft_wrap=True)
        return summary.FAIL_ON_EXIT_CODE
    return 0


def _run_analysis(reference: str, resolved, sealed: Sealed | None):
    """The image's partition, the advisories and the `analyze_image` run: (instance, partition key, result)."""
    from vexxy_pipelines.assets.sandbox import analysis_run_config
    from vexxy_pipelines.partitions import image_partitions, key_for_image
    from vexxy_pipelines.steps import ANALYSIS_STEPS

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
    return instance, key, result


def statements_table(rows: list[summary.Row]) -> Table:
    """One line per statement: what a reader of the run wants first."""
    colours = {"affected": "red", "under_investigation": "yellow", "not_affected": "green", "fixed": "green"}
    table = Table(title="VEX statements", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("vulnerability", no_wrap=True, min_width=14)
    table.add_column("package", overflow="fold", min_width=12)
    for column in ("status", "justification", "confidence", "severity"):
        table.add_column(column, overflow="fold")
    for row in rows:
        colour = colours.get(row.status, "white")
        table.add_row(
            escape(row.vulnerability),
            escape(row.package),
            f"[{colour}]{escape(row.status)}[/]",
            escape(row.justification) or "-",
            escape(row.confidence),
            escape(str(row.severity)) if row.severity else "-",
        )
    return table


def _document(output_format: str, run_documents: dict, statements: list, rows: list[summary.Row], image: str) -> str:
    """The text `--format` asks for: the statements, a VEX document as the run wrote it, or SARIF."""
    if output_format == "json":
        return json.dumps(statements, indent=2)
    if output_format == "openvex":
        return run_documents[documents.OPENVEX][1].decode()
    if output_format == "cyclonedx":
        return run_documents[documents.CYCLONEDX_VEX][1].decode()
    if output_format == "sarif":
        return json.dumps(to_sarif(rows, statements, image=image, tool_version=metadata.version("vexxy")), indent=2)
    raise ValueError(f"--format {output_format!r} is not one of {', '.join(FORMATS)}")


def _write_stdout(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
