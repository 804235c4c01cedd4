"""The registry client against a real Distribution registry."""

import json

import pytest

from vexxy.demo.images import DEMO
from vexxy.errors import ImageNotFound, PlatformNotFound, RegistryAuthError, RegistryUnavailable
from vexxy.oci.build import push_image, push_index
from vexxy.oci.image import Platform
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient

pytestmark = pytest.mark.slow  # a real registry and real images


def test_resolves_tag_and_digest_to_the_same_manifest(demo_image):
    client = RegistryClient()
    by_tag = client.resolve(parse_reference(f"{demo_image.name}:{DEMO.tag}"))
    by_digest = client.resolve(parse_reference(demo_image.canonical()))
    assert by_tag.manifest_digest == by_digest.manifest_digest == demo_image.digest
    assert by_tag.canonical == demo_image.canonical()
    assert by_tag.config.entrypoint == ["python3", "/app/app.py"]
    assert by_tag.config.exposed_ports == ["8080/tcp"]
    assert by_tag.config.user == "65534:65534"
    assert by_tag.config.working_dir == "/app"
    assert "PORT=8080" in by_tag.config.env
    assert len(by_tag.layers) == 3 and all(layer.size > 0 for layer in by_tag.layers)
    assert str(by_tag.platform) == "linux/amd64"


@pytest.fixture(scope="module")
def multi_platform(registry, demo_layers):
    """An index with amd64 and arm64 manifests, and an image built only for arm64."""
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/vexxy/multi:1")
    amd64 = push_image(client, ref, demo_layers, DEMO.runtime, Platform("linux", "amd64"))
    arm64 = push_image(client, ref, demo_layers, DEMO.runtime, Platform("linux", "arm64", "v8"))
    index = push_index(client, ref, [(*amd64, Platform("linux", "amd64")), (*arm64, Platform("linux", "arm64", "v8"))], tag="1")
    arm_ref = parse_reference(f"{registry.address}/vexxy/arm-only:1")
    push_image(client, arm_ref, demo_layers, DEMO.runtime, Platform("linux", "arm64", "v8"), tag="1")
    return {"ref": ref, "index": index, "amd64": amd64[0], "arm64": arm64[0], "arm_ref": arm_ref}


def test_index_resolves_to_the_requested_platform(multi_platform):
    client = RegistryClient()
    default = client.resolve(multi_platform["ref"])
    assert default.manifest_digest == multi_platform["amd64"]
    assert default.index_digest == multi_platform["index"]
    arm = client.resolve(multi_platform["ref"], Platform.parse("linux/arm64"))
    assert arm.manifest_digest == multi_platform["arm64"]
    assert str(arm.platform) == "linux/arm64/v8"


def test_index_without_the_platform_names_what_it_offers(multi_platform):
    with pytest.raises(PlatformNotFound, match=r"no manifest for platform linux/s390x; it offers linux/amd64, linux/arm64/v8"):
        RegistryClient().resolve(multi_platform["ref"], Platform.parse("linux/s390x"))


def test_single_platform_image_for_another_platform_is_refused(multi_platform):
    with pytest.raises(PlatformNotFound, match=r"built for linux/arm64/v8, not for linux/amd64") as error:
        RegistryClient().resolve(multi_platform["arm_ref"])
    assert "VEXXY_PLATFORM=linux/arm64/v8" in error.value.hint
    pinned = RegistryClient().resolve(multi_platform["arm_ref"].with_digest(multi_platform["arm64"]), None)
    assert str(pinned.platform) == "linux/arm64/v8"


def test_unknown_repository_tag_and_digest(registry, demo_image):
    client = RegistryClient()
    with pytest.raises(ImageNotFound, match="not found in registry"):
        client.resolve(parse_reference(f"{registry.address}/vexxy/does-not-exist:1"))
    with pytest.raises(ImageNotFound, match="no-such-tag"):
        client.resolve(parse_reference(f"{demo_image.name}:no-such-tag"))
    with pytest.raises(ImageNotFound):
        client.resolve(parse_reference(f"{demo_image.name}@sha256:{'0' * 64}"))


def test_registry_that_is_down():
    from ports import closed_port

    with pytest.raises(RegistryUnavailable, match="unreachable") as error:
        RegistryClient(timeout=3).resolve(parse_reference(f"127.0.0.1:{closed_port()}/vexxy/demo:1.0"))
    assert "registry is running" in error.value.hint


def test_basic_auth_registry(auth_registry, demo_layers):
    ref = parse_reference(f"{auth_registry.address}/private/app:1")
    with pytest.raises(RegistryAuthError, match="requires a login"):
        RegistryClient().resolve(ref)
    with pytest.raises(RegistryAuthError, match="refused the credentials"):
        RegistryClient(username="vexxy", password="wrong").resolve(ref)
    client = RegistryClient(username="vexxy", password="s3cret")
    digest, _ = push_image(client, ref, demo_layers[-1:], DEMO.runtime, tag="1")
    assert client.resolve(ref).manifest_digest == digest


def test_the_config_blob_reads_back(demo_image):
    client = RegistryClient()
    resolved = client.resolve(demo_image)
    config = json.loads(client.get_blob(demo_image, resolved.config_digest))
    assert config["architecture"] == "amd64"


def test_bearer_token_registry(token_registry, demo_layers):
    server, service = token_registry
    ref = parse_reference(f"{server.address}/team/app:1")
    with pytest.raises(RegistryAuthError, match="Token service of registry .* refused the credentials"):
        RegistryClient().resolve(ref)
    client = RegistryClient(username="ci", password="t0ken")
    digest, _ = push_image(client, ref, demo_layers[-1:], DEMO.runtime, tag="1")
    issued = service.issued
    resolved = client.resolve(ref)
    assert resolved.manifest_digest == digest
    assert service.issued == issued + 1  # one pull token, reused for manifest and config
