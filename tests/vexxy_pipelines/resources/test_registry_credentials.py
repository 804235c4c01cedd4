"""A registry login configured for organization A pulls A's analyses (and the operator's), never B's: B's
analysis of an image on that registry gets the registry's anonymous answer, a 401 that says why."""

import os

import pytest
from dagster import DagsterInstance, materialize

from vexxy.demo.images import DEMO
from vexxy.errors import RegistryAuthError
from vexxy.oci.build import push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines import tags
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.sensors.submission_intake import customer_resolver

pytestmark = pytest.mark.slow  # a real registry that requires a login


@pytest.fixture(scope="module")
def private_image(auth_registry, demo_layers):
    ref = parse_reference(f"{auth_registry.address}/private/org-a-app:1")
    digest, _ = push_image(RegistryClient(username="vexxy", password="s3cret"), ref, demo_layers[-1:], DEMO.runtime, tag="1")
    return ref.with_digest(digest)


def login_for_org_a(auth_registry) -> RegistryResource:
    return RegistryResource(
        username="vexxy",
        password="s3cret",
        credentials_for=auth_registry.address,
        credentials_organizations="org-a",
        allowed_registries="127.0.0.1",
    )


def test_the_login_resolves_for_its_organization_and_the_operator_only(auth_registry, private_image):
    registry = login_for_org_a(auth_registry)
    assert registry.for_organization("org-a").resolve(private_image).manifest_digest == private_image.digest
    assert registry.for_organization(None).resolve(private_image).manifest_digest == private_image.digest
    with pytest.raises(RegistryAuthError, match="requires a login") as refused:
        registry.for_organization("org-b").resolve(private_image)
    assert "VEXXY_REGISTRY_CREDENTIALS_ORGANIZATIONS" in refused.value.hint and "org-b" in refused.value.hint
    assert registry.username == "vexxy"  # the configured resource keeps its login


def test_intake_resolves_each_organization_with_its_own_access(auth_registry, private_image):
    """One tick resolves a reference once per access, so org A's answer never serves org B's submission."""
    resolve = customer_resolver(login_for_org_a(auth_registry), DagsterInstance.ephemeral())
    reference = f"{private_image.name}:1"
    assert resolve(reference, "org-a")[0] == private_image.digest
    with pytest.raises(RegistryAuthError, match="requires a login"):
        resolve(reference, "org-b")


def test_an_analysis_for_another_organization_is_not_pulled_with_the_login(auth_registry, private_image):
    instance = DagsterInstance.ephemeral()
    key = add_image_partition(instance, private_image)
    resources = {"registry": login_for_org_a(auth_registry), "evidence": EvidenceStore(root=os.environ["VEXXY_EVIDENCE_DIR"])}

    def analyze(organization: str):
        return materialize(
            [image], partition_key=key, instance=instance, resources=resources, tags={tags.ORGANIZATION: organization},
            raise_on_error=False,
        )  # fmt: skip

    refused = analyze("org-b")
    assert not refused.success
    (failure,) = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message + str(failure.step_failure_data.user_failure_data)
    assert "requires a login" in message
    assert analyze("org-a").success
