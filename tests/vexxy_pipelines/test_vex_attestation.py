"""`vex_attestation`: the analyzed demo image's OpenVEX, signed and attached in the real registry, then
read back and verified with the public key by an independent DSSE verifier."""

import json

import pytest
from attestation_keys import new_key, private_pem, reference_verify
from audit_documents import documents as small_analysis
from audit_documents import match
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, materialize
from recorded_analyses import record as record_analysis
from securesystemslib.exceptions import VerificationError

from vexxy.attest.keys import public_key_pem
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE
from vexxy.evidence.documents import EXECUTION_PROFILE, FUZZ_FINDINGS, IMAGE, OPENVEX, VEX_ATTESTATION
from vexxy.oci.attestations import read_attestations
from vexxy.oci.registry_client import RegistryClient
from vexxy.vex.openvex import render_openvex
from vexxy.vex.statements import NoRuntimeEvidence, build_statements
from vexxy_pipelines.assets.attestation import NO_KEY, vex_attestation
from vexxy_pipelines.cli.image_analysis import documents_of_run, out_files
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.attestation import AttestationSignerResource
from vexxy_pipelines.resources.registry import RegistryResource

pytestmark = pytest.mark.slow


def attest(instance, key, signer, allowed):
    resources = {
        **resources_for(),
        "attestation_signer": signer,
        "registry": RegistryResource(allowed_registries=allowed),
    }
    result = materialize([vex_attestation], partition_key=key, instance=instance, resources=resources)
    assert result.success  # attaching is never what fails an analysis (billing goes on either way)
    (check,) = result.get_asset_check_evaluations()
    attest.last_run_id = result.run_id
    return result.asset_materializations_for_node("vex_attestation")[0].metadata, check


def partition_of(instance, image) -> str:
    """The partition whose `image` materialization resolved to `image`'s digest (whatever its key looks like)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("image")), limit=1000, ascending=False
    ).records
    for record in records:  # newest first; other tests' images may record other metadata
        digest = record.asset_materialization.metadata.get("manifest_digest")
        if digest is not None and digest.value == image.digest:
            return record.partition_key
    raise AssertionError(f"{image} was never analyzed")


def test_the_analysis_without_a_key_says_it_skipped(analyzed_demo, demo_image):
    instance = DagsterInstance.get()
    partition = partition_of(instance, demo_image)

    def materializations(asset):
        filter_ = AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition])
        return instance.fetch_materializations(filter_, limit=1000).records

    analysis_runs = {record.run_id for record in materializations("sbom")}
    statuses = [
        r.asset_materialization.metadata["status"].value for r in materializations("vex_attestation") if r.run_id in analysis_runs
    ]
    assert statuses and set(statuses) == {NO_KEY}


def test_signed_vex_is_attached_and_verifies_with_the_public_key_only(analyzed_demo, demo_image, registry, tmp_path):
    instance, key = DagsterInstance.get(), new_key()
    key_file = tmp_path / "attestation.key"
    key_file.write_text(private_pem(key, password=b"pw"))
    signer = AttestationSignerResource(signing_key_file=str(key_file), signing_key_password="pw")
    metadata, check = attest(instance, partition_of(instance, demo_image), signer, registry.address)
    assert metadata["status"].value == "attached" and check.passed, check.metadata
    assert metadata["attestation_reference"].value == f"{demo_image.name}:sha256-{demo_image.digest.split(':')[1]}.att"
    assert metadata["public_key"].value.startswith("-----BEGIN PUBLIC KEY-----")

    (stored,) = read_attestations(RegistryClient(), demo_image)
    statement = reference_verify(stored.envelope, key.public_key())
    openvex = json.loads((analyzed_demo / "openvex.json").read_text())
    assert statement["predicateType"] == "https://openvex.dev/ns" and statement["predicate"]["@id"] == openvex["@id"]
    assert statement["subject"] == [{"name": demo_image.name, "digest": {"sha256": demo_image.digest.split(":")[1]}}]
    with pytest.raises(VerificationError):
        reference_verify(stored.envelope, new_key().public_key())
    # The evidence store keeps the envelope that was pushed, byte for byte.
    assert open(metadata["attestation_path"].value, "rb").read() == stored.envelope
    # ... and `vexxy analyze --out` finds it among the run's documents (checked against the recorded SHA-256).
    run_documents = documents_of_run(instance, attest.last_run_id, partition_of(instance, demo_image))
    assert run_documents[VEX_ATTESTATION][1] == stored.envelope and "openvex.intoto.dsse.json" in out_files()

    # `vexxy attestation verify` finds and verifies it with the public key, and with no other.
    public, other = tmp_path / "vexxy-attestation.pub", tmp_path / "other.pub"
    public.write_text(metadata["public_key"].value)
    other.write_text(public_key_pem(new_key()))
    assert main(["attestation", "verify", demo_image.canonical(), "--key", str(public)]) == 0
    assert main(["attestation", "verify", f"{demo_image.name}:1.0", "--key", str(other)]) == 1
    assert main(["attestation", "verify", demo_image.canonical(), "--key", str(tmp_path / "missing.pub")]) == 2

    # Signed again with another key, the attestation is replaced, not added beside the first one.
    again, check = attest(
        instance,
        partition_of(instance, demo_image),
        AttestationSignerResource(signing_key=private_pem(new_key())),
        registry.address,
    )
    assert again["replaced_attestations"].value == 1 and again["attestations_on_image"].value == 1 and check.passed


def test_a_registry_that_is_not_allowed_fails_the_check_not_the_run(analyzed_demo, demo_image):
    instance, signer = DagsterInstance.get(), AttestationSignerResource(signing_key=private_pem(new_key()))
    metadata, check = attest(instance, partition_of(instance, demo_image), signer, "")
    assert metadata["status"].value.startswith("failed: Registry 127.0.0.1") and check.passed is False


def test_a_weaker_analysis_does_not_replace_the_attested_vex(demo_image, registry):
    """The attested VEX came from a complete, web-scanned observation: a later analysis without the scan keeps
    its VEX in its own results and the registry keeps the attested one; the same evidence again replaces it."""
    instance = DagsterInstance.ephemeral()  # the session's instance keeps the demo's own analyses
    key = add_image_partition(instance, demo_image)
    resolved = RegistryResource(allowed_registries=registry.address).resolve(demo_image)
    docs = small_analysis()
    jinja2 = match("CVE-2020-28493", "PYSEC-2021-66", "j", "jinja2", "2.11.2", "pkg:pypi/jinja2@2.11.2", "ReDoS.")
    openvex = render_openvex(resolved, build_statements([jinja2], NoRuntimeEvidence()))
    scanned = {EXECUTION_PROFILE: docs.profile, FUZZ_FINDINGS: {"status": "completed"}}
    record_analysis(instance, key, {IMAGE: resolved.to_dict(), OPENVEX: openvex, **scanned})
    signer = AttestationSignerResource(signing_key=private_pem(new_key()))
    first, check = attest(instance, key, signer, registry.address)
    assert first["status"].value == "attached" and check.passed, check.metadata
    assert "fuzzing=completed" in first["evidence"].value

    record_analysis(
        instance, key, {EXECUTION_PROFILE: docs.profile, FUZZ_FINDINGS: {"status": "skipped", "reason": "not requested"}}
    )
    second, check = attest(instance, key, signer, registry.address)
    assert second["status"].value.startswith("skipped: the attested VEX stays") and check.passed
    assert "its web scan is none, the attested analysis's was completed" in second["status"].value
    (held,) = [a for a in read_attestations(RegistryClient(), demo_image) if a.predicate_type == OPENVEX_PREDICATE_TYPE]
    assert held.envelope == open(first["attestation_path"].value, "rb").read()

    record_analysis(instance, key, {**scanned, EXECUTION_PROFILE: {**docs.profile, "complete": False}})
    partial, _ = attest(instance, key, signer, registry.address)
    assert "its execution profile is partial" in partial["status"].value

    record_analysis(instance, key, scanned)  # the same evidence (a re-evaluation of the attested analysis) replaces it
    third, check = attest(instance, key, signer, registry.address)
    assert third["status"].value == "attached" and third["replaced_attestations"].value == 1 and check.passed
