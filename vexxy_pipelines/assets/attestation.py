"""The `vex_attestation` asset: the image's OpenVEX, signed (in-toto in DSSE) and attached in its registry."""

import json

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.attest import dsse
from vexxy.attest.keys import SigningKeyInvalid, fingerprint, public_key_pem
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE, serialize, subject_digests, vex_statement
from vexxy.errors import VexxyError
from vexxy.evidence.documents import IMAGE, OPENVEX, VEX_ATTESTATION
from vexxy.oci.attestations import AttachedAttestation, attach_attestation, read_attestations
from vexxy.oci.image import ResolvedImage
from vexxy.oci.reference import ImageReference, parse_reference
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.attestation import AttestationSignerResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource

CHECK = AssetCheckSpec(
    "attestation_verifies",
    asset="vex_attestation",
    description="Read back from the registry, the attestation verifies with the public key and names this image's digest.",
)
NO_KEY = "skipped: no signing key configured (set VEXXY_ATTESTATION_KEY or VEXXY_ATTESTATION_KEY_FILE)"


@asset(
    partitions_def=image_partitions,
    group_name="analysis",
    deps=[vex_document, image],
    check_specs=[CHECK],
    kinds={"openvex", "oci"},
)
def vex_attestation(
    context: AssetExecutionContext,
    evidence: EvidenceStore,
    registry: RegistryResource,
    attestation_signer: AttestationSignerResource,
) -> MaterializeResult:
    """The OpenVEX as a signed in-toto attestation (DSSE, ECDSA P-256) on the image's `.att` tag, as cosign attaches it."""
    if not attestation_signer.configured:
        return _outcome(NO_KEY, passed=None)
    openvex = evidence.find_json(context, OPENVEX)
    if openvex is None:
        return _outcome("skipped: no OpenVEX document (nothing matched, so there is nothing to attest)", passed=None)
    try:
        key = attestation_signer.private_key()
    except SigningKeyInvalid as exc:
        return _outcome(f"failed: {exc}", passed=False)
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE))
    digests = [resolved.manifest_digest, *([resolved.index_digest] if resolved.index_digest else [])]
    statement = vex_statement(resolved.name, digests[0], openvex)
    if len(digests) > 1:  # a multi-platform image: its index is attested too, as the VEX names both
        statement["subject"].append({"name": resolved.name, "digest": {"sha256": digests[1].split(":", 1)[1]}})
    envelope = dsse.sign(serialize(statement), key)
    stored = evidence.write(context, VEX_ATTESTATION, envelope.to_json())
    base = parse_reference(resolved.name)
    common = {
        "predicate_type": OPENVEX_PREDICATE_TYPE,
        "public_key_fingerprint": fingerprint(key),
        "public_key": MetadataValue.text(public_key_pem(key)),
        **stored.metadata(),
    }
    client = registry.client()
    try:
        attached = [
            attach_attestation(
                client,
                ImageReference(base.registry, base.repository, None, digest),
                envelope.to_json(),
                OPENVEX_PREDICATE_TYPE,
                registry.allowed,
            )
            for digest in digests
        ]
        problems = [
            problem
            for digest in digests
            for problem in _read_back_problems(client, ImageReference(base.registry, base.repository, None, digest), key)
        ]
    except VexxyError as exc:
        context.log.warning(f"The attestation of {resolved.name}@{digests[0]} was not attached: {exc}")
        return _outcome(f"failed: {exc}", passed=False, extra=common)
    finally:
        client.close()
    return _outcome(
        "attached", passed=not problems, extra={**common, **_attached_metadata(attached, digests[0])}, problems=problems
    )


def _read_back_problems(client, ref: ImageReference, key) -> list[str]:
    """Why the attestation on the registry does not verify (empty when it does)."""
    ours = [a for a in read_attestations(client, ref) if a.predicate_type == OPENVEX_PREDICATE_TYPE]
    if len(ours) != 1:
        return [f"{ref}: {len(ours)} OpenVEX attestations on its .att tag, expected exactly one"]
    try:
        payload = dsse.verify(dsse.Envelope.from_json(ours[0].envelope), key.public_key())
    except dsse.EnvelopeInvalid as exc:
        return [f"{ref}: {exc.message}"]
    if ref.digest not in subject_digests(json.loads(payload)):
        return [f"{ref}: the statement's subjects do not name {ref.digest}"]
    return []


def _attached_metadata(attached: list[AttachedAttestation], manifest_digest: str) -> dict:
    first = attached[0]
    return {
        "attestation_reference": f"{first.repository}:{first.tag}",
        "attestation_manifest_digest": first.manifest_digest,
        "attestation_layer_digest": first.layer_digest,
        "attestations_on_image": MetadataValue.int(first.layers),
        "replaced_attestations": MetadataValue.int(first.replaced),
        "verify_with": MetadataValue.md(
            "```\ncosign verify-attestation --key vexxy-attestation.pub --type openvex "
            f"--insecure-ignore-tlog=true {first.repository}@{manifest_digest}\n```"
        ),
        "attached_to": md_table(
            ["tag", "manifest", "attestations"], [(f"{a.repository}:{a.tag}", a.manifest_digest, a.layers) for a in attached]
        ),
    }


def _outcome(status: str, passed: bool | None, extra: dict | None = None, problems: list[str] | None = None) -> MaterializeResult:
    """`passed=None`: nothing was attested (skipped), which the check reports as passed with the reason."""
    check_metadata = {"status": status}
    if problems:
        check_metadata["problems"] = MetadataValue.text("\n".join(problems)[:4000])
    return MaterializeResult(
        metadata={"status": status, **(extra or {})},
        check_results=[
            AssetCheckResult(
                check_name=CHECK.name,
                passed=passed is not False,
                metadata=check_metadata,
                description="Nothing was attested." if passed is None else None,
            )
        ],
    )
