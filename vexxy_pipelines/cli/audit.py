"""`vexxy explain`, `vexxy diff` and `vexxy attestation verify`: an image's VEX statements explained, what changed
between two VEX, and which signed VEX attached to an image verify."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from vexxy.attest.keys import load_public_key
from vexxy.audit.diff import diff_statements
from vexxy.audit.explain import explain, explanation_lines, valid_vulnerability_id
from vexxy.audit.stored import digest_folder, load_documents
from vexxy.errors import VexxyError
from vexxy.evidence.documents import VEX_STATEMENTS
from vexxy.oci.reference import ImageReference, parse_reference
from vexxy_pipelines.cli.common import console, dagster_instance, out, resolve_reference

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
MAX_RUNS_SEARCHED = 1000  # VEX materializations of a partition searched for a run named by the start of its id


def printable(text: object) -> str:
    """`text` for a terminal: Rich markup escaped, control characters (an image's file names may hold any) shown as escapes."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(text))
    return escape(shown)


@contextmanager
def _evidence():
    from dagster import build_resources

    from vexxy_pipelines.environment import resources_for

    with build_resources({"evidence": resources_for()["evidence"]}) as resources:
        yield resources.evidence


def _key_digest(key: str) -> str:
    """The digest hex a partition key spells after its `@` (all 64, or a prefix of it in a readable key)."""
    return key.rpartition("@")[2].removeprefix("sha256:")


def recorded_digest(record) -> str:
    """The image digest (hex) of a VEX materialization: the folder its statements were stored in."""
    return digest_folder(str(record.asset_materialization.metadata[f"{VEX_STATEMENTS.key}_path"].value))


def find_partition(instance, text: str) -> str:
    """The analyzed image `text` names: a partition key, a digest (or a reference with one), or a tag resolved now."""
    from vexxy_pipelines.partitions import image_partitions

    keys = instance.get_dynamic_partitions(image_partitions.name)
    if text in keys:
        return text
    named = _DIGEST.findall(text)
    wanted = named[-1] if named else resolve_reference(text).manifest_digest.split(":", 1)[1]
    found = [k for k in keys if len(_key_digest(k)) >= 16 and wanted.startswith(_key_digest(k))]
    if len(found) > 1:  # a shortened key is a prefix: keep the partitions whose VEX was stored under this very digest
        found = [k for k in found if (records := _vex_records(instance, k, 1)) and recorded_digest(records[0]) == wanted]
    if len(found) == 1:
        return found[0]
    if found:
        raise VexxyError(f"{text} names {len(found)} analyzed images: {', '.join(found)}.", hint="Name one of them.")
    raise VexxyError(f"{text} has not been analyzed here.", hint=f"Analyze it first with `vexxy analyze {text}`.")


def _vex_records(instance, partition: str, limit: int):
    from dagster import AssetKey, AssetRecordsFilter

    return instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("vex_document"), asset_partitions=[partition]), limit=limit
    ).records


def _vex_record_of_short_run(instance, partition: str, prefix: str):
    """The VEX materialization of the one run whose id starts with `prefix` (`vexxy analyze` prints the first 8 characters)."""
    records = _vex_records(instance, partition, MAX_RUNS_SEARCHED)
    found = {r.run_id: r for r in records if len(prefix) >= 4 and r.run_id.startswith(prefix.lower())}
    if len(found) == 1:
        return next(iter(found.values()))
    latest = ", ".join(dict.fromkeys(r.run_id for r in records[:5])) or "none yet"
    if found:
        raise VexxyError(
            f"{prefix} starts the ids of {len(found)} runs that wrote a VEX for {partition}.", hint="Give more of the id."
        )
    raise VexxyError(f"Run {prefix} wrote no VEX for {partition}.", hint=f"Runs that did, latest first: {latest}.")


def vex_record(instance, partition: str, run_id: str | None = None):
    """The partition's latest VEX materialization, or the one made by `run_id`."""
    from vexxy_pipelines.lineage import materialization_in_run

    record = materialization_in_run(instance, run_id, "vex_document", partition) if run_id else None
    if run_id and record is None:
        record = _vex_record_of_short_run(instance, partition, run_id)
    records = [record] if record else _vex_records(instance, partition, 1)
    if not records:
        raise VexxyError(f"{partition} has no VEX yet.", hint=f"Analyze it with `vexxy analyze {partition}`.")
    return records[0]


def analysis_of(instance, evidence, record):
    """(lineage, documents) of the VEX materialization `record`, each document checked against its recorded hash."""
    from vexxy_pipelines.audit import stored_lineage

    lineage = stored_lineage(evidence, instance, record)
    return lineage, load_documents(evidence.documents(), recorded_digest(record), record.run_id, lineage)


def explain_image(instance, evidence, image: str, vulnerability: str, run_id: str | None = None):
    """(VEX materialization, explanations) of `vulnerability` in the analyzed `image`'s VEX (the latest, or `run_id`'s)."""
    if not valid_vulnerability_id(vulnerability):
        raise VexxyError(
            f"{vulnerability!r} is not a vulnerability id.", hint="Name one as the VEX does: CVE-..., GHSA-..., PYSEC-..."
        )
    partition = find_partition(instance, image)
    record = vex_record(instance, partition, run_id)
    lineage, documents = analysis_of(instance, evidence, record)
    answers = explain(vulnerability, documents, lineage)
    if not answers:
        known = sorted({s["vulnerability"] for s in documents.statements})
        raise VexxyError(
            f"{vulnerability} is not in the VEX of {partition} (run {record.run_id}).",
            hint=f"Its statements are about: {', '.join(known[:20]) or 'nothing (no vulnerability matched)'}"
            + (f" and {len(known) - 20} more." if len(known) > 20 else "."),
        )
    return record, answers


def cmd_explain(args: argparse.Namespace) -> int:
    instance = dagster_instance()
    with _evidence() as evidence:
        record, answers = explain_image(instance, evidence, args.image, args.vulnerability, args.run)
    if args.json:
        out.print_json(json.dumps({"partition": record.partition_key, "statements": [a.to_dict() for a in answers]}))
        return 0
    for answer in answers:  # one line per fact, never folded: paths and digests stay whole for copying and grep
        out.print(f"[bold]{printable(answer.vulnerability)} on {printable(answer.component_purl)}[/]", soft_wrap=True)
        for label, text in explanation_lines(answer):
            out.print(f"  {printable(label):>15}  {printable(text)}", soft_wrap=True, highlight=False)
    report = record.asset_materialization.metadata.get("audit_report_path")
    if report is not None:
        out.print(f"Audit report: {printable(report.value)}", soft_wrap=True)
    return 0


def _side(record, lineage: dict) -> dict:
    return {
        "partition": record.partition_key,
        "run_id": record.run_id,
        "materialized_at": lineage.get("materialized_at"),
        "vulnerability_db": lineage.get("vulnerability_db"),
    }


def diff_images(instance, evidence, image: str, newer: str | None = None):
    """The diff from `image`'s previous VEX to its latest, or from `image`'s latest VEX to `newer`'s."""
    from vexxy_pipelines.audit import stored_lineage

    partition = find_partition(instance, image)
    if newer:
        before, after = vex_record(instance, partition), vex_record(instance, find_partition(instance, newer))
    else:
        records = _vex_records(instance, partition, 2)
        if len(records) < 2:
            raise VexxyError(
                f"{partition} has {len(records)} VEX: nothing to compare.",
                hint="Compare with another image (`vexxy diff IMAGE NEWER`), or analyze it again.",
            )
        after, before = records
    sides = []
    for record in (before, after):
        data = evidence.read_recorded(instance, record, VEX_STATEMENTS)
        if data is None:
            raise VexxyError(f"The VEX of {record.partition_key} in run {record.run_id} recorded no statements document.")
        sides.append((json.loads(data), _side(record, stored_lineage(evidence, instance, record))))
    (old, old_about), (new, new_about) = sides
    return diff_statements(old, new, old_about, new_about)


def cmd_diff(args: argparse.Namespace) -> int:
    instance = dagster_instance()
    with _evidence() as evidence:
        diff = diff_images(instance, evidence, args.image, args.newer)
    if args.json:
        out.print_json(json.dumps(diff.to_dict()))
        return 0
    for name, side in (("from", diff.before), ("  to", diff.after)):
        out.print(
            f"{name} {printable(side['partition'])} (run {side['run_id']}, advisories {str(side['vulnerability_db'])[:12]})"
        )
    out.print(printable(diff.summary()))
    if diff.changes:
        table = Table("vulnerability", "package", "change")
        for change in diff.changes:
            table.add_row(
                printable(change.vulnerability), printable(change.package), printable(f"{change.kind}: {'; '.join(change.what)}")
            )
        out.print(table)
    return 0


def cmd_attestation_verify(args) -> int:
    """Which OpenVEX attestations attached to the image verify with the public key (exit 1 when none does)."""
    from dagster import build_resources

    from vexxy.attest.verify import attached_vex  # the registry client and its HTTP stack
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


def add_commands(sub) -> None:
    explain = sub.add_parser("explain", help="Why a VEX statement is what it is: the range, the files, what was loaded and when.")
    explain.add_argument("image", help="an analyzed image: partition key, reference, or sha256 digest")
    explain.add_argument("vulnerability", help="CVE-..., GHSA-..., PYSEC-... (an id or alias in the VEX)")
    explain.add_argument("--run", help="Explain the VEX a given run wrote (default: the latest).")
    explain.add_argument("--json", action="store_true", help="Print the explanation as JSON.")
    explain.set_defaults(func=cmd_explain)

    diff = sub.add_parser("diff", help="What changed between two VEX: an image's last two, or two images (builds).")
    diff.add_argument("image", help="an analyzed image: alone, its previous VEX against its latest; else the older side")
    diff.add_argument("newer", nargs="?", help="another analyzed image (e.g. the repository's next build): the newer side")
    diff.add_argument("--json", action="store_true", help="Print the diff as JSON.")
    diff.set_defaults(func=cmd_diff)

    attestation = sub.add_parser("attestation", help="Signed VEX attached to images in their registry.")
    attestation_sub = attestation.add_subparsers(dest="attestation_command", required=True)
    verify = attestation_sub.add_parser("verify", help="Verify the OpenVEX attestations attached to an image with a public key.")
    verify.add_argument("reference", help="registry/repository:tag or registry/repository@sha256:<digest>")
    verify.add_argument("--key", required=True, help="PEM public key (ECDSA P-256) the attestations must verify with.")
    verify.set_defaults(func=cmd_attestation_verify)
