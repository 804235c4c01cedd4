"""The `vex_attestation` asset: the image's OpenVEX, signed (in-toto in DSSE) and attached in its registry."""

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec
from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.attest import dsse
from vexxy.attest.keys import SigningKeyInvalid, fingerprint, public_key_pem
from vexxy.attest.policy import EvidenceStrength, not_attestable, strength_of, weaker
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE, serialize, vex_statement
from vexxy.attest.verify import attested_evidence, read_back_problems
from vexxy.errors import VexxyError
from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, IMAGE, OPENVEX, VEX_ATTESTATION
from vexxy.oci.attestations import AttachedAttestation, attach_attestation
from vexxy.oci.egress import check_registry
from vexxy.oci.image import ResolvedImage
from vexxy.oci.reference import ImageReference, parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.attestation import AttestationSignerResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource, for_run

CHECK = AssetCheckSpec(
    "attestation_verifies",
    asset="vex_attestation",
    description="Read back from the registry, the attestation verifies with the public key and names this image's digest.",
)
NO_KEY = "skipped: no signing key configured (set VEXXY_ATTESTATION_KEY or VEXXY_ATTESTATION_KEY_FILE)"
NO_VEX = "skipped: no OpenVEX document (nothing matched, so there is nothing to attest)"


@dataclass
class Outcome:
    status: str
    attested: bool | None  # None: nothing to attest (skipped)
    metadata: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


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
    keys = context.partition_keys  # one image, or a range of them when a fleet is re-evaluated
    if not attestation_signer.configured:
        outcomes = {key: Outcome(NO_KEY, None) for key in keys}
    else:
        try:
            signing_key = attestation_signer.private_key()
        except SigningKeyInvalid as exc:
            outcomes = {key: Outcome(f"failed: {exc}", False) for key in keys}
        else:
            registry = for_run(registry, context)
            client = registry.client()
            try:
                outcomes = {key: _attest(context, evidence, registry, client, signing_key, key) for key in keys}
            finally:
                client.close()
    for key, outcome in outcomes.items():
        context.add_asset_metadata({"status": outcome.status, **outcome.metadata}, partition_key=key)
    prefix = (lambda key: f"{key}: ") if len(keys) > 1 else (lambda key: "")
    failed = [
        prefix(key) + problem for key, outcome in outcomes.items() if outcome.attested is False for problem in outcome.problems
    ]
    statuses = sorted({outcome.status.split(":", 1)[0] for outcome in outcomes.values()})
    skipped_only = all(outcome.attested is None for outcome in outcomes.values())
    return MaterializeResult(
        metadata={"images_in_run": MetadataValue.int(len(keys))},
        check_results=[
            AssetCheckResult(
                check_name=CHECK.name,
                passed=not failed,
                metadata={
                    "status": ", ".join(statuses) if len(keys) > 1 else next(iter(outcomes.values())).status,
                    **({"problems": MetadataValue.text("\n".join(failed)[:4000])} if failed else {}),
                },
                description="Nothing was attested." if skipped_only else None,
            )
        ],
    )


def _attest(
    context: AssetExecutionContext,
    evidence: EvidenceStore,
    registry: RegistryResource,
    client: RegistryClient,
    signing_key: ec.EllipticCurvePrivateKey,
    key: str,
) -> Outcome:
    openvex = evidence.find_json(context, OPENVEX, key)
    if openvex is None:
        return Outcome(NO_VEX, None)
    if reason := not_attestable(openvex):
        return Outcome(reason, None)
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE, key))
    digests = [resolved.manifest_digest, *([resolved.index_digest] if resolved.index_digest else [])]
    base = parse_reference(resolved.name)
    targets = [ImageReference(base.registry, base.repository, None, digest) for digest in digests]
    strength = strength_of(evidence.find_json(context, EXECUTION_PROFILE, key), evidence.find_json(context, FUZZ_FINDINGS, key))
    try:
        if reason := _weaker_than_attested(client, targets, signing_key, strength, registry.allowed):
            return Outcome(f"skipped: the attested VEX stays, this one may not replace it: {reason}", None, _evidence(strength))
    except VexxyError as exc:
        context.log.warning(f"The attestation of {resolved.name}@{digests[0]} was not attached: {exc}")
        return Outcome(f"failed: {exc}", False, _evidence(strength), [str(exc)])
    statement = vex_statement(resolved.name, digests[0], openvex)
    if len(digests) > 1:  # a multi-platform image: its index is attested too, as the VEX names both
        statement["subject"].append({"name": resolved.name, "digest": {"sha256": digests[1].split(":", 1)[1]}})
    envelope = dsse.sign(serialize(statement), signing_key).to_json()
    stored = evidence.write(context, VEX_ATTESTATION, envelope, key)
    common = {
        "predicate_type": OPENVEX_PREDICATE_TYPE,
        **_evidence(strength),
        "public_key_fingerprint": fingerprint(signing_key),
        "public_key": MetadataValue.text(public_key_pem(signing_key)),
        **stored.metadata(),
    }
    try:
        attached = [
            attach_attestation(
                client, target, envelope, OPENVEX_PREDICATE_TYPE, registry.allowed, annotations=strength.to_annotations()
            )
            for target in targets
        ]
        public_key = signing_key.public_key()
        problems = [problem for target in targets for problem in read_back_problems(client, target, public_key, envelope)]
    except VexxyError as exc:
        context.log.warning(f"The attestation of {resolved.name}@{digests[0]} was not attached: {exc}")
        return Outcome(f"failed: {exc}", False, common, [str(exc)])
    return Outcome("attached", not problems, {**common, **_attached_metadata(attached, digests[0])}, problems)


def _weaker_than_attested(
    client: RegistryClient,
    targets: list[ImageReference],
    signing_key: ec.EllipticCurvePrivateKey,
    strength: EvidenceStrength,
    allowed: frozenset[str],
) -> str | None:
    """Why an OpenVEX attached with this key to any target rests on evidence this one may not replace (None: none does).
    One attached before attestations stated their evidence cannot be compared, and is replaced as it always was."""
    public_key = signing_key.public_key()
    for target in targets:
        check_registry(target.registry, allowed)
        for attested in attested_evidence(client, target, public_key):
            if attested is not None and (reason := weaker(strength, attested)):
                return reason
    return None


def _evidence(strength: EvidenceStrength) -> dict:
    return {"evidence": ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in strength.to_annotations().items())}


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
